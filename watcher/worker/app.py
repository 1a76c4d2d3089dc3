"""The procrastinate App over the watcher's PostgreSQL database.

procrastinate's schema is applied by our code at the first worker start (`install`: procrastinate's own
schema.sql, what `procrastinate schema --apply` runs, under a PostgreSQL advisory lock of its own so that
workers starting together apply it once), not by the Alembic migrations: SQLite installs never have it.
Upgrading procrastinate to a version with schema migrations means applying its migration files, as its
documentation says, before starting the new workers.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from procrastinate import App, PsycopgConnector
from procrastinate.schema import SchemaManager

from storage.queue import QueueRepo
from storage.repo import Store
from watcher.errors import ConfigError
from watcher.i18n import _
from watcher.worker.tasks import blueprint


def conninfo(db_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://…` → `postgresql://…`), its
    query (e.g. `options=-csearch_path=…`) kept."""
    parts = urlsplit(db_url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            _("workers need PostgreSQL, not {scheme}: set --db or WATCHER_DATABASE_URL").format(scheme=scheme)
        )
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def make_app(db_url: str, *, pool_size: int = 4) -> App:
    """An App whose tasks are the watcher's jobs (watcher/worker/tasks.py). Open it with `open_async`."""
    connector = PsycopgConnector(conninfo=conninfo(db_url), min_size=1, max_size=pool_size)
    app = App(connector=connector)
    app.add_tasks_from(blueprint, namespace="watcher")
    return app


def install(store: Store) -> bool:
    """procrastinate's schema and the queue tables, once per database; True when applied now."""
    return QueueRepo(store.engine).install(SchemaManager.get_schema())
