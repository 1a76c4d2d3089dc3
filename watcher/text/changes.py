"""What changed inside a paragraph: character-level segments and the short phrases a reader is shown.

`paragraph_diff` (diff.py) says which paragraphs changed; this module says what changed inside them, so a
revision reads `10家 → 20家` instead of two 1,000-character paragraphs. Chinese has no spaces, so the unit is the
character; a changed run is widened to the whole number it cuts (1 → 2 inside 10家 → 20家) and to the measure
character after a number (家, 万, 元, 日 …), the class of tokens whose half means nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from watcher.text.diff import paragraph_diff

_NUMBER = re.compile(r"[0-9０-９.．%％零〇一二两三四五六七八九十百千万亿]")
_SENTENCE_END = re.compile(r"(?<=[。；！？!?;])")
MAX_PHRASE = 40


@dataclass(frozen=True)
class Segment:
    op: str  # equal | delete | insert
    text: str


@dataclass(frozen=True)
class Change:
    """One changed place: the phrases before and after (either may be empty), and the sentence it is in."""

    old: str
    new: str
    sentence: str


def inline_diff(old: str, new: str) -> list[Segment]:
    """Character segments turning `old` into `new`, each change widened to whole tokens (`10家 → 20家`, not `1 → 2`)
    and changes one character apart joined, so highlights mark words rather than scattered characters."""
    sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    spans: list[list[int]] = []  # [i1, i2, j1, j2] of each widened change
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        a1, a2 = _widen(old, i1, i2)
        b1, b2 = _widen(new, j1, j2)
        left = min(max(i1 - a1, j1 - b1), i1, j1)
        right = min(max(a2 - i2, b2 - j2), len(old) - i2, len(new) - j2)
        span = [i1 - left, i2 + right, j1 - left, j2 + right]
        if spans and span[0] - spans[-1][1] <= 1:  # overlapping, or one equal character between: one change
            spans[-1][1], spans[-1][3] = span[1], span[3]
        else:
            spans.append(span)
    out: list[Segment] = []
    pos_a = 0
    for i1, i2, j1, j2 in spans:
        if i1 > pos_a:
            out.append(Segment("equal", old[pos_a:i1]))
        if old[i1:i2]:
            out.append(Segment("delete", old[i1:i2]))
        if new[j1:j2]:
            out.append(Segment("insert", new[j1:j2]))
        pos_a = i2
    if pos_a < len(old):
        out.append(Segment("equal", old[pos_a:]))
    return out


def _widen(text: str, i: int, j: int) -> tuple[int, int]:
    """Widen [i, j) over the number it touches, and over one measure character after a number."""
    while i > 0 and _NUMBER.match(text[i - 1]) and (i == j or _NUMBER.match(text[i]) or _NUMBER.match(text[i - 1])):
        i -= 1
    while j < len(text) and _NUMBER.match(text[j]) and (i == j or _NUMBER.match(text[j - 1])):
        j += 1
    if j < len(text) and j > i and _NUMBER.match(text[j - 1]) and "\u4e00" <= text[j] <= "\u9fff":
        j += 1
    return i, j


def _phrase(s: str) -> str:
    return s if len(s) <= MAX_PHRASE else s[: MAX_PHRASE - 1] + "…"


def sentence_changes(old: str, new: str) -> list[Change]:
    """The changed places of one pair of paragraphs (the stretches of `inline_diff`), with the new sentence around."""
    out: list[Change] = []
    pos_a = pos_b = 0
    pending: dict[str, str] = {}
    for seg in [*inline_diff(old, new), Segment("equal", "")]:
        if seg.op != "equal":
            pending[seg.op] = seg.text
            continue
        if pending:
            d, i = pending.get("delete", ""), pending.get("insert", "")
            where = _sentence(new, pos_b) if i or not d else _sentence(old, pos_a)
            out.append(Change(_phrase(d), _phrase(i), where))
            pos_a, pos_b, pending = pos_a + len(d), pos_b + len(i), {}
        pos_a, pos_b = pos_a + len(seg.text), pos_b + len(seg.text)
    return out


def _sentence(text: str, at: int) -> str:
    start = 0
    for part in _SENTENCE_END.split(text):
        if start <= at < start + len(part) or start + len(part) >= len(text):
            return _phrase(part.strip())
        start += len(part)
    return ""


def text_changes(old_text: str, new_text: str, limit: int = 3) -> list[Change]:
    """Up to `limit` changed places between two versions, first first: replaced paragraphs are compared inside,
    added or removed paragraphs are one change each (their first sentence)."""
    out: list[Change] = []
    for op in paragraph_diff(old_text, new_text):
        if op.op == "equal":
            continue
        pairs = list(zip(op.old, op.new, strict=False))
        for a, b in pairs:
            out.extend(sentence_changes(a, b))
        for a in op.old[len(pairs) :]:
            out.append(Change(_phrase(_sentence(a, 0)), "", _phrase(a)))
        for b in op.new[len(pairs) :]:
            out.append(Change("", _phrase(_sentence(b, 0)), _phrase(b)))
        if len(out) >= limit:
            break
    return out[:limit]
