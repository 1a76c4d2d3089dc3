"""`watcher status`: health per source and per notification channel, and recent failures."""

from __future__ import annotations

import sys

import click

from watcher.cli.context import Ctx, Table, cli_errors, emit, err_console, esc, json_option, out, styled
from watcher.views.status import recent_failures, source_status, status_colour


@click.command()
@json_option
@click.pass_obj
@cli_errors
def status(obj: Ctx, as_json: bool) -> None:
    """Health per source and per notification channel, and recent failures.
    Exit status 1 when a source's last poll failed.

    \b
    Example:
      watcher status --json
    """
    from notifiers.dispatch import channel_status

    cfg, store = obj.load(), obj.store()
    rows = source_status(cfg, store)
    channels = channel_status(store, cfg.channels)
    report = {"sources": rows, "channels": channels, "recent_failures": recent_failures(store)}
    emit(report, as_json, _print_status)
    if any(r["last_status"] == "failed" for r in rows if r["enabled"]) or any(c["failed"] for c in channels):
        sys.exit(1)


def _print_status(report: dict) -> None:
    table = Table(title="Sources")
    for col in ("id", "on", "last poll", "status", "notices", "last error"):
        table.add_column(col, overflow="fold")
    for r in report["sources"]:
        table.add_row(
            r["id"],
            "yes" if r["enabled"] else "no",
            r["last_poll"] or "—",
            styled(r["last_status"] or "never", status_colour(r["last_status"])),
            str(r["notices"]),
            (r["last_error"] or "")[:70],
        )
    out.print(table)
    for c in report["channels"]:
        colour = "red" if c["failed"] else "green"
        out.print(
            f"channel [bold]{esc(c['id'])}[/] ({esc(c['type'])}): [{colour}]{c['sent']} sent, {c['failed']} failed[/], "
            f"{c['uncertain']} uncertain; last sent {c['last_sent'] or '—'}"
            + (f"; last error: {esc(c['last_error'])}" if c["last_error"] else ""),
            highlight=False,
        )
    if not report["channels"]:
        out.print("channels: none configured")
    for f in report["recent_failures"]:
        err_console.print(
            f"[red]{esc(f['source_id'])}[/] {esc(f['url'])}: {esc(f['error'])} ({f['attempts']} attempts)"
        )
