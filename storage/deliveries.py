"""The notifiers' bookkeeping: which outbox events each channel is owed, claims and outcomes of deliveries,
and the notices and links an event announces.

A delivery row per (event, channel) is claimed (`sending`) by compare-and-set before the message goes
out and marked (`sent`, `failed`, `skipped`) after, each step in its own transaction; notifiers/dispatch.py
explains why that gives exactly-once delivery across crashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from storage.core import T_EVENT, T_LINK, T_NOTICE, T_RUN, T_VERSION, chunks, insert_new, table_of
from storage.models import ChannelRow, Delivery, utcnow

T_DEL, T_CH = table_of(Delivery), table_of(ChannelRow)

Outcome = Literal["sent", "failed", "skipped"]
COMPLETED = ("ok", "partial")  # a crawl run that got through its list pages


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Claim:
    """A delivery left `sending`: in flight, or abandoned by a worker that died between send and record."""

    batch_key: str
    owner: str | None  # host:pid of the worker that claimed it
    claimed_at: datetime | None


@dataclass
class Due:
    """What a channel may be owed: events after its start that were neither sent nor skipped, oldest
    first, and the claims among them still `sending`."""

    event_ids: list[int]
    claims: dict[int, Claim]


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    kind: str  # notice.new | notice.version | link.new
    notice_id: int | None
    payload: dict


@dataclass(frozen=True)
class AnnouncedNotice:
    id: int
    source_id: str
    url: str
    title: str | None
    doc_no: str | None
    issuer: str | None
    written: date | None
    published: date | None


@dataclass(frozen=True)
class ParentLink:
    """A link from an announced notice up to its parent (resolved to a notice id, or a 文号/title key)."""

    parent_id: int | None
    parent_key: str
    relation: str


@dataclass
class Announcements:
    """Events with the notices they announce, those notices' parent links, and how each parent is named."""

    events: list[OutboxEvent]
    notices: dict[int, AnnouncedNotice] = field(default_factory=dict)
    links: dict[int, list[ParentLink]] = field(default_factory=dict)  # by child notice id
    parent_refs: dict[int, str] = field(default_factory=dict)  # notice id -> 文号, else title


@dataclass(frozen=True)
class ChannelCounts:
    sent: int
    failed: int
    sending: int
    last_sent: datetime | None
    last_error: str | None


class _Taken(Exception):
    pass


class Deliveries:
    """Deliveries, channels and the outbox, as the dispatcher needs them."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def register_channels(self, channel_ids: Iterable[str]) -> None:
        """A channel seen for the first time starts after the newest event: no flood of old notices."""
        with self.engine.begin() as conn:
            known = set(conn.execute(select(T_CH.c.id)).scalars())
            start = conn.execute(select(func.max(T_EVENT.c.id))).scalar() or 0
            fresh = [dict(id=c, start_event_id=start, created_at=utcnow()) for c in channel_ids if c not in known]
            insert_new(conn, T_CH, fresh, key=["id"])  # a second scheduler starting at the same moment

    def due(self, channel_id: str) -> Due:
        """The database picks the undelivered events (an anti-join on deliveries), so the cost of a
        poll does not grow with the history."""
        with self.engine.connect() as conn:
            start = conn.execute(select(T_CH.c.start_event_id).where(T_CH.c.id == channel_id)).scalar() or 0
            delivered = select(T_DEL.c.id).where(
                T_DEL.c.channel_id == channel_id,
                T_DEL.c.event_id == T_EVENT.c.id,
                T_DEL.c.status.in_(("sent", "skipped")),
            )
            ids = list(
                conn.execute(
                    select(T_EVENT.c.id).where(T_EVENT.c.id > start, ~exists(delivered)).order_by(T_EVENT.c.id)
                ).scalars()
            )
            claims = {
                r.event_id: Claim(r.batch_key, r.owner, r.claimed_at)
                for r in conn.execute(
                    select(T_DEL.c.event_id, T_DEL.c.batch_key, T_DEL.c.owner, T_DEL.c.claimed_at).where(
                        T_DEL.c.channel_id == channel_id, T_DEL.c.status == "sending"
                    )
                )
            }
        return Due(ids, claims)

    def claim(
        self, channel_id: str, event_ids: list[int], key: str, owner: str, stale_owner: str | None = None
    ) -> bool:
        """Mark the events `sending` under key, unless another worker holds or has delivered any of
        them: a compare-and-set in one transaction, so two polls (or processes) never send one event
        twice. Failed deliveries may be claimed again, and so may the `sending` rows of stale_owner
        under the same key (a dead worker's batch, resent as it was)."""
        try:
            now = utcnow()
            with self.engine.begin() as conn:
                rows: dict[int, str] = dict(
                    conn.execute(
                        select(T_DEL.c.event_id, T_DEL.c.status).where(
                            T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(event_ids)
                        )
                    ).all()
                )
                fresh = [e for e in event_ids if e not in rows]
                if fresh:
                    conn.execute(
                        insert(T_DEL),
                        [
                            dict(
                                event_id=e,
                                channel_id=channel_id,
                                batch_key=key,
                                status="sending",
                                owner=owner,
                                claimed_at=now,
                                attempts=1,
                                created_at=now,
                            )
                            for e in fresh
                        ],
                    )
                retry = [e for e in event_ids if e in rows]
                if retry:
                    res = conn.execute(
                        update(T_DEL)
                        .where(
                            T_DEL.c.channel_id == channel_id,
                            T_DEL.c.event_id.in_(retry),
                            (T_DEL.c.status == "failed")
                            | (
                                (T_DEL.c.status == "sending")
                                & (T_DEL.c.batch_key == key)
                                & (T_DEL.c.owner == stale_owner)
                            ),
                        )
                        .values(
                            status="sending", batch_key=key, owner=owner, claimed_at=now, attempts=T_DEL.c.attempts + 1
                        )
                    )
                    if res.rowcount != len(retry):
                        raise _Taken
        except (_Taken, IntegrityError):
            return False
        return True

    def mark(
        self, channel_id: str, event_ids: list[int], status: Outcome, batch: str, error: str | None = None
    ) -> None:
        """Record an outcome for the events, whether or not they were claimed (skips are not)."""
        now = utcnow()
        with self.engine.begin() as conn:
            existing = set(
                conn.execute(
                    select(T_DEL.c.event_id).where(T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(event_ids))
                ).scalars()
            )
            fresh = [e for e in event_ids if e not in existing]
            # Another process marking the same events at the same moment (two polls skipping one event)
            # wrote the same outcome: its row is updated, not a duplicate key.
            insert_new(
                conn,
                T_DEL,
                [
                    dict(
                        event_id=e,
                        channel_id=channel_id,
                        batch_key=batch,
                        status=status,
                        attempts=0,
                        last_error=error,
                        created_at=now,
                        sent_at=now if status == "sent" else None,
                    )
                    for e in fresh
                ],
                key=["event_id", "channel_id"],
                update=["status", "batch_key", "last_error", "sent_at"],
            )
            if existing:
                values: dict = dict(status=status, batch_key=batch, last_error=error)
                if status == "sent":
                    values["sent_at"] = now
                conn.execute(
                    update(T_DEL)
                    .where(T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(list(existing)))
                    .values(**values)
                )

    def baseline(self, event_ids: Sequence[int], source_ids: Iterable[str]) -> list[int]:
        """Among these events, the baseline of the given sources: what a source's first successful poll (its
        first crawl run that ended ok or partial) found already listed, recorded without alerting. For a
        notice first seen before that run ended (or while the source has had none), that is its notice.new,
        the link.new events before any revision of it (the linking of that first version), and revisions
        written before that run ended. Every later event of the source is news."""
        sources = list(set(source_ids))
        if not sources or not event_ids:
            return []
        out: list[int] = []
        with self.engine.connect() as conn:
            first_end = {
                sid: _aware(t)
                for sid, t in conn.execute(
                    select(T_RUN.c.source_id, func.min(T_RUN.c.finished_at))
                    .where(
                        T_RUN.c.source_id.in_(sources),
                        T_RUN.c.status.in_(COMPLETED),
                        T_RUN.c.finished_at.is_not(None),
                    )
                    .group_by(T_RUN.c.source_id)
                )
                if t is not None
            }
            for chunk in chunks(list(event_ids)):
                rows = conn.execute(
                    select(T_EVENT.c.id, T_EVENT.c.kind, T_EVENT.c.notice_id, T_EVENT.c.created_at)
                    .add_columns(T_NOTICE.c.source_id, T_NOTICE.c.first_seen)
                    .join(T_NOTICE, T_NOTICE.c.id == T_EVENT.c.notice_id)
                    .where(T_EVENT.c.id.in_(chunk), T_NOTICE.c.source_id.in_(sources))
                ).all()
                notices = list({r.notice_id for r in rows})
                revised = dict(
                    conn.execute(
                        select(T_EVENT.c.notice_id, func.min(T_EVENT.c.id))
                        .where(T_EVENT.c.kind == "notice.version", T_EVENT.c.notice_id.in_(notices))
                        .group_by(T_EVENT.c.notice_id)
                    ).all()
                )
                for r in rows:
                    end = first_end.get(r.source_id)
                    if end is not None and _aware(r.first_seen) >= end:
                        continue  # listed after the baseline: news
                    if r.kind == "notice.version" and end is not None and _aware(r.created_at) >= end:
                        continue
                    if r.kind == "link.new" and r.id > revised.get(r.notice_id, r.id + 1):
                        continue  # the linking of a later version
                    out.append(r.id)
        return sorted(out)

    def latest_body(self, notice_id: int) -> str:
        """The newest version's text (for keyword filters); "" when none is stored."""
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(T_VERSION.c.body)
                    .where(T_VERSION.c.notice_id == notice_id)
                    .order_by(T_VERSION.c.seq.desc())
                    .limit(1)
                ).scalar()
                or ""
            )

    def counts(self, channel_id: str) -> ChannelCounts:
        """Deliveries sent, failed and still `sending`, the last send and the last error."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(T_DEL.c.status, func.count(), func.max(T_DEL.c.sent_at))
                .where(T_DEL.c.channel_id == channel_id)
                .group_by(T_DEL.c.status)
            ).all()
            err = conn.execute(
                select(T_DEL.c.last_error)
                .where(T_DEL.c.channel_id == channel_id, T_DEL.c.status == "failed")
                .order_by(T_DEL.c.id.desc())
                .limit(1)
            ).scalar()
        per_status = {r[0]: r[1] for r in rows}
        return ChannelCounts(
            sent=per_status.get("sent", 0),
            failed=per_status.get("failed", 0),
            sending=per_status.get("sending", 0),
            last_sent=max((r[2] for r in rows if r[2]), default=None),
            last_error=err,
        )

    def announcements(self, event_ids: list[int] | None = None, after: int = 0) -> Announcements:
        """The given events (or every event after `after`), oldest first, with what they announce."""
        with self.engine.connect() as conn:
            q = select(T_EVENT).order_by(T_EVENT.c.id)
            q = q.where(T_EVENT.c.id.in_(event_ids)) if event_ids is not None else q.where(T_EVENT.c.id > after)
            events = [
                OutboxEvent(e.id, e.kind, e.notice_id, json.loads(e.payload_json or "{}")) for e in conn.execute(q)
            ]
            ids = {e.notice_id for e in events if e.notice_id}
            if not ids:
                return Announcements(events)
            notices = {
                r.id: AnnouncedNotice(r.id, r.source_id, r.url, r.title, r.doc_no, r.issuer, r.written, r.published)
                for r in conn.execute(select(T_NOTICE).where(T_NOTICE.c.id.in_(ids)))
            }
            links: dict[int, list[ParentLink]] = {}
            for r in conn.execute(select(T_LINK).where(T_LINK.c.child_id.in_(ids))):
                links.setdefault(r.child_id, []).append(ParentLink(r.parent_id, r.parent_key, r.relation))
            # an event carries its pass's links (one link in events stored before that)
            named = [
                ln.get("parent_id")
                for e in events
                if e.kind == "link.new"
                for ln in e.payload.get("links") or [e.payload]
            ]
            parent_ids = {pl.parent_id for ls in links.values() for pl in ls if pl.parent_id}
            parent_ids |= {p for p in named if p}
            parent_refs = (
                {
                    r.id: r.doc_no or r.title or ""
                    for r in conn.execute(
                        select(T_NOTICE.c.id, T_NOTICE.c.doc_no, T_NOTICE.c.title).where(T_NOTICE.c.id.in_(parent_ids))
                    )
                }
                if parent_ids
                else {}
            )
        return Announcements(events, notices, links, parent_refs)
