"""Gov-portal pages (list and detail, in the common 政府信息公开 layout) and the demo site."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape
from importlib import resources

from .server import PortalServer

LIST_SELECTORS = {"item": "ul.xxgk-list > li", "link": "a", "date": "span.date", "region": "ul.xxgk-list"}
DETAIL_SELECTORS = {"title": "h1.doc-title", "body": "#zoom", "meta": "table.xxgk-meta"}


def list_page(
    column: str,
    items: Iterable[tuple[str, str, str | None]],
    next_href: str | None = None,
    charset: str | None = "utf-8",
) -> str:
    rows = "\n".join(
        f'  <li><a href="{escape(href)}" title="{escape(title)}" target="_blank">{escape(title)}</a>'
        f'<span class="date">{escape(date or "")}</span></li>'
        for href, title, date in items
    )
    pager = (
        f'<div class="page"><span class="now">1</span> <a href="{escape(next_href)}">下一页</a></div>'
        if next_href
        else ""
    )
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"""<!DOCTYPE html>
<html><head>{meta}<title>{escape(column)}</title></head>
<body><div class="header"><a href="/">首页</a> <a href="/zfxxgk/">政府信息公开</a></div>
<div class="main"><h2>{escape(column)}</h2>
<ul class="xxgk-list">
{rows}
</ul>
{pager}</div>
<div class="footer">主办单位：人民政府办公室 网站标识码 0000000000 访问量：<span id="visits">1</span></div>
</body></html>"""


_META_LABELS = (
    ("索 引 号", "index_no"),
    ("主题分类", "topic"),
    ("发文机关", "issuer"),
    ("成文日期", "written"),
    ("标　　题", "title"),
    ("发文字号", "doc_no"),
    ("发布日期", "published"),
)


def _cn_date(iso: str | None) -> str:
    if not iso:
        return ""
    y, m, d = iso.split("-")
    return f"{y}年{int(m):02d}月{int(d):02d}日"


def detail_page(
    meta: dict, paragraphs: Sequence[str], attachments: Sequence[tuple[str, str]] = (), charset: str | None = "utf-8"
) -> str:
    cells = []
    for label, key in _META_LABELS:
        value = meta.get(key) or ""
        if key in ("written", "published"):
            value = _cn_date(value)
        cells.append(f'<td class="label"><b>{label}：</b></td><td>{escape(value)}</td>')
    rows = "".join(f"<tr>{cells[i]}{cells[i + 1] if i + 1 < len(cells) else ''}</tr>" for i in range(0, len(cells), 2))
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs if p.strip())
    files = "".join(f'<p>附件：<a href="{escape(h)}">{escape(n)}</a></p>' for h, n in attachments)
    head = f'<meta charset="{charset}">' if charset else ""
    return f"""<!DOCTYPE html>
<html><head>{head}<title>{escape(meta.get("title") or "")}_政府信息公开</title></head>
<body><div class="nav"><a href="/">首页</a> &gt; <a href="/zfxxgk/">政府信息公开</a></div>
<table class="xxgk-meta">{rows}</table>
<h1 class="doc-title">{escape(meta.get("title") or "")}</h1>
<div class="tools">字号：<a>大</a> <a>中</a> <a>小</a> <a href="javascript:window.print()">打印本页</a></div>
<div id="zoom">
{body}
{files}
</div>
<div class="related">相关链接：<a href="/">政策解读</a></div>
</body></html>"""


def seed_documents() -> tuple[dict, list[tuple[dict, str]]]:
    """The packaged seed documents: (portals, [(metadata, text)])."""
    root = resources.files("watcher.demo") / "seeds"
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    docs = [(d, (root / d["file"]).read_text(encoding="utf-8")) for d in manifest["documents"]]
    return manifest["portals"], docs


def build_demo_site(server: PortalServer) -> list[dict]:
    """Serve one column per seed portal; return sources.yaml entries pointing at them."""
    portals, docs = seed_documents()
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    sources = []
    for key, portal in portals.items():
        mine = [(i, d, text) for i, (d, text) in enumerate(docs) if d["portal"] == key]
        items = []
        for i, d, text in mine:
            href = f"/{key}/art/{i:03d}.html"
            meta = dict(d, index_no=f"DEMO-{key}-{i:03d}", topic="生态环境")
            server.add(href, detail_page(meta, text.splitlines()))
            items.append((href, d["title"], d.get("published")))
        server.add(f"/{key}/index.html", list_page(portal["name"], items))
        sources.append(
            {
                "id": f"demo-{key}",
                "name": portal["name"],
                "region": portal["region"],
                "kind": "html",
                "urls": [server.url(f"/{key}/index.html")],
                "list": dict(LIST_SELECTORS),
                "detail": dict(DETAIL_SELECTORS),
                "tags": ["demo"],
                "fetch": {"min_delay": 0.05, "retries": 1},
            }
        )
    return sources
