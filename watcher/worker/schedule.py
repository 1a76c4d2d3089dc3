"""Periodic polls for the whole cluster, through procrastinate's periodic deferral.

procrastinate's own `@app.periodic(cron=…)` takes a UTC cron string fixed in code. A source's schedule is
a cron in its own timezone or an interval, with a jitter, and comes from sources.yaml; so the deferrer
here computes each source's fire times with the scheduler's triggers (`watcher run`'s `trigger_for`), and
hands each one to procrastinate's `JobManager.defer_periodic_job(job, periodic_id, defer_timestamp)`: the
database keeps one row per (task, periodic id, timestamp), so however many deferrers run, each source is
deferred once per period. The jitter is a function of the source and the period (a hash), the same on
every machine: a deferrer waits fire time + jitter, then defers. An interval is counted from a fixed epoch
(not from a process's start) so that every deferrer agrees on the periods. After a stop, only the latest
missed period within `max_delay` is deferred (procrastinate's rule too).

The same loop deletes succeeded jobs older than a day, and retries stalled jobs: those running on a worker
whose heartbeat is older than the stall timeout (`JobManager.get_stalled_jobs` + `retry_job`), the recovery
procrastinate's documentation gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status

from watcher.worker.tasks import NS, poll_locks

if TYPE_CHECKING:
    from watcher.config.settings import Config
    from watcher.worker.runtime import Runtime

log = logging.getLogger(__name__)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
KEEP_HOURS = 24  # succeeded jobs kept this long


@dataclass(frozen=True)
class Periodic:
    """One periodic job: its id, trigger, jitter (seconds), task, arguments and locks."""

    periodic_id: str
    trigger: Any
    jitter: float
    task: str
    kwargs: dict
    locks: dict


def jitter_of(periodic_id: str, fire: int, jitter: float) -> float:
    """A delay in [0, jitter) that every machine computes alike for this job and period."""
    if jitter <= 0:
        return 0.0
    h = int.from_bytes(hashlib.sha256(f"{periodic_id}:{fire}".encode()).digest()[:8], "big")
    return (h % 1_000_000) / 1_000_000 * jitter


def plan(config: Config) -> Iterator[Periodic]:
    """The periodic jobs of a configuration: each enabled source's poll, each email channel's digest."""
    for s in config.enabled:
        tz = ZoneInfo(s.schedule.timezone)
        if s.schedule.cron:
            trig: Any = CronTrigger.from_crontab(s.schedule.cron, timezone=tz)
        else:
            trig = IntervalTrigger(seconds=int(s.schedule.every), start_date=EPOCH, timezone=tz)
        yield Periodic(f"poll:{s.id}", trig, float(s.schedule.jitter), "poll", dict(source_id=s.id), poll_locks(s.id))
    for ch in config.channels:
        if ch.service == "email" and ch.enabled:
            hour, minute = map(int, ch.send_at.split(":"))
            trig = CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(ch.timezone))
            yield Periodic(f"digest:{ch.id}", trig, 0.0, "digest", dict(channel_id=ch.id), dict(lock="alerts"))


class Deferrer:
    """Defers the periodic jobs of the current configuration, and retries stalled jobs."""

    def __init__(self, rt: Runtime, *, tick: float = 1.0, max_delay: float = 600.0):
        self.rt = rt
        self.tick = tick
        self.max_delay = max_delay
        self.plans: dict[str, tuple[Periodic, str]] = {}  # periodic id -> (job, its signature)
        self.next_fire: dict[str, tuple[datetime, str]] = {}  # periodic id -> (next fire time, signature)
        self.heap: list[tuple[float, str]] = []  # (fire time + jitter, periodic id): the next deferral first
        self.planned_for: object = None  # the configuration the plan was made from
        self.deferred = 0
        self.pruned_at = 0.0

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.rt.reload)
                await self.once()
                await self.recover_stalled()
                await self.prune()
            except Exception:  # noqa: BLE001 - the database away for a moment: the next tick tries again
                log.exception("periodic deferral failed; trying again")
            await asyncio.sleep(self.tick)

    def replan(self, now: float) -> None:
        """The periodic jobs of the configuration, once per configuration loaded: a job whose schedule is
        unchanged keeps its next fire time; a new or changed one starts at its latest period within
        max_delay."""
        at = datetime.fromtimestamp(now, UTC) - timedelta(seconds=self.max_delay)
        old, self.next_fire, self.heap = self.next_fire, {}, []
        self.plans = {p.periodic_id: (p, repr((p.trigger, p.jitter, p.locks))) for p in plan(self.rt.config)}
        for pid, (p, sig) in self.plans.items():
            kept = old.get(pid)
            fire = kept[0] if kept and kept[1] == sig else p.trigger.get_next_fire_time(None, at)
            if fire is not None:
                self._push(pid, fire, sig)
        self.planned_for = self.rt.config

    def _push(self, pid: str, fire: datetime, sig: str) -> None:
        p = self.plans[pid][0]
        self.next_fire[pid] = (fire, sig)
        heapq.heappush(self.heap, (fire.timestamp() + jitter_of(pid, int(fire.timestamp()), p.jitter), pid))

    async def once(self, now: float | None = None) -> int:
        """Defer every periodic job whose fire time plus jitter has come; returns how many were deferred.
        A tick costs the jobs due, not the sources configured (a heap by next deferral)."""
        now = time.time() if now is None else now
        if self.planned_for is not self.rt.config:
            self.replan(now)
        done = 0
        while self.heap and self.heap[0][0] <= now:
            _, pid = heapq.heappop(self.heap)
            p, sig = self.plans[pid]
            fire: datetime | None = self.next_fire.pop(pid)[0]
            last = None
            while fire is not None and fire.timestamp() + jitter_of(pid, int(fire.timestamp()), p.jitter) <= now:
                last = fire
                fire = p.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
            if fire is not None:
                self._push(pid, fire, sig)
            if last is not None:  # missed periods coalesce into the latest one
                done += await self.defer(p, int(last.timestamp()))
        self.deferred += done
        return done

    async def defer(self, p: Periodic, timestamp: int) -> int:
        deferrer = self.rt.app.configure_task(
            f"{NS}:{p.task}", task_kwargs={**p.kwargs, "timestamp": timestamp}, **p.locks
        )
        try:
            job_id = await self.rt.app.job_manager.defer_periodic_job(
                job=deferrer.job, periodic_id=p.periodic_id, defer_timestamp=timestamp
            )
        except AlreadyEnqueued:  # one is waiting still: this period coalesces into it
            return 0
        if job_id:
            log.info("deferred %s for %s", p.periodic_id, datetime.fromtimestamp(timestamp, UTC).isoformat())
        return 1 if job_id else 0

    async def prune(self, every: float = 3600.0, keep_hours: int = KEEP_HOURS) -> None:
        """Hourly: jobs that succeeded more than `keep_hours` ago are deleted (100k hourly polls add 2.4M
        rows a day); failed ones stay for `watcher status` until someone looks."""
        if time.monotonic() - self.pruned_at < every:
            return
        self.pruned_at = time.monotonic()
        await self.rt.app.job_manager.delete_old_jobs(nb_hours=keep_hours)

    async def recover_stalled(self) -> int:
        """Retry the jobs of workers that stopped beating (killed, powered off) for the stall timeout."""
        manager = self.rt.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=self.rt.stall_timeout)
        retried = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
                retried += 1
                log.warning("job %s %s stalled (its worker stopped): retried", job.id, job.task_name)
            except UniqueViolation:
                # A job of the same queueing lock was deferred after the kill (linking, alerts): it does the
                # same work. Left `doing`, the stalled one would hold its lock for ever and the queued twin
                # could never start (found by the SIGKILL test: linking stopped for the whole cluster).
                # procrastinate raises it with the constraint's name only: its message says nothing.
                with contextlib.suppress(Exception):  # another worker's recovery aborted it first
                    await manager.finish_job(job, Status.ABORTED, delete_job=False)
                    log.warning("job %s %s stalled; a queued twin does its work: aborted", job.id, job.task_name)
            except Exception as exc:  # noqa: BLE001 - another worker retried or aborted it first
                log.debug("stalled job %s not retried here: %s", job.id, exc)
        return retried
