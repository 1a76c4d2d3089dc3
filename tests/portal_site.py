"""Build test portals on a PortalServer: paginated list pages and detail pages."""

from __future__ import annotations

from watcher.config.settings import Source
from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page


def doc_meta(i: int, **over) -> dict:
    meta = dict(
        title=f"关于做好第{i}项工作的通知",
        doc_no=f"测政发〔2024〕{i}号",
        issuer="测试市人民政府",
        written="2024-03-01",
        published=f"2024-03-{(i % 27) + 1:02d}",
        index_no=f"T-{i}",
        topic="综合",
    )
    meta.update(over)
    return meta


def doc_body(i: int, extra: str = "") -> list[str]:
    return [
        "各区人民政府，市各委办局：",
        f"现将第{i}项工作有关事项通知如下。",
        "一、总体要求",
        f"（一）做好第{i}项工作，依据国发〔2021〕4号文件精神。{extra}",
        "（二）加强组织领导，落实责任。",
        "测试市人民政府",
        "2024年3月1日",
    ]


def build_site(
    srv, prefix: str = "/col", pages: int = 2, per_page: int = 3, charset: str | None = "utf-8"
) -> list[str]:
    """Pages index.html, index_1.html …; returns the detail paths newest first."""
    paths = []
    n = pages * per_page
    for p in range(pages):
        items = []
        for k in range(per_page):
            i = n - (p * per_page + k)
            path = f"{prefix}/art/{i}.html"
            meta = doc_meta(i)
            body = detail_page(meta, doc_body(i), charset=charset)
            srv.add(
                path,
                body.encode(charset or "gbk"),
                content_type="text/html" + (f"; charset={charset}" if charset else ""),
            )
            items.append((path, meta["title"], meta["published"]))
            paths.append(path)
        nxt = f"{prefix}/index_{p + 1}.html" if p + 1 < pages else None
        name = "index.html" if p == 0 else f"index_{p}.html"
        srv.add(f"{prefix}/{name}", list_page("政府文件", items, next_href=nxt))
    return paths


def source_for(srv, sid: str = "test", prefix: str = "/col", pages: int = 2, **over) -> Source:
    data = dict(
        id=sid,
        name="测试门户",
        kind="html",
        urls=[srv.url(f"{prefix}/index.html")],
        list=LIST_SELECTORS,
        detail=DETAIL_SELECTORS,
        pagination={"pages": pages},
        fetch={"min_delay": 0, "backoff": 0, "retries": 1, "timeout": 2},
    )
    data.update(over)
    return Source.model_validate(data)
