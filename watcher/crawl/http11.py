"""HTTP/1.1 connections under the fetcher's httpx client: asyncio protocols, parsed by h11, a few per host.

httpcore's pool, connection and anyio stream layers cost about 1 ms of CPU per request in a poll
(py-spy: the pool's scan of its connections, `has_expired` asking anyio whether a socket is readable,
cancel scopes around every read and write). This is the part of them the fetcher uses, done once:
plain and TLS HTTP/1.1 with keep-alive, the connect, read and pool timeouts httpx passes, and
httpcore's errors, raised as the httpx exceptions (and messages) httpx would have made of them.
h11, httpcore's own parser, still reads and writes every message. Measured with bench/fetch.py.

An idle connection is known to be closed or broken when its protocol saw the server's EOF or bytes
nobody asked for: asyncio tells it, so reusing one costs no system call.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import h11
import httpx
from h11._headers import normalize_and_validate

_HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read (a body read slower than it comes)
_MAX_HEAD = 100 * 1024  # the largest response head, as httpcore allows


class _Protocol(asyncio.Protocol):
    """What a connection received and not yet read, and a waiter woken when more comes or it ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.ended = False
        self.broken = False
        self.paused = False
        self.waiter: asyncio.Future | None = None
        # One timer per connection, not one per read (a TimerHandle each: 7% of a request's CPU): it
        # wakes at the earliest deadline it was set for, and sets itself again if a later read pushed it.
        self.read_by = 0.0
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > _HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.ended = True
        self.broken = exc is not None
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(True)

    def _expire(self) -> None:
        self.timer = None
        if self.waiter is None or self.waiter.done() or self.read_by == 0.0:
            return
        if self.loop.time() >= self.read_by:
            self.waiter.set_result(False)
        else:
            self.timer = self.loop.call_at(self.read_by, self._expire)

    async def read(self, timeout: float | None) -> bytes:
        """The bytes received since the last read (waiting up to `timeout` for some); b"" at the end."""
        if not self.chunks and not self.ended:
            waiter = self.waiter = self.loop.create_future()
            self.read_by = 0.0 if timeout is None else self.loop.time() + timeout
            if self.read_by and (self.timer is None or self.timer.when() > self.read_by):
                if self.timer is not None:
                    self.timer.cancel()
                self.timer = self.loop.call_at(self.read_by, self._expire)
            try:
                if not await waiter:
                    raise httpx.ReadTimeout("")
            finally:
                self.waiter = None
        if self.chunks:
            data = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
            self.chunks.clear()
            self.size = 0
            if self.paused and self.transport is not None:
                self.paused = False
                self.transport.resume_reading()
            return data
        if self.broken:
            raise httpx.ReadError("")  # a reset, as anyio reports it to httpcore
        return b""


# Header lines h11 found valid: a request's lines are nearly all those of the requests before it (the agent,
# Accept, Host), and h11 checks each against its patterns again (20 of the 30 us of making a request head).
_VALID_LINES: set[tuple[bytes, bytes]] = set()


def _checked(raw: list[tuple[bytes, bytes]]) -> Any:
    """A request's header lines as h11 makes them, each line checked by h11 once per process; a list h11
    refuses is handed back as it is, for h11 to raise the error it finds first (h11.Request checks it)."""
    try:
        for line in raw:
            if line not in _VALID_LINES:
                normalize_and_validate([line])
                if len(_VALID_LINES) >= 4096:
                    _VALID_LINES.clear()
                _VALID_LINES.add(line)
        return normalize_and_validate(raw, _parsed=True)  # lower-cased names, Content-Length and Transfer-Encoding
    except h11.LocalProtocolError:
        return raw


class Connection:
    """One keep-alive HTTP/1.1 connection: one request at a time, h11 keeping its state."""

    def __init__(self, proto: _Protocol):
        self.proto = proto
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD)
        self.idle_since = 0.0

    def reusable(self, now: float, expiry: float) -> bool:
        """Idle, open, nothing unasked-for received, and not idle for longer than `expiry`."""
        p = self.proto
        return not p.ended and not p.chunks and now - self.idle_since < expiry and self.h11.our_state is h11.IDLE

    def close(self) -> None:
        if self.proto.transport is not None:
            self.proto.transport.close()
        self.proto.ended = True

    async def send(self, request: httpx.Request, read_timeout: float | None) -> h11.Response:
        """Write the request, then read up to its answer's head (1xx answers skipped)."""
        try:
            head = h11.Request(
                method=request.method, target=request.url.raw_path, headers=_checked(request.headers.raw)
            )
            out = [self.h11.send(head)]
            async for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    out.append(self.h11.send(h11.Data(data=chunk)))
            out.append(self.h11.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from None
        if self.proto.ended or self.proto.transport is None:
            raise httpx.WriteError("")
        self.proto.transport.write(b"".join(b for b in out if b))
        while True:
            event = await self.next_event(read_timeout)
            if isinstance(event, h11.Response):
                return event

    async def next_event(self, timeout: float | None) -> Any:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx.RemoteProtocolError(str(exc)) from None
            if event is not h11.NEED_DATA:
                return event
            data = await self.proto.read(timeout)
            if not data and self.h11.their_state is h11.SEND_RESPONSE:
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
            self.h11.receive_data(data)

    def done(self) -> bool:
        """Whether the exchange ended so that the connection can carry the next request (then it is reset)."""
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE and not self.proto.ended:
            try:
                self.h11.start_next_cycle()
            except h11.LocalProtocolError:
                return False
            return True
        return False


class Body(httpx.AsyncByteStream):
    """An answer's body, read from its connection; closing it hands the connection back (or closes it)."""

    def __init__(self, conn: Connection, timeout: float | None, release: Callable[[Connection, bool], None]):
        self.conn = conn
        self.timeout = timeout
        self.release: Callable[[Connection, bool], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await self.conn.next_event(self.timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return

    async def aclose(self) -> None:
        if self.release is not None:
            release, self.release = self.release, None
            release(self.conn, self.conn.done())


class HostPool:
    """The connections to one host (and address rule): at most `limit` requests at once, idle ones kept."""

    def __init__(self, limit: int, expiry: float, connect: Callable[[float | None], Awaitable[Connection]]):
        self.sem = asyncio.Semaphore(limit)
        self.expiry = expiry
        self.connect = connect
        self.idle: list[Connection] = []
        self.closed = False

    async def request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        await self._acquire(timeouts.get("pool"))
        conn: Connection | None = None
        try:
            conn = self._idle() or await self.connect(timeouts.get("connect"))
            head = await conn.send(request, timeouts.get("read"))
        except BaseException:
            if conn is not None:
                conn.close()
            self.sem.release()
            raise
        raw = head.headers.raw_items()
        response = httpx.Response(
            head.status_code,
            headers=raw,
            stream=Body(conn, timeouts.get("read"), self._release),
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": head.reason},
        )
        if b"".join(k + v for k, v in raw).isascii():  # what httpx.Headers would find trying each line (5%)
            response.headers.encoding = "ascii"
        return response

    async def _acquire(self, timeout: float | None) -> None:
        if not self.sem.locked():
            await self.sem.acquire()  # free: no timer to set
            return
        try:
            async with asyncio.timeout(timeout):
                await self.sem.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("") from None

    def _idle(self) -> Connection | None:
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if conn.reusable(now, self.expiry):
                return conn
            conn.close()
        return None

    def _release(self, conn: Connection, reusable: bool) -> None:
        if reusable and not self.closed:
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
        else:
            conn.close()
        self.sem.release()

    def close(self) -> None:
        self.closed = True
        for conn in self.idle:
            conn.close()
        self.idle.clear()


async def open_connection(
    address: str, port: int, timeout: float | None, tls: ssl.SSLContext | None, server_hostname: str
) -> Connection:
    """A connection to address:port (TLS when `tls`, checked against `server_hostname`), within `timeout`."""
    loop = asyncio.get_running_loop()
    proto = _Protocol(loop)
    try:
        async with asyncio.timeout(timeout):
            await loop.create_connection(
                lambda: proto, address, port, ssl=tls, server_hostname=server_hostname if tls else None
            )
    except TimeoutError:
        raise httpx.ConnectTimeout("") from None
    except ssl.SSLError as exc:
        raise httpx.ConnectError(str(exc)) from None
    except OSError:
        raise httpx.ConnectError("All connection attempts failed") from None  # anyio's words, as before
    return Connection(proto)
