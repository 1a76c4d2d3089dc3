"""Browser fetch benchmark: time per list page through Chromium against plain HTTP, on a loopback portal.

One portal (`watcher.demo.server.PortalServer`) serves N list pages of 20 items in the demo's layout, each
twice: as static HTML, and as a shell whose script loads the items as JSON and builds the list (the page
`fetch: {browser: true}` is for). Measured with one `Fetcher` each, `min_delay: 0` (our own speed, not the
pacing), pages one after another:

  httpx          static pages, plain fetch
  browser        static pages, rendered (document only)
  browser + js   the script-built pages, rendered (document, its script — fetched once per run — and its data)

Every page is parsed with the demo's list selectors and must yield its 20 items. The browser's start
(launching Chromium) is reported apart. Prints a table, then the figures as JSON on the last line.

    pip install '.[browser]' && python bench/browser.py [--pages 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from watcher.config.settings import Source  # noqa: E402
from watcher.crawl.fetch import Fetcher  # noqa: E402
from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, list_page  # noqa: E402
from watcher.demo.server import PortalServer  # noqa: E402
from watcher.extract.kinds import kind_for  # noqa: E402

ITEMS = 20
BUILD = """fetch(location.pathname.replace('.html', '.json')).then(r => r.json()).then(items => {
  const ul = document.querySelector('ul.xxgk-list');
  for (const [href, title, date] of items) {
    const li = document.createElement('li');
    const a = document.createElement('a'); a.href = href; a.textContent = title;
    const s = document.createElement('span'); s.className = 'date'; s.textContent = date;
    li.append(a, s); ul.appendChild(li);
  }
});"""


def build(server: PortalServer, pages: int) -> None:
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    server.add("/js/build.js", BUILD, content_type="application/javascript")
    for p in range(pages):
        items = [
            (f"/art/{p}_{i}.html", f"关于做好第{p}批第{i}项工作的通知", f"2024-03-{i % 28 + 1:02d}")
            for i in range(ITEMS)
        ]
        server.add(f"/static/{p}.html", list_page("通知公告", items))
        shell = list_page("通知公告", []).replace("</body>", '<script src="/js/build.js"></script></body>')
        server.add(f"/js/{p}.html", shell)
        server.add(f"/js/{p}.json", json.dumps(items, ensure_ascii=False), content_type="application/json")


async def run(server: PortalServer, pages: int, prefix: str, browser: bool) -> dict:
    source = Source.model_validate(
        dict(
            id="bench",
            name="bench",
            urls=[server.url("/")],
            list=dict(LIST_SELECTORS),
            detail=dict(DETAIL_SELECTORS),
            fetch={"browser": browser, "min_delay": 0, "retries": 0},
        )
    )
    kind = kind_for(source)
    times: list[float] = []
    async with Fetcher(concurrency=4) as fetcher:
        started = time.perf_counter()
        await fetcher.get(server.url("/robots.txt"), source.fetch.model_copy(update={"browser": False}))
        first = None
        for p in range(pages):
            t = time.perf_counter()
            resp = await fetcher.get(server.url(f"/{prefix}/{p}.html"), source.fetch)
            times.append(time.perf_counter() - t)
            first = first if first is not None else time.perf_counter() - started
            found = len(kind.parse_list(resp.text, resp.url, 0).items)
            assert found == ITEMS, f"{prefix}/{p}.html: {found} items, not {ITEMS}"
    steady = times[1:] or times
    return {
        "first_page_s": round(times[0], 3),
        "per_page_ms_median": round(1000 * statistics.median(steady), 1),
        "per_page_ms_mean": round(1000 * statistics.mean(steady), 1),
        "pages": pages,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=30)
    args = ap.parse_args()
    with PortalServer() as server:
        build(server, args.pages)
        figures = {
            "httpx": asyncio.run(run(server, args.pages, "static", browser=False)),
            "browser": asyncio.run(run(server, args.pages, "static", browser=True)),
            "browser + js": asyncio.run(run(server, args.pages, "js", browser=True)),
        }
    print(f"{'':14} {'first page (s)':>15} {'median ms/page':>15} {'mean ms/page':>13}")
    for name, f in figures.items():
        print(f"{name:14} {f['first_page_s']:>15} {f['per_page_ms_median']:>15} {f['per_page_ms_mean']:>13}")
    ratio = figures["browser"]["per_page_ms_median"] / max(figures["httpx"]["per_page_ms_median"], 0.001)
    print(f"browser / httpx per static list page: {ratio:.0f}x (after the browser's start)")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
