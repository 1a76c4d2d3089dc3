"""The command line: a thin layer over the same functions the scheduler calls."""
from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

import click

from storage.db import migrate as run_migrations, resolve_url
from storage.repo import Store

from watcher.config.loader import load_config
from watcher.errors import ConfigError, WatcherError
from watcher.pipeline.poll import RunResult, poll_sources



class _LazyConsole:
    """rich is imported only when something is printed for a person (a --json poll never needs it)."""

    def __init__(self, **kw):
        self._kw = kw
        self._console = None

    def get(self):
        if self._console is None:
            from rich.console import Console
            self._console = Console(**self._kw)
        return self._console

    def __getattr__(self, name):
        return getattr(self.get(), name)


err_console = _LazyConsole(stderr=True)
out = _LazyConsole()


def Table(*a, **kw):  # noqa: N802 - stands in for rich.table.Table
    from rich.table import Table as RichTable
    return RichTable(*a, **kw)


class Ctx:
    def __init__(self, config: str, db: str | None):
        self.config_path = config
        self.db = db

    def load(self):
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        for e in cfg.errors:
            err_console.print(f"[yellow]skipped:[/] {e}")
        return cfg

    def store(self, cfg=None) -> Store:
        url = self.db or (cfg.defaults.database_url if cfg else None)
        return Store.open(resolve_url(url))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", default="sources.yaml", envvar="WATCHER_CONFIG", show_default=True,
              help="Path of sources.yaml.")
@click.option("--db", envvar="WATCHER_DATABASE_URL", help="SQLAlchemy URL (default sqlite:///watcher.db).")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, config: str, db: str | None, verbose: int) -> None:
    """Policy Watcher: watch government portals for new policy notices.

    \b
    Example:
      watcher demo                 # offline demo on a local portal
      watcher -c sources.yaml poll # one pass over every enabled source
      watcher run                  # the scheduler
    """
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Ctx(config, db)


def _summary(results: list[RunResult], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
        return
    table = Table(title="Poll summary")
    for col in ("source", "status", "new", "changed", "unchanged", "failed", "pages", "304/same", "seconds"):
        table.add_column(col, justify="right" if col not in ("source", "status") else "left")
    for r in results:
        colour = {"ok": "green", "partial": "yellow"}.get(r.status, "red")
        table.add_row(r.source_id, f"[{colour}]{r.status}[/]", str(r.counts.new), str(r.counts.changed),
                      str(r.counts.unchanged), str(r.counts.failed), str(r.pages), str(r.not_modified),
                      f"{r.duration:.1f}")
    out.print(table)
    for r in results:
        for e in r.errors[:5]:
            err_console.print(f"[red]{r.source_id}[/] {e.get('url') or ''}: {e['message']}")
        if len(r.errors) > 5:
            err_console.print(f"[red]{r.source_id}[/] … and {len(r.errors) - 5} more errors")


def run_poll(store: Store, sources, concurrency: int, show_progress: bool, linker=None) -> list[RunResult]:
    if not show_progress:
        return asyncio.run(poll_sources(sources, store, concurrency=concurrency, linker=linker))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console.get(), transient=True) as progress:
        tasks = {s.id: progress.add_task(s.id, total=None) for s in sources}

        def on_event(source_id: str, event: str, **info) -> None:
            t = tasks[source_id]
            if event == "details":
                progress.update(t, total=info["total"], completed=0)
            elif event == "detail":
                progress.advance(t)
            elif event == "done":
                progress.update(t, description=f"{source_id} {info['result'].status}")
        return asyncio.run(poll_sources(sources, store, concurrency=concurrency, progress=on_event, linker=linker))


@main.command()
@click.argument("source_ids", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-link", is_flag=True, help="Store only; link new notices on a later run.")
@click.pass_obj
def poll(obj: Ctx, source_ids: tuple[str, ...], as_json: bool, no_link: bool) -> None:
    """Poll sources once now (all enabled ones, or the SOURCE_IDS given).

    Exit status is 1 when any source failed or had failing pages.

    \b
    Example:
      watcher poll gov-cn-zxzc jiangsu-zcwj --json
    """
    cfg = obj.load()
    try:
        sources = [cfg.get(i) for i in source_ids] if source_ids else cfg.enabled
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = obj.store(cfg)
    from watcher.link.stage import make_linker
    if cfg.channels:
        from notifiers.dispatch import register_channels
        register_channels(store, cfg.channels)
    results = run_poll(store, sources, cfg.defaults.concurrency, show_progress=not as_json and sys.stderr.isatty(),
                       linker=None if no_link else make_linker(cfg, store))
    if cfg.channels:   # also retries what failed last time
        from notifiers.dispatch import send_alerts
        for rep in send_alerts(store, cfg):
            for e in rep.errors:
                err_console.print(f"[red]{rep.channel}[/]: {e}")
    _summary(results, as_json)
    if any(r.status != "ok" for r in results):
        sys.exit(1)


@main.command()
@click.pass_obj
def run(obj: Ctx) -> None:
    """Run the scheduler: each enabled source on its schedule until SIGTERM or Ctrl-C.

    sources.yaml is reloaded when it changes or on SIGHUP.

    \b
    Example:
      WATCHER_DATABASE_URL=postgresql://localhost/watcher watcher -v run
    """
    from watcher.scheduler.service import Service
    cfg = obj.load()
    store = obj.store(cfg)
    service = Service(obj.config_path, store)
    logging.getLogger("watcher").setLevel(min(logging.getLogger().level, logging.INFO))
    err_console.print(f"watching {len(cfg.enabled)} sources; Ctrl-C to stop")
    try:
        asyncio.run(service.run())
    except WatcherError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.pass_obj
def migrate(obj: Ctx) -> None:
    """Apply database migrations (also done automatically by every command).

    \b
    Example:
      watcher --db postgresql://127.0.0.1/test migrate
    """
    from storage.db import applied_revisions, make_engine
    engine = make_engine(resolve_url(obj.db))
    applied = run_migrations(engine)
    click.echo(f"applied: {', '.join(applied) or 'nothing (up to date)'}; at {applied_revisions(engine)}")


@main.command()
@click.option("--dir", "workdir", default="watcher-demo", show_default=True, type=click.Path(file_okay=False),
              help="Where the demo writes its sources.yaml and SQLite file.")
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
def demo(workdir: str, as_json: bool) -> None:
    """Serve a demo portal built from the seed documents on 127.0.0.1, poll it into a fresh
    SQLite file and show what was found. Needs no network.

    \b
    Example:
      watcher demo --dir /tmp/watcher-demo
    """
    from watcher.demo.run import run_demo
    report, results = run_demo(Path(workdir))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _summary(results, False)
    table = Table(title=f"Notices stored in {report['database']}")
    table.add_column("id", no_wrap=True)
    table.add_column("title", max_width=36, overflow="ellipsis", no_wrap=True)
    for col in ("文号", "issuer", "成文", "发布"):
        table.add_column(col, no_wrap=True)
    table.add_column("cites", overflow="fold")
    for n in report["notices"]:
        table.add_row(str(n["id"]), n["title"], n["doc_no"] or "—", n["issuer"] or "—", n["written"] or "—",
                      n["published"] or "—", ", ".join(n["cites"]) or "—")
    out.print(table)
    for n in report["notices"]:
        for ln in n["links"]:
            if ln["relation"] in ("derived", "revision", "repost"):
                out.print(f"[bold]{n['title']}[/]\n  → {ln['explanation']}", highlight=False)
    out.print(f"digest it would send: {report['digest']}")
    out.print(f"sources file: {report['sources']}  (the portal has stopped; `watcher -c … poll` needs it running)")



from watcher.cli import docs as _docs, notify as _notify, sources as _sources  # noqa: E402,F401  (register `watcher docs`, `sources`, …)
