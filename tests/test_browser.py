"""Pages that need a browser: lists built by JavaScript, script checks that set a cookie and reload.

Real servers on loopback, the system's Chromium driven by Playwright (`fetch: {browser: true}`), whole polls
stored in SQLite. Every request the browser makes goes through the fetcher: the servers' logs show the
pacing and the hosts kept to.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from watcher.config.loader import parse_config
from watcher.config.settings import FetchSettings, Source
from watcher.crawl.challenge import is_script_check
from watcher.crawl.fetch import Fetcher
from watcher.errors import NeedsBrowser
from watcher.pipeline.poll import poll_sources

COOKIE = "wc_check=passed"
ITEMS = [
    {"url": "/art/1.html", "title": "关于印发数字政府建设实施方案的通知", "date": "2024-05-06"},
    {"url": "/art/2.html", "title": "关于做好防汛抗旱工作的通知", "date": "2024-05-02"},
]
LIST_SHELL = """<html><head><meta charset="utf-8"><title>通知公告</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/col/">政务公开</a></div>
<h1>通知公告</h1><ul class="list"></ul>
<script src="/js/list.js"></script></body></html>"""
LIST_JS = """fetch(LIST_DATA).then(r => r.json()).then(items => {
  const ul = document.querySelector('ul.list');
  for (const it of items) {
    const li = document.createElement('li');
    li.innerHTML = '<a href="' + it.url + '">' + it.title + '</a><span>' + it.date + '</span>';
    ul.appendChild(li);
  }
});"""
CHECK_PAGE = """<html><head><meta charset="utf-8"><script>
document.cookie = "wc_check=passed; path=/"; location.reload();
</script></head><body></body></html>"""
STATIC_LIST = "<html><body><h1>通知公告</h1><ul class='list'>{}</ul></body></html>"


def detail(title: str) -> str:
    body = "".join(
        f"<p>第{i}条 为{title[2:-3]}，各地区各部门要切实加强组织领导，落实工作责任。</p>" for i in range(1, 6)
    )
    return f"<html><body><h1>{title}</h1><div id='zoom'>{body}</div></body></html>"


class Portal:
    """A portal on a loopback address: `pages` maps a path to (status, content type, body) or to a function of
    the request's cookie header; every request is logged with its arrival time."""

    def __init__(self, host: str = "127.0.0.1"):
        self.pages: dict[str, object] = {"/robots.txt": (200, "text/plain", "User-agent: *\nDisallow: /private/\n")}
        self.log: list[tuple[str, float, str]] = []
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                cookie = self.headers.get("Cookie") or ""
                portal.log.append((self.path, time.monotonic(), cookie))
                page = portal.pages.get(self.path.split("?")[0])
                status, ctype, body, *more = page(cookie) if callable(page) else page or (404, "text/plain", "")
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for name, value in (more[0] if more else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self.httpd = Server((host, 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.httpd.server_port}{path}"

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.log]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site():
    portal = Portal()
    yield portal
    portal.close()


def js_list_site(portal: Portal, data_url: str = "/data/items.json") -> None:
    html = "text/html; charset=utf-8"
    portal.pages["/list.html"] = (200, html, LIST_SHELL)
    portal.pages["/js/list.js"] = (200, "application/javascript", LIST_JS.replace("LIST_DATA", json.dumps(data_url)))
    portal.pages["/data/items.json"] = (200, "application/json", json.dumps(ITEMS, ensure_ascii=False))
    for it in ITEMS:
        portal.pages[it["url"]] = (200, html, detail(it["title"]))


def checked_site(portal: Portal) -> None:
    """Every page answers 412 with a script that sets a cookie and reloads, until the cookie is sent."""
    items = "".join(f"<li><a href='{it['url']}'>{it['title']}</a><span>{it['date']}</span></li>" for it in ITEMS)
    pages = {"/list.html": STATIC_LIST.format(items), **{it["url"]: detail(it["title"]) for it in ITEMS}}
    for path, body in pages.items():
        portal.pages[path] = lambda cookie, body=body: (
            (200, "text/html; charset=utf-8", body) if COOKIE in cookie else (412, "text/html", CHECK_PAGE)
        )


def source(portal: Portal, *, browser: bool, id: str = "js-portal", **fetch) -> Source:
    return Source.model_validate(
        dict(
            id=id,
            name="测试门户 通知公告",
            urls=[portal.url("/list.html")],
            list={"item": "ul.list li", "link": "a", "date": "span"},
            detail={"body": "#zoom"},
            fetch={"browser": browser, "min_delay": 0, "retries": 0, "timeout": 10, **fetch},
        )
    )


def poll(store, *sources):
    return asyncio.run(poll_sources(list(sources), store, concurrency=8))


def stored_titles(store) -> set[str]:
    return {n.title for n in store.notices()}


def test_a_list_built_by_javascript_is_read_with_a_browser(site, sqlite_store):
    js_list_site(site)
    [r] = poll(sqlite_store, source(site, browser=True))
    assert (r.status, r.counts.new, r.errors) == ("ok", 2, [])
    assert stored_titles(sqlite_store) == {it["title"] for it in ITEMS}
    notice = sqlite_store.notice_by_url(site.url("/art/1.html"))
    [version] = sqlite_store.versions(notice.id)
    assert "第3条 为印发数字政府建设实施方案" in version.body
    # The browser's requests were the fetcher's: robots.txt first, the data the script loaded, no image or css.
    assert site.paths()[0] == "/robots.txt"
    assert {"/list.html", "/js/list.js", "/data/items.json", "/art/1.html", "/art/2.html"} <= set(site.paths())


def test_without_a_browser_the_same_list_stores_nothing_and_is_reported(site, sqlite_store):
    js_list_site(site)
    [r] = poll(sqlite_store, source(site, browser=False))
    assert (r.status, r.counts.new) == ("failed", 0)
    assert sqlite_store.notices() == []
    [err] = r.errors
    assert (err.error, err.source_id, err.url) == ("ExtractError", "js-portal", site.url("/list.html"))
    assert "/data/items.json" not in site.paths()


def test_a_script_check_is_reported_as_needing_a_browser(site, sqlite_store):
    checked_site(site)
    [r] = poll(sqlite_store, source(site, browser=False))
    assert (r.status, r.counts.new) == ("failed", 0)
    [err] = r.errors
    assert (err.error, err.source_id, err.url) == ("NeedsBrowser", "js-portal", site.url("/list.html"))
    assert err.message.startswith("需要浏览器抓取：在 sources.yaml 中为该来源设置 fetch: {browser: true}")
    assert "412" in err.message
    assert sqlite_store.notices() == []


def test_a_script_check_is_passed_in_the_browser(site, sqlite_store):
    checked_site(site)
    [r] = poll(sqlite_store, source(site, browser=True))
    assert (r.status, r.counts.new, r.errors) == ("ok", 2, [])
    assert stored_titles(sqlite_store) == {it["title"] for it in ITEMS}
    # First without the cookie (the check), then with the cookie its script set, sent by the fetcher.
    lists = [(p, c) for p, _, c in site.log if p == "/list.html"]
    assert lists[0] == ("/list.html", "") and COOKIE in lists[-1][1]


def test_a_script_check_the_browser_cannot_pass_is_reported_as_such(site, sqlite_store):
    site.pages["/list.html"] = (412, "text/html", CHECK_PAGE)  # the cookie never helps
    [r] = poll(sqlite_store, source(site, browser=True, timeout=2))
    [err] = r.errors
    assert (err.error, err.source_id, err.url) == ("FetchError", "js-portal", site.url("/list.html"))
    assert "脚本检查在浏览器中也未通过" in err.message
    assert [c for p, _, c in site.log if p == "/list.html"][-1] == COOKIE  # it did reload with the cookie


def test_browser_requests_keep_the_per_host_pacing(site, sqlite_store):
    js_list_site(site)
    min_delay = 1.0
    [r] = poll(sqlite_store, source(site, browser=True, min_delay=min_delay, per_host_concurrency=2))
    assert r.counts.new == 2
    times = sorted(t for _, t, _ in site.log)
    assert len(times) >= 6  # robots.txt, the list, its script, its data, two detail pages
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Spacing on the server's clock: the fetcher spaces the sending; a loaded machine delays one arrival more than
    # the next (0.897 s seen at load 14), so half the delay is asked for: without pacing these gaps are ~0.01 s.
    assert min(gaps) >= min_delay * 0.5, site.log
    assert sum(gaps) / len(gaps) >= min_delay * 0.9, site.log


def test_browser_requests_keep_to_the_sources_hosts(site, sqlite_store):
    other = Portal("127.0.0.2")
    try:
        js_list_site(site, data_url=other.url("/data/items.json"))
        js_list_site(other)
        [r] = poll(sqlite_store, source(site, browser=True, timeout=3))
        assert other.log == []  # the script's request to another host was refused before it left
        assert (r.counts.new, sqlite_store.notices()) == (0, [])
        assert [e.error for e in r.errors] == ["ExtractError"]
    finally:
        other.close()


def test_a_redirect_in_the_browser_is_checked_hop_by_hop(site, sqlite_store):
    other = Portal("127.0.0.2")
    try:
        js_list_site(site)
        site.pages["/list.html"] = (302, "text/html", "", {"Location": other.url("/list.html")})
        js_list_site(other)
        [r] = poll(sqlite_store, source(site, browser=True))
        assert other.log == []
        [err] = r.errors
        assert (err.error, err.source_id, err.url) == ("HostRefused", "js-portal", other.url("/list.html"))
        assert f"(redirected from {site.url('/list.html')})" in err.message
    finally:
        other.close()


def test_a_missing_browser_names_the_source_and_what_to_install_and_others_run(site, sqlite_store, monkeypatch):
    monkeypatch.setenv("WATCHER_CHROMIUM", "/nonexistent/chromium")
    js_list_site(site)
    plain = Portal()
    try:
        items = "".join(f"<li><a href='{it['url']}'>{it['title']}</a><span>{it['date']}</span></li>" for it in ITEMS)
        plain.pages["/list.html"] = (200, "text/html; charset=utf-8", STATIC_LIST.format(items))
        for it in ITEMS:
            plain.pages[it["url"]] = (200, "text/html; charset=utf-8", detail(it["title"]))
        wants, other = poll(sqlite_store, source(site, browser=True), source(plain, browser=False, id="plain"))
    finally:
        plain.close()
    assert (wants.status, wants.counts.new) == ("failed", 0)
    [err] = wants.errors
    assert (err.error, err.source_id, err.url) == ("BrowserMissing", "js-portal", site.url("/list.html"))
    assert "apt-get install chromium" in err.message and "WATCHER_CHROMIUM" in err.message
    assert (other.status, other.counts.new) == ("ok", 2)


def test_an_attachment_through_a_browser_source_comes_back_as_fetched(site):
    pdf = "%PDF-1.4 not really a pdf but bytes"
    site.pages["/files/a.pdf"] = (200, "application/pdf", pdf)
    settings = FetchSettings(browser=True, min_delay=0).for_urls([site.url("/")])

    async def fetch():
        async with Fetcher() as f:
            return await f.get(site.url("/files/a.pdf"), settings)

    resp = asyncio.run(fetch())
    assert (resp.status, resp.content, resp.headers["content-type"]) == (200, pdf.encode(), "application/pdf")


@pytest.mark.parametrize(
    "status, body, ctype, expected",
    [
        (412, CHECK_PAGE, "text/html", True),
        (202, "<html><script src='/c.js'></script><body>请稍候</body></html>", "text/html", True),
        (200, "<html><head><script>" + "var a=1;" * 80 + "</script></head><body></body></html>", None, True),
        (521, "<script>document.cookie='k=v';location.href=location.pathname</script>", "text/html", True),
        (200, LIST_SHELL, "text/html", False),  # a heading and a menu: a page, read as one
        (412, "<html><body><p>Precondition Failed</p></body></html>", "text/html", False),  # no script
        (202, '{"msg": "<script>"}', "application/json", False),
        (404, CHECK_PAGE, "text/html", False),
        # A CMS column page carrying its records in a data block, not a script that runs.
        (
            200,
            "<html><body><div id='1'><script type='text/xml'><datastore><recordset>"
            + "<record><![CDATA[<li><a href='/art/1.html'>关于开展安全生产大检查的通知</a></li>]]></record>" * 8
            + "</recordset></datastore></script></div><script>var p=1;</script></body></html>",
            "text/html",
            False,
        ),
    ],
)
def test_the_shape_of_a_script_check(status, body, ctype, expected):
    assert is_script_check(status, body.encode("utf-8"), ctype) is expected


def test_needs_browser_carries_the_url_for_a_plain_fetch(site):
    checked_site(site)

    async def fetch():
        async with Fetcher() as f:
            return await f.get(site.url("/list.html"), FetchSettings(min_delay=0, retries=0))

    with pytest.raises(NeedsBrowser) as info:
        asyncio.run(fetch())
    assert (info.value.url, info.value.status, info.value.code) == (site.url("/list.html"), 412, "needs_browser")


def test_the_browser_setting_is_read_and_checked_with_the_file():
    text = """sources:
  - id: rendered
    name: R
    urls: [http://r.gov.cn/list.html]
    fetch: {browser: true}
  - id: plain
    name: P
    urls: [http://p.gov.cn/list.html]
  - id: wrong
    name: W
    urls: [http://w.gov.cn/list.html]
    fetch: {browser: maybe}
"""
    cfg = parse_config(text, "sources.yaml")
    assert {s.id: s.fetch.browser for s in cfg.sources} == {"rendered": True, "plain": False}
    [err] = cfg.errors
    assert (err.source_id, err.field, err.line) == ("wrong", "fetch.browser", 12)
    assert str(err).startswith("sources.yaml:12, source 'wrong', field 'fetch.browser'")
