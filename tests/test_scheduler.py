"""The scheduler service: jobs per source, reload on change, clean stop (in-process and by SIGTERM)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from ruamel.yaml import YAML

from storage.repo import Store
from tests.portal_site import build_site, source_for
from watcher.scheduler.service import Service


def _write(path, *sources):
    with open(path, "w", encoding="utf-8") as fh:
        YAML().dump({"sources": [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in sources]}, fh)


async def _until(pred, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_service_runs_reloads_and_stops(portal, tmp_path, sqlite_store):
    build_site(portal, prefix="/a", pages=1, per_page=2)
    build_site(portal, prefix="/b", pages=1, per_page=1)
    cfg = tmp_path / "sources.yaml"
    a = source_for(portal, sid="a", prefix="/a", pages=1, schedule={"interval": "1h", "jitter": 0})
    _write(cfg, a)
    svc = Service(cfg, sqlite_store, check_every=0.1, first_run_delay=0)
    task = asyncio.create_task(svc.run(install_signals=False))
    assert await _until(lambda: len(sqlite_store.notices()) == 2)
    job = svc.scheduler.get_job("source:a")
    assert job.max_instances == 1 and job.coalesce is True
    b = source_for(portal, sid="b", prefix="/b", pages=1, schedule={"cron": "0 8 * * *", "jitter": 0})
    _write(cfg, a, b)
    assert await _until(lambda: svc.scheduler.get_job("source:b") is not None)
    assert await _until(lambda: len(sqlite_store.notices()) == 3)
    cfg.write_text("sources: [unclosed\n", encoding="utf-8")  # broken: keep running what we had
    await asyncio.sleep(0.4)
    assert {j.id for j in svc.scheduler.get_jobs()} == {"source:a", "source:b"}
    _write(cfg, b)
    assert await _until(lambda: svc.scheduler.get_job("source:a") is None)
    svc.stop()
    await asyncio.wait_for(task, 10)
    assert {r.status for r in sqlite_store.last_runs().values()} == {"ok"}


def test_sigterm_stops_watcher_run_cleanly(portal, tmp_path):
    build_site(portal, pages=1, per_page=3)
    cfg = tmp_path / "sources.yaml"
    _write(cfg, source_for(portal, pages=1))
    db = f"sqlite:///{tmp_path / 'run.db'}"
    env = dict(os.environ, WATCHER_DATABASE_URL=db)
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "-c", str(cfg), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    store = Store.open(db)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(store.notices()) < 3:
            time.sleep(0.2)
        assert len(store.notices()) == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [r.status for r in store.last_runs().values()] == ["ok"]
    assert [e.kind for e in store.events()].count("notice.new") == 3


async def test_broken_edits_are_logged_and_later_valid_edits_applied(portal, tmp_path, sqlite_store, caplog):
    """The file watcher of a running scheduler outlives every kind of broken edit (issue 14, item 11)."""
    build_site(portal, prefix="/a", pages=1, per_page=1)
    cfg = tmp_path / "sources.yaml"
    a = source_for(portal, sid="a", prefix="/a", pages=1, schedule={"interval": "1h", "jitter": 0})
    b = source_for(portal, sid="b", prefix="/b", pages=1, schedule={"cron": "0 8 * * *", "jitter": 0})
    _write(cfg, a)
    svc = Service(cfg, sqlite_store, check_every=0.05, first_run_delay=0)
    task = asyncio.create_task(svc.run(install_signals=False))
    assert await _until(lambda: svc.scheduler is not None and svc.scheduler.get_job("source:a") is not None)
    entry = b.model_dump(mode="json", by_alias=True, exclude_none=True)
    broken = [
        lambda: _write(cfg, a, b.model_copy(update={"schedule": b.schedule.model_copy(update={"cron": "99 * * * *"})})),
        lambda: _write(
            cfg, a, b.model_copy(update={"schedule": b.schedule.model_copy(update={"cron": "*/0 * * * *"})})
        ),
        lambda: cfg.write_text(cfg.read_text(encoding="utf-8") + "sources: []\n", encoding="utf-8"),  # key twice
        lambda: (cfg.unlink(), cfg.mkdir()),  # replaced by a directory mid-edit
    ]
    for edit in broken:
        if cfg.is_dir():
            cfg.rmdir()
        edit()
        await asyncio.sleep(0.3)
        assert not task.done() and svc.scheduler.get_job("source:a") is not None
    cfg.rmdir()
    YAML().dump(
        {
            "sources": [a.model_dump(mode="json", by_alias=True, exclude_none=True), entry],
            "channels": [{"id": "m", "type": "email", "to": ["a@example.org"], "send_at": "07:30"}],
        },
        cfg,
    )
    assert await _until(lambda: svc.scheduler.get_job("source:b") is not None)
    assert svc.scheduler.get_job("digest:m") is not None
    svc.stop()
    await asyncio.wait_for(task, 10)
    logged = caplog.text
    assert "invalid cron '99 * * * *'" in logged and "Increment must be higher than 0" in logged
    assert "written twice" in logged and "cannot be read" in logged
