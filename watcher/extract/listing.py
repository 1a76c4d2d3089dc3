"""List page -> items (URL, title, date), the next pages to walk, and a digest of what it says."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.config.settings import ListSelectors, Pagination
from watcher.extract.generic import generic_items, item_date
from watcher.extract.htmltext import first_css, split_selectors
from watcher.extract.links import absolute, base_url, node_text
from watcher.extract.model import ListItem, ListPage
from watcher.text.docno import parse_date


def parse_list(html: str, page_url: str, sel: ListSelectors, pagination: Pagination, page_index: int = 0) -> ListPage:
    tree = LexborHTMLParser(html)
    base = base_url(tree, page_url)
    region = first_css(tree, sel.region) if sel.region else None
    scope = region or tree
    nodes: list[LexborNode] = []
    if sel.item:
        for part in split_selectors(sel.item):
            nodes.extend(scope.css(part))
    else:
        nodes = generic_items(tree)
    items: list[ListItem] = []
    seen: set[str] = set()
    for node in nodes:
        link = node if (node.tag == "a" and sel.link == "a") else first_css(node, sel.link)
        if link is None:
            continue
        url = absolute(base, link.attributes.get("href"))
        if not url or url in seen:
            continue
        title_node = first_css(node, sel.title) if sel.title else None
        title = node_text(title_node) if title_node else (link.attributes.get("title") or "").strip() or node_text(link)
        date_node = first_css(node, sel.date) if sel.date else None
        when = parse_date(node_text(date_node)) if date_node else item_date(node)
        seen.add(url)
        items.append(ListItem(url=url, title=title, date=when))
    region_hash = (
        hashlib.sha256((region.html or "").encode("utf-8")).hexdigest() if region is not None else items_digest(items)
    )
    return ListPage(
        items=items, next_urls=next_pages(tree, base, page_url, pagination, page_index), region_hash=region_hash
    )


def items_digest(items: list[ListItem]) -> str:
    """What a list page says, as a hash: the same items again mean the page need not be walked."""
    digest = hashlib.sha256()
    for it in items:
        digest.update(f"{it.url}\t{it.title}\t{it.date}\n".encode())
    return digest.hexdigest()


def next_pages(tree: LexborHTMLParser, base: str, page_url: str, p: Pagination, page_index: int) -> list[str]:
    if page_index + 1 >= p.pages:
        return []
    if p.template:
        return [urljoin(page_url, p.template.format(n=p.start + page_index))]
    node = first_css(tree, p.next) if p.next else None
    if node is None and p.next_text:
        for a in tree.css("a[href]"):
            if p.next_text in (a.text() or ""):
                node = a
                break
    url = absolute(base, node.attributes.get("href")) if node is not None else None
    if url is None and node is None:
        url = trs_next_page(tree, page_url)
    return [url] if url and url != page_url else []


# TRS WCM column pages write their pager with a script, so the raw page has no 下一页 link: page n of a
# column is index_n.html (index.html first), from createPageHTML(count, current, "index", "html") or the
# script's countPage / currentPage variables.
_TRS_PAGER = re.compile(r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']")
_TRS_COUNT = re.compile(r"\bcountPage\s*=\s*(\d+)")
_TRS_CURRENT = re.compile(r"\bcurrentPage\s*=\s*(\d+)")
_PAGE_FILE = re.compile(r"([^/?#]+?)(?:_\d+)?\.(s?html?)$")


def trs_next_page(tree: LexborHTMLParser, page_url: str) -> str | None:
    """The next page of a TRS column from its pager script; None on the last page or without one."""
    for script in tree.css("script"):
        code = script.text() or ""
        call = _TRS_PAGER.search(code)
        if call:
            count, current, name, ext = int(call.group(1)), int(call.group(2)), call.group(3), call.group(4)
        else:
            count_m, current_m = _TRS_COUNT.search(code), _TRS_CURRENT.search(code)
            own = _PAGE_FILE.search(urlsplit(page_url).path or "")
            if not (count_m and current_m and "index" in code):
                continue
            count, current = int(count_m.group(1)), int(current_m.group(1))
            name, ext = (own.group(1), own.group(2)) if own else ("index", "html")
        return urljoin(page_url, f"{name}_{current + 1}.{ext}") if current + 1 < count else None
    return None
