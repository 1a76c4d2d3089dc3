"""Shared fixtures: a real portal server on loopback and fresh databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from storage.repo import Store
from watcher.demo.server import PortalServer

PG_URL = os.environ.get("WATCHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def portal():
    with PortalServer() as srv:
        srv.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
        yield srv


def _postgres_available() -> bool:
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:  # noqa: BLE001
        return False


@contextlib.contextmanager
def fresh_pg_schema(prefix: str = "t_") -> Iterator[tuple[str, str]]:
    """(URL, schema): a fresh schema in the live PostgreSQL as the URL's search_path, dropped afterwards. Skipped
    when the server is away, failed on CI."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required on CI and not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}", schema
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """A database URL with an empty schema: a SQLite file, or a fresh schema in the live PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'watcher.db'}"
        return
    with fresh_pg_schema() as (url, schema):
        request.node.pg_schema = schema
        yield url


@pytest.fixture
def fresh_db(db_url) -> Store:
    """A migrated, empty Store."""
    store = Store.open(db_url)
    yield store
    store.close()


@pytest.fixture
def sqlite_store(tmp_path) -> Store:
    store = Store.open(f"sqlite:///{tmp_path / 'w.db'}")
    yield store
    store.close()
