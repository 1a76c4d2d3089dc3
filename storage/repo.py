"""The Store: one object over the database, composed of one class per aggregate.

  notices.py  list items, due notices, outcomes (batch.py plans and writes them), versions, events
  pages.py    HTTP validators, attachment texts, robots.txt
  runs.py     sources and crawl runs
  search.py   full-text search
  links.py    signatures, citations and links for the linking stage

Each batch of writes is one transaction. Writes go through SQLAlchemy Core in batches because a
cold ingest stores thousands of documents a minute; reads for the CLI use the SQLModel classes.
The records that cross this boundary are in storage/records.py.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from storage.db import make_engine, migrate
from storage.links import LinkRepo
from storage.notices import NoticeRepo
from storage.pages import PageRepo
from storage.runs import RunRepo
from storage.search import SearchRepo


class Store(NoticeRepo, PageRepo, RunRepo, SearchRepo, LinkRepo):
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, run_migrations: bool = True) -> Store:
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
