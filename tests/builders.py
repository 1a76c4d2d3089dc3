"""Builders shared by the test modules: the fixtures folder and a stored snapshot of a notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import text

from storage.records import Snapshot
from watcher.text.normalise import content_hash, normalise

FIXTURES = Path(__file__).parent / "fixtures"


def make_snapshot(url: str, body: str, title: str = "关于X的通知") -> Snapshot:
    """A detail page as the pipeline would store it, with a 文号, an issuer and a date."""
    norm = normalise(body)
    return Snapshot(
        url=url,
        title=title,
        body=body,
        norm_text=norm,
        content_hash=content_hash(title + norm),
        doc_no="测发〔2024〕1号",
        issuer="测试局",
        published=date(2024, 1, 2),
    )


def insert_notices(conn, rows: list[dict]) -> None:
    """Notices written as an older schema holds them (a migration's input): each row's columns (title,
    title_key, doc_no …) besides the ones every notice needs, url http://x/<i> unless given."""
    for i, row in enumerate(rows):
        values = {"source_id": "s", "url": f"http://x/{i}", "status": "ok", "attempts": 0, "version_count": 1, **row}
        cols = ", ".join([*values, "first_seen", "last_seen"])
        params = ", ".join([*(f":{c}" for c in values), "CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP"])
        conn.execute(text(f"INSERT INTO notices ({cols}) VALUES ({params})"), values)
