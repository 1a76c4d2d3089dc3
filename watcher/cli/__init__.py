"""The command line: a thin layer over the same functions the scheduler calls.

The subcommand modules define their commands without naming `main`; they are attached here, so nothing
imports this package back (watcher/cli/context.py holds what they share).
"""

from __future__ import annotations

import logging

import click
from click.core import ParameterSource

from watcher import __version__
from watcher.cli.context import Ctx, err_console, out
from watcher.cli.docs import docs
from watcher.cli.eval import eval_group
from watcher.cli.notify import digest, notify
from watcher.cli.poll import demo, link, migrate, poll, run
from watcher.cli.search import search
from watcher.cli.serve import feeds, serve
from watcher.cli.sources import sources
from watcher.cli.status import status
from watcher.cli.worker import worker
from watcher.i18n import DEFAULT_LOCALE, current_locale, set_locale
from watcher.text.redact import install_redaction


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "-c", default="sources.yaml", envvar="WATCHER_CONFIG", show_default=True, help="Path of sources.yaml."
)
@click.option(
    "--db",
    envvar="WATCHER_DATABASE_URL",
    help="SQLAlchemy URL or the path of a SQLite file "
    "(default: defaults.database_url of sources.yaml, else sqlite:///watcher.db).",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(__version__, "--version", prog_name="watcher")
@click.pass_context
def main(ctx: click.Context, config: str, db: str | None, verbose: int) -> None:
    """Policy Watcher: watch government portals for new policy notices.

    \b
    Example:
      watcher demo                 # offline demo on a local portal
      watcher -c sources.yaml poll # one pass over every enabled source
      watcher run                  # the scheduler
    """
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # At -v httpx logs every request's URL, webhook tokens included: every handler masks secrets.
    install_redaction()
    if current_locale() != DEFAULT_LOCALE:  # an earlier invocation in this process (tests) set another
        set_locale(DEFAULT_LOCALE)  # until sources.yaml says otherwise
    out.reset()  # one console per invocation: its width is this terminal's (tests run many in one process)
    err_console.reset()
    given = ctx.get_parameter_source("config") not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
    ctx.obj = Ctx(config, db, config_given=given)
    ctx.call_on_close(ctx.obj.close)


for _command in (
    poll,
    run,
    link,
    migrate,
    demo,
    docs,
    search,
    status,
    sources,
    notify,
    digest,
    eval_group,
    serve,
    feeds,
    worker,
):
    main.add_command(_command)
