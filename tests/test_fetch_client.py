"""FetchClient.open against httpx's own `stream` on a real server: the same request sent, the same answer,
the same redirect request made (and refused), cookies and credentials in the URL sent alike."""

from __future__ import annotations

import httpx
import pytest

from watcher.crawl.transport import PRIVATE_OK, FetchClient, PerHostTransport

TIMEOUT = httpx.Timeout(5, connect=2)
HEADERS = {"User-Agent": "PolicyWatcher-test", "Accept": "text/html"}


def _client() -> FetchClient:
    return FetchClient(follow_redirects=False, transport=PerHostTransport())


async def _by_stream(client: FetchClient, url: str, headers: dict[str, str]) -> tuple:
    async with client.stream("GET", url, headers=headers, timeout=TIMEOUT) as r:
        body = b"".join([c async for c in r.aiter_bytes()])
        nxt = r.next_request
        return r.status_code, r.headers.raw, body, str(r.url), nxt and (nxt.method, str(nxt.url), nxt.headers.raw)


async def _by_open(client: FetchClient, url: str, headers: dict[str, str]) -> tuple:
    r = await client.open("GET", url, headers, TIMEOUT)
    try:
        body = b"".join([c async for c in r.aiter_bytes()])
        nxt = r.next_request
        return r.status_code, r.headers.raw, body, str(r.url), nxt and (nxt.method, str(nxt.url), nxt.headers.raw)
    finally:
        await r.aclose()


def _without_date(raw: list) -> list:
    return [(k, v) for k, v in raw if k.lower() != b"date"]


@pytest.fixture(autouse=True)
def _loopback_allowed():
    token = PRIVATE_OK.set(True)
    yield
    PRIVATE_OK.reset(token)


@pytest.mark.parametrize(
    "path,extra",
    [("/page.html", {}), ("/moved", {}), ("/page.html", {"If-None-Match": '"x"', "accept": "*/*"})],
)
async def test_open_sends_and_answers_as_stream(portal, path, extra):
    portal.add("/page.html", "<p>页面</p>")
    portal.add("/moved", redirect="/page.html?a=1")
    headers = {**HEADERS, **extra}
    async with _client() as a, _client() as b:
        streamed = await _by_stream(a, portal.url(path), headers)
        opened = await _by_open(b, portal.url(path), headers)
    (sent_a, sent_b) = (portal.requests[-2][1], portal.requests[-1][1])
    assert sent_a == sent_b and sent_a["User-Agent"] == "PolicyWatcher-test"
    assert streamed[0] == opened[0] and streamed[2:] == opened[2:]
    assert _without_date(streamed[1]) == _without_date(opened[1])
    assert (opened[4] is not None) == (path == "/moved")


async def test_an_invalid_location_is_refused_alike(portal):
    portal.add("/bad", redirect="http://[::1")
    errors = []
    for call in (_by_stream, _by_open):
        async with _client() as c:
            with pytest.raises(httpx.RemoteProtocolError) as info:
                await call(c, portal.url("/bad"), HEADERS)
            errors.append(str(info.value))
    assert errors[0] == errors[1] and "location" in errors[0].lower()


async def test_cookies_set_by_an_answer_are_sent_alike(portal):
    portal.add("/set", "<p>set</p>", headers={"Set-Cookie": "sid=abc123; Path=/"})
    portal.add("/next", "<p>next</p>")
    for call in (_by_stream, _by_open):
        async with _client() as c:
            await call(c, portal.url("/set"), HEADERS)
            await call(c, portal.url("/next"), HEADERS)
        assert portal.requests[-1][1].get("Cookie") == "sid=abc123"


async def test_credentials_in_the_url_are_sent_alike(portal):
    portal.add("/private.html", "<p>x</p>")
    url = portal.url("/private.html").replace("http://", "http://user:pw@")
    for call in (_by_stream, _by_open):
        async with _client() as c:
            await call(c, url, HEADERS)
        assert portal.requests[-1][1].get("Authorization") == "Basic dXNlcjpwdw=="


async def test_a_closed_client_refuses_alike(portal):
    portal.add("/page.html", "<p>x</p>")
    for call in (_by_stream, _by_open):
        c = _client()
        await c.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await call(c, portal.url("/page.html"), HEADERS)


@pytest.mark.parametrize("tag", ["<script>", "<SCRIPT>", "<ScRiPt type='text/javascript'>"])
def test_a_script_check_is_found_whatever_the_case_of_its_tag(tag):
    from watcher.crawl.challenge import is_script_check

    body = f"<html><body>{tag}document.cookie='a=1';location.reload()</script></body></html>".encode()
    assert is_script_check(412, body, "text/html")
    assert not is_script_check(412, body.replace(tag.encode(), b"<scrip>"), "text/html")


@pytest.mark.parametrize(
    "lines",
    [
        [(b"Host", b"a"), (b"X-Bad", b"line\nbreak")],
        [(b"Host", b"a"), (b"Content-Length", b"5"), (b"Content-Length", b"6"), (b"Bad Name", b"x")],
        [(b"Host", b"a"), (b"Transfer-Encoding", b"gzip")],
        [(b"Host", b"a"), (b"Accept", b"text/html"), (b"Accept", b"text/html")],
    ],
)
def test_request_head_lines_are_checked_as_h11_checks_them(lines):
    import h11

    from watcher.crawl.http11 import _checked

    def head(headers):
        try:
            return ("ok", list(h11.Request(method="GET", target="/", headers=headers).headers.raw_items()))
        except h11.LocalProtocolError as exc:
            return ("refused", str(exc))

    for _ in range(2):  # the second time with the valid lines known
        assert head(_checked(lines)) == head(lines)


@pytest.mark.parametrize(
    "client_headers,own",
    [
        ({}, {"User-Agent": "a", "accept": "x"}),
        ({"X-Team": "t", "accept": "y"}, {"ACCEPT": "z", "If-None-Match": '"e"'}),
        ({"accept": "v"}, {b"\xc3\x9c": b"x", b"ACCEPT": b"y"}),  # a name httpx decodes to compare: its way
        ({}, {"X-Value": "é"}),  # refused alike
    ],
)
def test_request_headers_merge_as_httpx_merges_them(client_headers, own):
    client = FetchClient(headers=client_headers)
    client.headers["Connection"] = "close"  # changed in place after the client was made

    def merged(merge):
        try:
            return list(merge(own).raw)
        except UnicodeError as exc:
            return repr(exc)

    assert merged(client._merge_headers) == merged(lambda h: httpx.AsyncClient._merge_headers(client, h))
