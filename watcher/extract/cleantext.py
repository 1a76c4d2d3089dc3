"""Text of headlines and tag values: no markup, lines joined as a reader reads them."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"</?[A-Za-z][^>]*>")
_WIDE = re.compile(r"[^\x00-\x7f]")


def join_lines(lines: list[str]) -> str:
    """Pieces of one line of text (a headline broken by <br>, a <div> per line) joined: no space between
    Chinese characters, one between Latin words."""
    out = ""
    for line in (" ".join(x.split()) for x in lines):
        if not line:
            continue
        wide_join = out and (_WIDE.match(out[-1]) or _WIDE.match(line[0]))
        out = out + line if (not out or wide_join) else out + " " + line
    return out


def plain(text: str) -> str:
    """Text without markup or runs of whitespace: some CMSs write a headline's <br>/<div> into ArticleTitle."""
    return join_lines(_MARKUP.split(text))
