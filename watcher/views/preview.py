"""Look at a portal without storing anything: `sources test` (what a source would extract) and
`sources add` (propose selectors for a new list page)."""

from __future__ import annotations

import re
from dataclasses import asdict
from urllib.parse import urlsplit

import httpx
from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.config.settings import Source
from watcher.crawl.fetch import Fetcher
from watcher.errors import WatcherError, error_context
from watcher.extract.generic import body_fallback, generic_items
from watcher.extract.kinds import kind_for
from watcher.extract.links import base_url
from watcher.extract.metadata import LABELS
from watcher.extract.model import Detail
from watcher.i18n import _

_LABEL_WORDS = [lab for labs in LABELS.values() for lab in labs if len(lab) >= 3]


def _detail_summary(d: Detail) -> dict:
    return dict(
        url=d.url,
        title=d.title,
        doc_no=d.doc_no,
        issuer=d.issuer,
        written=d.written.isoformat() if d.written else None,
        published=d.published.isoformat() if d.published else None,
        body_chars=len(d.body),
        body_excerpt=d.body[:160],
        metadata=d.metadata,
        cites=d.cited_docnos,
        cited_titles=d.cited_titles[:10],
        attachments=[asdict(a) for a in d.attachments],
    )


async def preview_source(source: Source, limit: int = 3, client: httpx.AsyncClient | None = None) -> dict:
    """Fetch the first list page and `limit` detail pages and return what would be extracted."""
    kind = kind_for(source)
    list_url = kind.start_urls()[0]  # what a poll fetches first: for gkmlpt the API, for hanweb maybe dataproxy.jsp
    out: dict = {"source": source.id, "list_url": list_url, "items": [], "details": [], "errors": []}
    async with Fetcher(client, concurrency=4) as f, error_context(source_id=source.id):
        resp = await f.get(list_url, source.fetch, form=kind.request_form(list_url))
        page = kind.parse_list(resp.text, resp.url, 0)
        out["items"] = [dict(url=i.url, title=i.title, date=i.date.isoformat() if i.date else None) for i in page.items]
        out["next"] = page.next_urls
        for item in page.items[:limit]:
            try:
                with error_context(source_id=source.id):  # caught below, before the outer context sees it
                    r = await f.get(item.url, source.fetch)
                    out["details"].append(_detail_summary(kind.parse_detail(r.text, r.url, item)))
            except WatcherError as exc:
                out["errors"].append(exc.as_dict())
    return out


# ---- proposing selectors ------------------------------------------------------------------------
def _simple(node: LexborNode) -> str:
    """tag, tag#id or tag.class for one node (ids and classes that look generated are skipped)."""
    ident = node.attributes.get("id")
    if ident and re.fullmatch(r"[A-Za-z][\w-]{0,40}", ident) and not re.search(r"\d{4,}", ident):
        return f"{node.tag}#{ident}"
    classes = [c for c in (node.attributes.get("class") or "").split() if re.fullmatch(r"[A-Za-z][\w-]{0,40}", c)]
    return (node.tag or "") + "".join(f".{c}" for c in classes[:2])


def css_path(node: LexborNode, tree: LexborHTMLParser, depth: int = 3) -> str:
    """A short selector for node: its own tag/class under the nearest ancestors with an id or class."""
    parts = [_simple(node)]
    cur = node.parent
    while cur is not None and cur.tag not in ("body", "html", None) and len(parts) < depth:
        s = _simple(cur)
        parts.insert(0, s)
        if "#" in s:
            break
        cur = cur.parent
    return " > ".join(parts)


def _meta_block(tree: LexborHTMLParser) -> LexborNode | None:
    """The smallest element that holds three or more metadata labels."""
    best = None
    for node in tree.css("table, div, ul, dl"):
        text = node.text() or ""
        if len(text) > 3000:
            continue
        found = sum(1 for lab in _LABEL_WORDS if re.search(r"\s*".join(map(re.escape, lab)) + r"\s*[:：]", text))
        if found >= 3 and (best is None or len(text) < len(best.text() or "")):
            best = node
    return best


def _title_node(tree: LexborHTMLParser) -> LexborNode | None:
    for sel in ("h1", "h2", "[class*=title]"):
        for node in tree.css(sel):
            text = (node.text() or "").strip()
            if 6 <= len(text) <= 120:
                return node
    return None


def propose_source(list_html: str, list_url: str, detail_html: str | None, detail_url: str | None) -> dict:
    """A sources.yaml entry for a list page, with selectors inferred from its markup."""
    tree = LexborHTMLParser(list_html)
    items = generic_items(tree)
    if not items:
        raise WatcherError(_("no repeated links with dates found on this page: is it a list page?"), url=list_url)
    item_sel = css_path(items[0], tree)
    if len(tree.css(item_sel)) < len(items):
        item_sel = css_path(items[0], tree, depth=1)
    host = urlsplit(list_url).hostname or "portal"
    title_node = tree.css_first("title")
    title = (title_node.text() if title_node else host).strip()
    entry: dict = {
        "id": re.sub(r"[^A-Za-z0-9_.-]+", "-", host).strip("-")[:60] or "portal",
        "name": title[:60] or host,
        "kind": "html",
        "urls": [list_url],
        "list": {"item": item_sel},
    }
    if any("下一页" in (a.text() or "") for a in tree.css("a[href]")):
        entry["pagination"] = {"pages": 3}
    if detail_html:
        dt = LexborHTMLParser(detail_html)
        detail: dict = {}
        t = _title_node(dt)
        if t is not None:
            detail["title"] = css_path(t, dt, depth=2)
        body = body_fallback(dt)
        if body is not None and body.tag != "body":
            detail["body"] = css_path(body, dt, depth=2)
        meta = _meta_block(dt)
        if meta is not None:
            detail["meta"] = css_path(meta, dt, depth=2)
        if detail:
            entry["detail"] = detail
    return entry


async def inspect_url(url: str, client: httpx.AsyncClient | None = None) -> tuple[dict, dict]:
    """Fetch a list page and its first detail page; return (proposed entry, preview of what it extracts)."""
    probe = Source.model_validate({"id": "probe", "name": "probe", "urls": [url]})
    async with Fetcher(client, concurrency=2) as f, error_context(source_id="new"):
        resp = await f.get(url, probe.fetch)
        tree = LexborHTMLParser(resp.text)
        items = generic_items(tree)
        detail_html = detail_url = None
        if items:
            a = items[0].css_first("a[href]")
            if a is not None:
                from urllib.parse import urljoin

                detail_url = urljoin(base_url(tree, resp.url), a.attributes.get("href") or "")
                detail_html = (await f.get(detail_url, probe.fetch)).text
    entry = propose_source(resp.text, resp.url, detail_html, detail_url)
    source = Source.model_validate(entry)
    kind = kind_for(source)
    page = kind.parse_list(resp.text, resp.url, 0)
    preview = {
        "items": [dict(url=i.url, title=i.title, date=i.date.isoformat() if i.date else None) for i in page.items[:10]],
        "item_count": len(page.items),
    }
    if detail_html and detail_url:
        preview["detail"] = _detail_summary(
            kind.parse_detail(detail_html, detail_url, page.items[0] if page.items else None)
        )
    return entry, preview
