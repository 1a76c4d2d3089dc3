"""Notices and their links for people: the records of storage/reads.py as JSON-able rows (the shape
`watcher docs … --json` prints)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING

from storage import reads
from watcher.link.explain import LinkFacts, links_read, render

if TYPE_CHECKING:
    from storage.repo import Store


def _day(d: date | None) -> str | None:
    return str(d) if d else None


def link_row(rec: reads.LinkRecord, notice_id: int, facts: LinkFacts | None = None) -> dict:
    """A link seen from `notice_id`: direction "parent" when the link points to the notice's parent. `explanation`
    is its line in the current locale, rendered from the link's structure (`facts`; the line stored at link time
    without them)."""
    return dict(
        id=rec.id,
        relation=rec.relation,
        direction="parent" if rec.child_id == notice_id else "child",
        child_id=rec.child_id,
        parent_id=rec.parent_id,
        parent_key=rec.parent_key,
        jaccard=rec.jaccard,
        contain_child=rec.contain_child,
        explanation=render(facts) if facts else rec.explanation,
        evidence=rec.evidence,
        alignment=rec.alignment,
    )


def links_of(store: Store, notice_id: int) -> list[dict]:
    return [link_row(r, notice_id, facts) for r, facts in links_read(store, notice_id)]


def list_notices(
    store: Store, *, source: str | None = None, since: date | None = None, relation: str | None = None, limit: int = 30
) -> list[dict]:
    return [
        dict(
            id=n.id,
            title=n.title,
            doc_no=n.doc_no,
            issuer=n.issuer,
            source_id=n.source_id,
            url=n.url,
            published=_day(n.published),
            versions=n.versions,
        )
        for n in reads.list_notices(store, source=source, since=since, relation=relation, limit=limit)
    ]


def notice_detail(store: Store, notice_id: int) -> dict:
    return notice_row(reads.notice_detail(store, notice_id))


def notice_row(d: reads.NoticeDetail) -> dict:
    """A notice with its newest content, as `docs show --json` prints it (the stored JSON shapes)."""
    return dict(
        id=d.id,
        url=d.url,
        source_id=d.source_id,
        title=d.title,
        doc_no=d.doc_no,
        issuer=d.issuer,
        written=_day(d.written),
        published=_day(d.published),
        first_seen=d.first_seen.isoformat(timespec="seconds"),
        versions=d.versions,
        status=d.status,
        metadata=d.metadata,
        provenance=d.provenance,
        body=d.body,
        citations=asdict(d.citations) if d.citations else {},
        attachments=[a.as_dict() for a in d.attachments],
    )
