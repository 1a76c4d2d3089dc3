"""The generic heuristics, for pages read without selectors: the repeated dated links of a list, the
headline, the element holding the text, the date under the headline."""
from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.extract.links import node_text
from watcher.text.docno import parse_date

DATE_IN_TEXT = re.compile(r"(?:19|20)\d{2}\s*(?:年|[-/.])\s*\d{1,2}\s*(?:月|[-/.])\s*\d{1,2}")


def generic_items(tree: LexborHTMLParser) -> list[LexborNode]:
    """Without an item selector: the largest group of same-shaped containers holding a link and a date."""
    groups: dict[tuple, list[LexborNode]] = {}
    for a in tree.css("a[href]"):
        node = a
        for _ in range(3):
            node = node.parent
            if node is None:
                break
            if node.tag in ("li", "tr", "dd", "p", "div") and DATE_IN_TEXT.search(node.text() or ""):
                parent = node.parent
                key = (node.tag, node.attributes.get("class"), parent.mem_id if parent else 0)
                bucket = groups.setdefault(key, [])
                if not bucket or bucket[-1].mem_id != node.mem_id:
                    bucket.append(node)
                break
    # Most items first; among equals the tightest containers (a list row, not the column around it).
    return max(groups.values(), key=lambda g: (len(g), -sum(len(n.text() or "") for n in g) / len(g))) \
        if groups else []


def title_fallback(tree: LexborHTMLParser) -> str:
    for sel in ('meta[name="ArticleTitle"]', 'meta[property="og:title"]', 'meta[name="title"]'):
        node = tree.css_first(sel)
        if node is not None and (node.attributes.get("content") or "").strip():
            return node.attributes["content"].strip()
    for sel in ("h1", "h2"):
        node = tree.css_first(sel)
        if node is not None and len(node_text(node)) >= 6:
            return node_text(node)
    node = tree.css_first("title")
    if node is not None:
        parts = re.split(r"\s*[_|｜—-]\s*", node.text().strip())
        return max(parts, key=len) if parts else ""
    return ""


# Not <form>: ASP.NET portals wrap the whole page in <form id="form1">.
_CHROME_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "select", "button", "iframe")
_HIDDEN = ('[style*="display:none"]', '[style*="display: none"]', '[style*="visibility:hidden"]', "[hidden]")
_PARAGRAPH = {"p", "-text", "br", "span", "font", "strong", "b", "section"}
# Page chrome that sits inside or beside the text: font size, print, close, share, QR code.
_CHROME_LINE = re.compile(r"^[【\[]?(?:字号|字体|文字大小)[:：]?.{0,12}$|^.{0,6}(?:打印本页|打印|关闭窗口|关闭本页|关闭当前页面|"
                          r"扫一扫在手机打开当前页|分享到|分享)[:：】\]]?.{0,12}$|^[大中小\s]{3,}$")


def body_fallback(tree: LexborHTMLParser) -> LexborNode | None:
    """The element whose own paragraphs hold the most text, hidden and chrome elements left out.
    Any tag counts (CMSs wrap text in their own: <ucapcontent>, <founder-content>); text in links
    does not (navigation and related-link lists are mostly links)."""
    for selector in (*_CHROME_TAGS, *_HIDDEN):
        for node in tree.css(selector):
            node.decompose()
    best, best_score = None, 0
    root = tree.body
    if root is None:
        return None
    for node in root.traverse():
        if node.tag in ("-text", "a", "p", "br", "span", "font", "strong", "b", "li", "img"):
            continue
        score = 0
        child = node.child
        while child is not None:
            if child.tag in _PARAGRAPH:
                text = (child.text(deep=True) or "").strip()
                links = sum(len((a.text() or "").strip()) for a in child.css("a")) if child.tag != "-text" else 0
                score += max(0, len(text) - 2 * links)
            child = child.next
        if score > best_score:
            best, best_score = node, score
    return best or tree.body


def strip_chrome(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not (len(line) <= 24 and _CHROME_LINE.search(line.strip())))


def date_under_title(tree: LexborHTMLParser, title: str) -> date | None:
    """The date in the info bar under the headline (标题 / 2020年09月15日 来源：…), as readers see it."""
    if not title or tree.body is None:
        return None
    text = " ".join((tree.body.text(separator=" ") or "").split())
    at = text.find(title[:20])
    if at < 0:
        return None
    window = text[at + len(title[:20]): at + len(title) + 160]
    m = DATE_IN_TEXT.search(window)
    return parse_date(m.group(0)) if m else None
