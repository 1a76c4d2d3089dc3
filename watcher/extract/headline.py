"""The headline and what stands under it: the title as the page displays it (text, never markup) and,
when no label gives one, the date in the info bar under it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


# Elements that display a headline: headings, and the title blocks CMS templates use instead.
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# A date's label just before it: 发布时间：, or a bare 时间： / 日期： that starts a field (not 留言时间：).
_DATE_LABEL = re.compile(r"(?:(?:发布|公开|公布|成文)(?:日期|时间)|(?:^|[^\u4e00-\u9fff])(?:日期|时间))\s*[:：]\s*$")


def _is_heading(node: LexborNode) -> bool:
    if node.tag in _HEADINGS:
        return True
    names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}".lower()
    return "title" in names and node.tag not in ("title", "a", "meta")


def _shape(node: LexborNode) -> tuple[str | None, str | None]:
    return node.tag, node.attributes.get("class")


def _repeated(node: LexborNode) -> bool:
    """One of a run of same-shaped elements (menu entries, list rows, a 副标题 under the headline in the
    same tag): a headline is one of a kind on its page."""
    for n in (node, node.parent):
        parent = n.parent if n is not None else None
        if n is None or parent is None:
            continue
        same = 0
        child = parent.child
        while child is not None:
            same += _shape(child) == _shape(n)
            child = child.next
        if same >= 2:
            return True
    return False


@dataclass
class _Layout:
    """The page's text in reading order (spaces removed): where the candidate headlines stand and where
    dates stand (labelled ones apart)."""

    headings: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, text), one of a kind
    dates: list[tuple[int, bool]] = field(default_factory=list)  # (offset, labelled)


def _layout(tree: LexborHTMLParser) -> _Layout:
    out, at, tail = _Layout(), 0, ""
    for node in tree.body.traverse(include_text=True) if tree.body is not None else []:
        if node.tag == "-text":
            raw = " ".join((node.text_content or "").split())
            m = DATE_IN_TEXT.search(raw)
            if m:  # the label may stand in the text before: <i>时间：</i>2019-09-18
                labelled = bool(_DATE_LABEL.search((tail + " " + raw[: m.start()])[-12:]))
                out.dates.append((at + len(_squeeze(raw[: m.start()])), labelled))
            at, tail = at + len(_squeeze(raw)), (tail + " " + raw)[-12:]
        elif _is_heading(node) and not _repeated(node):
            text = headline_text(node)
            if 6 <= len(text) <= 150:
                out.headings.append((at, at + len(_squeeze(text)), text))
    return out


def _heading_over_info_bar(layout: _Layout) -> str | None:
    """The headline next to the page's first labelled date (else its first date): the nearest heading
    ending just before it, or, where the info bar stands above the headline, starting just after it."""
    labelled = [d for d, is_labelled in layout.dates if is_labelled]
    if labelled:
        d = labelled[0]
        after = [text for start, _, text in layout.headings if d < start <= d + _UNDER_HEADLINE]
        return _heading_before(layout, d) or (after[0] if after else None)
    # An unlabelled date is the info bar's only with the headline just above it (not a top-bar date).
    return next((h for h in (_heading_before(layout, d) for d, _ in layout.dates) if h), None)


def _heading_before(layout: _Layout, offset: int) -> str | None:
    before = [text for _, end, text in layout.headings if end <= offset and offset - end <= _UNDER_HEADLINE]
    return before[-1] if before else None


def _heading_in_title_tag(layout: _Layout, title_tag: str) -> str | None:
    """The headline as <title> gives it, confirmed by a heading on the page: the heading <title> holds
    (its separators may cut a headline with a dash in it), or <title>'s longest part when a heading
    starts with it (a headline element that also holds the info bar)."""
    parts = _TITLE_SUFFIX.split(title_tag)
    longest = max(parts, key=lambda p: len(_squeeze(p)))
    texts = [text for _, _, text in layout.headings]
    whole, part = _squeeze(title_tag), len(_squeeze(longest))
    inside = [h for h in texts if _squeeze(h) in whole and len(_squeeze(h)) >= 0.6 * part]
    if inside:
        return min(inside, key=lambda h: (whole.find(_squeeze(h)), -len(h)))
    if len(_squeeze(longest)) >= 6 and any(_squeeze(h).startswith(_squeeze(longest)) for h in texts):
        return longest
    return None


def title_fallback(tree: LexborHTMLParser, tags: dict[str, str]) -> tuple[str, str]:
    """(title, where it came from) with no selector and no 标题 label: the ArticleTitle tag, og:title;
    else the heading over the info bar's date, the heading <title> repeats, the first <h1>/<h2>, the
    longest part of <title>."""
    if tags.get("ArticleTitle"):
        return tags["ArticleTitle"], "meta:ArticleTitle"
    for name, sel in (("og:title", 'meta[property="og:title"]'), ("title", 'meta[name="title"]')):
        node = tree.css_first(sel)
        if node is not None and plain(node.attributes.get("content") or ""):
            return plain(node.attributes.get("content") or ""), f"meta:{name}"
    layout = _layout(tree)
    heading = _heading_over_info_bar(layout)
    if heading:
        return heading, "position:over-info-bar"
    tag = tree.css_first("title")
    title_tag = plain(tag.text() or "") if tag is not None else ""
    heading = _heading_in_title_tag(layout, title_tag) if title_tag else None
    if heading:
        return heading, "position:headline"
    for sel in ("h1", "h2"):
        text = headline_text(tree.css_first(sel))
        if len(text) >= 6:
            return text, f"position:{sel}"
    if title_tag:
        return max(_TITLE_SUFFIX.split(title_tag), key=len), "position:title"
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
    m = DATE_IN_TEXT.search(text[after : after + _UNDER_HEADLINE])
    return parse_date(m.group(0)) if m else None
