"""Builders shared by the test modules: the fixtures folder and a stored snapshot of a notice."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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
