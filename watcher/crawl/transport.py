"""The connections under httpx: per-host pools, an address check at connect time, a total deadline.

- `PerHostTransport`: one small pool of HTTP/1.1 connections per host (and address rule) for the
  fetcher (`http11.py`); `allowed_addresses` resolves the name itself and refuses the addresses
  `hosts.address_refusal` names — the check sees the address really connected to, so a name that
  resolves (or re-resolves) to 169.254.169.254 is caught as surely as the literal.
- `deadline(seconds)` and `deadline_client()`: a total time for one synchronous request (connect, send,
  headers and body), for the webhook posts. httpx's own timeouts are per operation: a server that sends
  a byte every few seconds never trips them. The async fetcher uses `asyncio.timeout` instead.
  It plugs into httpcore as a network backend; httpx does not take one, so the transport builds its
  httpcore pool itself (`_with_pool`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from ipaddress import ip_address
from typing import Any

import httpcore
import httpx
from httpx._client import ClientState

from watcher.crawl.hosts import address_refusal
from watcher.crawl.http11 import Connection, HostPool, open_connection
from watcher.errors import HostRefused

# Whether the request being made may connect to private and loopback addresses (its source is on one).
PRIVATE_OK: ContextVar[bool] = ContextVar("watcher_private_ok", default=False)
# time.monotonic() by which the synchronous request being made must be over.
_DEADLINE: ContextVar[float | None] = ContextVar("watcher_deadline", default=None)


def _with_pool(transport: Any, pool: Any) -> Any:
    """`transport` (an httpx HTTP transport) sending through `pool`: httpx keeps its pool in `_pool`
    and maps httpcore's errors to its own around it, which is all that is kept of it."""
    transport._pool = pool
    return transport


async def allowed_addresses(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses `host` resolves to that the current request may connect to (link-local and metadata
    never); HostRefused when there is none."""
    try:
        infos: list[Any] = [(0, 0, 0, "", (str(ip_address(host)), port))]  # a literal: nothing to resolve
    except ValueError:
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpx.ConnectError(f"cannot resolve {host}: {exc}") from None
    private_ok = PRIVATE_OK.get()
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    reasons = [_verdict(a, private_ok) for a in addresses]
    allowed = [a for a, why in zip(addresses, reasons, strict=True) if why is None]
    if not allowed:
        raise HostRefused(f"not connected: {host} resolves to {reasons[0]}")
    return allowed


@functools.lru_cache(maxsize=1024)
def _verdict(address: str, private_ok: bool) -> str | None:
    """`address_refusal` of an address as the resolver spells it: each connection asks it of the few addresses
    of its host (an IPv4Address built and its ranges looked through each time)."""
    return address_refusal(ip_address(address.split("%")[0]), private_ok)


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small pool of HTTP/1.1 connections per host behind a single client (`http11.py`).

    Each host has its own limit of connections, and a request looks only at its host's few: with hundreds of portals
    behind one client, one shared pool's scan of every connection (httpcore's) had dominated a poll's CPU time. The
    address rule is part of the key: a connection opened for a source on a private network is never reused for a
    public source's request to the same name."""

    def __init__(self, *, per_host: int = 4, verify: bool = True, keepalive_expiry: float = 5.0):
        self.per_host = per_host
        self.keepalive_expiry = keepalive_expiry
        self.verify = verify
        self._ssl_context: ssl.SSLContext | None = None
        self.pools: dict[tuple, HostPool] = {}

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """One SSL context for all hosts (one per pool would reload the CA bundle each time), made on the first
        https request: loading the CA bundle was 3% of a run's CPU in bench/fetch.py, which is all http."""
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(verify=self.verify)
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.scheme, url.host, url.port, PRIVATE_OK.get())
        pool = self.pools.get(key)
        if pool is None:
            if url.scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
            tls = self.ssl_context if url.scheme == "https" else None
            port = url.port or (443 if tls else 80)
            connect = self._connector(url.host, port, tls)
            pool = self.pools[key] = HostPool(self.per_host, self.keepalive_expiry, connect)
        return await pool.request(request)

    @staticmethod
    def _connector(host: str, port: int, tls: ssl.SSLContext | None) -> Callable[[float | None], Awaitable[Connection]]:
        async def connect(timeout: float | None) -> Connection:
            error: Exception | None = None
            for address in await allowed_addresses(host, port, timeout):
                try:
                    return await open_connection(address, port, timeout, tls, host)
                except httpx.ConnectError as exc:  # the next address; a timeout ends the attempt
                    error = exc
            assert error is not None
            raise error

        return connect

    async def aclose(self) -> None:
        for pool in self.pools.values():
            pool.close()


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, skipping the extraction from an answer that sets none: httpx builds urllib
    stand-ins of the request and answer for the jar each time, 9% of a request's CPU (bench/fetch.py),
    and the jar reads nothing but these two headers."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers or "set-cookie2" in response.headers:
            super().extract_cookies(response)


class FetchClient(httpx.AsyncClient):
    """The fetcher's client: an httpx.AsyncClient whose cookie jar is `_Cookies`, and `open` for its requests."""

    def __init__(self, *, cookies: httpx._types.CookieTypes | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = _Cookies(cookies)  # the jar requests read (the `cookies` property): httpx's own goes unused

    def _merge_headers(self, headers: Any = None) -> Any:
        """httpx's merge of a request's headers into the client's (each name the request gives replacing the
        client's lines of that name, the request's lines after the client's), on the lists: httpx copies,
        decodes and looks up each name again (12 of 80 us of building a request, bench/fetch.py). Names that
        are not ASCII (httpx would encode them to compare) take httpx's way."""
        if not isinstance(headers, dict):
            return super()._merge_headers(headers)
        own = httpx.Headers(headers)
        names = {name for _, name, _ in own._list}
        if not all(name.isascii() for name in names) or not all(name.isascii() for _, name, _ in self.headers._list):
            return super()._merge_headers(headers)
        merged = httpx.Headers()
        merged._list = [line for line in self.headers._list if line[1] not in names] + own._list
        return merged

    async def open(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        timeout: httpx.Timeout,
        data: Any = None,
        content: Any = None,
    ) -> httpx.Response:
        """`stream(method, url, ...)`'s response, open (its body unread; the caller closes it). A request without
        a body, auth (the client's or the URL's) or event hooks takes the steps httpx's layers take for it (the
        request as `build_request` makes it, cookies and all; `_send_single_request`; a redirect's next request
        made as with follow_redirects off) without the layers themselves: the auth flow, the redirect loop and
        `stream`'s context manager were 30 us of a request's 620 (bench/fetch.py). Any other request goes
        through them."""
        request = self.build_request(method, url, headers=headers, timeout=timeout, data=data, content=content)
        if (
            data is not None
            or content is not None
            or self._state is ClientState.CLOSED
            or self._auth is not None
            or request.url.userinfo
            or self._event_hooks["request"]
            or self._event_hooks["response"]
            or self.max_redirects < 0  # httpx raises TooManyRedirects before any request then
        ):
            return await self.send(request, stream=True)
        self._state = ClientState.OPENED
        response = await self._send_single_request(request)
        try:
            response.history = []
            if response.has_redirect_location:  # httpx makes it, and refuses an invalid Location, even unfollowed
                response.next_request = self._build_redirect_request(request, response)
        except BaseException:
            await response.aclose()
            raise
        return response

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: httpx._types.CookieTypes) -> None:
        self._jar = _Cookies(cookies)


# ---- a total deadline for synchronous requests ------------------------------------------------------
@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block, a request through a `deadline_client()` ends by `seconds` from now, whole."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _budget(timeout: float | None) -> float | None:
    """The per-operation timeout cut to what is left of the deadline."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _budget(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _budget(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _budget(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _budget(timeout), local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _budget(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_client() -> httpx.Client:
    """An httpx.Client whose requests keep the `deadline(...)` they are made in."""
    ssl_context = httpx.create_ssl_context()
    pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=_DeadlineBackend())
    return httpx.Client(transport=_with_pool(httpx.HTTPTransport(verify=ssl_context), pool))
