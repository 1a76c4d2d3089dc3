"""Pages that need a browser: Chromium renders them, and every request it makes is one `Fetcher.hop`.

A source with `fetch: {browser: true}` is read in Chromium (Debian's `/usr/bin/chromium`, or the path in
`WATCHER_CHROMIUM`; Playwright from the `browser` extra drives it — no browser is downloaded). The browser is
only the renderer: each request of a page (the document, its scripts, the data they load, each redirect hop)
is intercepted and made by the fetcher, so it goes to the source's hosts only, honours robots.txt, waits its
turn in the per-host pacing, is retried, size-limited and connected only to allowed addresses — the same
rules as any page, not a copy of them. Cookies go both ways: the browser's (including those a script set)
are sent, and a response's `Set-Cookie` reaches the browser. Images, fonts, style sheets and media are not
fetched; a script is fetched once per run.

A page is done when the network is idle and the document is no script check (`challenge.py`: one that sets
a cookie and reloads is past, a list built from the data a script loads is built), or when `fetch.timeout` is
over: what is there then is read. The rendered HTML goes to the same extractors as a fetched page. A
document that is not HTML (an attachment) comes back as fetched. One browser per run, started on first use
and closed with the fetcher; pages are closed after each use; one context per source (its cookies stay its
own). Conditional GET does not apply: a rendered page is compared by its body and list hashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

import httpx

from watcher.config.settings import FetchSettings
from watcher.crawl.challenge import is_script_check
from watcher.crawl.response import Response
from watcher.errors import BrowserMissing, FetchError, FetchTimeout, WatcherError

ENV_CHROMIUM = "WATCHER_CHROMIUM"
INSTALL = "pip install 'policy-watcher[browser]'"
QUIET = 0.5  # seconds without an open request: the network is idle (as Playwright's "networkidle")
POLL = 0.05
CLOSE_WAIT = 10.0  # seconds
MAX_PAGES = 4  # pages rendered at once, over all sources
FETCHED_TYPES = frozenset({"document", "script", "xhr", "fetch"})
# Headers of the browser's request that the server may need; the fetcher sets the rest (User-Agent …).
FORWARDED = ("accept", "content-type", "referer", "x-requested-with", "origin")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DROPPED = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})


class Hop(Protocol):
    async def __call__(
        self,
        url: str,
        settings: FetchSettings,
        etag: str | None = None,
        last_modified: str | None = None,
        form: dict | bytes | None = None,
        *,
        after: list[str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Response: ...


def chromium_path() -> str | None:
    """The Chromium to drive: `WATCHER_CHROMIUM`, else `chromium` on the PATH."""
    return os.environ.get(ENV_CHROMIUM) or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class _Page:
    """What one render saw: the main document's answers, the error that ended it, a non-HTML document."""

    url: str
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    error: WatcherError | None = None
    raw: Response | None = None
    redirected: list[str] = field(default_factory=list)
    follow: str | None = None  # where the page's redirect leads, to go next
    open: int = 0  # requests of the page being answered
    active: float = 0.0  # loop time the last one ended


class Browser:
    """One Chromium for a fetcher's run; `render(url, settings)` returns the page as a fetched `Response`."""

    def __init__(self, hop: Hop, *, max_pages: int = MAX_PAGES):
        self.hop = hop
        self.pages = asyncio.Semaphore(max_pages)
        self._lock = asyncio.Lock()
        self._playwright: Any = None
        self._browser: Any = None
        self._failed: str | None = None
        self._contexts: dict[tuple[str, ...], Any] = {}
        self._scripts: dict[str, Response] = {}
        self.rendered = 0

    async def render(self, url: str, settings: FetchSettings) -> Response:
        """The page at `url` after its scripts ran, within `fetch.deadline`; raises a FetchError with the URL."""
        from playwright.async_api import Error as PlaywrightError

        context = await self._context(settings)
        seen = _Page(url)
        async with self.pages:
            try:
                page = await context.new_page()
            except PlaywrightError as exc:  # the browser went away mid-run
                raise FetchError(f"浏览器出错：{_first_line(exc)}", url=url) from None
            try:
                async with asyncio.timeout(settings.deadline):
                    await page.route("**/*", lambda route: self._route(route, page, seen, settings))
                    html = await self._open(page, seen, settings)
            except TimeoutError:
                raise FetchTimeout(f"浏览器未在 {settings.deadline:g} 秒内打开页面", url=url) from None
            except PlaywrightError as exc:
                raise FetchError(f"浏览器出错：{_first_line(exc)}", url=url) from None
            finally:
                await _close(page)
        self.rendered += 1
        if seen.raw is not None:
            return seen.raw
        if is_script_check(seen.status, html.encode("utf-8"), "text/html"):
            raise FetchError(f"页面的脚本检查在浏览器中也未通过（HTTP {seen.status}，只有脚本，没有内容）", url=url)
        return _response(seen, page.url or url, html)

    async def _open(self, page: Any, seen: _Page, settings: FetchSettings) -> str:
        """Go to the page, following its redirects one checked hop at a time, and wait until it has rendered."""
        from playwright.async_api import Error as PlaywrightError

        url: str | None = seen.url
        while url is not None:
            seen.follow = None
            try:
                await page.goto(url, wait_until="load", timeout=settings.timeout * 1000)
            except PlaywrightError as exc:
                if seen.raw is not None:
                    return ""
                if seen.error is not None:
                    raise seen.error from None
                if seen.follow is None and seen.status == 0:
                    raise FetchError(f"浏览器打开页面失败：{_first_line(exc)}", url=url) from None
            url = seen.follow
            if url is not None and len(seen.redirected) > settings.max_redirects:
                raise FetchError(f"more than {settings.max_redirects} redirects", url=seen.url)
        return await self._settle(page, seen, settings.timeout)

    async def _settle(self, page: Any, seen: _Page, timeout: float) -> str:
        """The document once no request of it has been open for `QUIET` seconds (every request passes the
        route, so the count is exact) and it is no script check (one reloads), or after `timeout`."""
        from playwright.async_api import Error as PlaywrightError

        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        html = ""
        while loop.time() < end:
            quiet = not seen.open and loop.time() - seen.active >= QUIET
            if not seen.open and (quiet or not html):
                try:
                    html = str(await page.content())
                except PlaywrightError:
                    html = ""  # the page is navigating
                if html and "<script" not in html.lower():
                    break  # no script: nothing will change it
                if html and quiet and not is_script_check(seen.status or 200, html.encode("utf-8"), "text/html"):
                    break
            await asyncio.sleep(POLL)
        if not html:
            with contextlib.suppress(PlaywrightError):
                html = str(await page.content())
        if not html:
            raise FetchError(f"页面的脚本检查在浏览器中也未通过：{timeout:g} 秒内一直在重新加载", url=seen.url)
        return html

    async def _route(self, route: Any, page: Any, seen: _Page, settings: FetchSettings) -> None:
        seen.open += 1
        try:
            await self._answer(route, page, seen, settings)
        finally:
            seen.open -= 1
            seen.active = asyncio.get_running_loop().time()

    async def _answer(self, route: Any, page: Any, seen: _Page, settings: FetchSettings) -> None:
        """Every request of the page: made by the fetcher (host, robots.txt, pacing), answered to Chromium.
        Chromium is never handed a redirect, which it would follow unseen: the page's own is taken by `_open`
        (the location stays true), any other request's is followed here, each hop checked."""
        request = route.request
        if request.resource_type not in FETCHED_TYPES:
            await route.abort("blockedbyclient")
            return
        main = request.resource_type == "document" and request.frame == page.main_frame
        cached = self._scripts.get(request.url) if request.resource_type == "script" else None
        try:
            resp = cached or await self._fetch(request, page, seen, settings, main)
        except Exception as exc:  # noqa: BLE001 - the page goes on without this request; the document's is raised
            if main and seen.error is None:
                seen.error = exc if isinstance(exc, WatcherError) else FetchError(str(exc), url=request.url)
            await route.abort("blockedbyclient" if isinstance(exc, FetchError) and not exc.retryable else "failed")
            return
        if main and _redirect(resp):
            seen.redirected.append(request.url)
            seen.follow = urljoin(request.url, resp.headers["location"])
            await route.abort("aborted")
            return
        if request.resource_type == "script" and resp.status == 200:
            self._scripts[request.url] = resp
        if main:
            seen.status, seen.headers = resp.status, list(resp.headers.multi_items())
        if main and resp.status < 300 and "html" not in resp.headers.get("content-type", "html").lower():
            seen.raw = resp  # an attachment, not a page: returned as fetched
            await route.abort("aborted")
            return
        await route.fulfill(status=resp.status, headers=_fulfilled(resp.headers), body=resp.content)

    async def _fetch(self, request: Any, page: Any, seen: _Page, settings: FetchSettings, main: bool) -> Response:
        """The request made by the fetcher with the browser's cookies; a redirect followed unless it is the page's."""
        url = request.url
        extra = {k: v for k in FORWARDED if (v := request.headers.get(k))}
        body = request.post_data_buffer if request.method == "POST" else None
        after = seen.redirected[-1:] if main else []
        for _ in range(settings.max_redirects + 1):
            cookies = await page.context.cookies([url])
            if cookies:
                extra["Cookie"] = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
            resp = await self.hop(url, settings, None, None, body, after=after, extra=extra)
            if main or not _redirect(resp):
                return resp
            after, url, body = [url], urljoin(url, resp.headers["location"]), None
        raise FetchError(f"more than {settings.max_redirects} redirects", url=request.url)

    async def _context(self, settings: FetchSettings) -> Any:
        async with self._lock:
            if self._failed is not None:
                raise BrowserMissing(self._failed)
            if self._browser is None:
                await self._launch()
            key = settings.home_hosts
            if key not in self._contexts:
                self._contexts[key] = await self._browser.new_context(
                    user_agent=settings.user_agent, service_workers="block", locale="zh-CN", accept_downloads=False
                )
            return self._contexts[key]

    async def _launch(self) -> None:
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            self._failed = (
                f"需要浏览器抓取，但未安装 Playwright：{INSTALL}（并安装 Chromium：apt-get install chromium）"
            )
            raise BrowserMissing(self._failed) from None
        path = chromium_path()
        if path is None or not os.path.exists(path):
            self._failed = (
                f"需要浏览器抓取，但找不到 Chromium：apt-get install chromium，或在 {ENV_CHROMIUM} 中给出路径"
            )
            raise BrowserMissing(self._failed)
        try:
            self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(executable_path=path, headless=True)
        except Exception as exc:  # noqa: BLE001 - any launch failure is the same fact for the sources
            await self.aclose()
            self._failed = f"需要浏览器抓取，但 Chromium（{path}）无法启动：{_first_line(exc)}"
            raise BrowserMissing(self._failed) from None

    async def aclose(self) -> None:
        browser, pw = self._browser, self._playwright
        self._browser = self._playwright = None
        self._contexts.clear()
        if browser is not None:
            with contextlib.suppress(Exception, TimeoutError):
                async with asyncio.timeout(CLOSE_WAIT):
                    await browser.close()
        if pw is not None:
            await pw.stop()


async def _close(page: Any) -> None:
    """Close a page without waiting for its route handlers (a page closed while it reloads waited forever for
    the handler answering its last request); a page that still does not close is left to its context."""
    from playwright.async_api import Error as PlaywrightError

    with contextlib.suppress(PlaywrightError, TimeoutError):
        async with asyncio.timeout(CLOSE_WAIT):
            await page.unroute_all(behavior="ignoreErrors")
            await page.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _redirect(resp: Response) -> bool:
    return resp.status in REDIRECTS and "location" in resp.headers


def _fulfilled(headers: httpx.Headers) -> dict[str, str]:
    """The answer's headers for Chromium: several Set-Cookie lines joined by newlines, as Playwright takes them."""
    out: dict[str, str] = {}
    for k, v in headers.multi_items():
        if k.lower() in DROPPED:
            continue
        out[k] = f"{out[k]}\n{v}" if k in out else v
    return out


def _response(seen: _Page, url: str, html: str) -> Response:
    headers = httpx.Headers(
        [(k, v) for k, v in seen.headers if k.lower() not in DROPPED and k.lower() != "content-type"]
    )
    headers["content-type"] = "text/html; charset=utf-8"
    return Response(
        url=url, status=seen.status or 200, headers=headers, content=html.encode("utf-8"), redirects=seen.redirected
    )
