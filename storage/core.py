"""What the aggregate modules of storage share: the Core tables, chunked IN lists, the engine holder.

The batched writes go through SQLAlchemy Core (a cold ingest stores thousands of documents a
minute), so the modules work with the tables behind the SQLModel classes. These aliases are for
storage only: nothing above it builds a query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Table
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


def chunks(seq: Sequence[T], n: int = 500) -> Iterator[Sequence[T]]:
    """Slices of at most n: an IN list stays under SQLite's bound-parameter limit."""
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


class Repo:
    """The engine every aggregate works through; `Store` (storage/repo.py) composes the aggregates."""

    engine: Engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)
