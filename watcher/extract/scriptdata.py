"""A document carried in a page's script rather than in its markup.

Some CMSs send an empty body container and the document as data for their script to render:
`window._CONFIG = {…, DETAIL: {"title": …, "content": "<p>…</p>", …}, TREE: […]}`, `var article =
{…}`, `<script type="application/json">{…}</script>`, `JSON.parse("{…}")`. The object is read as JSON
(never evaluated): every `{` that a script assigns, passes or nests (after `=`, `:`, `(`, `,`, `[`) is
tried with a JSON decoder, so an object literal with unquoted keys around a JSON object still yields
the object. A record is an object with a content-like field holding HTML with text and a title-like
field holding a short plain string; the one with the most text wins."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from watcher.extract.generic import text_chars
from watcher.text.docno import normalise_docno, parse_date

# Only scripts that hold escaped or plain HTML tags are searched (most scripts do not).
_HTML_MARK = re.compile(r"(?:<|\\u003c|\\x3c|&lt;)/?(?:p|div|br|span|table|section|font|strong)\b", re.I)
_OBJECT_START = re.compile(r"(?:^|[=:(,\[])\s*(\{)")
_JSON_PARSE = re.compile(r"JSON\.parse\(\s*(\"(?:[^\"\\]|\\.)*\")\s*\)", re.S)
# Field names, compared lower-cased without _ and -: articlecontent, content_html, detail_content, zw …
_CONTENT_KEY = re.compile(r"content|body|html|article|zhengwen|^zw$|^text$|^txt$|detail")
_TITLE_KEY = re.compile(r"title|headline|subject|^name$|^bt$|wjbt|biaoti")
_TAG = re.compile(r"<[^>]*>")
_MAX_SCRIPT = 4_000_000
_MAX_TRIES = 400  # decoder starts per script: a guard against pathological scripts
_MAX_DEPTH = 6
_MIN_TEXT = 20  # characters of text a content field must hold
_MAX_TITLE = 300


@dataclass(frozen=True)
class ScriptRecord:
    """A document found in a script: its HTML, its title, and the other short strings beside them."""

    content_html: str
    title: str | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def text_chars(self) -> int:
        return text_chars(_TAG.sub("", self.content_html))


def _norm(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _objects(text: str) -> Iterator[Any]:
    """Every JSON value that starts an assigned, passed or nested object literal in text."""
    decoder = json.JSONDecoder()
    pos, tries = 0, 0
    while tries < _MAX_TRIES and (m := _OBJECT_START.search(text, pos)):
        start, tries = m.start(1), tries + 1
        try:
            obj, end = decoder.raw_decode(text, start)
        except ValueError:
            pos = start + 1
            continue
        yield obj
        pos = end
    for literal in _JSON_PARSE.findall(text):
        try:
            inner = json.loads(json.loads(literal))
        except (ValueError, TypeError):
            continue
        yield inner


def _record(obj: dict) -> ScriptRecord | None:
    """The record an object holds: its longest HTML content field, and a title field beside it."""
    content, title = None, None
    for key, value in obj.items():
        if not isinstance(value, str) or not isinstance(key, str):
            continue
        name = _norm(key)
        if _CONTENT_KEY.search(name) and _HTML_MARK.search(value):
            if text_chars(_TAG.sub("", value)) >= _MIN_TEXT and (content is None or len(value) > len(content)):
                content = value
        elif _TITLE_KEY.search(name) and title is None:
            plain = " ".join(value.split())
            if 2 <= len(plain) <= _MAX_TITLE and "<" not in plain and not plain.isdigit():
                title = plain
    if content is None or title is None:
        return None
    fields = {
        k: " ".join(str(v).split())
        for k, v in obj.items()
        if isinstance(k, str) and isinstance(v, (str, int, float)) and not isinstance(v, bool) and v is not content
        if 0 < len(str(v)) <= _MAX_TITLE and "<" not in str(v)
    }
    return ScriptRecord(content, title, fields)


# The record's own names for the fields of a notice (lower-cased, without _ and -), most specific first.
_FIELD_NAMES = {
    "doc_no": re.compile(r"^(?:documentnumber|docnumber|docno|fileno|filenumber|wenhao|fwzh|wjbh|wh)$"),
    "issuer": re.compile(r"^(?:publisher|issuer|issueorg|publishorg|fbjg|fwjg|fwdw)$"),
    "published": re.compile(
        r"^(?:firstpublishtime|publishtime|publishdate|pubdate|pubtime|releasedate|fbrq|fbsj|date)$"
    ),
    "index_no": re.compile(r"^(?:identifier|indexno|syh)$"),
}


def record_fields(record: ScriptRecord) -> dict[str, str]:
    """Fields of the notice the record names: 文号, issuer, publication date (a date, or a Unix time as
    these records give it), 索引号. Values that do not read as what they claim are left out."""
    out: dict[str, str] = {}
    for key, name in _FIELD_NAMES.items():
        for raw_key, value in record.fields.items():
            if key not in out and name.match(_norm(raw_key)):
                read = _field_value(key, value)
                if read:
                    out[key] = read
    return out


def _field_value(key: str, value: str) -> str | None:
    if key == "doc_no":
        return normalise_docno(value)
    if key == "published":
        if re.fullmatch(r"\d{10}(?:\d{3})?", value):
            stamp = int(value) / (1000 if len(value) == 13 else 1)
            # Chinese portals' clocks: a Unix time is read in China's time zone (UTC+8).
            return (datetime.fromtimestamp(stamp, tz=UTC) + timedelta(hours=8)).date().isoformat()
        when = parse_date(value)
        return when.isoformat() if when else None
    return value if 2 <= len(value) <= 60 else None


def _records(value: Any, depth: int = 0) -> Iterator[ScriptRecord]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        found = _record(value)
        if found is not None:
            yield found
        children = list(value.values())
    elif isinstance(value, list):
        children = value
    else:
        return
    for child in children:
        if isinstance(child, (dict, list)):
            yield from _records(child, depth + 1)


_TITLE_PLACES = ("title", "h1", "h2", "h3", 'meta[name="ArticleTitle" i]', 'meta[property="og:title"]')


def _page_titles(tree: LexborHTMLParser) -> list[str]:
    """What the page itself shows as its title: <title>, the title tags, its first headings."""
    out = []
    for sel in _TITLE_PLACES:
        for node in tree.css(sel)[:3]:
            text = node.attributes.get("content") or "" if node.tag == "meta" else node.text() or ""
            if text_chars(text) >= 4:
                out.append("".join(text.split()))
    return out


def _shown(title: str, page_titles: list[str]) -> bool:
    """A record is this page's document when the page shows its title (or shows no title at all): a
    script's list of related items or a widget's data is not."""
    if not page_titles:
        return True
    head = "".join(title.split())[:20]
    return any(head in t or t in head for t in page_titles)


def script_record(tree: LexborHTMLParser) -> ScriptRecord | None:
    """The page's document as its scripts carry it, the one with the most text; None when none does."""
    best: ScriptRecord | None = None
    titles: list[str] | None = None
    for node in tree.css("script"):
        if node.attributes.get("src"):
            continue
        text = node.text(deep=True) or ""
        if len(text) > _MAX_SCRIPT or not _HTML_MARK.search(text):
            continue
        titles = _page_titles(tree) if titles is None else titles
        for obj in _objects(text):
            for found in _records(obj):
                if not _shown(found.title or "", titles):
                    continue
                if best is None or found.text_chars() > best.text_chars():
                    best = found
    return best


def record_body(record: ScriptRecord) -> LexborHTMLParser:
    """The record's HTML as a page of its own, to be read like a body element."""
    return LexborHTMLParser(f"<html><body>{record.content_html}</body></html>")
