"""What the aggregate modules of storage share: the Core tables, chunked IN lists, the engine holder.

The batched writes go through SQLAlchemy Core (a cold ingest stores thousands of documents a
minute), so the modules work with the tables behind the SQLModel classes. These aliases are for
storage only: nothing above it builds a query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session

from storage.models import (
    AttachmentText,
    Citation,
    CrawlRun,
    Event,
    Link,
    Notice,
    Page,
    RobotsRow,
    SignatureRow,
    SourceRow,
    Version,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def table_of(model: type) -> Table:
    """The Core table behind a SQLModel class."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


T_NOTICE = table_of(Notice)
T_VERSION = table_of(Version)
T_PAGE = table_of(Page)
T_EVENT = table_of(Event)
T_RUN = table_of(CrawlRun)
T_SOURCE = table_of(SourceRow)
T_ROBOTS = table_of(RobotsRow)
T_ATT = table_of(AttachmentText)
T_SIG = table_of(SignatureRow)
T_CIT = table_of(Citation)
T_LINK = table_of(Link)

T = TypeVar("T")


def insert_new(
    conn: Connection, table: Table, rows: list[dict], key: Sequence[str], update: Sequence[str] = ()
) -> None:
    """INSERT that tolerates a row another process inserted first (two polls, two schedulers, two first starts):
    the row with that key is left as it is, or has the `update` columns overwritten. One statement, no
    IntegrityError to catch and no transaction to roll back."""
    if not rows:
        return
    dialect = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = dialect(table)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={c: stmt.excluded[c] for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    conn.execute(stmt, rows)


def chunks(seq: Sequence[T], n: int = 500) -> Iterator[Sequence[T]]:
    """Slices of at most n: an IN list stays under SQLite's bound-parameter limit."""
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class Repo:
    """The engine every aggregate works through; `Store` (storage/repo.py) composes the aggregates."""

    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)
