"""Reading links back: parents and children of a notice, with their one-line explanations."""
from __future__ import annotations

import json

from sqlalchemy import or_, select

from storage.models import Link
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
