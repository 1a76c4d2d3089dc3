"""The fetcher against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from watcher.config.settings import FetchSettings
from watcher.crawl.fetch import Fetcher
from watcher.crawl.retry import RETRYABLE_STATUS, retry_after
from watcher.errors import FetchError, FetchTimeout, HTTPStatusError, RobotsDisallowed, TooLarge, error_context

FAST = FetchSettings(min_delay=0, backoff=0, retries=2, timeout=2)


async def test_etag_and_conditional_get(portal):
    portal.add("/list.html", "<p>hello</p>")
    async with Fetcher() as f:
        first = await f.get(portal.url("/list.html"), FAST)
        assert first.status == 200 and first.etag and first.last_modified
        second = await f.get(portal.url("/list.html"), FAST, etag=first.etag)
    assert second.not_modified and second.status == 304
    assert portal.requests[-1][1].get("If-None-Match") == first.etag


async def test_last_modified_only_server(portal):
    portal.add("/lm.html", "<p>x</p>", etag=False)
    async with Fetcher() as f:
        first = await f.get(portal.url("/lm.html"), FAST)
        assert first.etag is None
        second = await f.get(portal.url("/lm.html"), FAST, last_modified=first.last_modified)
    assert second.not_modified


async def test_gbk_page_without_charset_is_decoded(portal):
    html = (
        "<html><body><h1>关于印发淮安市实施方案的通知</h1>"
        "<p>各县区人民政府，市各委办局：现印发给你们。</p></body></html>"
    )
    portal.add("/gbk.html", html.encode("gbk"), content_type="text/html")
    async with Fetcher() as f:
        resp = await f.get(portal.url("/gbk.html"), FAST)
    assert resp.text == html
    assert resp.encoding == "gb18030"


async def test_meta_charset_wins_over_detection(portal):
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head>'
        "<body>政府信息公开</body></html>"
    )
    portal.add("/meta.html", html.encode("gb2312"), content_type="text/html")
    async with Fetcher() as f:
        resp = await f.get(portal.url("/meta.html"), FAST)
    assert "政府信息公开" in resp.text


async def test_500_then_success_is_retried(portal):
    portal.add("/flaky.html", "<p>ok</p>", fail_first=2)
    async with Fetcher() as f:
        resp = await f.get(portal.url("/flaky.html"), FAST)
    assert resp.status == 200 and portal.hits["/flaky.html"] == 3


async def test_persistent_500_raises_with_source_and_url(portal):
    portal.add("/down.html", "x", fail_first=99)
    async with Fetcher() as f:
        with pytest.raises(HTTPStatusError) as ei, error_context(source_id="s1"):
            await f.get(portal.url("/down.html"), FAST.model_copy(update={"retries": 1}))
    assert ei.value.status == 500 and ei.value.source_id == "s1"
    assert portal.url("/down.html") in str(ei.value) and "s1" in str(ei.value)
    assert portal.hits["/down.html"] == 2


async def test_404_is_not_retried(portal):
    async with Fetcher() as f:
        with pytest.raises(HTTPStatusError) as ei:
            await f.get(portal.url("/missing.html"), FAST)
    assert ei.value.status == 404 and not ei.value.retryable
    assert portal.hits["/missing.html"] == 1


async def test_timeout(portal):
    portal.add("/slow.html", "x", delay=1.5)
    async with Fetcher() as f:
        with pytest.raises(FetchTimeout) as ei:
            await f.get(portal.url("/slow.html"), FAST.model_copy(update={"timeout": 0.3, "retries": 0}))
    assert ei.value.url == portal.url("/slow.html")


async def test_redirect_followed_and_limited(portal):
    portal.add("/new.html", "<p>moved</p>")
    portal.add("/old.html", redirect="/new.html")
    portal.add("/loop1", redirect="/loop2")
    portal.add("/loop2", redirect="/loop1")
    async with Fetcher() as f:
        resp = await f.get(portal.url("/old.html"), FAST)
        assert resp.url == portal.url("/new.html") and resp.redirects == [portal.url("/old.html")]
        with pytest.raises(FetchError, match="redirects"):
            await f.get(portal.url("/loop1"), FAST.model_copy(update={"max_redirects": 3}))


async def test_oversized_body_is_refused(portal):
    portal.add("/huge.html", b"x" * 300_000)
    async with Fetcher() as f:
        with pytest.raises(TooLarge):
            await f.get(portal.url("/huge.html"), FAST.model_copy(update={"max_body_bytes": 100_000}))


async def test_oversized_chunked_body_without_length():
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(50):
            writer.write(b"%x\r\n%s\r\n" % (10_000, b"y" * 10_000))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/stream"
    async with server, Fetcher() as f:
        with pytest.raises(TooLarge, match="body exceeds the limit"):
            await f.get(url, FAST.model_copy(update={"max_body_bytes": 100_000, "robots": False}))
        small = await f.get(url, FAST.model_copy(update={"robots": False}))
    assert small.content == b"y" * 500_000


async def test_robots_txt_is_honoured_unless_opted_out(portal):
    portal.add("/private/doc.html", "secret")
    async with Fetcher() as f:
        with pytest.raises(RobotsDisallowed):
            await f.get(portal.url("/private/doc.html"), FAST)
        resp = await f.get(portal.url("/private/doc.html"), FAST.model_copy(update={"robots": False}))
    assert resp.status == 200


async def test_user_agent_and_per_host_delay(portal):
    for i in range(3):
        portal.add(f"/p{i}.html", f"<p>{i}</p>")
    settings = FAST.model_copy(update={"min_delay": 0.2, "user_agent": "TestWatcher/1"})
    async with Fetcher() as f:
        await asyncio.gather(*(f.get(portal.url(f"/p{i}.html"), settings) for i in range(3)))
    pages = [r for r in portal.requests if r[0].startswith("/p")]
    assert all(r[1]["User-Agent"] == "TestWatcher/1" for r in pages)
    times = sorted(r[2] for r in pages)
    assert all(b - a >= 0.18 for a, b in zip(times, times[1:], strict=False))


def _scripted(statuses: list[int], headers: dict[str, str] | None = None) -> tuple[httpx.AsyncClient, list[int]]:
    """A client whose server answers the given statuses in turn (then 200), counting requests."""
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[len(seen)] if len(seen) < len(statuses) else 200
        seen.append(status)
        return httpx.Response(status, headers=headers or {}, content=b"<p>ok</p>")

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


NO_ROBOTS = FAST.model_copy(update={"robots": False})


@pytest.mark.parametrize("status", [408, 429, 500, 503])
async def test_retryable_statuses_are_retried_in_the_run(status):
    client, seen = _scripted([status])
    async with client, Fetcher(client) as f:
        resp = await f.get("http://portal.test/a.html", NO_ROBOTS)
    assert resp.status == 200 and seen == [status, 200]


@pytest.mark.parametrize("status", [400, 403, 404, 410])
async def test_other_4xx_are_not_retried(status):
    client, seen = _scripted([status])
    async with client, Fetcher(client) as f:
        with pytest.raises(HTTPStatusError) as ei:
            await f.get("http://portal.test/a.html", NO_ROBOTS)
    assert seen == [status] and not ei.value.retryable


async def test_a_408_that_persists_is_raised_as_retryable():
    client, seen = _scripted([408] * 5)
    async with client, Fetcher(client) as f:
        with pytest.raises(HTTPStatusError) as ei:
            await f.get("http://portal.test/a.html", NO_ROBOTS)
    assert ei.value.status == 408 and ei.value.retryable and len(seen) == FAST.retries + 1


async def test_retry_after_is_honoured_over_the_backoff():
    client, seen = _scripted([429], headers={"Retry-After": "0.3"})
    slow_backoff = NO_ROBOTS.model_copy(update={"backoff": 0})
    async with client, Fetcher(client) as f:
        started = time.monotonic()
        await f.get("http://portal.test/a.html", slow_backoff)
    assert seen == [429, 200] and time.monotonic() - started >= 0.3


def test_one_retry_rule():
    assert {408, 429, 500, 502, 503, 504, 599} <= RETRYABLE_STATUS
    assert not {200, 304, 400, 401, 403, 404, 410} & RETRYABLE_STATUS
    assert retry_after("7") == 7.0 and retry_after(None) is None and retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
    assert HTTPStatusError("HTTP 408", status=408).retryable


def test_error_context_attaches_what_is_missing_and_keeps_what_is_set():
    with pytest.raises(FetchError) as ei, error_context(source_id="outer", url="http://outer/"):
        with error_context(url="http://inner/"):
            raise FetchError("boom")
    assert (ei.value.source_id, ei.value.url) == ("outer", "http://inner/")
    assert str(ei.value) == "[source outer http://inner/] boom"
    with pytest.raises(FetchError) as ei, error_context(source_id="s", url="http://ctx/"):
        raise FetchError("boom", source_id="own", url="http://own/")
    assert (ei.value.source_id, ei.value.url) == ("own", "http://own/")
    with pytest.raises(KeyError), error_context(source_id="s"):
        raise KeyError("not ours")  # only WatcherErrors are labelled, nothing is swallowed


async def test_error_context_in_async_with():
    client, _ = _scripted([404])
    with pytest.raises(HTTPStatusError) as ei:
        async with client, Fetcher(client) as f, error_context(source_id="s1"):
            await f.get("http://portal.test/none.html", NO_ROBOTS)
    assert (ei.value.source_id, ei.value.url) == ("s1", "http://portal.test/none.html")


@pytest.mark.parametrize(
    "body",
    [
        "User-agent: *\nAllow: /\n",
        "User-agent: *\nDisallow:\n",
        "User-agent: *\nDisallow: /private/\n",
        "User-agent: TestWatcher\nDisallow: /\n\nUser-agent: *\nAllow: /\n",
        "User-agent: other\nDisallow: /\n",
        "",
    ],
)
def test_a_host_whose_robots_txt_allows_every_path_needs_no_check_per_url(body):
    from watcher.crawl.robots import open_to, parse

    parser = parse("http://portal.test/robots.txt", 200, body)
    assert parser is not None
    urls = ["http://portal.test/", "http://portal.test/private/a.html", "http://portal.test/art/1.html?x=1"]
    for agent in ("TestWatcher/1", "PolicyWatcher"):
        verdicts = [parser.can_fetch(agent, u) for u in urls]
        assert open_to(parser, agent) == all(verdicts), (agent, verdicts)


async def test_https_with_and_without_certificate_checks(tmp_path):
    from tests.receivers import self_signed

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10\r\n\r\n<p>tls</p>")
            await writer.drain()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=self_signed(tmp_path))
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/a.html"
    settings = FAST.model_copy(update={"robots": False, "retries": 0})
    async with server, Fetcher() as f:
        with pytest.raises(FetchError, match="connection failed: .*CERTIFICATE_VERIFY_FAILED"):
            await f.get(url, settings)
        insecure = settings.model_copy(update={"verify_tls": False})
        first, second = [await f.get(url, insecure) for _ in range(2)]
    assert first.content == second.content == b"<p>tls</p>"
