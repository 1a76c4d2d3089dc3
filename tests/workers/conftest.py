"""Fixtures of the worker tests: a fresh schema in the live PostgreSQL (the workers' queue included)."""

from __future__ import annotations

import pytest

from storage.queue import QueueRepo
from storage.repo import Store
from tests.conftest import fresh_pg_schema
from tests.receivers import HookReceiver


@pytest.fixture
def pg_url():
    """A database URL whose search_path is a fresh schema: tables, procrastinate's queue and all."""
    with fresh_pg_schema("w_") as (url, _):
        yield url


@pytest.fixture
def pg_store(pg_url):
    store = Store.open(pg_url)
    yield store
    store.close()


@pytest.fixture
def queue(pg_store) -> QueueRepo:
    return QueueRepo(pg_store.engine)


@pytest.fixture
def hooks():
    recv = HookReceiver()
    yield recv
    recv.close()
