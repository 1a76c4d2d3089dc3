"""Text normalisation for fingerprints and version comparison.

Scraped notices carry noise that must not count as a change: full/half width variants, spacing,
lines broken by PDF extraction, and the same text pasted twice (once as HTML, once as a PDF dump).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_TERMINAL = tuple("。！？：!?:…")
_CLOSERS = tuple("”」』)）】\"'")
_CLOSER_CHARS = "".join(_CLOSERS)
_ENDS_WITH_DATE = re.compile(r"(?:19|20)\d{2}年\d{1,2}月\d{1,2}日$")
# Numbered headings and list items start a new paragraph: 一、 （一） 1. 第三条 附件
_ITEM_START = re.compile(
    r"^(?:[一二三四五六七八九十百]+、|[（(][一二三四五六七八九十百]+[）)]|\d{1,3}[.、．)]|[（(]\d{1,3}[）)]|"
    r"第[一二三四五六七八九十百零〇\d]+[章节条款]|附件|附表)"
)
# A space between two CJK characters, in a line whose spaces clean_line made single: the space is searched
# (a literal: the search skips to it) and the character before it looked behind at, where a pattern that
# starts with the lookbehind is tried at every character.
_CJK_GAP = re.compile(r" (?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef] )(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")
# What a skeleton keeps, found as runs and joined: a page's paragraphs drop a character in eight or so
# (punctuation, digits), and each dropped one cost sub a match of its own (72 us a page -> 64 us).
_SKELETON_KEEP = re.compile(r"[\u4e00-\u9fffA-Za-z]+")
_MIN_DUP = 12  # shorter paragraphs (headings, dates, signatures) may legitimately repeat
_MIN_FRAGMENT = 20  # a fragment this long found inside earlier text is a re-paste, not new text


_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")
_FW_MAP = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}


def _halfwidth_all(text: str) -> str:
    """Each kind of full-width character that occurs replaced at once by str.replace, not each occurrence by
    a callback of re.sub: a page holds a few kinds of them (，：（）) but dozens of each (25 us a page, against
    110 us). A replacement keeps the text's length, so the search goes on where it found the last kind."""
    m = _FULLWIDTH.search(text)
    while m is not None:
        ch = m.group()
        text = text.replace(ch, _FW_MAP[ch])
        m = _FULLWIDTH.search(text, m.end())
    return text


# What no database column can hold: lone surrogates (a broken PDF font map yields them; UTF-8 cannot encode them)
# and NUL (PostgreSQL text refuses it). Left in, the notice would fail to store on every poll, for ever.
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def storable(text: str) -> str:
    """The text with what no database can store replaced: a lone surrogate by U+FFFD, NUL dropped."""
    if "\x00" not in text:
        try:  # UTF-8 refuses exactly the surrogates, and encodes a page in 3 us where the search takes 12
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def nfkc(text: str) -> str:
    """NFKC: （ becomes ( and ， becomes , — both spellings occur for the same document.

    Full-width ASCII is nearly all NFKC changes in Chinese text, so it is mapped first and the full normalisation
    (five times slower) runs only when something else is left: normalize() itself returns a text its quick check
    passes as it is, so a text of one line goes to it directly.

    A text of several lines is checked first; when the check fails (a Ⅲ, a ①, a …), the text is normalised a line at
    a time: each line's own check passes all but the lines holding such a character, which alone are normalised (a
    page of 3,800 characters in 14 lines, one with a Ⅲ: 910 us -> 120 us). The same text: a line feed is a starter
    that no mapping makes or takes and nothing composes with, so no decomposition, reordering or composition crosses
    it."""
    text = _halfwidth_all(text)
    if "\n" not in text:
        return unicodedata.normalize("NFKC", text)
    if unicodedata.is_normalized("NFKC", text):
        return text
    return "\n".join([unicodedata.normalize("NFKC", line) for line in text.split("\n")])


def clean_line(line: str) -> str:
    line = " ".join(line.split())
    return _CJK_GAP.sub("", line) if " " in line else line


def _is_heading(line: str) -> bool:
    return len(line) <= 30 and bool(_ITEM_START.match(line)) and not line.endswith(("，", ","))


def _ends_paragraph(line: str) -> bool:
    stripped = line.rstrip(_CLOSER_CHARS)
    return stripped.endswith(_TERMINAL) or (len(line) <= 40 and bool(_ENDS_WITH_DATE.search(line)))


def rejoin_lines(lines: list[str]) -> list[str]:
    """Join lines that a PDF dump or hard wrapping split in the middle of a sentence."""
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out:
            prev = out[-1]
            if not _ends_paragraph(prev) and not _ITEM_START.match(line) and not _is_heading(prev):
                out[-1] = prev + line
                continue
        out.append(line)
    return out


def skeleton(paragraph: str) -> str:
    """What is left when digits, punctuation and spacing go: PDF dumps often lose the digits."""
    return "".join(_SKELETON_KEEP.findall(paragraph))


def paragraphs(text: str) -> list[str]:
    """Normalised paragraphs of text, PDF-broken lines rejoined, repeated paragraphs dropped."""
    lines = [clean_line(l) for l in nfkc(text).splitlines()]
    seen: set[str] = set()
    so_far = ""  # the keys kept so far, one a line: grown, not joined again for each paragraph
    out: list[str] = []
    for para in rejoin_lines(lines):
        # A skeleton is no longer than its paragraph: a short one (a date, a signature) needs none.
        key = skeleton(para) if len(para) >= _MIN_DUP else ""
        if len(key) >= _MIN_DUP:
            if key in seen or (len(key) >= _MIN_FRAGMENT and key in so_far):
                continue
            seen.add(key)
            so_far = so_far + "\n" + key if so_far else key
        out.append(para)
    return out


def normalise(text: str) -> str:
    return "\n".join(paragraphs(text))


def content_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
