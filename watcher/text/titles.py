"""The key of a title: one string per instrument, whatever the spelling.

《中华人民共和国水法》, 水法, 〈水法〉 and 水法（2016年修正） are one law; 关于印发《X》的通知 is the
instrument X it carries. Storage computes `notices.title_key` with `title_key` when it stores a
version, and the linker (watcher/link/instruments.py) resolves citations and chains versions on it,
so both sides fold titles the same way. Pure functions: no database, no linking.
"""

from __future__ import annotations

import re
import unicodedata

from watcher.text.docno import find_title_spans
from watcher.text.script import simplified

_MAX_KEY = 200
_QUOTES = re.compile(r"[\s\u3000《》〈〉<>＜＞“”\"'‘’「」『』]")
# A version note at the end of a title is not part of the name: （2018年修正） (修订) (试行) (草案).
_VERSION_NOTE = re.compile(
    r"[(（\[【](?:\d{4}年)?(?:第?[一二三四五六七八九十\d]+次)?"
    r"(?:修订|修正|修改|版|草案|征求意见稿|送审稿|试行|暂行)(?:稿|本|版)?[)）\]】]$"
)
# 关于印发《X》的通知 carries X: the notice and X are one instrument. 转发 is not unwrapped: a city's
# 转发 notice is its own document (a repost of X), not a version of X.
_CARRIER = re.compile(r"^(?P<issuer>.*?)(?:关于)?(?:印发|发布|公布|颁布)(?P<inner>.+?)的?(?:通知|公告|通告|令)$")
# What kind of instrument a key names. A key that is nothing but a kind word (《办法》, 《意见》) or a
# kind word after a determiner (本办法, 该条例) names no instrument: it is a short form used in a text.
_KIND_LIST = (
    "实施细则",
    "实施办法",
    "实施条例",
    "实施意见",
    "实施方案",
    "若干规定",
    "若干措施",
    "若干意见",
    "暂行办法",
    "暂行规定",
    "管理办法",
    "管理规定",
    "工作方案",
    "行动方案",
    "行动计划",
    "修正案",
    "法",
    "条例",
    "规定",
    "办法",
    "细则",
    "规则",
    "章程",
    "准则",
    "意见",
    "方案",
    "通知",
    "决定",
    "措施",
    "规划",
    "纲要",
    "计划",
    "公告",
    "通告",
    "批复",
    "函",
    "报告",
    "要点",
    "标准",
    "指引",
    "目录",
)
_KINDS: tuple[str, ...] = tuple(sorted(_KIND_LIST, key=len, reverse=True))  # the longest kind word wins: 办法, not 法
_DETERMINERS = re.compile(r"^(?:本|该|此|上述|前述|这|有关|相关|新|原|上|下|各|其他|我国|国家|地方|省|市|县|区)*$")


def nfkc(text: str) -> str:
    """Full-width letters and digits as ASCII, compatibility forms folded."""
    return unicodedata.normalize("NFKC", text)


def fold_title(title: str) -> str:
    """The spelling-free form of a title: script, quotes, spaces, width, 中华人民共和国 and 的 folded, a
    trailing version note dropped. Two titles of one instrument fold to the same string (a page in
    traditional script included)."""
    t = simplified(nfkc(title)).strip()
    for _ in range(2):  # 《X（2018年修正）》: the note may sit inside the quotes
        t = _VERSION_NOTE.sub("", _QUOTES.sub("", t))
    t = t.replace("中华人民共和国", "").replace("的", "")
    return t[:_MAX_KEY]


def kind_of(key: str) -> str | None:
    """The kind word a folded key ends with (法, 条例, 实施办法 …), None when it ends with none."""
    return next((k for k in _KINDS if key.endswith(k)), None)


def is_distinctive(key: str | None) -> bool:
    """True when a folded key names one instrument; False for bare kind words and short forms
    (办法, 本条例, 该意见, 有关规定)."""
    if not key:
        return False
    kind = kind_of(key)
    name = key[: -len(kind)] if kind else key
    return bool(name) and not _DETERMINERS.match(name)


def wrapped_title(pattern: re.Pattern[str], title: str) -> str | None:
    """The title a notice's own title wraps (group `inner` of pattern), unquoted when quoted whole."""
    m = pattern.match(nfkc(title).strip())
    if not m:
        return None
    inner = m.group("inner").strip()
    spans = find_title_spans(inner)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(inner):
        inner = spans[0].raw
    return inner or None


def carried_title(title: str) -> str | None:
    """The instrument a 印发/发布 notice carries: 关于印发《X》的通知 → X (None when it carries none)."""
    return wrapped_title(_CARRIER, title)


def normalise_issuer(issuer: str | None) -> str | None:
    if not issuer:
        return None
    return re.sub(r"\s+", "", nfkc(issuer)) or None


def title_key(title: str | None) -> str | None:
    """Key of a document's own title (`notices.title_key`): the folded name of the instrument it is
    (a 印发 notice is what it carries); None when the title names no particular instrument
    (办法, 通知). No length cut: 水法 is a law."""
    if not title:
        return None
    key = fold_title(carried_title(title) or title)
    return key if is_distinctive(key) else None
