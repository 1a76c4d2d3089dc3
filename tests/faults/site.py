"""Small hostile portals for the fault tests: a list page whose items point wherever the test says."""

from __future__ import annotations

import asyncio

from storage.repo import Store
from watcher.config.settings import Source
from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page
from watcher.demo.server import PortalServer
from watcher.pipeline.poll import RunResult, poll_sources

PARAGRAPHS = ["各区人民政府，市各委办局：", "现将有关事项通知如下，请认真贯彻执行。"]


def doc(srv: PortalServer, path: str, title: str, attachments: list[tuple[str, str]] | None = None, **route) -> str:
    """A detail page at `path`; returns its URL."""
    meta = dict(title=title, issuer="测试市人民政府", written="2024-03-01", published="2024-03-02")
    srv.add(path, detail_page(meta, PARAGRAPHS, attachments or []), **route)
    return srv.url(path)


def listing(srv: PortalServer, path: str, hrefs: list[str]) -> str:
    """A list page linking to each href (absolute URLs may name any host); returns its URL."""
    srv.add(path, list_page("文件", [(h, f"关于第{i}项工作的通知", "2024-03-02") for i, h in enumerate(hrefs)]))
    return srv.url(path)


def source(url: str, sid: str = "hostile", *, fetch: dict | None = None, **over) -> Source:
    data = dict(
        id=sid,
        name="门户",
        urls=[url],
        list=LIST_SELECTORS,
        detail=DETAIL_SELECTORS,
        fetch={"min_delay": 0, "backoff": 0, "retries": 0, "timeout": 5, **(fetch or {})},
        **over,
    )
    return Source.model_validate(data)


def poll(store: Store, *sources: Source) -> list[RunResult]:
    return asyncio.run(poll_sources(list(sources), store, concurrency=8))
