"""文号 (document numbers), dates and citations.

A 文号 has an issuer code, a year in brackets and a serial number: 苏政发〔2020〕28号. Portals write
the brackets as 〔〕 [] ［］ 【】 () （） 〈〉 〖〗 ﹝﹞ and mix full and half width; all normalise to 〔〕.
Orders (令) have no year: 国令第707号; announcements write the year out: 国家税务总局公告2015年第41号.
The grammar is in watcher.text.docno_grammar.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from watcher.text.docno_grammar import DocNo, find_docnos, issuer_key

__all__ = [
    "DocNo",
    "TitleSpan",
    "docno_key",
    "effective_date",
    "find_docnos",
    "find_title_spans",
    "find_titles",
    "issuer_key",
    "normalise_docno",
    "parse_date",
    "parse_docno",
]


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@functools.lru_cache(maxsize=1024)
def parse_docno(text: str | None) -> DocNo | None:
    """The first 文号 in text, normalised; None when there is none. Kept for the texts asked again (a page's
    文号 is read as labelled, then as normalised, to compare with the ones its text cites: 35 us each)."""
    found = find_docnos(text or "", limit=1)
    return found[0] if found else None


def normalise_docno(text: str | None) -> str | None:
    """The first 文号 in text as printed, brackets and digits normalised: 国令第707号 stays 国令第707号."""
    d = parse_docno(text)
    return str(d) if d else None


def docno_key(text: str | None) -> str | None:
    """The first 文号 in text as matched: the forms of one number share it (国令第707号 and
    中华人民共和国国务院令第707号 give 国务院令第707号). Display normalise_docno; compare docno_key."""
    d = parse_docno(text)
    return d.key if d else None


_TITLE = re.compile(r"《([^《》\n]{2,80})》")


def find_titles(text: str) -> list[str]:
    """Titles cited as 《…》, without repeats; nested 〈…〉 kept as written."""
    out: list[str] = []
    for m in _TITLE.finditer(text):
        t = m.group(1).strip()
        if t and t not in out:
            out.append(t)
    return out


# ---- dates ---------------------------------------------------------------------------------
_CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "Ｏ": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_DATE = re.compile(r"((?:19|20)\d{2})\s*(?:年|[-/.])\s*(\d{1,2})\s*(?:月|[-/.])\s*(\d{1,2})\s*日?")
_CN_DATE = re.compile(
    r"([〇○零一二三四五六七八九OＯ]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)


def _cn_number(s: str) -> int:
    if len(s) == 4 and "十" not in s:
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    if s == "十":
        return 10
    if s.startswith("十"):
        return 10 + _CN_DIGITS[s[1]]
    if s.endswith("十"):
        return _CN_DIGITS[s[0]] * 10
    if "十" in s:
        return _CN_DIGITS[s[0]] * 10 + _CN_DIGITS[s[2]]
    return _CN_DIGITS[s]


def parse_date(text: str | None) -> date | None:
    """The first date in text: 2021-07-08, 2021年7月8日, 2021/7/8, 2021.07.08, 二〇二〇年三月二十七日."""
    if not text:
        return None
    # A short text (a date cell, a label's value, a signature line) is kept: a page reads its dates two or
    # three times over (as labelled, as settled) and a site's pages share them.
    return _short_date(text) if len(text) <= _SHORT else _date_in(text)


_SHORT = 64


def _date_in(text: str) -> date | None:
    text = _nfkc(text)
    m = _DATE.search(text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            pass
    m = _CN_DATE.search(text)
    if m:
        try:
            return date(_cn_number(m.group(1)), _cn_number(m.group(2)), _cn_number(m.group(3)))
        except (ValueError, KeyError):
            return None
    return None


_short_date = functools.lru_cache(maxsize=4096)(_date_in)

_EFFECTIVE = re.compile(r"自\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*起\s*(?:施行|实施|执行|生效)")


def effective_date(text: str | None) -> date | None:
    """The date a text says it takes effect (本办法自1996年4月1日起施行): the last such date, the
    one in the closing article; a date for an undated document."""
    found = _EFFECTIVE.findall(_nfkc(text or ""))
    return parse_date(found[-1]) if found else None


# ---- titles with nesting ---------------------------------------------------------------------
# A cited title may contain another: 《关于修改〈中华人民共和国水法〉的决定》, or on some portals
# 《关于修改<青岛市实施《中华人民共和国水法》若干规定>的决定》. Only the outermost title is what the text
# cites; the inner ones are part of its name. 〈〉 at the top level quote a title too (〈水法〉).
_BRACKETS = re.compile(r"[《》〈〉<>＜＞]")
_PAIRS = {"《": "》", "〈": "〉", "<": ">", "＜": "＞"}
_MAX_TITLE = 120


@dataclass(frozen=True)
class TitleSpan:
    raw: str  # the title as written, inner quotes kept
    start: int  # offset of the opening quote in the text
    end: int  # offset after the closing quote


def find_title_spans(text: str) -> list[TitleSpan]:
    """Every outermost quoted title in text, in order, repeats kept (offsets differ). An opening
    quote that is never closed does not hide the titles quoted after it."""
    out: list[TitleSpan] = []
    stack: list[tuple[str, int]] = []
    inner: list[TitleSpan] = []  # closed one level down: outermost if the quote around them fails

    def fail() -> None:
        out.extend(inner)
        inner.clear()
        stack.clear()

    for m in _BRACKETS.finditer(text):
        ch, pos = m.group(), m.start()
        if stack and pos - stack[0][1] > _MAX_TITLE:
            fail()  # an unbalanced quote: forget it rather than swallow the text after it
        if ch in _PAIRS:
            # ASCII angle brackets quote a title only inside another title (HTML leftovers, "<5%").
            if ch in "<＜" and not stack:
                continue
            stack.append((ch, pos))
        elif stack and _PAIRS[stack[-1][0]] == ch:
            _, start = stack.pop()
            raw = text[start + 1 : pos].strip()
            span = TitleSpan(raw, start, pos + 1) if raw and "\n" not in raw else None
            if not stack:
                inner.clear()
                if span:
                    out.append(span)
            elif len(stack) == 1 and span and ch != ">":
                inner.append(span)
        elif stack:
            fail()  # a closer that matches nothing open: the quotes are not balanced here
    fail()
    return sorted(out, key=lambda s: s.start)
