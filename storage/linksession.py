"""The statements of linking one version, on its transaction (`store.link_session()`).

Every lookup is by an indexed key (title key, 文号, notice id, citation key), so linking one document
reads what concerns it and never scans what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from storage.core import T_CIT, T_EVENT, T_LINK, T_NOTICE, T_SIG, table_of
from storage.models import TitleAlias, utcnow
from storage.records import CitationRow, LinkRow, Member, Waiting

T_ALIAS = table_of(TitleAlias)
_CITATION_COLS = ("notice_id", "kind", "key", "raw", "in_purpose", "resolved_id", "basis")
_WHEN = func.coalesce(T_NOTICE.c.link_date, T_NOTICE.c.written, T_NOTICE.c.published)


def link_row(r) -> LinkRow:
    return LinkRow(
        r.child_id,
        r.parent_id,
        r.parent_key,
        r.relation,
        r.jaccard,
        r.contain_child,
        r.contain_parent,
        json.loads(r.evidence_json or "{}"),
        json.loads(r.alignment_json) if r.alignment_json else None,
        r.explanation,
    )


def link_payload(link: LinkRow) -> dict:
    """A link as an outbox event carries it."""
    return dict(
        child_id=link.child_id,
        relation=link.relation,
        parent_id=link.parent_id,
        parent_key=link.parent_key,
        explanation=link.explanation,
    )


class LinkSession:
    def __init__(self, conn: Connection):
        self.conn = conn

    def add_signature(self, version_id: int, notice_id: int, params: str, size: int, hashvalues: bytes) -> None:
        self.conn.execute(
            insert(T_SIG).values(
                version_id=version_id,
                notice_id=notice_id,
                params=params,
                size=size,
                hashvalues=hashvalues,
                created_at=utcnow(),
            )
        )

    # ---- the notice as the linker dates and clusters it ---------------------------------------------
    def set_link_facts(self, notice_id: int, when: date | None, repost_of: int | None = None) -> None:
        """The date the linker dates the notice by, and its repost cluster (None: canonical)."""
        self.conn.execute(
            update(T_NOTICE).where(T_NOTICE.c.id == notice_id).values(link_date=when, repost_of=repost_of)
        )

    def repoint_cluster(self, old: int, new: int) -> None:
        """An earlier copy arrived late: the cluster of `old` (and `old` itself) become reposts of `new`,
        and `old`, a copy now, keeps no link of its own (the canonical copy carries them)."""
        self.conn.execute(delete(T_LINK).where(T_LINK.c.child_id == old, T_LINK.c.relation != "repost"))
        self.conn.execute(update(T_NOTICE).where(T_NOTICE.c.repost_of == old).values(repost_of=new))
        self.conn.execute(
            update(T_LINK)
            .where(T_LINK.c.parent_id == old, T_LINK.c.relation == "repost")
            .values(parent_id=new, parent_key=f"n:{new}")
        )
        self.conn.execute(update(T_NOTICE).where(T_NOTICE.c.id == old).values(repost_of=new))

    def set_aliases(self, notice_id: int, keys: Iterable[str]) -> None:
        """Former titles of the notice's instrument (its amendment history)."""
        self.conn.execute(delete(T_ALIAS).where(T_ALIAS.c.notice_id == notice_id))
        rows = [dict(notice_id=notice_id, key=k[:200]) for k in sorted(set(keys))]
        if rows:
            self.conn.execute(insert(T_ALIAS), rows)

    # ---- citations --------------------------------------------------------------------------------
    def clear_citations(self, notice_id: int) -> None:
        self.conn.execute(delete(T_CIT).where(T_CIT.c.notice_id == notice_id))

    def add_citations(self, rows: Sequence[CitationRow]) -> None:
        if rows:
            self.conn.execute(insert(T_CIT), [{k: getattr(r, k) for k in _CITATION_COLS} for r in rows])

    def waiting(self, title_keys: Sequence[str], doc_no: str | None, exclude: int) -> list[Waiting]:
        """Citations by other notices of these title keys (what they implement or cite as legal basis)
        or of this 文号 (any), each with the citing notice's date. Reposts are left out: a repost links
        to its cluster's canonical copy only."""
        conds = []
        if title_keys:
            conds.append(
                and_(
                    T_CIT.c.kind.in_(("title", "bare")),
                    T_CIT.c.key.in_(list(title_keys)),
                    or_(T_CIT.c.in_purpose.is_(True), T_CIT.c.basis.is_(True)),
                )
            )
        if doc_no:
            conds.append(and_(T_CIT.c.kind == "docno", T_CIT.c.key == doc_no))
        if not conds:
            return []
        q = (
            select(T_CIT, _WHEN.label("child_when"), T_NOTICE.c.repost_of)
            .join(T_NOTICE, T_NOTICE.c.id == T_CIT.c.notice_id)
            .where(or_(*conds), T_CIT.c.notice_id != exclude)
            .order_by(T_CIT.c.notice_id, T_CIT.c.id)
        )
        # repost_of is filtered here, not in SQL: `repost_of IS NULL` holds for nearly every notice, and
        # SQLite would scan its index instead of looking the keys up.
        return [
            Waiting(r.notice_id, r.child_when, CitationRow(*(getattr(r, k) for k in _CITATION_COLS)))
            for r in self.conn.execute(q)
            if r.repost_of is None
        ]

    # ---- instruments ------------------------------------------------------------------------------
    def chain(self, keys: Sequence[str], exclude: int | None = None) -> list[Member]:
        """The stored notices that are versions of an instrument named by these keys (title key or a
        former title), one per repost cluster."""
        if not keys:
            return []
        aliased = select(T_ALIAS.c.notice_id).where(T_ALIAS.c.key.in_(list(keys)))
        return self._members(or_(T_NOTICE.c.title_key.in_(list(keys)), T_NOTICE.c.id.in_(aliased)), exclude)

    def by_docno(self, doc_no: str, exclude: int | None = None) -> list[Member]:
        """The stored notices carrying this 文号, one per repost cluster."""
        return self._members(T_NOTICE.c.doc_no == doc_no, exclude)

    def _members(self, cond, exclude: int | None) -> list[Member]:
        q = select(
            T_NOTICE.c.id,
            T_NOTICE.c.title_key,
            T_NOTICE.c.issuer,
            T_NOTICE.c.doc_no,
            _WHEN.label("w"),
            T_NOTICE.c.repost_of,
        ).where(cond, T_NOTICE.c.version_count > 0)
        rows = self.conn.execute(q.order_by(T_NOTICE.c.id))  # reposts filtered here: see waiting()
        return [
            Member(r.id, r.title_key, r.issuer, r.doc_no, r.w) for r in rows if r.repost_of is None and r.id != exclude
        ]

    # ---- links ----------------------------------------------------------------------------------
    def links_of(self, child_id: int, relations: Sequence[str]) -> list[LinkRow]:
        q = select(T_LINK).where(T_LINK.c.child_id == child_id, T_LINK.c.relation.in_(list(relations)))
        return [link_row(r) for r in self.conn.execute(q.order_by(T_LINK.c.id))]

    def link_exists(self, child_id: int, parent_key: str, relation: str) -> bool:
        return (
            self.conn.execute(
                select(T_LINK.c.id).where(
                    T_LINK.c.child_id == child_id, T_LINK.c.parent_key == parent_key, T_LINK.c.relation == relation
                )
            ).first()
            is not None
        )

    def delete_link(self, child_id: int, parent_key: str, relation: str) -> None:
        self.conn.execute(
            delete(T_LINK).where(
                T_LINK.c.child_id == child_id, T_LINK.c.parent_key == parent_key, T_LINK.c.relation == relation
            )
        )

    def add_link(self, link: LinkRow) -> None:
        self.conn.execute(
            insert(T_LINK).values(
                child_id=link.child_id,
                parent_id=link.parent_id,
                parent_key=link.parent_key,
                relation=link.relation,
                jaccard=link.jaccard,
                contain_child=link.contain_child,
                contain_parent=link.contain_parent,
                evidence_json=json.dumps(link.evidence, ensure_ascii=False),
                alignment_json=json.dumps(link.alignment, ensure_ascii=False) if link.alignment else None,
                explanation=link.explanation,
                created_at=utcnow(),
            )
        )

    def announce(self, notice_id: int, source_id: str, links: Sequence[LinkRow]) -> None:
        """The one link.new outbox event of a linking pass: every link the pass made, the notice's own
        first (the top-level fields name its first link, for readers of one link per event)."""
        ordered = sorted(links, key=lambda ln: ln.child_id != notice_id)
        payload = {k: v for k, v in link_payload(ordered[0]).items() if k != "child_id"}
        payload["links"] = [link_payload(ln) for ln in ordered]
        self.conn.execute(
            insert(T_EVENT).values(
                kind="link.new",
                source_id=source_id or "",
                notice_id=notice_id,
                version_id=None,
                created_at=utcnow(),
                payload_json=json.dumps(payload, ensure_ascii=False),
            )
        )
