"""HTTP for the pipeline: one async client per run, polite per host, bounded everywhere.

- per-host concurrency and a minimum delay between requests to one host; a global in-flight limit
- retries with exponential backoff on timeouts, connection errors and the statuses of `RETRYABLE_STATUS`
  (5xx, 408, 429; Retry-After honoured)
- conditional GET (If-None-Match / If-Modified-Since); a 304 comes back as `not_modified`
- a body-size limit enforced while streaming, a redirect limit, robots.txt unless a source opts out
- a total deadline per request (connect, headers and body): a body trickling a byte at a time ends
- requests only to the source's own hosts and those it allows, never to link-local, metadata or (for
  a public source) private addresses: every hop of a redirect is checked (`hosts.py`, `transport.py`)
- an answer that is a script and no content is `NeedsBrowser` (`challenge.py`); a source with
  `fetch: {browser: true}` is rendered in Chromium, every request of which is one `hop` here (`browser.py`)

Errors carry the URL that failed; the caller adds its source with `watcher.errors.error_context`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from ipaddress import ip_address
from types import TracebackType
from typing import Protocol
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from watcher.config.settings import FetchSettings
from watcher.crawl.browser import Browser
from watcher.crawl.challenge import is_script_check
from watcher.crawl.hosts import HostScope, as_address
from watcher.crawl.response import Response
from watcher.crawl.retry import RETRYABLE_STATUS, retry_after
from watcher.crawl.robots import HostRobots, RobotsCache
from watcher.crawl.robots import parse as parse_robots
from watcher.crawl.transport import PRIVATE_OK, FetchClient, PerHostTransport
from watcher.errors import (
    FetchError,
    FetchTimeout,
    HostRefused,
    HTTPStatusError,
    NeedsBrowser,
    RobotsDisallowed,
    TooLarge,
    error_context,
)


class _Host:
    def __init__(self, concurrency: int):
        self.sem = asyncio.Semaphore(concurrency)
        self.next_at = 0.0
        self.lock = asyncio.Lock()
        self.robots = HostRobots()


@dataclass(frozen=True)
class _Plan:
    """What every request made with one settings object needs of it, worked out once: reading a pydantic
    private attribute (home_hosts), building the scope key, a Timeout and the headers cost ~5% of a
    request's CPU when done per request (bench/fetch.py). A request is planned once, and the plan handed
    down (get, hop, _get_once). `retries` and `max_body` are the settings' own but for robots.txt, which
    is asked once and cut short (`for_robots`), with no copy of the settings made per host."""

    settings: FetchSettings
    home: tuple[str, ...]
    scope: HostScope
    timeout: httpx.Timeout
    headers: dict[str, str]
    retries: int
    max_body: int

    def for_robots(self) -> _Plan:
        """How robots.txt is asked for: no retry, and a body of at most 512,000 bytes."""
        return replace(self, retries=0, max_body=512_000)


class HostPacer(Protocol):
    """A request's turn at a host (concurrency and min_delay), held while the request runs."""

    def slot(self, host: str, settings: FetchSettings) -> contextlib.AbstractAsyncContextManager: ...


class Fetcher:
    """Fetches pages for one run. Pass an httpx.AsyncClient to share or fake the transport."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        concurrency: int = 32,
        max_backoff: float = 30.0,
        robots_cache: RobotsCache | None = None,
        robots_ttl: float = 86400.0,
        pacer: HostPacer | None = None,
    ):
        self.pacer = pacer
        self.robots_cache = robots_cache
        self.robots_ttl = robots_ttl
        self._own_client = client is None
        self.client = client or FetchClient(follow_redirects=False, transport=PerHostTransport())
        self._insecure: httpx.AsyncClient | None = None
        self.global_sem = asyncio.Semaphore(concurrency)
        self.hosts: dict[str, _Host] = {}
        self.max_backoff = max_backoff
        self.requests = 0
        self._scopes: dict[tuple, HostScope] = {}
        self._plans: dict[int, _Plan] = {}  # by id(settings); the plan holds its settings, so ids stay unique
        self._private: dict[tuple[str, ...], bool] = {}
        self.browser = Browser(self.hop)  # started on the first page a source wants rendered

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.browser.aclose()
        if self._own_client:
            await self.client.aclose()
        if self._insecure is not None:
            await self._insecure.aclose()

    def _host(self, url: str, settings: FetchSettings, netloc: str | None = None) -> _Host:
        key = (urlsplit(url).netloc if netloc is None else netloc).lower()
        host = self.hosts.get(key)
        if host is None:
            host = self.hosts[key] = _Host(settings.per_host_concurrency)
        return host

    def _client_for(self, settings: FetchSettings) -> httpx.AsyncClient:
        if settings.verify_tls:
            return self.client
        if self._insecure is None:
            self._insecure = FetchClient(follow_redirects=False, transport=PerHostTransport(verify=False))
        return self._insecure

    def _slot(self, url: str, host: _Host, settings: FetchSettings) -> contextlib.AbstractAsyncContextManager:
        """Where a request waits its turn: this process's per-host semaphore and pacing, or the shared pacer
        of a cluster of workers (the same rule held across every process: watcher/worker/pacing.py)."""
        if self.pacer is not None:
            return self.pacer.slot(urlsplit(url).netloc.lower(), settings)
        return self._local_slot(host, settings)

    @contextlib.asynccontextmanager
    async def _local_slot(self, host: _Host, settings: FetchSettings) -> AsyncIterator[None]:
        async with host.sem:
            await self._pace(host, settings)
            yield

    async def _pace(self, host: _Host, settings: FetchSettings) -> None:
        async with host.lock:
            now = time.monotonic()
            wait = host.next_at - now
            host.next_at = max(now, host.next_at) + settings.min_delay
        if wait > 0:
            await asyncio.sleep(wait)

    async def get(
        self,
        url: str,
        settings: FetchSettings,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        form: dict | None = None,
    ) -> Response:
        """GET url (POST `form` when given, as some CMS list endpoints want), following redirects;
        raises a FetchError subclass carrying the url."""
        plan = self._plan(settings)
        if not plan.home:  # settings made outside a source: the URL asked for is its home
            settings = settings.for_urls([url])
            plan = self._plan(settings)
        redirects: list[str] = []
        current = url
        while True:
            if settings.browser and form is None:  # Chromium follows the redirects, each one a hop
                resp = await self.browser.render(current, settings)
            else:
                resp = await self._hop(current, plan, etag, last_modified, form, after=redirects[-1:])
            if resp.status in (301, 302, 303, 307, 308) and "location" in resp.headers:
                if len(redirects) >= settings.max_redirects:
                    raise FetchError(f"more than {settings.max_redirects} redirects", url=url)
                redirects.append(current)
                current = urljoin(current, resp.headers["location"])
                etag = last_modified = form = None  # a redirected POST continues as a GET
                continue
            resp.redirects = redirects
            resp.url = current
            if resp.status == 304:
                resp.not_modified = True
                return resp
            if resp.status >= 400:
                raise HTTPStatusError(f"HTTP {resp.status}", status=resp.status, url=current)
            return resp

    async def hop(
        self,
        url: str,
        settings: FetchSettings,
        etag: str | None = None,
        last_modified: str | None = None,
        form: dict | bytes | None = None,
        *,
        after: list[str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Response:
        """One request, no redirect followed: its host checked, robots.txt honoured, paced, retried.
        `after`: the URL redirected from; `extra`: headers a browser's request carries (cookies, referer)."""
        return await self._hop(url, self._plan(settings), etag, last_modified, form, after=after, extra=extra)

    async def _hop(
        self,
        url: str,
        plan: _Plan,
        etag: str | None = None,
        last_modified: str | None = None,
        form: dict | bytes | None = None,
        *,
        after: list[str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Response:
        """hop, with the request's plan."""
        parts = urlsplit(url)  # once for the host check, the robots check and the request's host (3 us each)
        if (why := plan.scope.refusal_of(parts)) is not None:
            hop = f" (redirected from {after[-1]})" if after else ""
            raise HostRefused(f"not fetched: {why}{hop}", url=url)
        host = self._host(url, plan.settings, parts.netloc)
        if plan.settings.robots:
            await self._check_robots(url, plan, host)
        return await self._get_once(url, plan, etag, last_modified, form, extra, host)

    async def _get_once(
        self,
        url: str,
        plan: _Plan,
        etag: str | None,
        last_modified: str | None,
        form: dict | bytes | None = None,
        extra: dict[str, str] | None = None,
        host: _Host | None = None,
    ) -> Response:
        settings = plan.settings
        headers = {**plan.headers, **extra} if extra else dict(plan.headers)
        if etag and form is None:  # validators are for GET; an unchanged POST answer is
            headers["If-None-Match"] = etag  # recognised by its body hash instead
        if last_modified and form is None:
            headers["If-Modified-Since"] = last_modified
        host = self._host(url, settings) if host is None else host
        private_ok = await self._private_ok(plan.home)
        attempt = 0
        while True:
            delay = None
            error: FetchError | None = None
            async with self._slot(url, host, settings):
                async with self.global_sem:
                    started = time.monotonic()
                    self.requests += 1
                    try:
                        resp = await self._stream_within(url, headers, plan, form, private_ok)
                        resp.elapsed = time.monotonic() - started
                    except httpx.TimeoutException as exc:
                        error = FetchTimeout(f"timed out ({type(exc).__name__})", url=url)
                    except TimeoutError:
                        error = FetchTimeout(
                            f"no complete answer within the deadline of {settings.deadline:g}s", url=url
                        )
                    except httpx.TransportError as exc:
                        error = FetchError(f"connection failed: {str(exc) or type(exc).__name__}", url=url)
            if error is None and not settings.browser:
                if is_script_check(resp.status, resp.content, resp.headers.get("content-type")):
                    raise NeedsBrowser(resp.status, url=url)
            if error is None:
                if resp.status in RETRYABLE_STATUS:
                    error = HTTPStatusError(f"HTTP {resp.status}", status=resp.status, url=url)
                    delay = retry_after(resp.headers.get("retry-after"))
                else:
                    return resp
            if attempt >= plan.retries:
                raise error
            attempt += 1
            backoff = settings.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
            await asyncio.sleep(min(self.max_backoff, delay if delay is not None else backoff))

    def _plan(self, settings: FetchSettings) -> _Plan:
        plan = self._plans.get(id(settings))
        if plan is None or plan.settings is not settings:
            if len(self._plans) >= 4096:  # settings made per call (outside a source) must not pile up
                self._plans.clear()
            home = settings.home_hosts
            key = (home, tuple(settings.allow_hosts))
            if key not in self._scopes:
                self._scopes[key] = HostScope.of(key[0], key[1])
            headers = {
                "User-Agent": settings.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                "Accept-Language": "zh-CN,zh;q=0.9",
            }
            timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
            plan = self._plans[id(settings)] = _Plan(
                settings, home, self._scopes[key], timeout, headers, settings.retries, settings.max_body_bytes
            )
        return plan

    async def _private_ok(self, home: tuple[str, ...]) -> bool:
        """Whether the source's own host is on a private or loopback address (then so may its links be)."""
        if home not in self._private:
            loop = asyncio.get_running_loop()
            found = False
            for h in home:
                ip = as_address(h)
                if ip is None:
                    try:
                        infos = await loop.getaddrinfo(h, None, type=socket.SOCK_STREAM)
                    except OSError:
                        continue  # unresolvable: its requests fail on their own
                    found = found or any(not ip_address(str(i[4][0]).split("%")[0]).is_global for i in infos)
                else:
                    found = found or not ip.is_global
            self._private[home] = found
        return self._private[home]

    async def _stream_within(
        self,
        url: str,
        headers: dict,
        plan: _Plan,
        form: dict | bytes | None,
        private_ok: bool,
    ) -> Response:
        """One request, whole (connect, headers, body) within the deadline, connecting only where allowed."""
        token = PRIVATE_OK.set(private_ok)
        try:
            async with asyncio.timeout(plan.settings.deadline):
                with error_context(url=url):  # a refusal at connect time names the URL too
                    return await self._stream(url, headers, plan, form)
        finally:
            PRIVATE_OK.reset(token)

    async def _stream(self, url: str, headers: dict, plan: _Plan, form: dict | bytes | None = None) -> Response:
        client, timeout, limit = self._client_for(plan.settings), plan.timeout, plan.max_body
        method = "POST" if form is not None else "GET"
        data, content = (form, None) if not isinstance(form, bytes) else (None, form)
        if isinstance(client, FetchClient):
            r = await client.open(method, url, headers, timeout, data, content)
        else:  # what `client.stream(...)` opens
            request = client.build_request(method, url, headers=headers, timeout=timeout, data=data, content=content)
            r = await client.send(request, stream=True)
        try:
            length = r.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                raise TooLarge(f"body of {int(length)} bytes exceeds the limit of {limit}", url=url)
            chunks: list[bytes] = []
            size = 0
            async for chunk in r.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"body exceeds the limit of {limit} bytes", url=url)
                chunks.append(chunk)
            return Response(url=str(r.url), status=r.status_code, headers=r.headers, content=b"".join(chunks))
        finally:
            await r.aclose()

    async def _check_robots(self, url: str, plan: _Plan, host: _Host) -> None:
        if not await host.robots.allows(url, plan.settings.user_agent, lambda: self._load_robots(url, plan)):
            raise RobotsDisallowed("robots.txt disallows this URL", url=url)

    async def _load_robots(self, url: str, plan: _Plan) -> RobotFileParser | None:
        # Unreachable or broken robots.txt means no rules: many portals answer 404 or 500 here.
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        status, body = None, ""
        cached = await self.robots_cache.get(parts.netloc) if self.robots_cache else None
        if cached and (datetime.now(UTC) - cached[2]).total_seconds() < self.robots_ttl:
            status, body = cached[0], cached[1]
        else:
            try:
                resp = await self._get_once(robots_url, plan.for_robots(), None, None)
                status, body = resp.status, resp.text if resp.status == 200 else ""
            except FetchError:
                pass
            if self.robots_cache is not None:
                await self.robots_cache.put(parts.netloc, status, body)
        return parse_robots(robots_url, status, body)
