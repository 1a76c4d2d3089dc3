"""A real HTTP server on loopback serving portal pages: the demo's portal and the tests' portal.

Routes can misbehave the ways real portals do: fail a few times, stall, redirect, send a huge
body, omit the charset. ETag and Last-Modified are honoured for conditional GET.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = True
    last_modified: bool = True
    fail_first: int = 0  # answer 500 this many times before succeeding
    delay: float = 0.0  # seconds to stall before answering
    redirect: str | None = None  # answer 302 to this path
    trickle: float = 0.0  # seconds between two bytes of the body: a portal that never quite finishes
    headers: dict[str, str] = field(default_factory=dict)
    mtime: float = field(default_factory=lambda: time.time() - 3600)

    def set_body(self, body: bytes | str) -> None:
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.mtime = time.time()


class PortalServer:
    """Context manager: `with PortalServer() as srv: srv.add('/a.html', '<html>…'); srv.url('/a.html')`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self.posts: list[tuple[str, str]] = []  # (path, form body) of POST requests
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.posts.append((self.path, body.decode("utf-8", "replace")))
                server._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                # Clients that give up (timeouts, size limits) reset the connection: not an error here.
                import sys

                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.httpd = Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.httpd.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kw) -> Route:
        route = Route(**kw)
        route.set_body(body)
        route.mtime = time.time() - 3600
        self.routes[path] = route
        return route

    def start(self) -> PortalServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("#")[0]
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.requests.append((path, dict(h.headers.items()), time.monotonic()))
            hit = self.hits[path]
        route = self.routes.get(path)
        if route is None:
            return self._send(h, 404, b"not found", {"Content-Type": "text/plain"})
        if route.delay:
            time.sleep(route.delay)
        if hit <= route.fail_first:
            return self._send(h, 500, b"internal error", {"Content-Type": "text/plain"})
        if route.redirect:
            return self._send(h, 302, b"", {"Location": route.redirect})
        headers = {"Content-Type": route.content_type, **route.headers}
        tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
        if route.etag:
            headers["ETag"] = tag
        if route.last_modified:
            headers["Last-Modified"] = formatdate(route.mtime, usegmt=True)
        if route.status == 200:
            if route.etag and h.headers.get("If-None-Match") == tag:
                return self._send(h, 304, b"", headers)
            if (
                not route.etag
                and route.last_modified
                and h.headers.get("If-Modified-Since") == headers["Last-Modified"]
            ):
                return self._send(h, 304, b"", headers)
        self._send(h, route.status, route.body, headers, trickle=route.trickle)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str], *, trickle: float = 0.0
    ) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            if status != 304:
                h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if status != 304 and body and trickle:
                for i in range(len(body)):
                    h.wfile.write(body[i : i + 1])
                    h.wfile.flush()
                    time.sleep(trickle)
            elif status != 304 and body:
                h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test, size limit): nothing to answer
