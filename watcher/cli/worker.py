"""`watcher worker`: a worker of a cluster sharing one PostgreSQL queue (procrastinate; `pip install '.[workers]'`)."""

from __future__ import annotations

import asyncio
import logging

import click

from watcher.cli.context import Ctx, cli_errors, err_console
from watcher.errors import ConfigError
from watcher.i18n import _

QUEUE_NAMES = ("poll", "details", "link", "alerts")


@click.command()
@click.option("--concurrency", "-n", default=4, show_default=True, type=click.IntRange(1, 256), help="Jobs at once.")
@click.option(
    "--queues",
    "-q",
    multiple=True,
    type=click.Choice(QUEUE_NAMES),
    help="Queues to take jobs from (repeat; default: all): poll, details, link, alerts.",
)
@click.option("--schedule/--no-schedule", default=True, show_default=True, help="Defer the periodic polls here too.")
@click.option("--schedule-only", is_flag=True, help="Only defer periodic polls and retry stalled jobs; run no job.")
@click.option(
    "--stall-timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds without a worker's heartbeat before its jobs are retried.",
)
@click.option("--name", help="Worker name in logs (default host:pid).")
@click.pass_obj
@cli_errors
def worker(
    obj: Ctx,
    concurrency: int,
    queues: tuple[str, ...],
    schedule: bool,
    schedule_only: bool,
    stall_timeout: float,
    name: str | None,
) -> None:
    """Run a queue worker: any number, on any number of machines, against one PostgreSQL database. Each
    source is polled once per period for the cluster; list pages, detail batches, linking, alerts are jobs.

    \b
    Example:
      WATCHER_DATABASE_URL=postgresql://db/watcher watcher -v worker --concurrency 8
      watcher worker --schedule-only            # the deferrer alone (compose: "scheduler")
      watcher worker -q poll -q details --no-schedule
    """
    try:
        from watcher.worker.run import WorkerOptions, open_runtime, run_worker
    except ImportError as exc:  # procrastinate is an optional extra
        raise ConfigError(
            _("workers need procrastinate: pip install '.[workers]' ({error})").format(error=exc)
        ) from None
    work, schedule = not schedule_only, schedule or schedule_only
    opts = WorkerOptions(concurrency, queues, schedule, work, stall_timeout, name=name)
    rt = open_runtime(obj.config_path, obj.database_url(), opts)
    logging.getLogger("watcher").setLevel(min(logging.getLogger().level, logging.INFO))
    _announce(schedule_only, concurrency, len(rt.config.enabled))
    try:
        asyncio.run(run_worker(rt, opts))
    finally:
        rt.store.close()


def _announce(schedule_only: bool, concurrency: int, n: int) -> None:
    if schedule_only:
        err_console.print(_("deferrer: {n} sources; Ctrl-C to stop").format(n=n))
    else:
        err_console.print(_("worker ({c} jobs at once): {n} sources; Ctrl-C to stop").format(c=concurrency, n=n))
