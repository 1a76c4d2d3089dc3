"""Instruments and their versions: which stored notices are one law, regulation or measure.

An instrument is what a title names, whatever the spelling: 《中华人民共和国水法》, 水法, 〈水法〉,
水法（2016年修正） are one law; 青岛市实施《水法》若干规定 and …《水法》的若干规定 one regulation. Its
versions are the stored notices with that key (and the same issuer, when both are known), ordered by
date. A child implements the version in force at its own date.

Pure functions and records: no database. The linker keeps the chains (one per key) and asks them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from watcher.text.docno import find_title_spans
from watcher.text.titles import (
    carried_title,
    fold_title,
    is_distinctive,
    kind_of,
    nfkc,
    normalise_issuer,
    title_key,
    wrapped_title,
)

__all__ = [  # the title functions live in watcher/text/titles.py (storage computes keys with them)
    "InstrumentKey",
    "Version",
    "VersionChain",
    "carried_title",
    "fold_title",
    "forwarded_title",
    "implemented_by_title",
    "instrument_key",
    "is_distinctive",
    "is_legislation",
    "is_standing",
    "kind_of",
    "normalise_issuer",
    "title_key",
]

# 转发 is not unwrapped as 印发 is: a city's 转发 notice is its own document (a repost of X), not a
# version of X.
_FORWARD = re.compile(r"^.*?(?:关于)?转发(?P<inner>.+?)的?(?:通知|公告|通告|函)$")
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


def is_standing(key: str) -> bool:
    """A law, regulation or measure: its versions keep one title, so the title alone chains them."""
    return bool(_STANDING.search(key))


_LEGISLATURE_DECISION = re.compile(r"人民代表大会(?:常务委员会)?关于.+决定$")


def is_legislation(key: str) -> bool:
    """Law in the wide sense: a standing rule, or a decision of a people's congress or its standing
    committee (全国人民代表大会常务委员会关于…的决定), which binds like a law. Cited under 根据 it is a
    legal basis; a State Council 决定 or 意见 is policy, implemented."""
    return is_standing(key) or bool(_LEGISLATURE_DECISION.search(key))


def forwarded_title(title: str) -> str | None:
    """What a 转发 notice forwards: 关于转发《省政府关于X的意见》的通知 → 省政府关于X的意见."""
    return wrapped_title(_FORWARD, title)


@dataclass(frozen=True)
class InstrumentKey:
    """Identity of an instrument: its folded title, and the issuer when known."""

    title: str
    issuer: str | None = None

    def same(self, other: InstrumentKey) -> bool:
        """Same title, and the same issuer unless one of them is unknown."""
        return self.title == other.title and (not self.issuer or not other.issuer or self.issuer == other.issuer)


@lru_cache(maxsize=256)
def instrument_key(title: str | None, issuer: str | None = None) -> InstrumentKey | None:
    """The instrument a document's own title names (a 印发 notice names what it carries); None when
    the title names no particular instrument. Kept for the titles asked again (reading a document asks
    twice, ~20 us each)."""
    if not title:
        return None
    key = title_key(title)
    return InstrumentKey(key, normalise_issuer(issuer)) if key else None


def implemented_by_title(title: str | None) -> list[str]:
    """Titles a document's own title says it implements, folded: 上海市实施《残疾人保障法》办法,
    青岛市实施《水法》的若干规定, 道路交通安全法实施条例 → the law's key."""
    if not title:
        return []
    t = nfkc(title).strip()
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
