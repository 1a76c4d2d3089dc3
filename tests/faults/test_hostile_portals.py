"""Portals that misbehave on purpose: a body that trickles, links and redirects to other hosts, to the
cloud metadata address and to loopback spellings (issue 14, items 5 and 6). Every case is a real server."""

from __future__ import annotations

import time

import pytest

from notifiers.dispatch import Dispatcher
from storage.repo import Store
from tests.faults.site import doc, listing, poll, source
from watcher.config.channels import Channel
from watcher.config.settings import Config, Defaults, FetchSettings
from watcher.crawl.fetch import Fetcher
from watcher.crawl.hosts import HostScope, address_refusal, as_address, normalise_host
from watcher.demo.server import PortalServer
from watcher.errors import FetchTimeout, HostRefused, error_context


@pytest.fixture
def other():
    """A second portal on another loopback address: a host the source never named."""
    with PortalServer(host="127.0.0.2") as srv:
        yield srv


# ---- item 5: a total deadline per request ----------------------------------------------------------
async def test_a_body_trickling_a_byte_a_second_ends_at_the_deadline(portal):
    portal.add("/drip.html", b"<p>" + b"x" * 60 + b"</p>", trickle=1.0)  # a minute of body
    settings = FetchSettings(min_delay=0, retries=0, timeout=5, deadline=2.5)
    started = time.monotonic()
    async with Fetcher() as f:
        with pytest.raises(FetchTimeout) as ei, error_context(source_id="drip"):
            await f.get(portal.url("/drip.html"), settings)
    # The body alone would take 60 s: ending in half of that, with the deadline named, is the deadline's doing
    # (a wide margin, so that a loaded machine cannot fail it).
    assert time.monotonic() - started < 30
    assert "deadline of 2.5s" in str(ei.value)
    assert ei.value.source_id == "drip" and portal.url("/drip.html") in str(ei.value)


def test_a_poll_ends_though_a_detail_page_and_an_attachment_trickle(portal, tmp_path):
    att = "/files/slow.pdf"
    portal.add(att, b"%PDF-1.4 " + b"0" * 60, content_type="application/pdf", trickle=1.0)
    slow = doc(portal, "/art/1.html", "慢页面", trickle=1.0)
    kept = doc(portal, "/art/2.html", "带附件", [(att, "附件.pdf")])
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    started = time.monotonic()
    [r] = poll(store, source(listing(portal, "/index.html", [slow, kept]), fetch={"deadline": 2}))
    assert time.monotonic() - started < 30  # the two trickling bodies alone take 60 s each
    assert r.status == "partial" and r.counts.new == 1
    [err] = r.errors
    assert err.url == slow and "deadline" in err.message and err.source_id == "hostile"
    [v] = store.versions(store.notice_by_url(kept).id)
    assert '"fetch_error"' in v.attachments_json and "deadline" in v.attachments_json
    store.close()


def test_a_webhook_answer_that_trickles_ends_at_the_channel_timeout(hooks, tmp_path, monkeypatch):
    from tests.notify.world import sample_items

    hooks.answers["/slow"] = (200, '{"errcode": 0, "padding": "' + "x" * 60 + '"}')
    hooks.trickle["/slow"] = 1.0
    monkeypatch.setenv("SLOW_HOOK", hooks.url("/slow"))
    ch = Channel(id="slow", type="wecom", url_env="SLOW_HOOK", timeout=2, retries=0)
    from notifiers.send import post_webhook
    from notifiers.services import service_for

    [(_, body)] = service_for("wecom").messages(sample_items(1))
    store = Store.open(f"sqlite:///{tmp_path / 'd.db'}")
    with Dispatcher(store, Config(None, Defaults(), [], channels=[ch])) as d:
        started = time.monotonic()
        with pytest.raises(Exception) as ei:
            post_webhook(ch, body, "key", d.client)
    assert time.monotonic() - started < 30  # the answer alone takes 60 s
    assert "deadline" in str(ei.value) and "slow" in str(ei.value)
    store.close()


# ---- item 6: requests only to the source's own hosts -------------------------------------------------
def test_links_and_redirects_to_other_hosts_are_refused_and_reported(portal, other, tmp_path):
    port_b = other.httpd.server_port
    doc(other, "/internal.html", "内部页面")
    other.add("/secret.pdf", b"%PDF-1.4 internal", content_type="application/pdf")
    own = doc(portal, "/art/own.html", "本站文件", [(f"http://127.0.0.2:{port_b}/secret.pdf", "附件")])
    moved_to = f"http://127.0.0.2:{port_b}/moved-here.html"
    portal.add("/art/moved.html", redirect=moved_to)
    refused = [
        f"http://127.0.0.2:{port_b}/internal.html",  # another loopback address
        f"http://localhost:{portal.httpd.server_port}/art/own.html",  # another name for this machine
        f"http://0x7f000002:{port_b}/internal.html",  # 127.0.0.2 spelled in hex
        f"http://2130706434:{port_b}/internal.html",  # 127.0.0.2 as one number
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[fe80::1]/",
    ]
    url = listing(portal, "/index.html", [own, portal.url("/art/moved.html"), *refused])
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    [r] = poll(store, source(url))
    assert other.hits == {}  # nothing reached the other host, by any spelling or redirect
    assert portal.hits.get("/art/own.html") == 1  # only through its own name, not through localhost
    errors = {e.url: e.message for e in r.errors}
    assert set(errors) == {*refused, moved_to}, errors  # the redirect's target is refused, with its origin
    assert all("not fetched" in m for m in errors.values()), errors
    assert f"(redirected from {portal.url('/art/moved.html')})" in errors[moved_to]
    assert "metadata" in errors["http://169.254.169.254/latest/meta-data/"]
    assert "link-local" in errors["http://[fe80::1]/"]
    assert all(e.source_id == "hostile" for e in r.errors)
    [v] = store.versions(store.notice_by_url(own).id)
    assert "not fetched" in v.attachments_json and "internal" not in v.norm_text
    store.close()


def test_a_host_listed_in_allow_hosts_is_followed(portal, other, tmp_path):
    theirs = doc(other, "/doc.html", "另一主机上的文件")
    url = listing(portal, "/index.html", [theirs])
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    [r] = poll(store, source(url, fetch={"allow_hosts": ["127.0.0.2"]}))
    assert r.status == "ok" and r.counts.new == 1 and other.hits["/doc.html"] == 1
    store.close()


async def test_a_public_source_never_reaches_private_or_loopback_addresses(portal):
    """The source is on a public address; a host it allows resolves to loopback: refused at connect time."""
    portal.add("/inside.html", "<p>intranet</p>")
    for allowed in ("127.0.0.1", "localhost"):
        settings = FetchSettings(min_delay=0, retries=0, allow_hosts=[allowed]).for_urls(["http://8.8.8.8/"])
        url = portal.url("/inside.html").replace("127.0.0.1", allowed)
        async with Fetcher() as f:
            with pytest.raises(HostRefused, match="private or loopback") as ei:
                await f.get(url, settings)
        assert ei.value.url == url and not ei.value.retryable
    assert portal.hits == {}


async def test_a_redirect_to_the_metadata_address_is_never_contacted(portal):
    portal.add("/go.html", redirect="http://169.254.169.254/latest/meta-data/")
    settings = FetchSettings(min_delay=0, retries=0, allow_hosts=["169.254.169.254"])
    async with Fetcher() as f:
        with pytest.raises(HostRefused, match="metadata"):
            await f.get(portal.url("/go.html"), settings)


def test_numeric_host_spellings_are_the_address_they_mean():
    for spelling in ("0x7f000001", "2130706433", "127.1", "0177.0.0.1", "127.0.0.1.", "[::ffff:127.0.0.1]"):
        assert normalise_host(spelling) == "127.0.0.1", spelling
    assert as_address("example.gov.cn") is None and normalise_host("WWW.Gov.CN.") == "www.gov.cn"
    scope = HostScope.of(["www.example.gov.cn"], ["*.files.cn"])
    assert scope.admits("example.gov.cn") and scope.admits("a.files.cn") and not scope.admits("evilfiles.cn")
    assert scope.refusal("file:///etc/passwd") and scope.refusal("http://100.100.100.200/")
    assert address_refusal(as_address("10.0.0.1"), private_ok=True) is None  # type: ignore[arg-type]
