"""The queries of the web view and the feeds beyond storage/reads.py: a filtered notice list paginated by keyset,
notices by id in one query, version headers without their texts, and the newest outbox events of some sources.

Every list is ordered by an indexed key and cut with LIMIT: a page reads the rows it shows (and one more, to know
whether there is a next page), never the whole table, and no page runs a query per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.engine import Connection

from storage.core import T_EVENT, T_LINK, T_NOTICE, T_VERSION
from storage.reads import NoticeSummary, summary_of

if TYPE_CHECKING:
    from storage.repo import Store


@dataclass(frozen=True)
class NoticeQuery:
    """What a reader filters notices by; `sources` is the union of the sources asked for and a tag's sources."""

    sources: tuple[str, ...] = ()
    issuer: str | None = None  # a prefix of the issuing body: 江苏省 finds every 江苏省… body
    since: date | None = None
    until: date | None = None
    relation: str | None = None  # only notices with a link of this kind to a parent


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's (published, id). The next page starts after it."""

    published: date | None
    id: int

    def token(self) -> str:
        return f"{self.published.isoformat() if self.published else ''}_{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor | None:
        day, _, ident = token.partition("_")
        try:
            return cls(date.fromisoformat(day) if day else None, int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class NoticePage:
    notices: list[NoticeSummary]
    next: Cursor | None  # None: the last page


@dataclass(frozen=True)
class VersionHeader:
    seq: int
    title: str | None
    fetched_at: datetime
    chars: int
    content_hash: str


_LIST_COLUMNS = (
    T_NOTICE.c.id,
    T_NOTICE.c.title,
    T_NOTICE.c.doc_no,
    T_NOTICE.c.issuer,
    T_NOTICE.c.source_id,
    T_NOTICE.c.url,
    T_NOTICE.c.published,
    T_NOTICE.c.version_count,
)


def _after(c: Cursor) -> Any:
    """Rows after the cursor in the order published DESC (nulls last), id DESC."""
    pub, nid = T_NOTICE.c.published, T_NOTICE.c.id
    if c.published is None:
        return and_(pub.is_(None), nid < c.id)
    return or_(pub < c.published, and_(pub == c.published, nid < c.id), pub.is_(None))


_FEW_LINKS = 2000  # links of one kind read whole and sorted; more are met walking the date order


def _with_relation(conn: Connection, relation: str) -> Any:
    """Notices with a link of kind `relation` to a parent. A rare kind: its children, found by the index on
    (relation, child_id), then sorted. A common one: the date order walked, each notice's links probed, which
    finds a page of them after about limit × notices / links rows."""
    count = select(func.count()).select_from(T_LINK).where(T_LINK.c.relation == relation)
    if conn.execute(count).scalar_one() <= _FEW_LINKS:
        return T_NOTICE.c.id.in_(select(T_LINK.c.child_id).where(T_LINK.c.relation == relation))
    return exists().where(T_LINK.c.child_id == T_NOTICE.c.id, T_LINK.c.relation == relation)


def notice_page(store: Store, q: NoticeQuery, *, after: Cursor | None = None, limit: int = 50) -> NoticePage:
    """Notices with a stored version matching `q`, newest published first, `limit` of them after `after`."""
    stmt = select(*_LIST_COLUMNS).where(T_NOTICE.c.version_count > 0)
    if q.sources:
        stmt = stmt.where(T_NOTICE.c.source_id.in_(q.sources))
    if q.issuer:
        stmt = stmt.where(T_NOTICE.c.issuer.startswith(q.issuer, autoescape=True))
    if q.since:
        stmt = stmt.where(T_NOTICE.c.published >= q.since)
    if q.until:
        stmt = stmt.where(T_NOTICE.c.published <= q.until)
    if after is not None:
        stmt = stmt.where(_after(after))
    stmt = stmt.order_by(T_NOTICE.c.published.desc().nulls_last(), T_NOTICE.c.id.desc()).limit(limit + 1)
    with store.engine.connect() as conn:
        if q.relation:
            stmt = stmt.where(_with_relation(conn, q.relation))
        rows = [summary_of(r) for r in conn.execute(stmt)]
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(rows, Cursor(rows[-1].published, rows[-1].id) if more and rows else None)


def summaries(store: Store, ids: Sequence[int]) -> dict[int, NoticeSummary]:
    """The notices of `ids` in one query (the other ends of a notice's links)."""
    if not ids:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_LIST_COLUMNS).where(T_NOTICE.c.id.in_(sorted(set(ids))))).all()
    return {r.id: summary_of(r) for r in rows}


def version_headers(store: Store, notice_id: int) -> list[VersionHeader]:
    """A notice's versions, oldest first, without their texts (the length is computed by the database)."""
    stmt = (
        select(
            T_VERSION.c.seq,
            T_VERSION.c.title,
            T_VERSION.c.fetched_at,
            func.length(T_VERSION.c.body).label("chars"),
            T_VERSION.c.content_hash,
        )
        .where(T_VERSION.c.notice_id == notice_id)
        .order_by(T_VERSION.c.seq)
    )
    with store.engine.connect() as conn:
        return [VersionHeader(r.seq, r.title, r.fetched_at, r.chars or 0, r.content_hash) for r in conn.execute(stmt)]


def version_bodies(store: Store, notice_id: int, seqs: Sequence[int]) -> dict[int, str]:
    """The page text of some versions of a notice, by seq."""
    stmt = select(T_VERSION.c.seq, T_VERSION.c.body).where(
        T_VERSION.c.notice_id == notice_id, T_VERSION.c.seq.in_(list(seqs))
    )
    with store.engine.connect() as conn:
        return {r.seq: r.body for r in conn.execute(stmt)}


def newest_text(store: Store, notice_id: int) -> str | None:
    """The normalised text of a notice's newest version (what linking and alignment read)."""
    stmt = (
        select(T_VERSION.c.norm_text)
        .where(T_VERSION.c.notice_id == notice_id)
        .order_by(T_VERSION.c.seq.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def recent_events(
    store: Store, sources: Sequence[str] | None = None, limit: int = 200, before: int | None = None
) -> dict[int, datetime]:
    """The newest outbox events of `sources` (None: of every source), older than event `before` when given: when
    each was written, by event id, newest first."""
    stmt = select(T_EVENT.c.id, T_EVENT.c.created_at).order_by(T_EVENT.c.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(T_EVENT.c.id < before)
    if sources is not None:
        stmt = stmt.where(T_EVENT.c.source_id.in_(list(sources)))
    with store.engine.connect() as conn:
        return {r.id: r.created_at for r in conn.execute(stmt)}


def source_ids(store: Store) -> list[str]:
    """Every source id with a notice stored, for a filter's choices (read from the sources table: a few rows)."""
    from storage.core import T_SOURCE

    with store.engine.connect() as conn:
        return [r.id for r in conn.execute(select(T_SOURCE.c.id).order_by(T_SOURCE.c.id))]


def with_relation(store: Store, ids: Sequence[int], relation: str) -> set[int]:
    """Those of `ids` that have a link of kind `relation` to a parent."""
    if not ids:
        return set()
    stmt = select(T_LINK.c.child_id).where(T_LINK.c.child_id.in_(list(ids)), T_LINK.c.relation == relation)
    with store.engine.connect() as conn:
        return {r.child_id for r in conn.execute(stmt)}
