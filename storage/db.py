"""Engine creation and migrations (Alembic, applied on start)."""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

DEFAULT_URL = "sqlite:///watcher.db"
MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x706F6C6963  # "polic": an advisory-lock key of this application's own


def resolve_url(url: str | None = None) -> str:
    """Explicit URL, else WATCHER_DATABASE_URL, else watcher.db in the working directory."""
    url = url or os.environ.get("WATCHER_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # The busy timeout first: every later statement, the journal-mode switch included, then waits for a lock.
    cur.execute("PRAGMA busy_timeout=10000")
    _wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _wal(cur, deadline_s: float = 60.0) -> None:
    """WAL lets readers (CLI, notifiers) work while a poll writes; NORMAL is durable across app crashes.

    Switching a fresh file to WAL needs an exclusive lock. While another process migrates the same new file in one
    transaction, SQLite answers "database is locked" (at once, or after the busy timeout when the migration is slow;
    seen on CI: four first starts at one moment). So the switch is retried until the deadline; a file already in WAL
    never waits here.
    """
    import sqlite3
    import time

    end = time.monotonic() + deadline_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > end:
                raise
            time.sleep(0.05)


def make_engine(url: str | None = None, **kw) -> Engine:
    url = resolve_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kw)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kw)
    return engine


def in_memory(engine: Engine) -> bool:
    """Whether the database lives in this process's memory (SQLite's :memory:): no other process can open it."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and (not database or database == ":memory:")


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration, read from the files: importing Alembic costs more than a warm poll."""
    revs, downs = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        src = path.read_text(encoding="utf-8")
        rev = re.search(r'^revision\s*=\s*["\']([^"\']+)', src, re.M)
        down = re.search(r'^down_revision\s*=\s*["\']([^"\']+)', src, re.M)
        if rev:
            revs.add(rev.group(1))
        if down:
            downs.add(down.group(1))
    heads = revs - downs
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have one head, found {sorted(heads)}")
    return heads.pop()


def applied_revisions(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time per database: two first starts at once would both see an empty
    schema and both create it. PostgreSQL: a session advisory lock (database-wide, so it also covers
    `CREATE EXTENSION`); SQLite: an exclusive lock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or in_memory(engine):
        yield
        return
    with open(f"{database}.migrate-lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def migrate(engine: Engine) -> list[str]:
    """Bring the schema to head; returns the revisions applied (empty when already current). Safe to call
    from several processes at once: one migrates, the others wait and find the schema current."""
    if applied_revisions(engine) == head_revision():
        return []
    with _migration_lock(engine):
        return _upgrade(engine)


def _upgrade(engine: Engine) -> list[str]:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # One transaction for the whole upgrade: the driver would run each DDL statement on its own, and a
            # kill in the middle of a first start would leave tables made and no revision recorded.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return []
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    script = ScriptDirectory.from_config(cfg)
    return [rev.revision for rev in script.iterate_revisions(head, current)][::-1]
