"""What the linking stage reads and writes: signatures, citations, links and their outbox events.

Reads that stand alone are `LinkRepo` methods on the Store. Linking one version is one transaction
(its signature, citations, links and events commit together, so a crash only delays linking and
never half-links): `store.link_session()` opens it and hands out a `LinkSession` bound to it.
JSON columns are decoded and encoded here; the linker sees records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import ColumnElement, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from storage.core import T_CIT, T_EVENT, T_LINK, T_NOTICE, T_SIG, T_VERSION, Repo
from storage.models import utcnow
from storage.records import CitationRow, Citations, LinkRow, NoticeText, PendingVersion, StoredSignature, VersionText

_CITATION_COLS = ("notice_id", "kind", "key", "raw", "in_purpose", "resolved_id")


def _citations(raw: str | None) -> Citations:
    data = json.loads(raw or "{}")
    return Citations(docnos=list(data.get("docnos", [])), titles=list(data.get("titles", [])))


def _link_row(r) -> LinkRow:
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


class LinkRepo(Repo):
    def signatures(self) -> list[StoredSignature]:
        """Every stored signature, oldest version first (so the last one per notice is its newest)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    T_SIG.c.notice_id, T_SIG.c.version_id, T_SIG.c.params, T_SIG.c.size, T_SIG.c.hashvalues
                ).order_by(T_SIG.c.version_id)
            ).all()
        return [StoredSignature(r.notice_id, r.version_id, r.params, r.size, r.hashvalues) for r in rows]

    def unsigned_versions(self) -> list[PendingVersion]:
        """Versions without a signature, in arrival order: what the linker has not seen yet."""
        with self.engine.connect() as conn:
            return [
                PendingVersion(r.id, r.notice_id)
                for r in conn.execute(
                    select(T_VERSION.c.id, T_VERSION.c.notice_id)
                    .outerjoin(T_SIG, T_SIG.c.version_id == T_VERSION.c.id)
                    .where(T_SIG.c.version_id.is_(None))
                    .order_by(T_VERSION.c.id)
                )
            ]

    def version_texts(self, version_ids: Sequence[int]) -> dict[int, str]:
        """Normalised text per version id."""
        with self.engine.connect() as conn:
            return {
                r.id: r.norm_text
                for r in conn.execute(
                    select(T_VERSION.c.id, T_VERSION.c.norm_text).where(T_VERSION.c.id.in_(list(version_ids)))
                )
            }

    def version_text(self, version_id: int) -> VersionText | None:
        """One version's normalised text and what it cites."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(T_VERSION.c.norm_text, T_VERSION.c.citations_json).where(T_VERSION.c.id == version_id)
            ).first()
        return VersionText(r.norm_text, _citations(r.citations_json)) if r else None

    def notice_text(self, notice_id: int) -> NoticeText | None:
        """A notice with the text of its newest version; None before its first version."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(
                    T_NOTICE.c.id,
                    T_NOTICE.c.title,
                    T_NOTICE.c.title_key,
                    T_NOTICE.c.doc_no,
                    T_NOTICE.c.issuer,
                    T_NOTICE.c.written,
                    T_NOTICE.c.published,
                    T_VERSION.c.norm_text,
                    T_VERSION.c.id.label("vid"),
                )
                .join(T_VERSION, T_VERSION.c.notice_id == T_NOTICE.c.id)
                .where(T_NOTICE.c.id == notice_id)
                .order_by(T_VERSION.c.seq.desc())
                .limit(1)
            ).first()
        if r is None:
            return None
        return NoticeText(r.id, r.title, r.title_key, r.doc_no, r.issuer, r.written, r.published, r.norm_text, r.vid)

    def purpose_keys(self, notice_id: int) -> set[str]:
        """The keys a notice cites as what it implements (its opening clause or its title)."""
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(T_CIT.c.key).where(T_CIT.c.notice_id == notice_id, T_CIT.c.in_purpose.is_(True))
                ).scalars()
            )

    def all_links(self) -> list[LinkRow]:
        with self.engine.connect() as conn:
            return [_link_row(r) for r in conn.execute(select(T_LINK).order_by(T_LINK.c.id))]

    @contextmanager
    def link_session(self) -> Iterator[LinkSession]:
        """One transaction for linking one version: committed on exit, rolled back on an exception."""
        with self.engine.begin() as conn:
            yield LinkSession(conn)


class LinkSession:
    """The statements of linking one version, on its transaction."""

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

    # ---- citations --------------------------------------------------------------------------------
    def clear_citations(self, notice_id: int) -> None:
        self.conn.execute(delete(T_CIT).where(T_CIT.c.notice_id == notice_id))

    def add_citations(self, rows: Sequence[CitationRow]) -> None:
        if rows:
            self.conn.execute(insert(T_CIT), [{k: getattr(r, k) for k in _CITATION_COLS} for r in rows])

    def resolve(self, kind: str, key: str, self_id: int) -> int | None:
        """The stored notice a citation names (by 文号 or title key), other than the citing one."""
        col = T_NOTICE.c.doc_no if kind == "docno" else T_NOTICE.c.title_key
        # Several stored versions of one law share a title: the citation resolves to the newest.
        ids = (
            self.conn.execute(
                select(T_NOTICE.c.id)
                .where(col == key, T_NOTICE.c.id != self_id, T_NOTICE.c.version_count > 0)
                .order_by(T_NOTICE.c.id.desc())
            )
            .scalars()
            .all()
        )
        return ids[0] if ids else None

    def resolve_waiting(self, notice_id: int, doc_no: str | None, title_key: str | None) -> None:
        """Earlier citations of this notice's 文号 or title, stored before it arrived, now point at it."""
        keys = _named(doc_no, title_key)
        if keys:
            self.conn.execute(
                update(T_CIT)
                .where(or_(*keys), T_CIT.c.resolved_id.is_(None), T_CIT.c.notice_id != notice_id)
                .values(resolved_id=notice_id)
            )

    def citing(self, notice_id: int, doc_no: str | None, title_key: str | None) -> dict[int, list[CitationRow]]:
        """Notices whose citations point at this one (resolved, or by 文号 or title key): id -> citations."""
        conds = [T_CIT.c.resolved_id == notice_id, *_named(doc_no, title_key)]
        out: dict[int, list[CitationRow]] = {}
        for r in self.conn.execute(select(T_CIT).where(or_(*conds), T_CIT.c.notice_id != notice_id)):
            out.setdefault(r.notice_id, []).append(CitationRow(*(getattr(r, k) for k in _CITATION_COLS)))
        return out

    # ---- notices by name --------------------------------------------------------------------------
    def same_name(self, doc_no: str | None, title_key: str | None) -> set[int]:
        """Notices with this title key or this 文号: every version of an instrument."""
        same: set[int] = set()
        if title_key:
            same.update(self.conn.execute(select(T_NOTICE.c.id).where(T_NOTICE.c.title_key == title_key)).scalars())
        if doc_no:
            same.update(self.conn.execute(select(T_NOTICE.c.id).where(T_NOTICE.c.doc_no == doc_no)).scalars())
        return same

    def stored_titled(self, title_key: str) -> list[int]:
        """Notices with a stored version under this title key."""
        return list(
            self.conn.execute(
                select(T_NOTICE.c.id).where(T_NOTICE.c.title_key == title_key, T_NOTICE.c.version_count > 0)
            ).scalars()
        )

    # ---- links ----------------------------------------------------------------------------------
    def link_exists(self, child_id: int, parent_key: str, relation: str) -> bool:
        return (
            self.conn.execute(
                select(T_LINK.c.id).where(
                    T_LINK.c.child_id == child_id, T_LINK.c.parent_key == parent_key, T_LINK.c.relation == relation
                )
            ).first()
            is not None
        )

    def add_link(self, link: LinkRow, replaces: Sequence[str] = ()) -> None:
        """Store a link; `replaces` names placeholder links of the child (parent not stored then) that
        pointed at the same parent by its 文号 or 《title》 and are dropped now that it is stored."""
        if replaces:
            self.conn.execute(
                delete(T_LINK).where(
                    T_LINK.c.child_id == link.child_id,
                    T_LINK.c.parent_id.is_(None),
                    T_LINK.c.parent_key.in_(list(replaces)),
                )
            )
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

    def announce_link(self, link: LinkRow) -> None:
        """The link.new outbox event, in the transaction that stores the link."""
        source_id = self.conn.execute(select(T_NOTICE.c.source_id).where(T_NOTICE.c.id == link.child_id)).scalar()
        payload = dict(
            relation=link.relation, parent_id=link.parent_id, parent_key=link.parent_key, explanation=link.explanation
        )
        self.conn.execute(
            insert(T_EVENT).values(
                kind="link.new",
                source_id=source_id or "",
                notice_id=link.child_id,
                version_id=None,
                created_at=utcnow(),
                payload_json=json.dumps(payload, ensure_ascii=False),
            )
        )


def _named(doc_no: str | None, title_key: str | None) -> list[ColumnElement[bool]]:
    """Citation conditions that name a notice by its 文号 or its title key."""
    keys = [and_(T_CIT.c.kind == "docno", T_CIT.c.key == doc_no)] if doc_no else []
    if title_key:
        keys.append(and_(T_CIT.c.kind == "title", T_CIT.c.key == title_key))
    return keys
