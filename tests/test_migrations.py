"""Migrations under concurrency: several processes starting on one fresh database at the same moment."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.db import applied_revisions, head_revision, make_engine

STARTER = """
import sys, time
from pathlib import Path
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
from storage.repo import Store
Store.open(sys.argv[1]).close()
print("ok")
"""


def _start_together(url: str, tmp_path: Path, n: int = 4) -> list[subprocess.CompletedProcess]:
    """n processes that open (and so migrate) the same database once a start file appears."""
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", STARTER, url, str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(n)
    ]
    time.sleep(1.5)  # every interpreter has started and is waiting on the file
    go.touch()
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=120), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
        for p in procs
    ]


def test_first_start_of_several_processes_at_once_migrates_once(db_url, tmp_path):
    results = _start_together(db_url, tmp_path)
    failures = [r.stderr[-600:] for r in results if r.returncode != 0]
    assert failures == []
    assert all(r.stdout.strip() == "ok" for r in results)
    assert applied_revisions(make_engine(db_url)) == head_revision()


def test_the_trigram_extension_is_made_in_public_not_in_the_migrated_schema(db_url):
    """In a database that has no pg_trgm yet, migrating an application schema creates it in public: an extension made
    in that schema would vanish, with every other schema's trigram indexes, when the schema is dropped."""
    if not db_url.startswith("postgresql"):
        return  # SQLite keeps its FTS5 table inside each database file: nothing is shared
    from storage.repo import Store

    base = db_url.split("?")[0].rsplit("/", 1)[0]
    name = "w_" + uuid.uuid4().hex[:10]
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        fresh = create_engine(f"{base}/{name}", isolation_level="AUTOCOMMIT")
        with fresh.connect() as conn:
            conn.execute(text("CREATE SCHEMA app"))
        Store.open(f"{base}/{name}?options=-csearch_path%3Dapp").close()
        with fresh.connect() as conn:
            where = conn.execute(
                text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'"
                )
            ).scalar()
        fresh.dispose()
        assert where == "public"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
