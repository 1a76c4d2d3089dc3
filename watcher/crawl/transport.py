"""The connections under httpx: per-host pools, an address check at connect time, a total deadline.

- `PerHostTransport`: one small pool per host (and address rule) for the fetcher, connecting through
  `GuardedBackend`, which resolves the name itself and refuses the addresses `hosts.address_refusal`
  names — the check sees the address really connected to, so a name that resolves (or re-resolves)
  to 169.254.169.254 is caught as surely as the literal.
- `deadline(seconds)` and `deadline_client()`: a total time for one synchronous request (connect, send,
  headers and body), for the webhook posts. httpx's own timeouts are per operation: a server that sends
  a byte every few seconds never trips them. The async fetcher uses `asyncio.timeout` instead.

Both plug into httpcore as a network backend; httpx does not take one, so the transports build their
httpcore pool themselves (`_with_pool`).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from ipaddress import ip_address
from typing import Any

import anyio
import httpcore
import httpx

from watcher.crawl.hosts import address_refusal
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


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the current request may reach (link-local and metadata never)."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        private_ok = PRIVATE_OK.get()
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        reasons = [address_refusal(ip_address(a.split("%")[0]), private_ok) for a in addresses]
        allowed = [a for a, why in zip(addresses, reasons, strict=True) if why is None]
        if not allowed:
            raise HostRefused(f"not connected: {host} resolves to {reasons[0]}")
        error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kw: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PerHostTransport(httpx.AsyncBaseTransport):
    """One small connection pool per host behind a single client.

    httpcore scans every connection of its pool for each request; with hundreds of portals in one
    pool that scan dominated a poll's CPU time. Small per-host pools keep it constant. The address
    rule is part of the key: a connection opened for a source on a private network is never reused
    for a public source's request to the same name.
    """

    def __init__(self, *, per_host: int = 4, verify: bool = True):
        self.per_host = per_host
        # One SSL context for all hosts: building one per pool would reload the CA bundle each time.
        self.ssl_context: ssl.SSLContext = httpx.create_ssl_context(verify=verify)
        self.pools: dict[tuple, httpx.AsyncHTTPTransport] = {}
        self.backend = GuardedBackend()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port, PRIVATE_OK.get())
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = _with_pool(
                httpx.AsyncHTTPTransport(verify=self.ssl_context),
                httpcore.AsyncConnectionPool(
                    ssl_context=self.ssl_context,
                    max_connections=self.per_host,
                    max_keepalive_connections=self.per_host,
                    keepalive_expiry=5.0,
                    network_backend=self.backend,
                ),
            )
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()


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
