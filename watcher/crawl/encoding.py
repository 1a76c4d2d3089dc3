"""Bytes -> text: HTTP charset, then <meta charset>, then detection.

County portals often serve GBK without declaring it. GB2312/GBK labels decode as GB18030, their
superset, so a rare character outside GB2312 does not turn the page into mojibake.

A charset that decodes all but a few bytes is the page's charset: one stray byte in a GBK page, or a
UTF-8 page cut off mid-character, costs a replacement character or two, not the whole page (a
detector guessing from the damaged bytes once stored such pages as Cyrillic). "A few" is at most
`_tolerance(content)` bytes: 1% of the non-ASCII bytes, at least 3; a page in another charset than
the one tried fails on a large share of its characters.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_HEADER = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.I)
_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "iso-8859-1": "windows-1252",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "utf8": "utf-8",
    "unicode": "utf-8",
}


def _canonical(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(content_type: str | None, head: bytes) -> str | None:
    """Charset named by the Content-Type header, else by a <meta> in the first 4 KiB."""
    if content_type:
        m = _HEADER.search(content_type)
        enc = _canonical(m.group(1)) if m else None
        # Latin-1 in a header is usually a server default, not the page's real charset.
        if enc and enc not in ("cp1252", "latin-1", "iso8859-1"):
            return enc
    meta = _META.search(head[:4096])
    return _canonical(meta.group(1).decode("ascii", "ignore")) if meta else None


def _cjk_ratio(text: str) -> float:
    if not text:
        return 0.0
    cjk = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    return cjk / max(1, sum(1 for ch in text if not ch.isascii()))


def _tolerance(content: bytes) -> int:
    non_ascii = len(content) - len(content.decode("latin-1").encode("ascii", "ignore"))
    return max(3, non_ascii // 100)


def _nearly(content: bytes, enc: str) -> str | None:
    """content decoded as enc when it decodes, or when all but a few bytes do (those replaced by U+FFFD)."""
    try:
        return content.decode(enc)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return None
    text = content.decode(enc, "replace")
    return text if text.count("\ufffd") <= _tolerance(content) else None


def decode(content: bytes, content_type: str | None = None) -> tuple[str, str]:
    """Return (text, encoding used)."""
    if content.startswith(codecs.BOM_UTF8):
        return content[3:].decode("utf-8", "replace"), "utf-8"
    enc = declared_charset(content_type, content)
    if enc and (text := _nearly(content, enc)) is not None:
        return text, enc  # else declared wrongly: detection below
    if (text := _nearly(content, "utf-8")) is not None:
        return text, "utf-8"
    text = _nearly(content, "gb18030")
    if text is not None and _cjk_ratio(text) > 0.6:
        return text, "gb18030"
    best = from_bytes(content).best()
    if best is not None and best.encoding:
        enc = _canonical(best.encoding) or best.encoding
        return content.decode(enc, "replace"), enc
    return content.decode("utf-8", "replace"), "utf-8"
