"""Instruments and their versions: which stored notices are one law, regulation or measure.

An instrument is what a title names, whatever the spelling: 《中华人民共和国水法》, 水法, 〈水法〉,
水法（2016年修正） are one law; 青岛市实施《水法》若干规定 and …《水法》的若干规定 one regulation. Its
versions are the stored notices with that key (and the same issuer, when both are known), ordered by
date. A child implements the version in force at its own date.

Pure functions and records: no database. The linker keeps the chains (one per key) and asks them.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date

from watcher.text.docno import find_title_spans

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
_FORWARD = re.compile(r"^.*?(?:关于)?转发(?P<inner>.+?)的?(?:通知|公告|通告|函)$")
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
# Standing rules: versions of one title are one instrument whatever the text. A notice titled
# 关于做好春节期间安全工作的通知 may recur every year with a new text; a 条例 does not.
_STANDING = re.compile(r"(?:法|条例|规定|办法|细则|规则|章程|准则|修正案)$")
_IMPLEMENTS_QUOTED = re.compile(r"(?:实施|贯彻|落实|执行)$")
_IMPLEMENTS_AFTER = re.compile(r"^的?(?:实施|贯彻|落实)")
# 道路交通安全法实施条例, 母婴保健法实施办法: a national implementing regulation names its law bare.
_BARE_IMPLEMENTS = re.compile(
    r"^(?:中华人民共和国)?(?P<law>[\u4e00-\u9fff]{1,40}?(?:法|条例))"
    r"(?:的)?实施(?:条例|细则|办法|规定|意见)$"
)
_BARE_IMPLEMENTS_INSIDE = re.compile(
    r"实施(?P<law>中华人民共和国[\u4e00-\u9fff]{1,40}?法)(?:的)?(?:办法|细则|若干规定|规定|条例)$"
)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def fold_title(title: str) -> str:
    """The spelling-free form of a title: quotes, spaces, width, 中华人民共和国 and 的 folded, a
    trailing version note dropped. Two titles of one instrument fold to the same string."""
    t = _nfkc(title).strip()
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


def is_standing(key: str) -> bool:
    """A law, regulation or measure: its versions keep one title, so the title alone chains them."""
    return bool(_STANDING.search(key))


_LEGISLATURE_DECISION = re.compile(r"人民代表大会(?:常务委员会)?关于.+决定$")


def is_legislation(key: str) -> bool:
    """Law in the wide sense: a standing rule, or a decision of a people's congress or its standing
    committee (全国人民代表大会常务委员会关于…的决定), which binds like a law. Cited under 根据 it is a
    legal basis; a State Council 决定 or 意见 is policy, implemented."""
    return is_standing(key) or bool(_LEGISLATURE_DECISION.search(key))


def carried_title(title: str) -> str | None:
    """The instrument a 印发/发布 notice carries: 关于印发《X》的通知 → X (None when it carries none)."""
    m = _CARRIER.match(_nfkc(title).strip())
    if not m:
        return None
    inner = m.group("inner").strip()
    spans = find_title_spans(inner)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(inner):
        inner = spans[0].raw
    return inner or None


def forwarded_title(title: str) -> str | None:
    """What a 转发 notice forwards: 关于转发《省政府关于X的意见》的通知 → 省政府关于X的意见."""
    m = _FORWARD.match(_nfkc(title).strip())
    if not m:
        return None
    inner = m.group("inner").strip()
    spans = find_title_spans(inner)
    if len(spans) == 1 and spans[0].start == 0 and spans[0].end == len(inner):
        inner = spans[0].raw
    return inner or None


def normalise_issuer(issuer: str | None) -> str | None:
    if not issuer:
        return None
    return re.sub(r"\s+", "", _nfkc(issuer)) or None


@dataclass(frozen=True)
class InstrumentKey:
    """Identity of an instrument: its folded title, and the issuer when known."""

    title: str
    issuer: str | None = None

    def same(self, other: InstrumentKey) -> bool:
        """Same title, and the same issuer unless one of them is unknown."""
        return self.title == other.title and (not self.issuer or not other.issuer or self.issuer == other.issuer)


def instrument_key(title: str | None, issuer: str | None = None) -> InstrumentKey | None:
    """The instrument a document's own title names (a 印发 notice names what it carries); None when
    the title names no particular instrument."""
    if not title:
        return None
    key = fold_title(carried_title(title) or title)
    return InstrumentKey(key, normalise_issuer(issuer)) if is_distinctive(key) else None


def implemented_by_title(title: str | None) -> list[str]:
    """Titles a document's own title says it implements, folded: 上海市实施《残疾人保障法》办法,
    青岛市实施《水法》的若干规定, 道路交通安全法实施条例 → the law's key."""
    if not title:
        return []
    t = _nfkc(title).strip()
    out: list[str] = []
    for span in find_title_spans(t):
        if _IMPLEMENTS_QUOTED.search(t[: span.start]) or _IMPLEMENTS_AFTER.match(t[span.end :]):
            out.append(fold_title(span.raw))
    if not out:
        bare = re.sub(r"\s+", "", t)
        m = _BARE_IMPLEMENTS.match(bare) or _BARE_IMPLEMENTS_INSIDE.search(bare)
        if m:
            out.append(fold_title(m.group("law")))
    return [k for k in dict.fromkeys(out) if is_distinctive(k)]


# ---- versions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Version:
    id: int
    when: date | None


@dataclass
class VersionChain:
    """The stored versions of one instrument, by date (undated ones after the dated, by id)."""

    versions: list[Version] = field(default_factory=list)

    def add(self, v: Version) -> None:
        if any(x.id == v.id for x in self.versions):
            return
        self.versions.append(v)
        self.versions.sort(key=_order)

    def dated(self) -> list[Version]:
        return [v for v in self.versions if v.when is not None]

    def in_force(self, at: date | None, exclude: int | None = None) -> Version | None:
        """The version a document dated `at` implements: the latest not after `at`; if every stored
        version is newer, the earliest stored one (it implements an earlier version not stored). An
        undated child takes the latest version."""
        pool = [v for v in self.versions if v.id != exclude]
        if not pool:
            return None
        dated = [v for v in pool if v.when is not None]
        if at is None or not dated:
            return dated[-1] if dated else pool[0]
        i = bisect_right([v.when for v in dated if v.when is not None], at)
        return dated[i - 1] if i else dated[0]

    def predecessor(self, v: Version) -> Version | None:
        """The version just before v (for a revision link); None when v is the earliest or undated
        with no dated version before it."""
        pool = [x for x in self.versions if x.id != v.id]
        if v.when is None:
            dated = [x for x in pool if x.when is not None]
            return dated[-1] if dated else (pool[-1] if pool else None)
        before = [x for x in pool if x.when is not None and (x.when, x.id) < (v.when, v.id)]
        return before[-1] if before else None

    def successor(self, v: Version) -> Version | None:
        """The version just after v: when an older version arrives late, the next one revises it."""
        if v.when is None:
            return None
        after = [x for x in self.versions if x.id != v.id and x.when is not None and (x.when, x.id) > (v.when, v.id)]
        return after[0] if after else None


def _order(v: Version) -> tuple:
    return (v.when or date.max, v.id)
