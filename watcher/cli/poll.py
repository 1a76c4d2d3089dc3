"""`watcher poll`, `run`, `link`, `migrate`, `demo`: fetching and storing."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from storage.db import applied_revisions, make_engine
from storage.db import migrate as run_migrations
from watcher.cli.context import Ctx, cli_errors, emit, err_console, esc, json_option, out
from watcher.cli.render import Column, print_table
from watcher.i18n import _, ngettext
from watcher.link.stage import LinkStage, make_linker
from watcher.pipeline.cycle import CycleReport, prepare, run_cycle
from watcher.pipeline.poll import RunResult
from watcher.views.status import status_colour, status_text

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config, Source


def _summary(results: list[RunResult], as_json: bool) -> None:
    emit([r.as_dict() for r in results], as_json, lambda _: _print_summary(results))


def _print_summary(results: list[RunResult]) -> None:
    from rich.text import Text

    counts = (_("new"), _("changed"), _("unchanged"), _("failed"), _("pages"), _("304/same"), _("seconds"))
    cols = [Column(_("source")), Column(_("status")), *(Column(c, justify="right") for c in counts)]
    cells: list[list[str | Text]] = [
        [
            r.source_id,
            Text(status_text(r.status), style=status_colour(r.status)),
            str(r.counts.new),
            str(r.counts.changed),
            str(r.counts.unchanged),
            str(r.counts.failed),
            str(r.pages),
            str(r.not_modified),
            f"{r.duration:.1f}",
        ]
        for r in results
    ]
    print_table(out.get(), _("Poll summary"), cols, cells)
    for r in results:
        for e in r.errors[:5]:
            err_console.print(f"[red]{esc(r.source_id)}[/] {esc(e.url or '')}: {esc(e.message)}")
        if len(r.errors) > 5:
            more = len(r.errors) - 5
            err_console.print(
                f"[red]{esc(r.source_id)}[/] "
                + esc(ngettext("… and {n} more error", "… and {n} more errors", more).format(n=more))
            )


def _cycle(
    cfg: Config, store: Store, sources: list[Source], linker: LinkStage | None, show_progress: bool
) -> CycleReport:
    """run_cycle, with a progress bar per source on a terminal."""
    if not show_progress:
        return asyncio.run(run_cycle(cfg, store, sources, linker=linker))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # rich's progress: only on a tty

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console.get(), transient=True
    ) as progress:
        tasks = {s.id: progress.add_task(s.id, total=None) for s in sources}

        def on_event(source_id: str, event: str, **info: Any) -> None:
            t = tasks[source_id]
            if event == "details":
                progress.update(t, total=info["total"], completed=0)
            elif event == "detail":
                progress.advance(t)
            elif event == "done":
                progress.update(t, description=f"{source_id} {info['result'].status}")

        return asyncio.run(run_cycle(cfg, store, sources, linker=linker, progress=on_event))


@click.command()
@click.argument("source_ids", nargs=-1)
@json_option("Print the summary as JSON.")
@click.option("--no-link", is_flag=True, help="Store only; link new notices on a later run.")
@click.pass_obj
@cli_errors
def poll(obj: Ctx, source_ids: tuple[str, ...], as_json: bool, no_link: bool) -> None:
    """Poll sources once now (all enabled ones, or the SOURCE_IDS given).

    Exit status is 1 when any source failed or had failing pages, while notices keep failing, or when
    linking failed.

    \b
    Example:
      watcher poll gov-cn-zxzc jiangsu-zcwj --json
    """
    cfg = obj.load()
    sources = [cfg.get(i) for i in source_ids] if source_ids else cfg.enabled
    store = obj.store()
    prepare(cfg, store)
    report = _cycle(
        cfg,
        store,
        sources,
        None if no_link else make_linker(cfg, store),
        show_progress=not as_json and sys.stderr.isatty(),
    )
    for channel, error in report.alert_errors():  # the cycle also retried what failed last time
        err_console.print(f"[red]{esc(channel)}[/]: {esc(error)}")
    _summary(report.results, as_json)
    _print_problems(report)
    if not report.ok:
        sys.exit(1)


def _print_problems(report: CycleReport) -> None:
    """What the summary does not show: notices that keep failing, and a linking stage that failed."""
    for r in report.results:
        if r.failing:
            failing = ngettext(
                "{n} notice keeps failing, retried with a growing wait (`watcher status` lists it)",
                "{n} notices keep failing, retried with a growing wait (`watcher status` lists them)",
                r.failing,
            ).format(n=r.failing)
            err_console.print(f"[red]{esc(r.source_id)}[/]: {esc(failing)}")
    if report.link.error:
        failed = _("linking: {error} (the next poll links what is left)").format(error=report.link.error)
        err_console.print(f"[red]{esc(failed)}[/]")


@click.command()
@click.pass_obj
@cli_errors
def run(obj: Ctx) -> None:
    """Run the scheduler: each enabled source on its schedule until SIGTERM or Ctrl-C.

    sources.yaml is reloaded when it changes or on SIGHUP.

    \b
    Example:
      WATCHER_DATABASE_URL=postgresql://localhost/watcher watcher -v run
    """
    from watcher.scheduler.service import Service

    cfg = obj.load()
    service = Service(obj.config_path, obj.store())
    logging.getLogger("watcher").setLevel(min(logging.getLogger().level, logging.INFO))
    n = len(cfg.enabled)
    err_console.print(
        ngettext("watching {n} source; Ctrl-C to stop", "watching {n} sources; Ctrl-C to stop", n).format(n=n)
    )
    asyncio.run(service.run())


@click.command()
@json_option("Print the count as JSON.")
@click.pass_obj
@cli_errors
def link(obj: Ctx, as_json: bool) -> None:
    """Link every stored version not linked yet (polls do this themselves).

    \b
    Example:
      watcher link
    """
    made = make_linker(obj.load(), obj.store()).run()
    said = ngettext("{n} new link", "{n} new links", made).format(n=made)
    emit({"links": made}, as_json, lambda _report: click.echo(said), indent=None)


@click.command()
@click.pass_obj
@cli_errors
def migrate(obj: Ctx) -> None:
    """Apply database migrations (also done automatically by every command).

    \b
    Example:
      watcher --db postgresql://127.0.0.1/test migrate
    """
    engine = make_engine(obj.database_url())  # not obj.store(): opening a Store migrates already
    try:
        applied = run_migrations(engine)
        done = ", ".join(applied) or _("nothing (up to date)")
        click.echo(_("applied: {applied}; at {revisions}").format(applied=done, revisions=applied_revisions(engine)))
    finally:
        engine.dispose()


@click.command()
@click.option(
    "--dir",
    "workdir",
    default="watcher-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo writes its sources.yaml and SQLite file.",
)
@json_option("Print what was found as JSON.")
@cli_errors
def demo(workdir: str, as_json: bool) -> None:
    """Serve a demo portal built from the seed documents on 127.0.0.1, poll it into a fresh
    SQLite file and show what was found. Needs no network.

    \b
    Example:
      watcher demo --dir /tmp/watcher-demo
    """
    from watcher.demo.run import run_demo

    report, results = run_demo(Path(workdir))
    emit(report, as_json, lambda r: _print_demo(r, results))


def _print_demo(report: dict, results: list[RunResult]) -> None:
    from rich.markup import escape

    _print_summary(results)
    cols = [Column(_("id"), justify="right"), Column(_("title"), wrap=True), Column(_("文号"))]
    cols += [
        Column(_("issuer"), wrap=True),
        Column(_("written")),
        Column(_("published")),
        Column(_("cites"), wrap=True),
    ]
    cells = [
        [
            str(n["id"]),
            n["title"] or "",
            n["doc_no"] or "—",
            n["issuer"] or "—",
            n["written"] or "—",
            n["published"] or "—",
            ", ".join(n["cites"]) or "—",
        ]
        for n in report["notices"]
    ]
    print_table(out.get(), _("Notices stored in {database}").format(database=report["database"]), cols, cells)
    for n in report["notices"]:
        for ln in n["links"]:
            if ln["relation"] in ("derived", "revision", "repost"):
                out.print(f"[bold]{escape(n['title'])}[/]\n  → {escape(ln['explanation'])}", highlight=False)
    out.print(esc(_("digest it would send: {path}").format(path=report["digest"])), highlight=False)
    sources = _("sources file: {path} (the portal has stopped; `watcher -c … poll` needs it running)")
    out.print(esc(sources.format(path=report["sources"])), highlight=False)
    out.print(_("Next, browse the notices the demo stored:"), highlight=False)
    out.print(f"  {report['next']}", highlight=False, soft_wrap=True)
