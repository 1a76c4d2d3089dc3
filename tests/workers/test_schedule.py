"""The periodic deferrer's arithmetic, against procrastinate's real JobManager on the live PostgreSQL: cron in
the source's timezone, intervals counted from a fixed epoch, the jitter every machine computes alike, missed
periods coalesced, and one job per period however many deferrers run."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from tests.workers.cluster import source_entry, write_config
from watcher.config.loader import load_config
from watcher.worker.app import install, make_app
from watcher.worker.schedule import Deferrer, jitter_of

pytestmark = pytest.mark.postgres


def _config(tmp_path, **schedule):
    entry = source_entry("s", "http://127.0.0.1:9/index.html", 0.0, schedule=schedule)
    return load_config(write_config(tmp_path / "sources.yaml", [entry]))


def _stamps(store) -> list[int]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT args::text FROM procrastinate_jobs WHERE task_name = 'watcher:poll'"))
        return sorted(json.loads(a)["timestamp"] for (a,) in rows)


async def _run(pg_url, store, config, moments: list[datetime], deferrers: int = 1, done: bool = True) -> None:
    """The deferrers tick at each moment; `done`: the polls deferred are run (marked succeeded) in between."""
    install(store)
    app = make_app(pg_url)
    async with app.open_async():
        rts = [SimpleNamespace(config=config, app=app, reload=lambda: False) for _ in range(deferrers)]
        ds = [Deferrer(rt, max_delay=600) for rt in rts]  # type: ignore[arg-type]
        for at in moments:
            await asyncio.gather(*(d.once(now=at.timestamp()) for d in ds))
            if done:
                with store.engine.begin() as conn:
                    conn.execute(text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE status = 'todo'"))


def ts(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


async def test_cron_in_the_source_timezone_once_per_period_by_three_deferrers(pg_url, pg_store, tmp_path):
    """`0 8-20/2 * * *` in Asia/Shanghai is 00:00, 02:00 … UTC; three deferrers ticking at the same moments
    defer each period once."""
    config = _config(tmp_path, cron="0 8-20/2 * * *", timezone="Asia/Shanghai", jitter=0)
    moments = [ts(2026, 3, 2, 0, 0, 30), ts(2026, 3, 2, 1, 0), ts(2026, 3, 2, 2, 0, 1), ts(2026, 3, 2, 2, 0, 2)]
    await _run(pg_url, pg_store, config, moments, deferrers=3)
    assert _stamps(pg_store) == [int(ts(2026, 3, 2, 0, 0).timestamp()), int(ts(2026, 3, 2, 2, 0).timestamp())]


async def test_missed_periods_coalesce(pg_url, pg_store, tmp_path):
    """An interval of 60 s: at its first start a deferrer defers the latest period only, and after three
    periods away only the latest again; while a poll still waits, the next period coalesces into it."""
    config = _config(tmp_path, interval="60s", jitter=0)
    await _run(pg_url, pg_store, config, [ts(2026, 3, 2, 10, 0, 5), ts(2026, 3, 2, 10, 3, 30)])
    assert _stamps(pg_store) == [int(ts(2026, 3, 2, 10, 0).timestamp()), int(ts(2026, 3, 2, 10, 3).timestamp())]
    await _run(pg_url, pg_store, config, [ts(2026, 3, 2, 10, 5, 1), ts(2026, 3, 2, 10, 6, 1)], done=False)
    assert _stamps(pg_store)[2:] == [int(ts(2026, 3, 2, 10, 5).timestamp())]


async def test_jitter_is_the_same_everywhere_and_delays_the_deferral(pg_url, pg_store, tmp_path):
    config = _config(tmp_path, interval="3600s", jitter="600s")
    fire = int(ts(2026, 3, 2, 10, 0).timestamp())
    delay = jitter_of("poll:s", fire, 600)
    assert delay == jitter_of("poll:s", fire, 600) and 0 <= delay < 600
    assert jitter_of("poll:s", fire + 3600, 600) != delay  # another period, another delay
    before, after = fire + delay - 1, fire + delay + 1
    await _run(pg_url, pg_store, config, [datetime.fromtimestamp(before, UTC)])
    assert _stamps(pg_store) == []
    await _run(pg_url, pg_store, config, [datetime.fromtimestamp(after, UTC)])
    assert _stamps(pg_store) == [fire]
