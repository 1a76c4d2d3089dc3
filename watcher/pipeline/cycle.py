"""The whole cycle, in one place: poll the sources → link what is new → alert the channels.

`watcher poll`, the scheduler (`watcher run`), the demo and the benchmarks all call `run_cycle`, the way
urlwatch's `run_jobs` + `Report.finish` is its one cycle. The life of one notice through these stages is
told in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx

from notifiers.dispatch import Report, register_channels, send_alerts
from storage.repo import Store
from watcher.config.settings import Config, Source
from watcher.link.stage import LinkStage
from watcher.pipeline.durable import LinkOutcome, link_pending
from watcher.pipeline.poll import Progress, RunResult, poll_sources

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What one cycle did: a result per source and a delivery report per alerting channel."""

    results: list[RunResult]
    alerts: list[Report] = field(default_factory=list)
    link: LinkOutcome = field(default_factory=LinkOutcome)

    @property
    def ok(self) -> bool:
        """Every source polled without a failure, none with notices that keep failing, linking done."""
        return all(r.status == "ok" and not r.failing for r in self.results) and self.link.error is None

    def alert_errors(self) -> list[tuple[str, str]]:
        return [(rep.channel, e) for rep in self.alerts for e in rep.errors]


def prepare(config: Config, store: Store) -> None:
    """Once per loaded configuration, before its first poll: a channel is owed the events stored after it
    was first configured, so the first poll's notices count and an older history is not flooded in."""
    if config.channels:
        register_channels(store, config.channels)


async def run_cycle(
    config: Config,
    store: Store,
    sources: Iterable[Source] | None = None,
    *,
    linker: LinkStage | None = None,
    alert: bool = True,
    progress: Progress | None = None,
    client: httpx.AsyncClient | None = None,
) -> CycleReport:
    """Poll `sources` (default: every enabled one), link what is stored and not linked yet (when a `linker`
    is given: after every poll, so what a kill or a Redis outage left unlinked is caught up), then send each
    webhook channel the events it is owed, those that failed last time included. Never raises for one
    source's, the linking's or one channel's failure: each is in the report. The stage is begun before the poll:
    a stage beside it (watcher/pipeline/linkproc.py) links each stored batch while the next is fetched, and the
    cycle then waits for the last batches' links only."""
    if linker is not None:
        await _begin(linker)
    try:
        results = await poll_sources(
            config.enabled if sources is None else sources,
            store,
            concurrency=config.defaults.concurrency,
            client=client,
            progress=progress,
        )
    except Exception:
        if linker is not None:  # the begun stage is drained all the same: it links what the poll stored
            await asyncio.to_thread(link_pending, linker)  # (a link process left begun looked on every 0.2 s)
        raise
    report = CycleReport(results)
    if linker is not None:
        report.link = await asyncio.to_thread(link_pending, linker)
    if alert and config.channels:
        # The senders are synchronous (httpx.Client, smtplib): a thread keeps the event loop free.
        report.alerts = await asyncio.to_thread(send_alerts, store, config)
    return report


async def _begin(linker: LinkStage) -> None:
    """Tell the stage a cycle starts (in a thread: the link process starts on the first, seconds). A failure is the
    drain's to report: the poll goes on."""
    try:
        await asyncio.to_thread(linker.begin)
    except Exception as exc:  # noqa: BLE001 - the drain after the poll reports the stage's state
        log.warning("the linking stage could not begin: %s", exc)
