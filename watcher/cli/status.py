"""`watcher status`: health per source and per notification channel, and recent failures."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

import click

from storage.queue import queue_status
from watcher.cli.context import Ctx, cli_errors, emit, err_console, esc, json_option, out
from watcher.cli.render import Column, local_time, print_table
from watcher.views.status import recent_failures, source_status, status_colour

STALL_AFTER = 60.0  # seconds without a heartbeat: `watcher worker --stall-timeout`'s default


@click.command()
@json_option
@click.pass_obj
@cli_errors
def status(obj: Ctx, as_json: bool) -> None:
    """Health per source and per notification channel, and recent failures.
    Exit status 1 when a source's last poll failed, a delivery failed, or notices keep failing.

    \b
    Example:
      watcher status --json
    """
    from notifiers.dispatch import channel_status

    cfg, store = obj.load(), obj.reader()
    rows = source_status(cfg, store)
    channels = channel_status(store, cfg.channels)
    report: dict = {"sources": rows, "channels": channels, "recent_failures": recent_failures(store)}
    queue = queue_status(store, STALL_AFTER)
    if queue is not None:  # workers on PostgreSQL (`watcher worker`): the queue and the workers seen
        report["queue"] = queue.as_dict()
    tz = obj.timezone()
    emit(report, as_json, lambda report: _print_status(report, tz))
    if any(r["last_status"] == "failed" or r["failing"] for r in rows if r["enabled"]) or any(
        c["failed"] for c in channels
    ):
        sys.exit(1)


def _print_status(report: dict, tz: ZoneInfo) -> None:
    from rich.text import Text

    cols = [Column("id"), Column("on"), Column("last poll"), Column("status"), Column("notices", justify="right")]
    cols.append(Column("last error", wrap=True))
    cells = [
        [
            r["id"],
            "yes" if r["enabled"] else "no",
            local_time(r["last_poll"], tz),
            Text(r["last_status"] or "never", style=status_colour(r["last_status"])),
            str(r["notices"]),
            (r["last_error"] or "")[:70],
        ]
        for r in report["sources"]
    ]
    print_table(out.get(), "Sources", cols, cells)
    for r in report["sources"]:
        if r["failing"]:
            err_console.print(
                f"[red]{esc(r['id'])}[/]: {r['failing']} notice(s) keep failing, retried with a growing wait"
            )
    for c in report["channels"]:
        colour = "red" if c["failed"] else "green"
        last_sent = local_time(c["last_sent"], tz)
        out.print(
            f"channel [bold]{esc(c['id'])}[/] ({esc(c['type'])}): [{colour}]{c['sent']} sent, {c['failed']} failed[/], "
            f"{c['uncertain']} uncertain; last sent {last_sent}"
            + (f"; last error: {esc(c['last_error'])}" if c["last_error"] else ""),
            highlight=False,
        )
    if not report["channels"]:
        out.print("channels: none configured")
    if "queue" in report:
        _print_queue(report["queue"])
    for f in report["recent_failures"]:
        err_console.print(
            f"[red]{esc(f['source_id'])}[/] {esc(f['url'])}: {esc(f['error'])} ({f['attempts']} attempts)"
        )


def _print_queue(q: dict) -> None:
    """队列：jobs per queue and status, workers seen, stalled jobs and jobs that failed for good."""
    for name, counts in sorted(q["counts"].items()):
        shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        out.print(f"queue [bold]{esc(name)}[/]: {esc(shown)}", highlight=False)
    alive = sum(not w["stalled"] for w in q["workers"])
    out.print(f"workers: {alive} alive, {len(q['workers']) - alive} stalled", highlight=False)
    for j in q["stalled"]:
        err_console.print(f"[yellow]stalled[/] job {j['id']} {esc(j['task'])} {esc(j['args'])[:100]}")
    for j in q["failed"]:
        err_console.print(
            f"[red]failed[/] job {j['id']} {esc(j['task'])} after {j['attempts']} attempts: {esc(j['error'] or '?')}"
        )
