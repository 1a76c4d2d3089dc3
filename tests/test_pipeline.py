"""Whole polls against a real portal server, stored in SQLite and the live PostgreSQL."""

from __future__ import annotations

import asyncio
import json

from tests.portal_site import build_site, doc_body, doc_meta, source_for
from watcher.demo.portal import detail_page
from watcher.pipeline.poll import poll_sources


def run(store, *sources):
    return asyncio.run(poll_sources(list(sources), store, concurrency=8))


def test_first_poll_stores_every_notice_with_an_event(portal, fresh_db):
    build_site(portal, pages=2, per_page=3)
    [r] = run(fresh_db, source_for(portal))
    assert (r.status, r.counts.new, r.counts.failed, r.pages) == ("ok", 6, 0, 2)
    notices = fresh_db.notices()
    assert len(notices) == 6
    n6 = fresh_db.notice_by_url(portal.url("/col/art/6.html"))
    assert (n6.title, n6.doc_no, n6.issuer, str(n6.written)) == (
        "关于做好第6项工作的通知",
        "测政发〔2024〕6号",
        "测试市人民政府",
        "2024-03-01",
    )
    [v] = fresh_db.versions(n6.id)
    assert "（二）加强组织领导，落实责任。" in v.body.splitlines()
    assert json.loads(v.citations_json)["docnos"] == ["国发〔2021〕4号"]
    assert v.etag and v.content_hash
    events = fresh_db.events()
    assert [e.kind for e in events] == ["notice.new"] * 6
    assert {e.notice_id for e in events} == {n.id for n in notices}


def test_unchanged_portal_costs_one_conditional_request(portal, fresh_db):
    build_site(portal, pages=2, per_page=3)
    src = source_for(portal)
    run(fresh_db, src)
    before = dict(portal.hits)
    [r] = run(fresh_db, src)
    assert (r.counts.new, r.counts.changed, r.not_modified, r.pages) == (0, 0, 1, 1)
    new_hits = {k: v - before.get(k, 0) for k, v in portal.hits.items() if v != before.get(k, 0)}
    assert new_hits == {"/col/index.html": 1}
    assert portal.requests[-1][1].get("If-None-Match")
    assert len(fresh_db.events()) == 6


def test_list_without_validators_is_skipped_by_region_hash(portal, fresh_db):
    build_site(portal, pages=1, per_page=2)
    route = portal.routes["/col/index.html"]
    route.etag = route.last_modified = False
    src = source_for(portal, pages=1)
    run(fresh_db, src)
    # The footer's visit counter changes every time; the list region does not.
    route.set_body(route.body.replace(b'<span id="visits">1</span>', b'<span id="visits">2</span>'))
    [r] = run(fresh_db, src)
    assert (r.not_modified, r.counts.new) == (1, 0)
    assert portal.hits["/col/art/2.html"] == 1


def test_changed_page_gets_a_new_version_and_diff(portal, fresh_db):
    build_site(portal, pages=1, per_page=2)
    src = source_for(portal, pages=1, recheck_after=0)
    run(fresh_db, src)
    portal.routes["/col/art/2.html"].set_body(detail_page(doc_meta(2), doc_body(2, extra="新增：建立月度调度机制。")))
    [r] = run(fresh_db, src)
    assert (r.counts.changed, r.counts.unchanged, r.counts.new) == (1, 1, 0)
    n = fresh_db.notice_by_url(portal.url("/col/art/2.html"))
    versions = fresh_db.versions(n.id)
    assert [v.seq for v in versions] == [1, 2] and n.version_count == 2
    ops = fresh_db.diff(n.id, 1, 2)
    changed = [o for o in ops if o.op != "equal"]
    assert len(changed) == 1 and "建立月度调度机制" in changed[0].new[0]
    assert [e.kind for e in fresh_db.events()][-1] == "notice.version"


def test_refetch_with_same_content_keeps_one_version(portal, fresh_db):
    build_site(portal, pages=1, per_page=2)
    src = source_for(portal, pages=1, recheck_after=0)
    run(fresh_db, src)
    # Same text, different markup and spacing: not a new version.
    portal.routes["/col/art/1.html"].set_body(
        detail_page(doc_meta(1), [l + " " for l in doc_body(1)]).replace("<p>", "<p class='x'>")
    )
    [r] = run(fresh_db, src)
    assert (r.counts.changed, r.counts.unchanged) == (0, 2)
    assert fresh_db.count(type(fresh_db.versions(1)[0])) == 2
    assert len(fresh_db.events()) == 2


def test_failed_detail_is_recorded_and_retried_next_run(portal, fresh_db):
    build_site(portal, pages=1, per_page=3)
    portal.routes["/col/art/2.html"].fail_first = 10
    src = source_for(portal, pages=1)
    [r] = run(fresh_db, src)
    assert (r.status, r.counts.new, r.counts.failed) == ("partial", 2, 1)
    assert r.errors[0].url == portal.url("/col/art/2.html") and r.errors[0].source_id == "test"
    n = fresh_db.notice_by_url(portal.url("/col/art/2.html"))
    assert (n.status, n.attempts) == ("failed", 1) and "500" in n.last_error
    portal.routes["/col/art/2.html"].fail_first = 0
    [r2] = run(fresh_db, src)  # the list answers 304, yet the failed item is fetched again
    assert (r2.status, r2.counts.new, r2.not_modified) == ("ok", 1, 1)
    assert fresh_db.notice_by_url(portal.url("/col/art/2.html")).status == "ok"
    assert [e.kind for e in fresh_db.events()].count("notice.new") == 3


def test_gbk_portal_without_charset_is_stored_without_mojibake(portal, fresh_db):
    build_site(portal, prefix="/gbk", pages=1, per_page=1, charset=None)
    [r] = run(fresh_db, source_for(portal, prefix="/gbk", pages=1))
    assert r.counts.new == 1
    [n] = fresh_db.notices()
    assert n.title == "关于做好第1项工作的通知" and n.issuer == "测试市人民政府"


def test_one_broken_source_does_not_stop_the_others(portal, fresh_db):
    build_site(portal, pages=1, per_page=2)
    portal.add("/broken/index.html", "<html><body><p>维护中</p></body></html>")
    good = source_for(portal, pages=1)
    broken = source_for(portal, sid="broken", prefix="/broken", pages=1)
    down = source_for(portal, sid="down", urls=["http://127.0.0.1:9/none.html"], pages=1)
    results = {r.source_id: r for r in run(fresh_db, good, broken, down)}
    assert results["test"].status == "ok" and results["test"].counts.new == 2
    assert results["broken"].status == "failed"
    assert "no list items" in results["broken"].errors[0].message
    assert results["broken"].errors[0].url == portal.url("/broken/index.html")
    assert results["down"].status == "failed" and results["down"].errors[0].url == "http://127.0.0.1:9/none.html"
    runs = fresh_db.last_runs()
    assert runs["broken"].status == "failed" and json.loads(runs["broken"].errors_json)


def test_crash_while_storing_loses_nothing_and_duplicates_nothing(portal, fresh_db, monkeypatch):
    build_site(portal, pages=1, per_page=3)
    src = source_for(portal, pages=1)
    real_apply = fresh_db.apply_many

    def crash(*a, **k):
        raise RuntimeError("simulated crash while writing")

    monkeypatch.setattr(fresh_db, "apply_many", crash)
    [r] = run(fresh_db, src)
    assert r.status == "failed" and fresh_db.events() == []
    assert "simulated crash" in r.errors[-1].message
    assert {n.status for n in fresh_db.notices()} == {"pending"}  # discovered, not lost
    monkeypatch.setattr(fresh_db, "apply_many", real_apply)
    [r2] = run(fresh_db, src)
    assert r2.counts.new == 3
    [r3] = run(fresh_db, src)
    assert r3.counts.new == 0
    assert sorted(e.notice_id for e in fresh_db.events()) == sorted(n.id for n in fresh_db.notices())
