"""nfkc normalises a text that fails the quick check a line at a time: the same text as NFKC of the whole."""

from __future__ import annotations

import random
import unicodedata

from watcher.text.normalise import _halfwidth_all, nfkc

# Compatibility forms, combining marks that reorder and compose, Hangul jamo, line separators other than \n.
POOL = list(
    "a中\n\n\r Ⅲ①…㎡ｆ＃\u0301\u0300\u0327\u0323\u1100\u1161\u11a8\uac00\u3099\u304b\u309a\u0f71\u0f72"
    "\ufb01\u2028\u0085\u00a0\ufdfa\u0385\u1e9b\u212b\u030a\u2460\u3000"
)


def _whole(text: str) -> str:
    return unicodedata.normalize("NFKC", _halfwidth_all(text))


def test_line_at_a_time_is_the_whole_texts_nfkc():
    rnd = random.Random(5)
    for _ in range(20000):
        text = "".join(rnd.choice(POOL) for _ in range(rnd.randint(0, 12)))
        assert nfkc(text) == _whole(text), repr(text)


def test_a_mark_after_a_line_feed_composes_with_nothing_before_it():
    text = "e\n\u0301Ⅲ\n\u1100\n\u1161"
    assert nfkc(text) == _whole(text) == "e\n\u0301III\n\u1100\n\u1161"


def test_a_page_with_one_compatibility_character_keeps_its_other_lines():
    page = "第一段，正文。\n（二）第Ⅲ类项目\n附件：①清单"
    assert nfkc(page) == _whole(page) == "第一段,正文。\n(二)第III类项目\n附件:1清单"
