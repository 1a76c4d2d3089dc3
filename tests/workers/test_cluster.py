"""Worker processes against one PostgreSQL: periodic deferral once per period, linking across workers, and a
worker SIGKILLed mid-run with nothing lost or sent twice (live PostgreSQL, real portals on 127.x addresses)."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter, defaultdict

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from storage.models import Event, Notice, Version
from tests.workers.cluster import Workers, address, build_portal, source_entry, wait_for, write_config
from watcher.cli import main
from watcher.demo.portal import build_demo_site
from watcher.demo.server import PortalServer

pytestmark = pytest.mark.postgres


def _jobs(store, task: str, source: str = "s0") -> list[tuple[str, str]]:
    with store.engine.connect() as conn:
        return [
            (r[0], r[1])
            for r in conn.execute(
                text(
                    "SELECT status::text, args::text FROM procrastinate_jobs WHERE task_name = :t "
                    "AND coalesce(args->>'source_id', :s) = :s ORDER BY id"
                ),
                {"t": task, "s": source},
            )
        ]


def _status(url: str, cfg) -> dict:
    res = CliRunner().invoke(main, ["--db", url, "-c", str(cfg), "status", "--json"])
    return json.loads(res.output)


def _poll_stamps(store) -> set[int]:
    return {json.loads(a)["timestamp"] for _, a in _jobs(store, "watcher:poll")}


def _settled(store) -> bool:
    """s0's first two periods polled, and `gone` failed for good."""
    s0 = _jobs(store, "watcher:poll")
    return (
        len(s0) >= 2
        and all(st == "succeeded" for st, _ in s0[:2])
        and any(st == "failed" for st, _ in _jobs(store, "watcher:poll", "gone"))
    )


def _idle(queue) -> bool:
    counts = queue.job_counts()
    return counts.get("todo", 0) == 0 and counts.get("doing", 0) == 0 and counts.get("succeeded", 0) > 0


def test_periodic_poll_deferred_once_per_period_with_three_workers(pg_url, pg_store, queue, tmp_path):
    """Three workers, each running the deferrer, one source polled every minute: each period's poll is
    deferred once (procrastinate's periodic-defer rows), and each deferred poll ran once. A source whose list
    is gone fails for good after its retries, and `watcher status` shows that job with its error."""
    with PortalServer(address(0)) as srv:
        build_portal(srv, 0, 2)
        gone = source_entry("gone", srv.url("/gone/index.html"), 0.0)
        cfg = write_config(tmp_path / "sources.yaml", [source_entry("s0", srv.url("/index.html"), 0.0), gone])
        workers = Workers(pg_url, cfg, tmp_path)
        try:
            workers.start(3, "--stall-timeout", "5")
            # the latest period (within max_delay) is deferred at start, by whichever deferrer comes first;
            # then the next minute's period: three deferrers see it come
            wait_for(lambda: queue.installed() and len(_poll_stamps(pg_store)) >= 2, 150, "no second period", workers)
            wait_for(lambda: _settled(pg_store), 150, "polls left running, or `gone` not failed", workers)
            time.sleep(2)  # every deferrer has ticked past the period since
            report = _status(pg_url, cfg)["queue"]
        finally:
            workers.stop()
    assert len(report["workers"]) == 3 and not any(w["stalled"] for w in report["workers"])
    assert report["counts"]["poll"]["failed"] >= 1
    failed = [j for j in report["failed"] if '"gone"' in j["args"]]
    assert failed and "gone/index.html: HTTP 404" in failed[0]["error"] and failed[0]["attempts"] >= 5, report["failed"]
    polls = _jobs(pg_store, "watcher:poll")[:2]
    stamps = [json.loads(a)["timestamp"] for _, a in polls]
    assert len(stamps) == len(set(stamps)), f"a period deferred twice: {stamps}"
    assert stamps[1] - stamps[0] == 60
    assert {s for s, _ in polls} == {"succeeded"}
    assert len({json.loads(a)["timestamp"] for _, a in _jobs(pg_store, "watcher:poll")}) == len(
        _jobs(pg_store, "watcher:poll")
    ), "a later period deferred twice"
    assert pg_store.count(Notice) == 2


def test_parent_and_child_on_two_workers_are_linked(pg_url, pg_store, queue, tmp_path):
    """A parent (苏政发〔2020〕28号) and the city's document implementing it are fetched by two workers at
    the same moment (one job at a time per worker): linking, serialised by its lock, links them."""
    with PortalServer() as srv:
        entries = {e["id"]: e for e in build_demo_site(srv)}
        for path, route in srv.routes.items():
            # The child is stored first and its linking starts while the parent's page is still being read on
            # the other worker: the parent's linking comes while the child's may still run.
            if "/art/" in path:
                route.delay = 3.0 if path.startswith("/jiangsu/") else 0.2
        chosen = [entries["demo-jiangsu"], entries["demo-lianyungang"]]
        for e in chosen:
            e["schedule"] = {"interval": "60s", "jitter": 0}
        cfg = write_config(tmp_path / "sources.yaml", chosen)
        workers = Workers(pg_url, cfg, tmp_path)
        try:
            workers.start(2, "--concurrency", "1", "--stall-timeout", "5")
            wait_for(
                lambda: queue.installed() and pg_store.count(Version) == 2 and _idle(queue), 90, "not stored", workers
            )
        finally:
            workers.stop()
    details_on = [k for k in range(2) if "watcher:details" in workers.log(k)]
    assert details_on == [0, 1], "each worker ran one detail batch"
    by_source = {n.source_id: n.id for n in pg_store.notices()}
    with pg_store.engine.connect() as conn:
        pairs = set(conn.execute(text("SELECT child_id, parent_id FROM links")).all())
    assert (by_source["demo-lianyungang"], by_source["demo-jiangsu"]) in pairs, pairs
    # what makes it hold whatever the timing: no two linking passes ever ran at once
    with pg_store.engine.connect() as conn:
        spans = conn.execute(
            text(
                "SELECT min(e.at) FILTER (WHERE e.type = 'started'), max(e.at) FILTER (WHERE e.type = 'succeeded') "
                "FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
                "WHERE j.task_name = 'watcher:link' GROUP BY j.id ORDER BY 1"
            )
        ).all()
    assert len(spans) >= 2, "both workers deferred linking"
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"two linking passes overlapped: {spans}"


def test_killed_worker_loses_nothing_and_sends_nothing_twice(pg_url, pg_store, queue, tmp_path, hooks, monkeypatch):
    """Three workers poll 50 portals, each on its own 127.x address; one is SIGKILLed mid-run. Afterwards
    every notice is stored once, every event reached the webhook receiver once (by its idempotency key),
    and no portal served two requests closer than its min_delay."""
    n, items, min_delay = 50, 6, 0.3
    servers = [PortalServer(address(i)).start() for i in range(n)]
    try:
        for i, srv in enumerate(servers):
            build_portal(srv, i, items, delay=0.05)
        monkeypatch.setenv("HOOK_URL", hooks.url("/hook"))
        channel = dict(id="hook", type="webhook", url_env="HOOK_URL", retries=2, per_minute=100000)
        sources = [source_entry(f"s{i}", srv.url("/index.html"), min_delay) for i, srv in enumerate(servers)]
        cfg = write_config(tmp_path / "sources.yaml", sources, [channel])
        workers = Workers(pg_url, cfg, tmp_path)
        try:
            victim = workers.start(3, "--concurrency", "4", "--stall-timeout", "3")[0]
            wait_for(
                lambda: queue.installed() and pg_store.count(Version) >= n * items // 4, 120, "no progress", workers
            )
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            killed_at = pg_store.count(Version)
            wait_for(
                lambda: (
                    pg_store.count(Version) == n * items and _idle(queue) and _delivered(hooks) >= pg_store.count(Event)
                ),
                240,
                lambda: (
                    f"not every notice stored and announced: versions {pg_store.count(Version)}/{n * items}, "
                    f"idle {_idle(queue)}, delivered {_delivered(hooks)} of {pg_store.count(Event)} events, "
                    f"jobs {queue.job_counts()}: {_open_jobs(pg_store)}"
                ),
                workers,
            )
        finally:
            workers.stop()
    finally:
        for srv in servers:
            srv.stop()
    assert killed_at < n * items, "the kill came mid-run"
    _assert_once(pg_store, hooks, n * items)
    _assert_paced(servers, min_delay)
    assert queue.job_counts().get("failed", 0) == 0, queue.status(3).failed


def _open_jobs(store) -> list:
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id, task_name, status, args, attempts, scheduled_at FROM procrastinate_jobs "
                    "WHERE status IN ('todo', 'doing')"
                )
            ).all()
        )


def _delivered(hooks) -> int:
    return len({i["event_id"] for p in list(hooks.posts) for i in p["json"]["items"]})


def _assert_once(store, hooks, expected: int) -> None:
    with store.engine.connect() as conn:
        urls = Counter(conn.execute(text("SELECT url FROM notices")).scalars())
        per_notice = Counter(conn.execute(text("SELECT notice_id FROM versions")).scalars())
        events = Counter(conn.execute(text("SELECT notice_id FROM events WHERE kind = 'notice.new'")).scalars())
    assert len(urls) == expected and set(urls.values()) == {1}
    assert len(per_notice) == expected and set(per_notice.values()) == {1}, "a version written twice"
    assert len(events) == expected and set(events.values()) == {1}, "an event written twice"
    # The receiver keeps what it accepted by idempotency key: a batch resent after the kill has the key and
    # the events it had, and counts once.
    accepted: dict[str, list[int]] = {}
    for p in hooks.posts:
        ids = [i["event_id"] for i in p["json"]["items"]]
        key = p["headers"]["x-watcher-delivery"]
        assert accepted.setdefault(key, ids) == ids, "one key, two different batches"
    seen = Counter(e for ids in accepted.values() for e in ids)
    with store.engine.connect() as conn:
        all_events = set(conn.execute(text("SELECT id FROM events")).scalars())
    assert set(seen) == all_events and set(seen.values()) == {1}, "an event announced twice or never"


def _assert_paced(servers, min_delay: float) -> None:
    gaps: dict[str, float] = defaultdict(lambda: float("inf"))
    for srv in servers:
        times = sorted(t for _, _, t in srv.requests)
        assert times, f"{srv.host} was never polled"
        for a, b in zip(times, times[1:], strict=False):
            gaps[srv.host] = min(gaps[srv.host], b - a)
    closest = min(gaps.values())
    assert closest >= min_delay, f"two requests to one host {closest:.3f}s apart"
