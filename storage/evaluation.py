"""Reads for measuring the linking stage (`watcher eval links`, bench/): every stored link with the
notices at its two ends, and counts of links and link events; and, for the cost benchmarks, a bulk
prefill of signatures.

These reads sit apart from storage/links.py, which is the linker's own read-write path: the
evaluation looks at what the linker stored, whatever the linker's internals are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select

from storage.core import T_EVENT, T_LINK, T_NOTICE, T_SIG, T_VERSION
from storage.models import utcnow

if TYPE_CHECKING:
    from storage.repo import Store


@dataclass(frozen=True)
class StoredLink:
    """A stored link as the evaluation judges it: its two ends by URL (the parent's URL is None when the
    parent is not stored, and `parent_key` names it by 文号 or 《title》) and their dates."""

    child_id: int
    child_url: str
    child_date: date | None  # written, else published
    parent_id: int | None
    parent_url: str | None
    parent_date: date | None
    parent_key: str
    relation: str
    explanation: str


def stored_links(store: Store) -> list[StoredLink]:
    """Every stored link, oldest first."""
    child = T_NOTICE.alias("child")
    parent = T_NOTICE.alias("parent")
    q = (
        select(
            T_LINK.c.child_id,
            child.c.url.label("child_url"),
            func.coalesce(child.c.written, child.c.published).label("child_date"),
            T_LINK.c.parent_id,
            parent.c.url.label("parent_url"),
            func.coalesce(parent.c.written, parent.c.published).label("parent_date"),
            T_LINK.c.parent_key,
            T_LINK.c.relation,
            T_LINK.c.explanation,
        )
        .join(child, child.c.id == T_LINK.c.child_id)
        .outerjoin(parent, parent.c.id == T_LINK.c.parent_id)
        .order_by(T_LINK.c.id)
    )
    with store.engine.connect() as conn:
        return [
            StoredLink(
                r.child_id,
                r.child_url,
                r.child_date,
                r.parent_id,
                r.parent_url,
                r.parent_date,
                r.parent_key,
                r.relation,
                r.explanation or "",
            )
            for r in conn.execute(q)
        ]


@dataclass(frozen=True)
class LinkCounts:
    """How many links are stored (per relation) and how many link events the outbox holds."""

    links: int
    by_relation: dict[str, int]
    link_events: int


def link_counts(store: Store) -> LinkCounts:
    with store.engine.connect() as conn:
        by_relation = {
            rel: n for rel, n in conn.execute(select(T_LINK.c.relation, func.count()).group_by(T_LINK.c.relation))
        }
        events = conn.execute(select(func.count()).where(T_EVENT.c.kind.like("link.%"))).scalar() or 0
    return LinkCounts(sum(by_relation.values()), by_relation, events)


# ---- prefilling a store for the cost benchmarks -------------------------------------------------
# bench/link_time.py measures linking one document against 100k stored ones. Linking those 100k one by
# one first would take the benchmark hours, so they are stored with their signatures (computed by the
# linker's own fingerprint) in bulk: to the linker they are documents it has already linked.


@dataclass(frozen=True)
class UnsignedText:
    version_id: int
    notice_id: int
    norm_text: str


def unsigned_texts(store: Store, limit: int = 5000) -> list[UnsignedText]:
    """Versions without a signature, oldest first, with their normalised text."""
    q = (
        select(T_VERSION.c.id, T_VERSION.c.notice_id, T_VERSION.c.norm_text)
        .outerjoin(T_SIG, T_SIG.c.version_id == T_VERSION.c.id)
        .where(T_SIG.c.version_id.is_(None))
        .order_by(T_VERSION.c.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [UnsignedText(r.id, r.notice_id, r.norm_text) for r in conn.execute(q)]


@dataclass(frozen=True)
class SignatureFill:
    version_id: int
    notice_id: int
    params: str
    size: int
    hashvalues: bytes


def add_signatures(store: Store, rows: Sequence[SignatureFill]) -> None:
    """Signature rows in one transaction."""
    if not rows:
        return
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(insert(T_SIG), [dict(asdict(r), created_at=now) for r in rows])
