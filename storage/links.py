"""What the linking stage reads outside a linking transaction: signatures, texts, the boilerplate filter's
state, and stored links.

Linking one version is one transaction (its signature, citations, links, the notice's link date and
repost cluster and its one outbox event commit together, so a crash only delays linking and never
half-links): `store.link_session()` opens it and hands out a `LinkSession` (storage/linksession.py).
JSON columns are decoded here; the linker sees records.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import bindparam, delete, func, insert, select

from storage.core import T_LINK, T_NOTICE, T_SIG, T_VERSION, Repo, chunks, table_of
from storage.linkoverlay import link_row, notice_of
from storage.linksession import NOTICE_COLS, LinkSession
from storage.models import LinkState, utcnow
from storage.records import (
    Citations,
    FilterState,
    Grounds,
    LinkingText,
    LinkRow,
    NoticeText,
    PendingVersion,
    StoredSignature,
    VersionText,
)
from storage.turnstile import may_write_now

T_STATE = table_of(LinkState)
T_V2 = T_VERSION.alias("newer")


# Versions to link with their notices, and each notice's newest version number (built once: see linksession).
_LINKING_TEXTS = (
    select(T_VERSION.c.id.label("vid"), *NOTICE_COLS)
    .add_columns(T_VERSION.c.norm_text, T_VERSION.c.citations_json, T_VERSION.c.seq)
    .add_columns(
        select(func.max(T_V2.c.seq)).where(T_V2.c.notice_id == T_VERSION.c.notice_id).scalar_subquery().label("newest")
    )
    .join(T_NOTICE, T_NOTICE.c.id == T_VERSION.c.notice_id)
    .where(T_VERSION.c.id.in_(bindparam("vids", expanding=True)))
)


def _citations(raw: str | None) -> Citations:
    data = json.loads(raw or "{}")
    return Citations(docnos=list(data.get("docnos", [])), titles=list(data.get("titles", [])))


class LinkRepo(Repo):
    def signatures(self, canonical_only: bool = False) -> list[StoredSignature]:
        """Every stored signature, oldest version first (so the last one per notice is its newest);
        with canonical_only, none of a notice that is a repost of another (the index holds one copy
        per repost cluster)."""
        q = select(T_SIG.c.notice_id, T_SIG.c.version_id, T_SIG.c.params, T_SIG.c.size, T_SIG.c.hashvalues)
        if canonical_only:
            q = q.join(T_NOTICE, T_NOTICE.c.id == T_SIG.c.notice_id).where(T_NOTICE.c.repost_of.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(q.order_by(T_SIG.c.version_id)).all()
        return [StoredSignature(r.notice_id, r.version_id, r.params, r.size, r.hashvalues) for r in rows]

    def unsigned_versions(self, after: int = 0) -> list[PendingVersion]:
        """Versions without a signature, in arrival order: what the linker has not seen yet. `after`:
        only versions with a greater id (a range of the primary key, not a scan of every version)."""
        with self.engine.connect() as conn:
            return [
                PendingVersion(r.id, r.notice_id)
                for r in conn.execute(
                    select(T_VERSION.c.id, T_VERSION.c.notice_id)
                    .outerjoin(T_SIG, T_SIG.c.version_id == T_VERSION.c.id)
                    .where(T_SIG.c.version_id.is_(None), T_VERSION.c.id > after)
                    .order_by(T_VERSION.c.id)
                )
            ]

    def version_texts(self, version_ids: Sequence[int]) -> dict[int, str]:
        """Normalised text per version id."""
        out: dict[int, str] = {}
        with self.engine.connect() as conn:
            for ids in chunks(list(version_ids)):
                q = select(T_VERSION.c.id, T_VERSION.c.norm_text).where(T_VERSION.c.id.in_(list(ids)))
                out.update({r.id: r.norm_text for r in conn.execute(q)})
        return out

    def version_text(self, version_id: int) -> VersionText | None:
        """One version's normalised text and what it cites."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(T_VERSION.c.norm_text, T_VERSION.c.citations_json).where(T_VERSION.c.id == version_id)
            ).first()
        return VersionText(r.norm_text, _citations(r.citations_json)) if r else None

    def linking_texts(self, version_ids: Sequence[int]) -> dict[int, LinkingText]:
        """Versions to link, one read per 500: each one's text and citations, and its notice (None when a newer
        version of the notice is stored: an older one is signed, not linked). Linking writes none of what is read
        here (the notice's link date and repost cluster are read, not used): read before a run of them is linked."""
        out: dict[int, LinkingText] = {}
        with self.engine.connect() as conn:
            for ids in chunks(list(version_ids)):
                for r in conn.execute(_LINKING_TEXTS, {"vids": list(ids)}):
                    version = VersionText(r.norm_text, _citations(r.citations_json))
                    out[r.vid] = LinkingText(version, notice_of(r, r.vid) if r.seq == r.newest else None, r.source_id)
        return out

    def notice_text(self, notice_id: int) -> NoticeText | None:
        """A notice with the text of its newest version; None before its first version."""
        with self.engine.connect() as conn:
            return LinkSession(conn).notice_text(notice_id)

    def grounds(self, notice_id: int) -> Grounds:
        """The keys a notice implements and those it cites as its legal basis."""
        with self.engine.connect() as conn:
            return LinkSession(conn).grounds(notice_id)

    def purpose_keys(self, notice_id: int) -> set[str]:
        """The keys a notice cites as what it implements (its purpose sentence or its title)."""
        return set(self.grounds(notice_id).parents)

    def all_links(self) -> list[LinkRow]:
        with self.engine.connect() as conn:
            return [link_row(r) for r in conn.execute(select(T_LINK).order_by(T_LINK.c.id))]

    # ---- the boilerplate filter's state ---------------------------------------------------------------
    def filter_state(self, name: str) -> FilterState | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(T_STATE).where(T_STATE.c.name == name)).first()
        return FilterState(r.data, r.docs, r.through_version) if r else None

    def save_filter_state(self, name: str, state: FilterState) -> None:
        """Replace the saved state (one row; written after a run, not per document)."""
        with self.engine.begin() as conn:
            conn.execute(delete(T_STATE).where(T_STATE.c.name == name))
            conn.execute(
                insert(T_STATE).values(
                    name=name,
                    data=state.data,
                    docs=state.docs,
                    through_version=state.through_version,
                    updated_at=utcnow(),
                )
            )

    def canonical_texts_after(self, version_id: int, limit: int = 10_000) -> list[tuple[int, str]]:
        """(version id, text) of the linked versions after `version_id` whose notice is no repost, the
        most recent `limit` of them, oldest first: what the boilerplate filter observed since its state
        was saved, to count again at start-up (a bounded read, however long ago that was)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(T_VERSION.c.id, T_VERSION.c.norm_text, T_NOTICE.c.repost_of)
                .join(T_SIG, T_SIG.c.version_id == T_VERSION.c.id)
                .join(T_NOTICE, T_NOTICE.c.id == T_VERSION.c.notice_id)
                .where(T_VERSION.c.id > version_id)
                .order_by(T_VERSION.c.id.desc())
                .limit(limit)
            ).all()
        return [(r.id, r.norm_text) for r in reversed(rows) if r.repost_of is None]

    def may_write_now(self) -> bool:
        """Whether a link transaction ending now would write without waiting for a poll (storage/turnstile.py);
        when True, the turn is held for it."""
        return may_write_now(self.engine)

    @contextmanager
    def link_session(self, notices: Collection[int] = ()) -> Iterator[LinkSession]:
        """One transaction for linking (one version, or a run of them): what it kept is written (flush) and
        committed on exit, rolled back on an exception. Until the flush it only reads, so a SQLite file's write
        lock is taken at the flush (see LinkSession). notices: those it links (see LinkSession._stored)."""
        with self.engine.begin() as conn:
            tx = LinkSession(conn, notices)
            yield tx
            tx.flush()
