"""The worker queue's own SQL (PostgreSQL only): the queue schema set up once, the cluster-wide host pacing,
the errors of failed jobs, and the queue as `watcher status` shows it.

The jobs themselves are procrastinate's (`procrastinate_jobs`, `procrastinate_workers`, …): its schema is
applied by `QueueRepo.install` at the first worker start, under an advisory lock of its own (two first
starts at once would both find it missing), together with the three tables below. They live outside the
Alembic migrations because only a PostgreSQL cluster of workers has them; `watcher run` on SQLite never does.

Host pacing (`host_slots`, `host_pacing`): a request to a host takes one of its `per_host_concurrency`
slots (a row leased for a few seconds and renewed while the request runs, so a killed worker's slot
frees itself) and reserves its
start on the host's timeline: `next_at` moves by `min_delay` per request, and again to `min_delay` after
the end of each request. Two statements per request, one more at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from storage.repo import Store

QUEUE_LOCK_KEY = 0x706F6C6971  # "poliq": the queue schema's advisory-lock key (migrations use "polic")

_TABLES = """
CREATE TABLE IF NOT EXISTS watcher_host_slots (
    host text NOT NULL, slot integer NOT NULL, token text,
    held_until timestamptz NOT NULL DEFAULT '-infinity', PRIMARY KEY (host, slot));
CREATE TABLE IF NOT EXISTS watcher_host_pacing (host text PRIMARY KEY, next_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS watcher_job_errors (
    job_id bigint PRIMARY KEY, task text NOT NULL, attempt integer NOT NULL, error text NOT NULL,
    at timestamptz NOT NULL DEFAULT now());
"""


@dataclass(frozen=True)
class JobRow:
    """A job as `watcher status` lists it: failed for good (with its error) or stalled."""

    id: int
    task: str
    queue: str
    status: str
    attempts: int
    args: str
    error: str | None


@dataclass(frozen=True)
class WorkerSeen:
    id: int
    last_heartbeat: datetime
    stalled: bool


@dataclass
class QueueStatus:
    """Jobs per queue and status (todo, doing, failed, succeeded …), stalled jobs, workers seen."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    stalled: list[JobRow] = field(default_factory=list)
    failed: list[JobRow] = field(default_factory=list)
    workers: list[WorkerSeen] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(
            counts=self.counts,
            stalled=[j.__dict__ for j in self.stalled],
            failed=[j.__dict__ for j in self.failed],
            workers=[
                dict(id=w.id, last_heartbeat=w.last_heartbeat.isoformat(), stalled=w.stalled) for w in self.workers
            ],
        )


class QueueRepo:
    def __init__(self, engine: Engine):
        self.engine = engine

    def installed(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return False
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar() is True

    def install(self, schema_sql: str) -> bool:
        """Apply procrastinate's schema (given as its SQL) and the tables above unless present; True when
        applied now. One process at a time: the others wait on the advisory lock and find it there."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": QUEUE_LOCK_KEY})
            conn.commit()
            try:
                applied = False
                if not conn.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
                    # the raw driver: procrastinate's SQL holds % signs that parameter styles would read
                    conn.connection.driver_connection.execute(schema_sql)  # type: ignore[union-attr]
                    applied = True
                conn.connection.driver_connection.execute(_TABLES)  # type: ignore[union-attr]
                conn.commit()
                return applied
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": QUEUE_LOCK_KEY})
                conn.commit()

    # ---- host pacing -----------------------------------------------------------------------------
    def take_host_slot(
        self, host: str, slots: int, min_delay: float, lease: float, token: str, *, make: bool = True
    ) -> tuple[int, float] | None:
        """A free slot of `host` (of `slots`) leased for `lease` seconds, and how many seconds to wait before
        the request may start (its reserved start on the host's timeline); None when every slot is taken.
        `make`: the host's slot rows may not exist yet (False once a caller has seen them made)."""
        with self.engine.begin() as conn:
            if make:
                conn.execute(
                    text(
                        "INSERT INTO watcher_host_slots (host, slot) SELECT :h, s FROM generate_series(0, :n - 1) s "
                        "ON CONFLICT DO NOTHING"
                    ),
                    {"h": host, "n": slots},
                )
            slot = conn.execute(
                text(
                    "SELECT slot FROM watcher_host_slots WHERE host = :h AND slot < :n "
                    "AND held_until < clock_timestamp() ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED"
                ),
                {"h": host, "n": slots},
            ).scalar()
            if slot is None:
                return None
            reserved = conn.execute(
                text(
                    "INSERT INTO watcher_host_pacing AS p (host, next_at) "
                    "VALUES (:h, clock_timestamp() + make_interval(secs => :d)) "
                    "ON CONFLICT (host) DO UPDATE SET next_at = greatest(p.next_at, clock_timestamp()) "
                    "+ make_interval(secs => :d) "
                    "RETURNING extract(epoch FROM next_at - make_interval(secs => :d) - clock_timestamp())"
                ),
                {"h": host, "d": min_delay},
            ).scalar()
            wait = max(0.0, float(reserved or 0))
            conn.execute(
                text(
                    "UPDATE watcher_host_slots SET token = :t, "
                    "held_until = clock_timestamp() + make_interval(secs => :w + :l) WHERE host = :h AND slot = :s"
                ),
                {"t": token, "w": wait, "l": lease, "h": host, "s": slot},
            )
        return int(slot), wait

    def renew_host_slot(self, host: str, slot: int, token: str, lease: float) -> None:
        """The request still runs: its slot is held `lease` seconds more (a dead worker stops renewing)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE watcher_host_slots SET held_until = clock_timestamp() + make_interval(secs => :l) "
                    "WHERE host = :h AND slot = :s AND token = :t"
                ),
                {"l": lease, "h": host, "s": slot, "t": token},
            )

    def release_host_slot(self, host: str, slot: int, token: str, min_delay: float) -> None:
        """The request ended: the slot is free, and the host's next request starts `min_delay` from now at
        the earliest (the delay holds between the end of one request and the start of the next too)."""
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "UPDATE watcher_host_slots SET held_until = '-infinity', token = NULL "
                    "WHERE host = :h AND slot = :s AND token = :t"
                ),
                {"h": host, "s": slot, "t": token},
            )
            conn.execute(
                text(
                    "UPDATE watcher_host_pacing SET next_at = greatest(next_at, clock_timestamp() "
                    "+ make_interval(secs => :d)) WHERE host = :h"
                ),
                {"h": host, "d": min_delay},
            )

    # ---- failures and the queue as shown -----------------------------------------------------------------
    def record_error(self, job_id: int, task: str, attempt: int, error: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO watcher_job_errors (job_id, task, attempt, error) VALUES (:j, :t, :a, :e) "
                    "ON CONFLICT (job_id) DO UPDATE SET attempt = :a, error = :e, at = now()"
                ),
                {"j": job_id, "t": task, "a": attempt, "e": error[:2000]},
            )

    def status(self, stall_after: float, limit: int = 20) -> QueueStatus:
        """The queue: counts per queue and status, failed jobs with their last error, stalled jobs (running
        on a worker whose heartbeat is older than `stall_after` seconds, or on none), the workers seen."""
        out = QueueStatus()
        jobs = (
            "SELECT j.id, j.task_name, j.queue_name, j.status::text, j.attempts, j.args::text, e.error "
            "FROM procrastinate_jobs j LEFT JOIN watcher_job_errors e ON e.job_id = j.id "
        )
        with self.engine.connect() as conn:
            for queue, status, n in conn.execute(
                text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")
            ):
                out.counts.setdefault(queue, {})[status] = n
            out.failed = [
                JobRow(*r)
                for r in conn.execute(
                    text(jobs + "WHERE j.status = 'failed' ORDER BY j.id DESC LIMIT :n"),
                    {"n": limit},
                )
            ]
            out.stalled = [
                JobRow(*r)
                for r in conn.execute(
                    text(
                        jobs + "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id WHERE j.status = 'doing' AND "
                        "(w.id IS NULL OR w.last_heartbeat < now() - make_interval(secs => :s)) ORDER BY j.id"
                    ),
                    {"s": stall_after},
                )
            ]
            out.workers = [
                WorkerSeen(r[0], r[1], bool(r[2]))
                for r in conn.execute(
                    text(
                        "SELECT id, last_heartbeat, last_heartbeat < now() - make_interval(secs => :s) "
                        "FROM procrastinate_workers ORDER BY id"
                    ),
                    {"s": stall_after},
                )
            ]
        return out

    def periodic_defers(self, periodic_id: str) -> list[int]:
        """The periods (timestamps) a periodic job was deferred for, oldest first: one row each, whoever deferred."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT defer_timestamp FROM procrastinate_periodic_defers WHERE periodic_id = :p "
                        "ORDER BY defer_timestamp"
                    ),
                    {"p": periodic_id},
                ).scalars()
            )

    def job_counts(self) -> dict[str, int]:
        """Jobs per status over every queue (the tests and the benchmark wait on these)."""
        with self.engine.connect() as conn:
            return {
                s: n for s, n in conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"))
            }


def queue_status(store: Store, stall_after: float) -> QueueStatus | None:
    """The queue of a cluster of workers as `watcher status` shows it; None without one (SQLite, `watcher run`)."""
    queue = QueueRepo(store.engine)
    return queue.status(stall_after) if queue.installed() else None
