"""Stall recovery against procrastinate's real JobManager on the live PostgreSQL: a job left `doing` by a worker
that stopped beating is retried; when a twin with its queueing lock was deferred meanwhile, the stalled one is
aborted so that its lock frees the twin (the SIGKILL test's cluster-wide linking stop, reproduced in a second)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text

from storage.queue import QueueRepo
from watcher.worker.app import install, make_app
from watcher.worker.schedule import Deferrer
from watcher.worker.tasks import NS, defer

pytestmark = pytest.mark.postgres


def _jobs(store) -> list[tuple[int, str, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, task_name, status FROM procrastinate_jobs ORDER BY id"))
        return [tuple(r) for r in rows]


def _stop_beating(store) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE procrastinate_workers SET last_heartbeat = NOW() - INTERVAL '1 hour'"))


async def _take(app) -> int:
    """A worker registers and takes the next job (status `doing`), then dies without a word."""
    manager = app.job_manager
    worker = await manager.register_worker()
    job = await manager.fetch_job(queues=None, worker_id=worker)
    assert job is not None and job.id is not None
    return job.id


async def test_stalled_job_is_retried(pg_url, pg_store):
    install(pg_store)
    app = make_app(pg_url)
    async with app.open_async():
        await defer(app, "details", source_id="s", items=[])
        taken = await _take(app)
        _stop_beating(pg_store)
        shown = QueueRepo(pg_store.engine).status(stall_after=5.0)  # what `watcher status` lists
        assert [(j.id, j.status) for j in shown.stalled] == [(taken, "doing")]
        assert [w.stalled for w in shown.workers] == [True]
        rt = SimpleNamespace(app=app, stall_timeout=5.0)
        assert await Deferrer(rt).recover_stalled() == 1  # type: ignore[arg-type]
    assert _jobs(pg_store) == [(taken, f"{NS}:details", "todo")]


async def test_stalled_job_whose_twin_waits_is_aborted_and_frees_the_twin(pg_url, pg_store):
    install(pg_store)
    app = make_app(pg_url)
    async with app.open_async():
        await defer(app, "link", lock="link", queueing_lock="link")
        stalled = await _take(app)
        twin = await defer(app, "link", lock="link", queueing_lock="link")  # deferred after the kill
        assert twin is not None
        # While the stalled job holds the lock, no worker can take the twin.
        assert await app.job_manager.fetch_job(queues=None, worker_id=None) is None
        _stop_beating(pg_store)
        rt = SimpleNamespace(app=app, stall_timeout=5.0)
        assert await Deferrer(rt).recover_stalled() == 0  # type: ignore[arg-type]
        assert _jobs(pg_store) == [(stalled, f"{NS}:link", "aborted"), (twin, f"{NS}:link", "todo")]
        taken = await app.job_manager.fetch_job(queues=None, worker_id=None)
        assert taken is not None and taken.id == twin
