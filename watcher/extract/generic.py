"""The generic heuristics, for pages read without selectors: the repeated dated links of a list, the
element holding the text, what a page hides, the related-items lists beside the text."""

from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.extract.htmltext import PageTexts, segments
from watcher.extract.metadata import PAGE_TABLE
from watcher.text.docno import parse_date

DATE_IN_TEXT = re.compile(r"(?:19|20)\d{2}\s*(?:年|[-/.])\s*\d{1,2}\s*(?:月|[-/.])\s*\d{1,2}")
_ROW_TAGS = ("li", "tr", "dd", "p", "div")


def _dated_rows(tree: LexborHTMLParser | LexborNode) -> list[list[LexborNode]]:
    """Groups of same-shaped containers (tag, class, parent) that each hold a link and a date."""
    groups: dict[tuple, list[LexborNode]] = {}
    # Whether a container's text holds a date, by mem_id: the links of one list share their containers,
    # whose text would be read again for each (a tenth of reading a gov.cn page).
    dated: dict[int, bool] = {}
    for a in tree.css("a[href]"):
        node: LexborNode | None = a
        for _ in range(3):
            node = node.parent if node is not None else None
            if node is None:
                break
            if node.tag not in _ROW_TAGS:
                continue
            nid = node.mem_id
            if nid not in dated:
                dated[nid] = DATE_IN_TEXT.search(node.text() or "") is not None
            if dated[nid]:
                parent = node.parent
                key = (node.tag, node.attributes.get("class"), parent.mem_id if parent else 0)
                bucket = groups.setdefault(key, [])
                if not bucket or bucket[-1].mem_id != node.mem_id:
                    bucket.append(node)
                break
    return list(groups.values())


def _is_nested_list(node: LexborNode) -> bool:
    """A row that is itself a list (a 相关公文 block among search results): several links, several dates."""
    return any(len(g) >= 2 for g in _dated_rows(node))


def generic_items(tree: LexborHTMLParser) -> list[LexborNode]:
    """Without an item selector: the largest group of same-shaped containers holding a link and a date,
    less the rows that are lists themselves."""
    groups = [[n for n in g if not _is_nested_list(n)] for g in _dated_rows(tree)]
    groups = [g for g in groups if g]
    # Most items first; among equals the tightest containers (a list row, not the column around it).
    return max(groups, key=lambda g: (len(g), -sum(len(n.text() or "") for n in g) / len(g))) if groups else []


def item_date(node: LexborNode) -> date | None:
    """A list item's own date: of the texts in the item that hold a date, the one with the least else
    around it (a 发布时间 span, a date cell), not a date inside its title or summary."""
    best: tuple[int, str] | None = None
    for text in node.traverse(include_text=True):
        if text.tag != "-text":
            continue
        content = " ".join((text.text_content or "").split())
        m = DATE_IN_TEXT.search(content)
        if m and (best is None or len(content) - len(m.group(0)) < best[0]):
            best = (len(content) - len(m.group(0)), m.group(0))
    return parse_date(best[1]) if best else parse_date(" ".join((node.text(separator=" ") or "").split()))


def remove_related_lists(tree: LexborHTMLParser, texts: PageTexts | None = None) -> None:
    """Drop the lists of other items (相关文章, 最新发布, a column's siblings): rows of a link and a date.
    Their dates and labels are not the page's. Rows that carry two labelled fields are the page's own
    metadata table (发布机构 linked to its site, then 发布日期), not items. `texts` is told of each removal."""
    for group in _dated_rows(tree):
        if len(group) >= 2:
            for node in group:
                if len(PAGE_TABLE.occurrences(segments(node))) < 2:
                    _remove(node, texts)


def _remove(node: LexborNode, texts: PageTexts | None) -> None:
    if texts is not None:
        texts.forget(node)
    node.decompose()


# Not <form>: ASP.NET portals wrap the whole page in <form id="form1">.
_CHROME_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "select", "button", "iframe")
# What the page does not show: inline styles, the hidden attribute, AngularJS's ng-hide (copies of a
# headline with its 文号, a red-header block the app hides).
_HIDDEN = (
    '[style*="display:none" i]',
    '[style*="display: none" i]',
    '[style*="visibility:hidden" i]',
    '[style*="visibility: hidden" i]',
    "[hidden]",
    ".ng-hide",
)

_PRUNED = ", ".join((*_CHROME_TAGS, *_HIDDEN))

# A site's copyright and disclaimer block, under its heading: boilerplate on every page, never the text.
_BOILERPLATE_HEADING = re.compile(r"^(?:版权与免责声明|免责声明|版权声明|版权与免责)[:：]?$")


def _boilerplate_blocks(tree: LexborHTMLParser) -> list[LexborNode]:
    """The smallest element holding a boilerplate heading and the statement under it."""
    found: list[LexborNode] = []
    root = tree.body
    # Every heading holds 免责 or 声明: one scan of the page's text in C spares most pages the walk of
    # their text nodes in Python (0.3 ms of a generated 2 ms page).
    shown = root.text() if root is not None else ""
    if "免责" not in shown and "声明" not in shown:
        return found
    for text in root.traverse(include_text=True) if root is not None else []:
        heading = (text.text_content or "").strip() if text.tag == "-text" else ""
        if not _BOILERPLATE_HEADING.match(heading):
            continue
        node = text.parent
        while node is not None and node.tag != "body" and text_chars(node.text() or "") <= len(heading) + 20:
            node = node.parent
        if node is not None and node.tag != "body" and text_chars(node.text() or "") <= 2000:
            found.append(node)
    return found


def prune(tree: LexborHTMLParser, texts: PageTexts | None = None) -> None:
    """Remove what a reader does not see (scripts, styles, hidden elements) and what is not the page's
    own (navigation chrome, the copyright and disclaimer boilerplate). `texts` is told of each removal."""
    # One query for all of them: each query parses its selector and walks the page (15 walks cost 0.2 ms
    # of a 2 ms page). The selectors test each node alone, so one walk of the page as it was removes what
    # fifteen walks, each after the removals before it, removed; a node inside one already removed is a
    # detached node, and removing it again changes nothing.
    for node in tree.css(_PRUNED):
        _remove(node, texts)
    for node in _boilerplate_blocks(tree):
        _remove(node, texts)


# The body containers of the CMS families most portals run on: TRS WCM (div.TRS_Editor, and
# .trs_editor_view on the Guizhou intensive platform), Ucap (#UCAP-CONTENT, <ucapcontent>), Hanweb
# (#zoom), Founder (<founder-content>); Guangdong NFCMS pages use TRS_Editor too. Tried before the
# text-density search.
CMS_BODIES = ("#UCAP-CONTENT", "ucapcontent", ".TRS_Editor", ".trs_editor_view", "#zoom", "founder-content")
_PARAGRAPH = {"p", "-text", "br", "span", "font", "strong", "b", "section"}
# Blocks that hold only inline content are one paragraph each (TRS bodies are <div> after <div>).
_LEAF_BLOCKS = {"div", "center", "blockquote"}
_BLOCKS = frozenset(
    "div p table ul ol li dl section article h1 h2 h3 h4 h5 h6 blockquote form pre center tr td th tbody".split()
)
_NOT_CONTAINERS = ("-text", "a", "p", "br", "span", "font", "strong", "b", "li", "img")


def _text_score(node: LexborNode) -> int:
    """Characters of text, less twice those in links (navigation and related lists are mostly links)."""
    links = sum(text_chars(a.text() or "") for a in node.css("a")) if node.tag != "-text" else 0
    return max(0, text_chars(node.text(deep=True) or "") - 2 * links)


def text_chars(text: str) -> int:
    """Characters that are not white space (indentation of the markup is not text)."""
    return len("".join(text.split()))


def _blocky(root: LexborNode) -> set[int]:
    """mem_ids of the elements that contain a block element (not one paragraph)."""
    out: set[int] = set()
    for node in reversed(list(root.traverse())):
        parent = node.parent
        if parent is not None and (node.tag in _BLOCKS or node.mem_id in out):
            out.add(parent.mem_id)
    return out


def _table_score(table: LexborNode) -> int:
    """A data table (rows of two or more cells, no table inside) is read as the text it holds: decisions
    and 信息公开表 are published as tables."""
    if len(table.css("table")) > 1:
        return 0
    rows = table.css("tr")
    if len(rows) < 2 or sum(len(r.css("td, th")) >= 2 for r in rows) < 2:
        return 0
    return _text_score(table)


def _density_best(root: LexborNode) -> tuple[LexborNode | None, int]:
    blocky = _blocky(root)
    best, best_score = None, 0
    for node in root.traverse():
        if node.tag in _NOT_CONTAINERS:
            continue
        score = _table_score(node) if node.tag == "table" else 0
        child = node.child
        while child is not None:
            if child.tag in _PARAGRAPH or (child.tag in _LEAF_BLOCKS and child.mem_id not in blocky):
                score += _text_score(child)
            child = child.next
        if score > best_score:
            best, best_score = node, score
    return best, best_score


def body_fallback(tree: LexborHTMLParser, texts: PageTexts | None = None) -> LexborNode | None:
    """The element holding the text, hidden and chrome elements left out: a CMS family's body container
    when it holds at least half the text the density search finds, else the element whose own paragraphs
    hold the most text. Any tag counts (CMSs wrap text in their own: <ucapcontent>, <founder-content>)."""
    prune(tree, texts)
    root = tree.body
    if root is None:
        return None
    best, best_score = _density_best(root)
    family = [n for sel in CMS_BODIES for n in tree.css(sel)]
    if family:
        biggest = max(family, key=_text_score)
        if _text_score(biggest) * 2 >= best_score:
            return biggest
    return best or tree.body


# Page chrome that sits inside or beside the text: font size, print, close, share, QR code.
_CHROME_LINE = re.compile(
    r"^[【\[]?(?:字号|字体|文字大小)[:：]?.{0,12}$"
    r"|^.{0,6}(?:打印本页|打印|关闭窗口|关闭本页|关闭当前页面|扫一扫在手机打开当前页|分享到|分享)[:：】\]]?.{0,12}$"
    r"|^[大中小\s]{3,}$"
)


def strip_chrome(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not (len(line) <= 24 and _CHROME_LINE.search(line.strip())))
