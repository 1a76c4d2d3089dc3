"""The command line: a thin layer over the same functions the scheduler calls.

The subcommand modules define their commands without naming `main`; they are attached here, so nothing
imports this package back (watcher/cli/context.py holds what they share).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

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
from watcher.i18n import DEFAULT_LOCALE, LOCALES, _, current_locale, set_locale, use_locale
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
    if current_locale() != env_locale():  # an earlier invocation in this process (tests) set another
        set_locale(env_locale())  # until sources.yaml says otherwise
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


def env_locale() -> str:
    """The language of what is shown before sources.yaml is read (--help): WATCHER_LOCALE, else Chinese."""
    value = os.environ.get("WATCHER_LOCALE") or DEFAULT_LOCALE
    if value not in LOCALES:
        raise click.ClickException(
            _("WATCHER_LOCALE={value!r} is not a known locale (known: {known})").format(
                value=value, known=", ".join(LOCALES)
            )
        )
    return value


def _translated(text: str | None) -> str | None:
    """A help text in the current locale; its message id is the English text as cleaned by click."""
    return _(inspect.cleandoc(text)) if text else text


def _first_sentence(text: str) -> str:
    """The listing's one line for a translated help: click's own cut knows only "." and spaces between words."""
    joined = ""
    for line in text.split("\n\n")[0].splitlines():  # Chinese lines join without a space
        joined += " " + line if joined[-1:].isascii() else line
    return joined.split("。")[0] + "。" if "。" in joined else joined.strip()


@contextmanager
def _help_in_locale(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """Translate the help of a command, its options and its subcommands for the time it is formatted: click
    evaluates docstrings and `help=` at import, before any locale is known, so the English stays the message id."""
    texts: list[tuple[object, str, str | None]] = [(command, "help", command.help)]
    texts += [(param, "help", getattr(param, "help", None)) for param in command.get_params(ctx)]
    subs = list(command.commands.values()) if isinstance(command, click.Group) else []
    texts += [(sub, "short_help", sub.short_help) for sub in subs]
    try:
        for owner, attr, text in texts:
            setattr(owner, attr, _translated(text))
        for sub in subs:
            if sub.short_help is None and sub.help and _translated(sub.help) != inspect.cleandoc(sub.help):
                sub.short_help = _first_sentence(_translated(sub.help) or "")
        yield
    finally:
        for owner, attr, text in reversed(texts):
            setattr(owner, attr, text)


class HelpFormatter(click.HelpFormatter):
    """Click's headings ("Usage", "Options", "Commands") in the current locale."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_(heading + ':')}\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        """Click's own marks after an option's help ("[default: …]", "[required]") in the current locale."""
        marks = [(mark, _(mark)) for mark in ("[default: ", "[required]")]
        for english, local in marks:
            rows = [(term, text.replace(english, local)) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


class LocalizedContext(click.Context):
    """Help shown in the locale of WATCHER_LOCALE (zh_CN by default), read when the help is shown."""

    formatter_class = HelpFormatter

    def get_help(self) -> str:
        with use_locale(env_locale()), _help_in_locale(self.command, self):
            return super().get_help()


def walk(command: click.Command) -> Iterator[click.Command]:
    """A command and every command under it."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from walk(sub)


for _cmd in walk(main):  # every command registered above shows its help in the reader's language (test_cli_help checks)
    _cmd.context_class = LocalizedContext
