"""`watcher status`: health per source and per notification channel, and recent failures."""

from __future__ import annotations

import sys
from zoneinfo import ZoneInfo

import click

from storage.queue import queue_status
from watcher.cli.context import Ctx, cli_errors, emit, err_console, esc, json_option, out
from watcher.cli.render import Column, local_time, print_table
from watcher.i18n import _, ngettext
from watcher.views.status import recent_failures, source_status, status_colour, status_text

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

    cols = [Column(_("id")), Column(_("on")), Column(_("last poll")), Column(_("status"))]
    cols += [Column(_("notices"), justify="right"), Column(_("last error"), wrap=True)]
    cells = [
        [
            r["id"],
            _("yes") if r["enabled"] else _("no"),
            local_time(r["last_poll"], tz),
            Text(status_text(r["last_status"]), style=status_colour(r["last_status"])),
            str(r["notices"]),
            (r["last_error"] or "")[:70],
        ]
        for r in report["sources"]
    ]
    print_table(out.get(), _("Sources"), cols, cells)
    for r in report["sources"]:
        if r["failing"]:
            failing = ngettext(
                "{n} notice keeps failing, retried with a growing wait",
                "{n} notices keep failing, retried with a growing wait",
                r["failing"],
            ).format(n=r["failing"])
            err_console.print(f"[red]{esc(r['id'])}[/]: {esc(failing)}")
    for c in report["channels"]:
        _print_channel(c, tz)
    if not report["channels"]:
        out.print(_("channels: none configured"))
    if "queue" in report:
        _print_queue(report["queue"])
    for f in report["recent_failures"]:
        attempts = ngettext("({n} attempt)", "({n} attempts)", f["attempts"]).format(n=f["attempts"])
        err_console.print(f"[red]{esc(f['source_id'])}[/] {esc(f['url'])}: {esc(f['error'])} {esc(attempts)}")


def _print_channel(c: dict, tz: ZoneInfo) -> None:
    from rich.text import Text

    line = _("channel {id} ({type}): {sent} sent, {failed} failed, {uncertain} uncertain; last sent {last}").format(
        id=c["id"],
        type=c["type"],
        sent=c["sent"],
        failed=c["failed"],
        uncertain=c["uncertain"],
        last=local_time(c["last_sent"], tz),
    )
    out.print(Text(line, style="red" if c["failed"] else ""), highlight=False)
    if c["last_error"]:
        out.print(Text("  " + _("last error: {error}").format(error=c["last_error"]), style="red"), highlight=False)


def _print_queue(q: dict) -> None:
    """Jobs per queue and status, the workers seen, stalled jobs and jobs that failed for good."""
    for name, counts in sorted(q["counts"].items()):
        shown = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        out.print(_("queue {name}: {counts}").format(name=name, counts=shown), highlight=False)
    alive = sum(not w["stalled"] for w in q["workers"])
    out.print(
        _("workers: {alive} alive, {stalled} stalled").format(alive=alive, stalled=len(q["workers"]) - alive),
        highlight=False,
    )
    for j in q["stalled"]:
        line = _("stalled job {id} {task} {args}").format(id=j["id"], task=j["task"], args=j["args"][:100])
        err_console.print(f"[yellow]{esc(line)}[/]")
    for j in q["failed"]:
        line = _("failed job {id} {task} after {attempts} attempts: {error}").format(
            id=j["id"], task=j["task"], attempts=j["attempts"], error=j["error"] or "?"
        )
        err_console.print(f"[red]{esc(line)}[/]")
