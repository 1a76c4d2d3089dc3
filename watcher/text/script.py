"""Traditional script read as simplified, one character for one (綠色 → 绿色, 國函〔2016〕204號 → 国函〔2016〕204号).

Pages of portals in Hong Kong and Macao style, legal databases and reposts print documents in traditional
script; a title key, a 文号 or a compared text in simplified script finds them. One character for one keeps
every position of the text, so a match found in the simplified text is at the same place in the original.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path


@functools.cache
def table() -> dict[int, str]:
    """OpenCC's character table (opencc-python-reimplemented ships it as a text file): each traditional
    character to its first simplified reading. A character, not a phrase, at a time keeps the fold one
    character to one; both sides of a comparison are folded alike, so an ambiguous reading (乾 → 干)
    costs nothing."""
    spec = importlib.util.find_spec("opencc")  # locates the data without importing the converter
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("opencc-python-reimplemented is not installed (pip install opencc-python-reimplemented)")
    path = Path(next(iter(spec.submodule_search_locations))) / "dictionary" / "TSCharacters.txt"
    first: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        target = simp.split()[0] if simp.split() else ""
        if len(trad) == 1 and len(target) == 1 and target != trad:
            first[trad] = target
    out = {}
    for trad, simp in first.items():
        seen = {trad}
        while simp in first and simp not in seen:  # 偽 → 僞 → 伪: follow the table to its end
            seen.add(simp)
            simp = first[simp]
        out[ord(trad)] = simp
    return out


# Outside the Basic Multilingual Plane (CJK extension B and on): a range, which re scans fast.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@functools.cache
def _traditional() -> tuple[re.Pattern[str], frozenset[str]]:
    """What finds a character the table changes: a class of those in the BMP, and a set of the others. One class
    of all of them is a list re walks for every character (an astral member rules out its bitmap): 97 ms per
    100,000 characters of simplified text; a set of them, 8 ms; this, 2.6 ms."""
    chars = sorted(map(chr, table()))
    bmp = re.compile("[" + "".join(c for c in chars if ord(c) < 0x10000) + "]")
    return bmp, frozenset(c for c in chars if ord(c) >= 0x10000)


def _has_traditional(text: str) -> bool:
    bmp, astral = _traditional()
    return bmp.search(text) is not None or (_ASTRAL.search(text) is not None and not astral.isdisjoint(text))


def simplified(text: str) -> str:
    """The text in simplified script, as long as the original."""
    return text.translate(table()) if _has_traditional(text) else text
