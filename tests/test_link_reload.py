"""`watcher run`'s link process across a reload of sources.yaml that replaces it (watcher/scheduler/service.py): the
cycle under way keeps the stage it began with, and that stage is closed once the cycle is over. Real child
processes, a real SQLite file, a real poll of a loopback portal."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import threading
import time
import types

import pytest
from ruamel.yaml import YAML

from tests.portal_site import build_site, source_for
from tests.test_scheduler import _until
from watcher.pipeline.linkproc import LinkProcess
from watcher.scheduler.service import Service


def _write(path, source, redis_db: int) -> None:
    """sources.yaml with one source; `redis_db` changes `defaults.index` (and so the linking stage), nothing else:
    the index stays in memory."""
    data = {
        "defaults": {"index": {"storage": "memory", "redis_url": f"redis://127.0.0.1:6379/{redis_db}"}},
        "sources": [source.model_dump(mode="json", by_alias=True, exclude_none=True)],
    }
    with open(path, "w", encoding="utf-8") as fh:
        YAML().dump(data, fh)


@pytest.fixture
def held(monkeypatch):
    """An event that a portal route with a `delay` waits for instead of sleeping: the poll is held mid-cycle
    until the test sets it."""
    release = threading.Event()
    clock = types.SimpleNamespace(sleep=lambda _s: release.wait(60), monotonic=time.monotonic, time=time.time)
    monkeypatch.setattr("watcher.demo.server.time", clock)
    yield release
    release.set()


def _link_children() -> list:
    return [p for p in mp.active_children() if p.name == "watcher-link"]


async def test_a_reload_mid_cycle_closes_the_old_link_process_after_the_cycle(portal, tmp_path, sqlite_store, held):
    """The old service closed the replaced link process at once: the running cycle's drain then started a new
    child, which nothing ever closed (a process left behind by every such reload)."""
    paths = build_site(portal, prefix="/a", pages=1, per_page=2)
    portal.routes[paths[0]].delay = 1  # held until the test releases it
    fetch = {"min_delay": 0, "backoff": 0, "retries": 0, "timeout": 60}
    src = source_for(portal, sid="a", prefix="/a", pages=1, fetch=fetch, schedule={"interval": "1h", "jitter": 0})
    cfg = tmp_path / "sources.yaml"
    _write(cfg, src, redis_db=0)
    svc = Service(cfg, sqlite_store, check_every=0.05, first_run_delay=0)
    task = asyncio.create_task(svc.run(install_signals=False))
    try:
        assert await _until(lambda: portal.hits.get(paths[0], 0) >= 1, timeout=60)  # the cycle began, and polls
        old = svc.linker
        assert isinstance(old, LinkProcess) and old._proc is not None and old._proc.is_alive()
        began_with = old._proc.pid
        _write(cfg, src, redis_db=1)
        assert await _until(lambda: svc.linker is not old)  # reloaded, a new stage for the next cycles
        assert old._proc is not None and old._proc.pid == began_with  # the running cycle's stage: still there
        held.set()
        assert await _until(lambda: len(svc.results) == 1, timeout=60)
        assert await _until(lambda: old._proc is None)  # closed once its cycle was over
        assert svc.results[0].status == "ok" and svc.results[0].counts.new == 2
        assert not sqlite_store.unsigned_exist()  # the drain linked what the cycle stored
    finally:
        held.set()
        svc.stop()
        await asyncio.wait_for(task, 30)
    assert _link_children() == []  # none left behind, the new stage's included


async def test_a_reload_between_cycles_closes_the_old_link_process_at_once(portal, tmp_path, sqlite_store):
    build_site(portal, prefix="/a", pages=1, per_page=1)
    src = source_for(portal, sid="a", prefix="/a", pages=1, schedule={"interval": "1h", "jitter": 0})
    cfg = tmp_path / "sources.yaml"
    _write(cfg, src, redis_db=0)
    svc = Service(cfg, sqlite_store, check_every=0.05, first_run_delay=0)
    task = asyncio.create_task(svc.run(install_signals=False))
    try:
        assert await _until(lambda: len(svc.results) == 1, timeout=60)  # the cycle is over (it gave its stage back)
        old = svc.linker
        assert isinstance(old, LinkProcess) and old._proc is not None
        _write(cfg, src, redis_db=1)
        assert await _until(lambda: svc.linker is not old)
        assert old._proc is None
    finally:
        svc.stop()
        await asyncio.wait_for(task, 30)
    assert _link_children() == []
