"""Who may read the web view: anyone on the machine when it listens on loopback only; elsewhere, whoever shows the
token (an environment variable's value, never written in sources.yaml).

The token is accepted as an `Authorization: Bearer …` header (scripts, feed readers), or once as `?token=…`, which
answers with a redirect to the same address without it and sets an HttpOnly cookie (people: the token leaves the
address bar and the history). Anything else is answered 401.
"""

from __future__ import annotations

import hmac
import ipaddress
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from watcher.i18n import _

COOKIE = "watcher_token"


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1 and localhost: where a server needs no token. Any other address, 127.0.0.2 included (a
    container or a proxy may forward to it), needs one."""
    host = host.strip("[]").lower()
    try:
        return str(ipaddress.ip_address(host)) in LOOPBACK
    except ValueError:
        return host in LOOPBACK


class TokenGate:
    """ASGI middleware: every request shows the token, or is answered 401."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token

    def _ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())  # type: ignore[union-attr]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        cookie = SimpleCookie(headers.get("cookie", ""))
        from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
        if self._ok(bearer) or self._ok(from_cookie):
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = next((v for k, v in query if k == "token"), None)
        if self._ok(given):
            rest = urlencode([(k, v) for k, v in query if k != "token"])
            response: Response = RedirectResponse(scope["path"] + ("?" + rest if rest else ""), status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send)
            return
        response = PlainTextResponse(
            _("A token is needed: send `Authorization: Bearer <token>`, or open the page once with ?token=<token>."),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)
