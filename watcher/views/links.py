"""Reading links back: parents and children of a notice, with their one-line explanations."""
from __future__ import annotations

import json

from sqlalchemy import or_, select

from datetime import date

from storage.models import Link, Notice, Version
from storage.repo import Store

T_LINK = Link.__table__


def links_of(store: Store, notice_id: int) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(T_LINK).where(or_(T_LINK.c.child_id == notice_id, T_LINK.c.parent_id == notice_id))
                            .order_by(T_LINK.c.id)).all()
    out = []
    for r in rows:
        out.append(dict(id=r.id, relation=r.relation, direction="parent" if r.child_id == notice_id else "child",
                        child_id=r.child_id, parent_id=r.parent_id, parent_key=r.parent_key,
                        jaccard=r.jaccard, contain_child=r.contain_child, explanation=r.explanation,
                        evidence=json.loads(r.evidence_json),
                        alignment=json.loads(r.alignment_json) if r.alignment_json else None))
    return out


T_NOTICE, T_VERSION = Notice.__table__, Version.__table__


def list_notices(store: Store, *, source: str | None = None, since: date | None = None,
                 relation: str | None = None, limit: int = 30) -> list[dict]:
    q = select(T_NOTICE).where(T_NOTICE.c.version_count > 0)
    if source:
        q = q.where(T_NOTICE.c.source_id == source)
    if since:
        q = q.where(T_NOTICE.c.published >= since)
    if relation:
        q = q.where(T_NOTICE.c.id.in_(select(T_LINK.c.child_id).where(T_LINK.c.relation == relation)))
    q = q.order_by(T_NOTICE.c.published.desc().nulls_last(), T_NOTICE.c.id.desc()).limit(limit)
    with store.engine.connect() as conn:
        return [dict(id=r.id, title=r.title, doc_no=r.doc_no, issuer=r.issuer, source_id=r.source_id, url=r.url,
                     published=str(r.published) if r.published else None, versions=r.version_count)
                for r in conn.execute(q)]


def notice_detail(store: Store, notice_id: int) -> dict:
    n = store.notice(notice_id)
    v = store.versions(notice_id)[-1] if n.version_count else None
    return dict(id=n.id, url=n.url, source_id=n.source_id, title=n.title, doc_no=n.doc_no, issuer=n.issuer,
                written=str(n.written) if n.written else None, published=str(n.published) if n.published else None,
                first_seen=n.first_seen.isoformat(timespec="seconds"), versions=n.version_count, status=n.status,
                metadata=json.loads(v.metadata_json) if v else {}, body=v.body if v else "",
                citations=json.loads(v.citations_json) if v else {},
                attachments=json.loads(v.attachments_json) if v else [])


def recent_failures(store: Store, limit: int = 10) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(T_NOTICE.c.source_id, T_NOTICE.c.url, T_NOTICE.c.last_error, T_NOTICE.c.attempts)
                            .where(T_NOTICE.c.last_error.is_not(None))
                            .order_by(T_NOTICE.c.last_checked.desc()).limit(limit)).all()
    return [dict(source_id=r.source_id, url=r.url, error=r.last_error, attempts=r.attempts) for r in rows]
