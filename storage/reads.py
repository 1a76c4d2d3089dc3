"""The read model: what people look at (the CLI today, a web view later), as typed records.

Every query the views need lives here, and JSON columns are decoded here, so the views only format.
Writes stay in storage/repo.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from storage.columns import errors_of
from storage.models import Link, Notice
from storage.records import AttachmentRecord, Citations, PollError
from watcher.errors import NotFoundError

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.text.diff import DiffOp

T_LINK = Link.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass, unknown to mypy
T_NOTICE = Notice.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NoticeSummary:
    """One line of a notice list, or the notice a person named."""

    id: int
    title: str | None
    doc_no: str | None
    issuer: str | None
    source_id: str
    url: str
    published: date | None
    versions: int


@dataclass(frozen=True)
class NoticeDetail:
    """A notice with the content of its newest version (empty when none is stored yet)."""

    id: int
    url: str
    source_id: str
    title: str | None
    doc_no: str | None
    issuer: str | None
    written: date | None
    published: date | None
    first_seen: datetime
    versions: int
    status: str
    metadata: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # field -> where it came from; {} for old versions
    body: str = ""
    citations: Citations | None = None  # None: no version stored yet
    attachments: list[AttachmentRecord] = field(default_factory=list)


@dataclass(frozen=True)
class LinkRecord:
    """A stored link; parent_id is None while the cited parent is not stored (parent_key names it then)."""

    id: int
    relation: str
    child_id: int
    parent_id: int | None
    parent_key: str
    jaccard: float | None
    contain_child: float | None
    explanation: str
    evidence: dict
    alignment: dict | None


@dataclass(frozen=True)
class NoticeFailure:
    """A notice whose last fetch or extraction failed."""

    source_id: str
    url: str
    error: str
    attempts: int


@dataclass(frozen=True)
class SourceActivity:
    """What the database knows of one source: its last crawl run and how many notices it gave."""

    source_id: str
    notices: int = 0
    last_status: str | None = None
    last_poll: datetime | None = None
    last_errors: list[PollError] = field(default_factory=list)
    failing: int = 0  # notices never stored whose detail page keeps failing


def summary_of(r: Any) -> NoticeSummary:
    """A notices row (with version_count) as the summary the lists show."""
    return NoticeSummary(
        id=r.id,
        title=r.title,
        doc_no=r.doc_no,
        issuer=r.issuer,
        source_id=r.source_id,
        url=r.url,
        published=r.published,
        versions=r.version_count,
    )


def find_notice(store: Store, ref: str) -> NoticeSummary:
    """The notice a person named by its id or its URL."""
    column = T_NOTICE.c.id if ref.isdigit() else T_NOTICE.c.url
    with store.engine.connect() as conn:
        row = conn.execute(select(T_NOTICE).where(column == (int(ref) if ref.isdigit() else ref))).first()
    if row is None:
        raise NotFoundError(f"no notice {ref!r} (give an id or a URL)")
    return summary_of(row)


def list_notices(
    store: Store, *, source: str | None = None, since: date | None = None, relation: str | None = None, limit: int = 30
) -> list[NoticeSummary]:
    """Notices with at least one version, newest published first; `relation` keeps the notices that have
    a link of that kind to a parent."""
    q = select(T_NOTICE).where(T_NOTICE.c.version_count > 0)
    if source:
        q = q.where(T_NOTICE.c.source_id == source)
    if since:
        q = q.where(T_NOTICE.c.published >= since)
    if relation:
        q = q.where(T_NOTICE.c.id.in_(select(T_LINK.c.child_id).where(T_LINK.c.relation == relation)))
    q = q.order_by(T_NOTICE.c.published.desc().nulls_last(), T_NOTICE.c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [summary_of(r) for r in conn.execute(q)]


def notice_detail(store: Store, notice_id: int) -> NoticeDetail:
    n = store.notice(notice_id)
    if n is None:
        raise NotFoundError(f"no notice {notice_id}")
    v = store.latest_snapshot(notice_id) if n.version_count else None
    return NoticeDetail(
        id=notice_id,
        url=n.url,
        source_id=n.source_id,
        title=n.title,
        doc_no=n.doc_no,
        issuer=n.issuer,
        written=n.written,
        published=n.published,
        first_seen=n.first_seen,
        versions=n.version_count,
        status=n.status,
        metadata=v.metadata if v else {},
        provenance=v.provenance if v else {},
        body=v.body if v else "",
        citations=v.citations if v else None,
        attachments=v.attachments if v else [],
    )


def links_of(store: Store, notice_id: int) -> list[LinkRecord]:
    """Links where the notice is the child or the parent, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(T_LINK)
            .where(or_(T_LINK.c.child_id == notice_id, T_LINK.c.parent_id == notice_id))
            .order_by(T_LINK.c.id)
        ).all()
    return [
        LinkRecord(
            id=r.id,
            relation=r.relation,
            child_id=r.child_id,
            parent_id=r.parent_id,
            parent_key=r.parent_key,
            jaccard=r.jaccard,
            contain_child=r.contain_child,
            explanation=r.explanation,
            evidence=json.loads(r.evidence_json),
            alignment=json.loads(r.alignment_json) if r.alignment_json else None,
        )
        for r in rows
    ]


def version_diff(store: Store, notice_id: int, old_seq: int | None = None, new_seq: int | None = None) -> list[DiffOp]:
    """store.diff, with a missing version reported as NotFoundError (store.diff raises KeyError, whose
    str() would come quoted)."""
    try:
        return store.diff(notice_id, old_seq, new_seq)
    except KeyError as exc:
        raise NotFoundError(str(exc.args[0])) from None


def recent_failures(store: Store, limit: int = 10) -> list[NoticeFailure]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(T_NOTICE.c.source_id, T_NOTICE.c.url, T_NOTICE.c.last_error, T_NOTICE.c.attempts)
            .where(T_NOTICE.c.last_error.is_not(None))
            .order_by(T_NOTICE.c.last_checked.desc())
            .limit(limit)
        ).all()
    return [NoticeFailure(source_id=r.source_id, url=r.url, error=r.last_error, attempts=r.attempts) for r in rows]


def source_activity(store: Store) -> dict[str, SourceActivity]:
    """Per source id seen in the database: notices stored and the last crawl run."""
    runs = store.last_runs()
    with store.engine.connect() as conn:
        q = select(T_NOTICE.c.source_id, func.count()).group_by(T_NOTICE.c.source_id)
        counts: dict[str, int] = {sid: n for sid, n in conn.execute(q)}
    failing = store.failing(list(counts))
    out = {sid: SourceActivity(source_id=sid, notices=n, failing=failing.get(sid, 0)) for sid, n in counts.items()}
    for sid, run in runs.items():
        out[sid] = SourceActivity(
            source_id=sid,
            notices=counts.get(sid, 0),
            last_status=run.status,
            last_poll=run.finished_at,
            last_errors=errors_of(run.errors_json),
            failing=failing.get(sid, 0),
        )
    return out
