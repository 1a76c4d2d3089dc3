"""`watcher run`: one APScheduler job per enabled source, reloaded when sources.yaml changes.

No two runs of one source overlap (max_instances=1), missed runs are coalesced into one, and a
stop (SIGTERM, Ctrl-C) lets each source finish the batch it is writing: every batch is one
transaction, and runs left 'running' by a hard kill are marked 'interrupted' at the next start (once
their heartbeat is older than the lease: another process's live runs are left alone).
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from storage.repo import Store
from watcher.config.loader import file_digest, load_config
from watcher.config.settings import Config, Source
from watcher.errors import ConfigError
from watcher.link.stage import LinkStage
from watcher.pipeline.collector import settle
from watcher.pipeline.cycle import prepare, run_cycle
from watcher.pipeline.linkproc import link_stage
from watcher.pipeline.poll import RUN_LEASE, RunResult
from watcher.text.search import warm

log = logging.getLogger("watcher.scheduler.service")


def trigger_for(source: Source):
    s = source.schedule
    tz = ZoneInfo(s.timezone)
    if s.cron:
        trig = CronTrigger.from_crontab(s.cron, timezone=tz)
        trig.jitter = int(s.jitter) or None
        return trig
    return IntervalTrigger(seconds=int(s.every), timezone=tz, jitter=int(s.jitter) or None)


class Service:
    def __init__(
        self, config_path: str | Path, store: Store, *, check_every: float = 5.0, first_run_delay: float = 5.0
    ):
        self.config_path = Path(config_path)
        self.store = store
        self.check_every = check_every
        self.first_run_delay = first_run_delay
        self.config: Config | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self._digest: str | None = None
        self._failed: str | None = None  # the digest whose configuration could not be applied, logged once
        self._stop = asyncio.Event()
        self._running: set[asyncio.Task] = set()
        self.results: list[RunResult] = []
        self.linker: LinkStage | None = None  # the stage the next cycles use
        self._cycles: dict[LinkStage, int] = {}  # cycles running, by the stage each began with

    def reload(self) -> bool:
        """Read sources.yaml again; a broken file is reported and the previous sources keep running.

        Never raises: it runs from the file watcher and from SIGHUP, and an exception there would end
        the watcher silently, leaving every later edit unapplied. A failure that is not the file's
        (the database away) is logged once and tried again at the next check."""
        digest = file_digest(self.config_path)
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error("sources.yaml not reloaded: %s", exc)
            self._digest = digest
            return False
        except Exception:  # noqa: BLE001 - see above: logged, and the watcher goes on
            log.exception("sources.yaml not reloaded")
            self._digest = digest
            return False
        for err in config.errors:
            log.error("skipped: %s", err)
        try:
            self._apply(config)
        except Exception:  # noqa: BLE001
            if digest != self._failed:
                log.exception("sources.yaml read but not applied; trying again at the next check")
            self._failed = digest
            return False
        self._digest, self._failed = digest, None
        log.info("loaded %d sources (%d enabled)", len(config.sources), len(config.enabled))
        return True

    def _apply(self, config: Config) -> None:
        if self.config is None or self.config.defaults.index != config.defaults.index:
            old = self._swap_linker(link_stage(config, self.store))  # beside the polls, in a process of its own
            if old is not None:
                old.close()
        self.store.sync_sources(config.sources)
        prepare(config, self.store)
        self.config = config
        self._sync_jobs()

    def _sync_jobs(self) -> None:
        assert self.scheduler is not None and self.config is not None
        wanted = {s.id: s for s in self.config.enabled}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("source:") and job.id[7:] not in wanted:
                job.remove()
            if job.id.startswith("digest:"):
                job.remove()
        for ch in self.config.channels:
            if ch.service == "email" and ch.enabled:
                hour, minute = map(int, ch.send_at.split(":"))
                self.scheduler.add_job(
                    self._digest_job,
                    CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(ch.timezone)),
                    id=f"digest:{ch.id}",
                    kwargs={"channel_id": ch.id},
                    max_instances=1,
                    coalesce=True,
                    misfire_grace_time=6 * 3600,
                )
        for sid, src in wanted.items():
            job_id = f"source:{sid}"
            try:
                trigger = trigger_for(src)
            except ValueError as exc:  # validated at load; kept so one source never stops the others
                log.error("source %s not scheduled: %s", sid, exc)
                continue
            existing = self.scheduler.get_job(job_id)
            if existing is not None:
                if existing.kwargs.get("signature") != src.model_dump_json():
                    existing.modify(kwargs={"source_id": sid, "signature": src.model_dump_json()})
                    existing.reschedule(trigger)
                continue
            first = datetime.now(ZoneInfo(src.schedule.timezone)) + timedelta(
                seconds=random.uniform(0, self.first_run_delay)
            )
            self.scheduler.add_job(
                self._poll_job,
                trigger,
                id=job_id,
                name=src.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
                next_run_time=first,
                kwargs={"source_id": sid, "signature": src.model_dump_json()},
            )

    async def _poll_job(self, source_id: str, signature: str) -> None:
        if self._stop.is_set() or self.config is None:
            return
        try:
            source = self.config.get(source_id)
        except ConfigError:
            return
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        linker = self.linker  # the cycle begins, drains and gives back this one, whatever a reload does meanwhile
        if linker is not None:
            self._cycles[linker] = self._cycles.get(linker, 0) + 1
        try:
            report = await run_cycle(self.config, self.store, [source], linker=linker)
            for channel, error in report.alert_errors():
                log.error("channel %s: %s", channel, error)
            for r in report.results:
                self.results.append(r)
                log.info(
                    "%s: %s new=%d changed=%d unchanged=%d failed=%d",
                    r.source_id,
                    r.status,
                    r.counts.new,
                    r.counts.changed,
                    r.counts.unchanged,
                    r.counts.failed,
                )
        finally:
            if task is not None:
                self._running.discard(task)
            await self._release(linker)

    def _swap_linker(self, stage: LinkStage | None) -> LinkStage | None:
        """Make `stage` the one the next cycles use. Returns the one before, for the caller to close, unless cycles
        still run with it: the last of them closes it (closed under a running cycle, that cycle's drain started a
        new link process, which nothing ever closed)."""
        old, self.linker = self.linker, stage
        return None if old is None or old in self._cycles else old

    async def _release(self, linker: LinkStage | None) -> None:
        """A cycle that ran with `linker` is over: the last one with a replaced stage closes it."""
        if linker is None:
            return
        left = self._cycles.pop(linker) - 1
        if left:
            self._cycles[linker] = left
        elif linker is not self.linker:
            await asyncio.to_thread(linker.close)  # the link process's exit, off the event loop

    async def _digest_job(self, channel_id: str) -> None:
        from notifiers.dispatch import Dispatcher

        if self.config is None:  # jobs exist only once a configuration was loaded
            return
        with Dispatcher(self.store, self.config) as d:
            rep = await asyncio.to_thread(d.send_digest, d.channel(channel_id))
        log.info("digest %s: %s", channel_id, "; ".join(rep.answers + rep.errors))

    async def _watch_file(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=self.check_every)
            except TimeoutError:
                if file_digest(self.config_path) != self._digest:
                    self.reload()

    def stop(self) -> None:
        self._stop.set()

    async def run(self, install_signals: bool = True) -> None:
        # Runs a killed process left open; those of another process polling this database beat, and stay.
        self.store.mark_interrupted(RUN_LEASE)
        self.scheduler = AsyncIOScheduler(timezone=ZoneInfo("Asia/Shanghai"))
        self.scheduler.start()
        if not self.reload() and self.config is None:
            self.scheduler.shutdown(wait=False)
            raise ConfigError("cannot start without a readable sources.yaml", path=str(self.config_path))
        warm()  # what a first cycle would load in its middle
        settle()  # what the service loaded (modules, configuration) is never scanned by the collector again
        loop = asyncio.get_running_loop()
        if install_signals:
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
        watcher = asyncio.create_task(self._watch_file())
        try:
            await self._stop.wait()
        finally:
            log.info("stopping: waiting for %d running polls", len(self._running))
            # Pause first: shutting the executor down would cancel the polls mid-run.
            self.scheduler.pause()
            if self._running:
                await asyncio.wait(set(self._running), timeout=60)
            self.scheduler.shutdown(wait=False)
            watcher.cancel()
            old = self._swap_linker(None)  # a poll still running after the wait closes its stage as it ends
            if old is not None:
                await asyncio.to_thread(old.close)
            if install_signals:
                for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
