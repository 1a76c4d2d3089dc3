"""The headline and what stands under it: the title as the page displays it (text, never markup) and,
when no label gives one, the date in the info bar under it."""
from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.extract.cleantext import join_lines, plain
from watcher.extract.generic import DATE_IN_TEXT
from watcher.extract.htmltext import segments
from watcher.text.docno import parse_date

# Separators between a headline and the site's name in <title>: 标题_某市人民政府, 标题 | 某局.
_TITLE_SUFFIX = re.compile(r"\s*[_|｜—-]\s*")
# How far after the headline the info bar's date may stand (characters, spaces removed): the bar, not the text.
_UNDER_HEADLINE = 100


def headline_text(node: LexborNode | None) -> str:
    return join_lines([plain(s) for s in segments(node)])


def title_fallback(tree: LexborHTMLParser, tags: dict[str, str]) -> tuple[str, str]:
    """(title, where it came from) with no selector and no 标题 label: the ArticleTitle tag, og:title,
    the first <h1>/<h2>, the longest part of <title>."""
    if tags.get("ArticleTitle"):
        return tags["ArticleTitle"], "meta:ArticleTitle"
    for name, sel in (("og:title", 'meta[property="og:title"]'), ("title", 'meta[name="title"]')):
        node = tree.css_first(sel)
        if node is not None and plain(node.attributes.get("content") or ""):
            return plain(node.attributes.get("content") or ""), f"meta:{name}"
    for sel in ("h1", "h2"):
        node = tree.css_first(sel)
        text = headline_text(node)
        if len(text) >= 6:
            return text, f"position:{sel}"
    node = tree.css_first("title")
    if node is not None:
        parts = _TITLE_SUFFIX.split(plain(node.text() or ""))
        return (max(parts, key=len) if parts else ""), "position:title"
    return "", "none"


def _squeeze(text: str) -> str:
    return "".join(text.split())


def date_under_title(tree: LexborHTMLParser, title: str) -> date | None:
    """The date in the info bar under the headline (标题 / 2020年09月15日 来源：…), as readers see it:
    the first date within a short distance after the headline's text."""
    if not title or tree.body is None:
        return None
    text = _squeeze(tree.body.text(separator=" ") or "")
    head = _squeeze(title)
    at = text.find(head[:20])
    if at < 0:
        return None
    after = at + len(head[:20])
    if text.startswith(head, at):
        after = at + len(head)
    m = DATE_IN_TEXT.search(text[after: after + _UNDER_HEADLINE])
    return parse_date(m.group(0)) if m else None
