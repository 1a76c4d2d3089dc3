"""One worker process: the queue schema made sure of, the periodic deferrer, and procrastinate's worker loop
running the jobs of the queues it listens to, until SIGTERM or Ctrl-C (running jobs finish first)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path

from storage.queue import QueueRepo
from storage.repo import Store
from watcher.config.loader import load_config
from watcher.pipeline.cycle import prepare
from watcher.worker.app import conninfo, install, make_app
from watcher.worker.pacing import ClusterPacer
from watcher.worker.runtime import Runtime
from watcher.worker.schedule import Deferrer

log = logging.getLogger(__name__)
QUEUES = ("poll", "details", "link", "alerts")


@dataclass
class WorkerOptions:
    concurrency: int = 4
    queues: tuple[str, ...] = ()  # () = every queue
    schedule: bool = True  # run the periodic deferrer (and stall recovery)
    work: bool = True  # run jobs
    stall_timeout: float = 60.0  # seconds without a heartbeat before a worker's jobs are retried
    tick: float = 1.0  # the deferrer's period
    name: str | None = None


def open_runtime(config_path: str | Path, db_url: str, opts: WorkerOptions) -> Runtime:
    conninfo(db_url)  # PostgreSQL or a ConfigError, before anything is opened
    store = Store.open(db_url)
    install(store)
    config = load_config(config_path)
    store.sync_sources(config.sources)
    prepare(config, store)
    app = make_app(db_url, pool_size=max(4, opts.concurrency + 2))
    rt = Runtime(
        Path(config_path),
        store,
        config,
        ClusterPacer(QueueRepo(store.engine), lease=opts.stall_timeout),
        app,
        opts.stall_timeout,
    )
    rt.reload()  # remembers the file's digest
    return rt


async def run_worker(rt: Runtime, opts: WorkerOptions) -> None:
    """Run until stopped. With `work` False this process only defers (the compose file's scheduler)."""
    name = opts.name or f"{socket.gethostname()}:{os.getpid()}"
    async with rt.app.open_async():
        side: list[asyncio.Task] = []
        if opts.schedule:
            side.append(asyncio.create_task(Deferrer(rt, tick=opts.tick).run(), name="deferrer"))
        try:
            if opts.work:
                if opts.queues:  # none named: every queue
                    rt.app.worker_defaults["queues"] = list(opts.queues)
                await rt.app.run_worker_async(
                    concurrency=opts.concurrency,
                    name=name,
                    additional_context={"runtime": rt},
                    update_heartbeat_interval=max(0.5, opts.stall_timeout / 6),
                    stalled_worker_timeout=opts.stall_timeout,
                    shutdown_graceful_timeout=60.0,
                )
            else:
                await _until_stopped()
        finally:
            for t in side:
                t.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            rt.db.close()


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
