"""Delivery: failures and retries, filters, exactly once across a crash and between racing workers,
the rate limit, the claims in storage alone, and alerts after polls (CLI and scheduler)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML
from sqlalchemy import select

from notifiers.dispatch import Dispatcher, abandoned
from notifiers.send import RateLimit
from storage.deliveries import T_DEL, Deliveries
from storage.repo import Store
from tests.notify.world import hook, world
from watcher.cli import main


def test_a_failing_channel_does_not_block_others_and_is_retried(tmp_path, demo_db, hooks, monkeypatch):
    channels = [hook(monkeypatch, hooks, "bad", "webhook", "/down"), hook(monkeypatch, hooks, "good", "webhook", "/up")]
    hooks.answers["/down"] = (503, "maintenance")
    cfg, store, _ = world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    assert reports["good"].failed == 0 and reports["bad"].failed == 9 and "503" in reports["bad"].errors[0]
    assert [p["path"] for p in hooks.posts].count("/down") == 2  # one retry
    del hooks.answers["/down"]
    hooks.posts.clear()
    with Dispatcher(store, cfg, backoff=0) as d:  # the next poll
        reports = {r.channel: r for r in d.send_webhooks()}
    assert reports["bad"].items == 9 and reports["bad"].failed == 0 and reports["good"].items == 0
    assert [p["path"] for p in hooks.posts] == ["/down"]
    with store.engine.connect() as conn:
        attempts = conn.execute(select(T_DEL.c.attempts).where(T_DEL.c.channel_id == "bad")).scalars().all()
    assert set(attempts) == {2}
    store.close()


def test_a_missing_secret_is_a_recorded_failure_not_a_stuck_claim(tmp_path, demo_db, hooks, monkeypatch):
    cfg, store, _ = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "h", "webhook", "/h")])
    monkeypatch.delenv("HOOK_H")
    with Dispatcher(store, cfg, backoff=0) as d:
        [rep] = d.send_webhooks()
    assert rep.failed == 9 and "HOOK_H is not set" in rep.errors[0]
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"failed"}
    store.close()


# ---- filters --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "flt, expect",
    [
        ({"sources": ["demo-jiangsu"]}, {"江苏省人民政府关于推进绿色产业发展的意见"}),
        ({"tags": ["江苏"], "kinds": ["notice.new"]}, {"江苏", "连云港", "淮安"}),
        ({"keywords": ["连云港"]}, {"连云港", "江苏省人民政府关于推进绿色产业发展的意见"}),  # its body names 连云港
        ({"keywords": ["汕头市"], "kinds": ["notice.new"]}, {"汕头"}),
        ({"relations": ["derived"], "parent_prefix": "苏政发", "kinds": ["link.new"]}, {"连云港", "淮安"}),
        ({"relations": ["derived"], "parent_prefix": "国发", "kinds": ["link.new"]}, {"江西", "淮安", "汕头"}),
        ({"min_level": "important"}, {"江西", "淮安", "汕头"}),
    ],
)
def test_channel_filters(tmp_path, demo_db, hooks, monkeypatch, flt, expect):
    cfg, store, _ = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "f", "webhook", "/f", filter=flt)])
    with Dispatcher(store, cfg, backoff=0) as d:
        d.send_webhooks()
        assert d.pending(d.channel("f")) == []  # the others are marked skipped, not owed
    got = {i["title"] for p in hooks.posts for i in p["json"]["items"]}
    short = {next((k for k in expect if t.startswith(k) or t == k), t) for t in got}
    assert short == expect, got
    store.close()


def test_a_channel_added_later_starts_with_later_events(tmp_path, demo_db, hooks, monkeypatch):
    cfg, store, _ = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "late", "webhook", "/late")], from_start=False)
    with Dispatcher(store, cfg, backoff=0) as d:
        assert d.send_webhooks()[0].items == 0
    assert hooks.posts == []
    store.close()


# ---- exactly once across a crash --------------------------------------------------------------------
def _notify_send(cfg_path: Path, db: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "-c", str(cfg_path), "--db", db, "notify", "send"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_crash_between_send_and_record_resends_the_same_batch_once(tmp_path, demo_db, hooks, monkeypatch):
    ch = hook(monkeypatch, hooks, "crash", "webhook", "/crash", secret="k")
    cfg, store, cfg_path = world(tmp_path, demo_db, [ch])
    env = {"HOOK_CRASH": os.environ["HOOK_CRASH"], "HOOK_CRASH_SECRET": "k"}
    db = str(store.engine.url)
    proc = _notify_send(cfg_path, db, env)
    hooks.on_post = lambda post: os.kill(proc.pid, signal.SIGKILL)  # the service got it; the sender dies
    assert proc.wait(timeout=60) == -signal.SIGKILL
    hooks.on_post = None
    assert len(hooks.posts) == 1
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"sending"}

    again = _notify_send(cfg_path, db, env)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert len(hooks.posts) == 2
    first, second = hooks.posts
    # The same message: same events, same idempotency key — a receiver that keeps keys shows it once.
    assert second["headers"]["x-watcher-delivery"] == first["headers"]["x-watcher-delivery"]
    assert [i["event_id"] for i in second["json"]["items"]] == [i["event_id"] for i in first["json"]["items"]]
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"sent"}

    third = _notify_send(cfg_path, db, env)
    third.communicate(timeout=60)
    assert len(hooks.posts) == 2
    store.close()


def test_a_live_claim_is_left_to_its_owner(tmp_path, demo_db, hooks, monkeypatch):
    import socket

    cfg, store, _ = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "c", "webhook", "/c")])
    now = datetime.now(UTC)
    rows = [
        dict(event_id=e.id, channel_id="c", batch_key="k", status="sending", attempts=1, created_at=now)
        for e in store.events()
    ]
    for r, owner, at in zip(
        rows,
        [
            f"{socket.gethostname()}:{os.getpid()}",  # this process: in flight
            f"{socket.gethostname()}:{os.getppid()}",  # a live process here
            "other-host:1",
            "other-host:2",
        ],
        [now, now, now, now - timedelta(hours=2)],
        strict=False,
    ):
        r.update(owner=owner, claimed_at=at)
    with store.engine.begin() as conn:
        conn.execute(T_DEL.insert(), rows[:4])
    with Dispatcher(store, cfg, backoff=0) as d:
        uncertain, fresh = d.due(d.channel("c"))
    assert [b.owner for b in uncertain] == ["other-host:2"]  # only the expired lease is taken over
    assert len(fresh) == 9 - 4
    assert not abandoned(f"{socket.gethostname()}:{os.getpid()}", now)
    store.close()


# ---- rate limit -----------------------------------------------------------------------------------
def test_rate_limit_is_a_sliding_minute():
    clock = [1000.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s

    rl = RateLimit([(20, 60.0)], clock=lambda: clock[0], sleep=sleep)
    for _ in range(20):
        rl.wait()
        clock[0] += 1
    assert slept == []
    rl.wait()  # the 21st within the minute waits for the first to age out
    assert slept == [pytest.approx(40.0)]
    clock[0] += 0.5
    rl.wait()
    assert len(slept) == 2 and slept[1] == pytest.approx(0.5)


# ---- the claims, in storage alone -----------------------------------------------------------------
def test_a_claim_is_a_compare_and_set(fresh_db):
    """On SQLite and the live PostgreSQL: a held claim is not taken, a failed delivery may go again, a
    dead worker's batch is taken over only under its own key, a sent one never goes again."""
    d = Deliveries(fresh_db.engine)
    assert d.claim("c", [1, 2], "k1", "host:1")
    assert not d.claim("c", [2, 3], "k2", "host:2")  # 2 is held: nothing claimed
    assert set(d.due("c").claims) == {1, 2}
    assert not d.claim("c", [1, 2], "k2", "host:2", stale_owner="host:1")  # not the dead worker's batch
    assert d.claim("c", [1, 2], "k1", "host:2", stale_owner="host:1")  # its batch, as it was
    d.mark("c", [1], "failed", "k1", "boom")
    d.mark("c", [2], "sent", "k1")
    counts = d.counts("c")
    assert (counts.sent, counts.failed, counts.sending, counts.last_error) == (1, 1, 0, "boom")
    assert d.claim("c", [1], "k3", "host:3")
    assert not d.claim("c", [2], "k4", "host:3")
    with fresh_db.engine.connect() as conn:
        rows = conn.execute(
            select(T_DEL.c.event_id, T_DEL.c.status, T_DEL.c.attempts, T_DEL.c.owner).order_by(T_DEL.c.event_id)
        ).all()
    assert [tuple(r) for r in rows] == [(1, "sending", 3, "host:3"), (2, "sent", 2, "host:2")]


# ---- alerts after polls ---------------------------------------------------------------------------
def test_a_poll_sends_one_batched_alert_and_nothing_when_quiet(portal, tmp_path, hooks, monkeypatch):
    from tests.portal_site import build_site, source_for

    build_site(portal, pages=1, per_page=6)
    src = source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    src["baseline"] = False  # the first poll is announced (the default baseline: tests/notify/test_alerts_baseline.py)
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump({"sources": [src], "channels": [hook(monkeypatch, hooks, "team", "webhook", "/team")]}, cfg_path)
    db = f"sqlite:///{tmp_path / 'p.db'}"
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0, r.output
    [post] = hooks.posts
    new = [i for i in post["json"]["items"] if i["kind"] == "notice.new"]
    assert len(new) == 6 and {i["doc_no"] for i in new} == {f"测政发〔2024〕{k}号" for k in range(1, 7)}
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0 and len(hooks.posts) == 1


def test_the_scheduler_alerts_after_its_polls(portal, tmp_path, hooks, monkeypatch):
    from tests.portal_site import build_site, source_for
    from watcher.scheduler.service import Service

    build_site(portal, pages=1, per_page=3)
    src = source_for(portal, pages=1, schedule={"interval": "1h", "jitter": 0}).model_copy(update={"baseline": False})
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump(
        {
            "sources": [src.model_dump(mode="json", by_alias=True, exclude_none=True)],
            "channels": [hook(monkeypatch, hooks, "team", "slack", "/team")],
        },
        cfg_path,
    )
    hooks.answers["/team"] = (200, "ok")
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")

    async def run():
        svc = Service(cfg_path, store, check_every=0.1, first_run_delay=0)
        task = asyncio.create_task(svc.run(install_signals=False))
        for _ in range(200):
            if hooks.posts:
                break
            await asyncio.sleep(0.05)
        svc.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(run())
    [post] = hooks.posts
    assert post["json"]["text"].startswith("政策动态：3 条新文件")
    store.close()


def test_two_workers_racing_send_each_event_once(fresh_db, hooks, monkeypatch):
    """On SQLite and the live PostgreSQL: two dispatchers at once (two polls finishing together)."""
    import threading

    from tests.builders import make_snapshot as _snap
    from watcher.config.loader import parse_config
    from watcher.extract.model import ListItem

    urls = [f"http://p/{i}.html" for i in range(12)]
    cfg = parse_config(json.dumps({"sources": [], "channels": [hook(monkeypatch, hooks, "race", "webhook", "/race")]}))
    from notifiers.dispatch import register_channels

    register_channels(fresh_db, cfg.channels)
    states = fresh_db.record_list(
        "s", dict(url="http://p/list"), [ListItem(u, f"通知{i}", None) for i, u in enumerate(urls)]
    )
    from storage.records import Outcome

    fresh_db.apply("s", [Outcome(states[u], _snap(u, f"正文{i}。")) for i, u in enumerate(urls)])
    hooks.on_post = lambda post: time.sleep(0.3)  # hold the first send open while the other worker looks
    start = threading.Barrier(2)

    def worker():
        with Dispatcher(fresh_db, cfg, backoff=0) as d:
            start.wait()
            d.send_webhooks()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sent = [i["event_id"] for p in hooks.posts for i in p["json"]["items"]]
    assert sorted(sent) == sorted(e.id for e in fresh_db.events())  # each once, none lost
    with Dispatcher(fresh_db, cfg, backoff=0) as d:
        assert d.pending(d.channel("race")) == []


def test_a_new_version_is_announced_with_what_changed(fresh_db):
    from notifiers.items import change_line, load_items
    from storage.records import Outcome
    from tests.builders import make_snapshot as _snap
    from watcher.extract.model import ListItem
    from watcher.i18n import use_locale

    url = "http://p/v.html"
    old = "第一条 总则。\n第二条 到2025年，支持10家企业开展试点。"
    new = "第一条 总则。\n第二条 到2025年，支持20家企业开展试点。\n第三条 本办法自发布之日起施行。"
    for body in (old, new):
        st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", None)])[url]
        fresh_db.apply("s", [Outcome(st, _snap(url, body))])
    items = load_items(fresh_db)
    assert [(i.kind, i.relation) for i in items] == [("notice.new", "new"), ("notice.version", "修订：2 处改动")]
    revision = items[1]
    assert [(c.old, c.new) for c in revision.changes] == [("10家", "20家"), ("", "第三条本办法自发布之日起施行。")]
    assert [change_line(c) for c in revision.changes] == [
        "「第二条到2025年,支持20家企业开展试点。」 10家 → 20家",
        "新增「第三条本办法自发布之日起施行。」",
    ]
    with use_locale("en"):
        [_, revision] = load_items(fresh_db)
        assert revision.relation == "revised: 2 changes"
        assert change_line(revision.changes[1]) == "added “第三条本办法自发布之日起施行。”"
