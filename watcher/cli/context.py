"""What every `watcher` command shares: the invocation context (sources.yaml and the database, each
opened once), the consoles, and the --json and error conventions.

Subcommand modules import this module, never `watcher.cli` itself, so the package has no import cycle.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import click

from storage.db import resolve_url
from storage.repo import Store
from watcher.config.loader import load_config
from watcher.errors import NotFoundError, WatcherError
from watcher.i18n import set_locale

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table as RichTable

    from watcher.config.settings import Config

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TIMEZONE = "Asia/Shanghai"
# The messages of this module, in one place for the gettext catalogs to come.
NO_DATABASE = (
    "没有数据库：{path} 不存在（读取命令不会新建空库）。\n"
    "先运行 `watcher poll` 按 sources.yaml 抓取，或运行 `watcher demo` 试用；"
    "已有数据库时用 --db 指定，如 `watcher --db watcher-demo/demo.db docs list`。"
)


def database_url(db: str) -> str:
    """--db as given: a SQLAlchemy URL, or a plain path to a SQLite file (`--db watcher-demo/demo.db`)."""
    if "://" not in db:
        return "sqlite:///" + str(Path(db).expanduser())
    return resolve_url(db)


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite URL names; None for other databases and for an in-memory one."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    return Path(path) if path and path != ":memory:" else None


class _LazyConsole:
    """rich is imported only when something is printed for a person (a --json poll never needs it)."""

    def __init__(self, **kw: Any):
        self._kw = kw
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._kw)
        return self._console

    def reset(self) -> None:
        """Forget the console: the next one reads the terminal's width (COLUMNS) again."""
        self._console = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


err_console = _LazyConsole(stderr=True)
out = _LazyConsole()


def esc(value: object) -> str:
    """Text from a page, a URL, a file or an error, safe inside Rich markup: a title with `[/bold]` or
    `[link=…]` in it is printed as written, never read as markup (nor fails to parse as it)."""
    from rich.markup import escape

    return escape(str(value))


def styled(text: object, style: str) -> Any:
    """A table cell in one style whose text is shown as written (rich.text.Text: no markup read)."""
    from rich.text import Text

    return Text(str(text), style=style)


def Table(*a: Any, **kw: Any) -> RichTable:  # noqa: N802 - stands in for rich.table.Table
    """A rich Table whose string cells are data: escaped, so a cell is shown as written. A cell that
    needs a style is a `styled(...)` Text."""
    from rich.table import Table as RichTable

    class DataTable(RichTable):
        def add_row(self, *cells: Any, **kw: Any) -> None:
            super().add_row(*(esc(c) if isinstance(c, str) else c for c in cells), **kw)

    return DataTable(*a, **kw)


class Ctx:
    """One per invocation. sources.yaml is read at most once, so its warnings print once, and every
    command opens the same database: --db, else WATCHER_DATABASE_URL (click hands both over as `db`),
    else `defaults.database_url` of sources.yaml, else ./watcher.db."""

    def __init__(self, config_path: str, db: str | None, *, config_given: bool = True):
        self.config_path = config_path
        self.db = db
        self.config_given = config_given  # False: the default path, which need not exist
        self._config: Config | None = None
        self._store: Store | None = None

    def load(self) -> Config:
        """sources.yaml, parsed once; raises ConfigError when it cannot be read at all."""
        if self._config is None:
            cfg = load_config(self.config_path)
            set_locale(cfg.defaults.locale)
            for e in cfg.errors:
                err_console.print(f"[yellow]skipped:[/] {esc(e)}")
            self._config = cfg
        return self._config

    def database_url(self) -> str:
        if self.db:
            return database_url(self.db)
        if not self.config_given and not Path(self.config_path).exists():
            # Nobody named a sources.yaml and there is none here: reading commands still work.
            return resolve_url(None)
        return resolve_url(self.load().defaults.database_url)

    def _configured_locale(self) -> None:
        """The reader's language is sources.yaml's even when --db names the database (the file is read once)."""
        if self._config is None and (self.config_given or Path(self.config_path).exists()):
            try:
                self.load()
            except WatcherError:
                pass  # unreadable: the commands that need the file say so

    def store(self) -> Store:
        """The database of this invocation (made and migrated on first use), closed when the command ends."""
        self._configured_locale()
        if self._store is None:
            self._store = Store.open(self.database_url())
        return self._store

    def reader(self) -> Store:
        """The database for a command that only reads: one that does not exist is an error, not a new
        empty file (a reader in the wrong directory would otherwise show nothing, silently)."""
        if self._store is None:
            url = self.database_url()
            path = sqlite_file(url)
            if path is not None and not path.exists():
                raise NotFoundError(NO_DATABASE.format(path=path))
        return self.store()

    def existing_store(self) -> Store | None:
        """The database if there is one, for a command that can do without (`sources list`)."""
        try:
            return self.reader()
        except NotFoundError:
            return None

    def timezone(self) -> ZoneInfo:
        """Where the reader is: `defaults.timezone` of sources.yaml, else Asia/Shanghai."""
        if not self.config_given and not Path(self.config_path).exists():
            return ZoneInfo(DEFAULT_TIMEZONE)
        return ZoneInfo(self.load().defaults.timezone)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def json_option(help_or_func: str | F = "Print as JSON.") -> Any:
    """`@json_option` or `@json_option("Print the report as JSON.")`: the --json flag, as `as_json`."""
    if callable(help_or_func):
        return click.option("--json", "as_json", is_flag=True, help="Print as JSON.")(help_or_func)
    return click.option("--json", "as_json", is_flag=True, help=help_or_func)


def emit(data: Any, as_json: bool, render: Callable[[Any], object] | None = None, *, indent: int | None = 2) -> None:
    """Print `data` as JSON (Chinese kept as is, not \\u-escaped), or hand it to `render` for people."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=indent))
    elif render is not None:
        render(data)


def cli_errors(func: F) -> F:
    """A WatcherError (unreadable sources.yaml, unknown source, notice or channel, refused delivery) ends
    the command with its message and exit status 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return func(*args, **kw)
        except WatcherError as exc:
            raise click.ClickException(str(exc)) from None

    wrapper.cli_errors = True  # type: ignore[attr-defined]  # checked by the tests for every command
    return wrapper  # type: ignore[return-value]
