"""Interrupted linking is resumed (issue 14, item 8): versions left unlinked (a kill, `--no-link`, Redis away)
are linked by the next poll even when it stores nothing; a linking failure is reported and the poll's alerts
still go out; two linking passes in one process never overlap, and across processes a version the other
one linked is already linked, not an error."""

from __future__ import annotations

import threading

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from storage.core import T_SIG, T_VERSION
from storage.repo import Store
from tests.faults.site import poll, source
from tests.faults.world import ChangingPortal, run, write_config
from watcher.cli import main
from watcher.config.loader import parse_config
from watcher.link.stage import make_linker

REDIS_DB = 11  # a database of the live Redis of this test's own, emptied before and after


def _signed(store: Store) -> tuple[int, int]:
    """(versions, signatures)"""
    with store.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(T_VERSION)).scalar_one(),
            conn.execute(select(func.count()).select_from(T_SIG)).scalar_one(),
        )


def _site(portal, n: int = 6) -> ChangingPortal:
    site = ChangingPortal(portal, per_page=100)
    site.publish(new=n)
    return site


def test_a_quiet_poll_links_what_an_earlier_one_left_unlinked(portal, fresh_db):
    site = _site(portal)
    src = source(site.source()["urls"][0], recheck_after=3600)
    poll(fresh_db, src)  # stored, not linked (as after a kill between storing and linking)
    assert _signed(fresh_db) == (6, 0)
    linker = make_linker(parse_config("sources: []"), fresh_db)
    [r] = poll_with(fresh_db, src, linker)
    assert (r.counts.new, r.counts.changed) == (0, 0)  # nothing new stored, yet the backlog is linked
    assert _signed(fresh_db) == (6, 6)


def poll_with(store, src, linker):
    import asyncio

    from watcher.pipeline.poll import poll_sources

    return asyncio.run(poll_sources([src], store, concurrency=4, linker=linker))


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    client = redis.Redis(db=REDIS_DB)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("Redis not reachable at 127.0.0.1:6379")
    client.flushdb()
    yield f"redis://127.0.0.1:6379/{REDIS_DB}"
    client.flushdb()


def test_redis_away_costs_no_alert_and_the_next_poll_links(portal, hooks, tmp_path, monkeypatch, redis_db):
    site = _site(portal)
    monkeypatch.setenv("HOOK_TEAM", hooks.url("/team") + "?access_token=tok-secret")
    channels = [dict(id="team", type="webhook", url_env="HOOK_TEAM", retries=0)]
    db = f"sqlite:///{tmp_path / 'w.db'}"

    def config(redis_url: str):
        data = {"defaults": {"index": {"storage": "redis", "redis_url": redis_url}}}
        data |= {"sources": [site.source(baseline=False)], "channels": channels}  # the first poll is announced
        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return str(path)

    away = CliRunner().invoke(main, ["-c", config("redis://127.0.0.1:1/0"), "--db", db, "poll", "--json"])
    assert away.exit_code == 1 and "关联失败" in away.stderr and "Traceback" not in away.output
    [post] = hooks.posts  # the alert went out all the same
    assert len(post["json"]["items"]) == 6
    store = Store.open(db)
    assert _signed(store) == (6, 0)
    back = CliRunner().invoke(main, ["-c", config(redis_db), "--db", db, "poll", "--json"])
    assert back.exit_code == 0, back.output
    assert _signed(store) == (6, 6)
    store.close()


def test_two_linking_passes_in_one_process_never_overlap(portal, fresh_db):
    """Two poll jobs of one `watcher run` ending together: each has the stage, both find the same backlog."""
    site = _site(portal, n=40)
    poll(fresh_db, source(site.source()["urls"][0]))
    config = parse_config("sources: []")
    stages = [make_linker(config, fresh_db), make_linker(config, fresh_db)]  # a reload made a second one
    barrier, errors = threading.Barrier(2), []

    def link(stage) -> None:
        barrier.wait()
        try:
            stage.run()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=link, args=(s,)) for s in stages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and _signed(fresh_db) == (40, 40)


def test_two_processes_linking_one_backlog_both_succeed(portal, db_url, tmp_path):
    site = _site(portal, n=60)
    config = write_config(tmp_path / "sources.yaml", [site.source()])
    status, _, err = run(config, db_url, "poll", "--no-link", "--json")
    assert status == 0, err
    import subprocess

    from tests.faults.world import ROOT, watcher_cmd

    procs = [
        subprocess.Popen(watcher_cmd(config, db_url, "link"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e.decode()[-1500:] for _, e in outs]
    store = Store.open(db_url)
    assert _signed(store) == (60, 60)
    store.close()
