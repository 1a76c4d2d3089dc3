"""Fixtures of the worker tests: a fresh schema in the live PostgreSQL (the workers' queue included)."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

from storage.queue import QueueRepo
from storage.repo import Store
from tests.conftest import PG_URL, _postgres_available
from tests.receivers import HookReceiver


@pytest.fixture
def pg_url():
    """A database URL whose search_path is a fresh schema: tables, procrastinate's queue and all."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI and not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = "w_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


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
