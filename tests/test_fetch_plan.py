"""A request is planned once (watcher/crawl/fetch.py `_Plan`); robots.txt is asked with the source's plan cut short
(no retry, a body of at most 512,000 bytes) and no copy of its settings; FetchClient keeps the cookies it is given."""

from __future__ import annotations

import httpx
import pytest

from watcher.config.settings import FetchSettings
from watcher.crawl.fetch import Fetcher
from watcher.crawl.transport import FetchClient, PerHostTransport
from watcher.errors import RobotsDisallowed

HOSTS = ["a.test", "b.test", "c.test"]
SOURCE = FetchSettings(min_delay=0, backoff=0, retries=2, timeout=2, max_body_bytes=2_000).for_urls(
    [f"http://{h}/" for h in HOSTS]
)


def _server(robots: tuple[int, bytes]) -> tuple[httpx.AsyncClient, list[str]]:
    """A client whose hosts answer robots.txt with `robots` and every other path with a small page."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}{request.url.path}")
        if request.url.path == "/robots.txt":
            return httpx.Response(robots[0], content=robots[1])
        return httpx.Response(200, content=b"<p>ok</p>")

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


async def test_robots_txt_is_asked_once_per_host_without_retries():
    client, seen = _server((503, b""))  # retryable, but robots.txt is not retried: no rules
    async with client, Fetcher(client) as f:
        for h in HOSTS:
            for k in range(2):
                assert (await f.get(f"http://{h}/{k}.html", SOURCE)).status == 200
        assert len(f._plans) == 1  # the source's plan only: none made per host for robots.txt
    assert [s for s in seen if s.endswith("/robots.txt")] == [f"{h}/robots.txt" for h in HOSTS]
    assert len(seen) == 3 + 6


@pytest.mark.parametrize("padding,obeyed", [(5_000, True), (600_000, False)])
async def test_robots_txt_has_its_own_body_limit(padding, obeyed):
    # Larger than the source's 2,000 bytes, read; past 512,000 bytes, not read (no rules).
    body = b"User-agent: *\nDisallow: /private\n" + b"#" * padding + b"\n"
    client, _ = _server((200, body))
    async with client, Fetcher(client) as f:
        if obeyed:
            with pytest.raises(RobotsDisallowed):
                await f.get("http://a.test/private/x.html", SOURCE)
        else:
            assert (await f.get("http://a.test/private/x.html", SOURCE)).status == 200
        assert (await f.get("http://a.test/public.html", SOURCE)).status == 200


def test_fetch_client_keeps_the_cookies_it_is_given():
    cookies = {"sid": "abc", "lang": "zh"}
    client = FetchClient(cookies=cookies, transport=PerHostTransport())
    want = httpx.AsyncClient(cookies=cookies).build_request("GET", "http://a.test/")
    got = client.build_request("GET", "http://a.test/")
    assert got.headers["cookie"] == want.headers["cookie"] == "sid=abc; lang=zh"
    assert dict(client.cookies) == cookies
    assert "cookie" not in FetchClient().build_request("GET", "http://a.test/").headers
