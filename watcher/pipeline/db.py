"""The storage executor of a poll: every storage call goes through it, off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import ParamSpec, TypeVar

from storage.conflicts import retry_busy
from storage.records import Counts, Outcome
from storage.repo import Store
from storage.turnstile import turnstile

P = ParamSpec("P")
T = TypeVar("T")


class DB:
    """Every storage call of a poll goes through one executor. With SQLite that is a single thread:
    concurrent writers would only queue on the file lock and sleep in its busy handler.

    Each Store method is one transaction, so a call the database turned away as busy (another process
    holding SQLite's lock past busy_timeout, a PostgreSQL deadlock) is run again, within a lock wait more.
    On a SQLite file each call holds the turnstile (storage/turnstile.py): a link process beside the poll
    starts no transaction until the call returns. Outcomes are stored with `write`, prepared before the turnstile."""

    def __init__(self, store: Store):
        self.store = store
        workers = 1 if store.engine.dialect.name == "sqlite" else 4
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="watcher-db")
        self.turn = turnstile(store.engine)

    async def __call__(self, fn: Callable[P, T], /, *args: P.args, **kw: P.kwargs) -> T:
        """fn(*args, **kw) on the storage executor; typed like fn itself, so storage calls stay checked."""
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, self._run, functools.partial(fn, *args, **kw)
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    async def write(self, batches: Sequence[tuple[str, Sequence[Outcome]]]) -> list[Counts]:
        """Store several sources' outcomes in one transaction (`Store.apply_many`); the Counts of each batch.
        Their rows and search entries are made from the outcomes alone, on the storage thread before the
        turnstile a link process waits at. Made inside, they were a third of what the poll's thread computed
        while it held it (1,000 bench notices: 2.2 s of CPU inside, 1.4 s since)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._store, batches)

    def _store(self, batches: Sequence[tuple[str, Sequence[Outcome]]]) -> list[Counts]:
        prepared = [self.store.prepare_batch(source_id, outcomes) for source_id, outcomes in batches]
        return self._run(functools.partial(self.store.apply_many, prepared))

    def _run(self, call: Callable[[], T]) -> T:
        """One storage call on this thread: after the turnstile, run again while the database says busy."""
        if self.turn is None:
            return retry_busy(call)
        with self.turn.first():
            return retry_busy(call)


class StoredRobots:
    """robots.txt cache for the Fetcher, new answers written through the DB. `rows`: every host's, loaded in one
    query (a poll of every source); None: read per host (a worker's job needs a few hosts, not all)."""

    def __init__(self, db: DB, rows: dict[str, tuple[int | None, str, datetime]] | None = None):
        self.db = db
        self.rows = rows

    async def get(self, host: str) -> tuple[int | None, str, datetime] | None:
        if self.rows is None:
            return await self.db(self.db.store.robots_get, host)
        return self.rows.get(host)

    async def put(self, host: str, status: int | None, body: str) -> None:
        await self.db(self.db.store.robots_put, host, status, body)
