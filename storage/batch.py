"""`Store.apply`: a batch of outcomes becomes versions, notice updates and outbox events.

Planning is pure (outcomes in, rows out), so it can be read and tested without a database;
writing runs the plan as a few batched Core statements in one transaction, because a cold ingest
stores thousands of documents a minute and one statement per row would dominate it.

What a new version needs from its snapshot alone (the JSON columns, the title and 文号 keys, the search
index's folded texts and tokens) is `prepare`d before the transaction: the plan, made against the rows as
locked, uses it for the texts it finds new. Made inside, it was a third of the CPU a poll spent holding
SQLite's write lock and the turnstile a link process waits at (1,000 bench notices: 2.2 s, 1.4 s since;
what is left is SQLite's: the FTS5 insert, the version rows, the commit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.engine import Connection

from storage.columns import attachments_json, citations_json, metadata_json, provenance_json
from storage.core import T_EVENT, T_NOTICE, T_VERSION
from storage.pages import save_attachment_texts, save_pages
from storage.records import Counts, FileText, NoticeState, Outcome, Snapshot
from storage.search import Indexed, index_docs
from watcher.text.docno import docno_key
from watcher.text.titles import title_key

# last_checked of a notice to look at again on the next run, whatever its source's recheck_after.
RETRY_AT = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Plan:
    """The rows of one batch, grouped by the statement that writes them (bindparam names start with _)."""

    source_id: str
    now: datetime
    counts: Counts = field(default_factory=Counts)
    failed: list[dict] = field(default_factory=list)  # notice updates after an error
    unchanged: list[dict] = field(default_factory=list)  # notice updates after a 304 or the same text
    changed: list[dict] = field(default_factory=list)  # notice updates after a new version
    versions: list[dict] = field(default_factory=list)  # version rows, in the order of `events`
    events: list[dict] = field(default_factory=list)  # outbox rows, version_id filled on insert
    search: dict[int, Indexed] = field(default_factory=dict)  # notice id -> what the search index holds
    texts: list[FileText] = field(default_factory=list)  # attachment_texts rows
    pages: list[dict] = field(default_factory=list)  # validators of attachment URLs


@dataclass(frozen=True)
class Ready:
    """What a new version of a snapshot needs from the snapshot alone."""

    snapshot: Snapshot
    metadata_json: str
    provenance_json: str
    citations_json: str
    attachments_json: str
    title_key: str | None
    doc_key: str | None
    search: Indexed  # the notice's own 文号 is the snapshot's: the same transaction writes it to the notice

    @classmethod
    def of(cls, snap: Snapshot) -> Ready:
        text = snap.body + ("\n" + snap.attachment_text if snap.attachment_text else "")
        return cls(
            snapshot=snap,
            metadata_json=metadata_json(snap.metadata),
            provenance_json=provenance_json(snap.provenance),
            citations_json=citations_json(snap.citations),
            attachments_json=attachments_json(snap.attachments),
            title_key=title_key(snap.title),
            doc_key=docno_key(snap.doc_no),
            search=Indexed.of(snap.title or "", snap.doc_no, text),
        )


@dataclass(frozen=True)
class Prepared:
    """A batch of outcomes with the Ready parts of the snapshots that are new texts against the notices as the
    poll read them, by the id() of the snapshot (each Ready holds its snapshot: no id is reused meanwhile)."""

    source_id: str
    outcomes: Sequence[Outcome]
    ready: dict[int, Ready]

    def of(self, snap: Snapshot) -> Ready:
        """The snapshot's Ready parts: prepared, or made now (a text another process changed meanwhile)."""
        got = self.ready.get(id(snap))
        return got if got is not None and got.snapshot is snap else Ready.of(snap)


def _sort(oc: Outcome) -> str:
    """What an outcome is against its notice as read: "failed", "unchanged" (a 304, or the same text) or "text" (a
    new one); raises ValueError for an outcome that says nothing. `prepare` and `plan` sort alike."""
    if oc.error is not None:
        return "failed"
    snap = oc.snapshot
    if oc.not_modified or (snap is not None and snap.content_hash == oc.notice.content_hash):
        return "unchanged"
    if snap is None:
        raise ValueError(f"outcome for {oc.notice.url} has neither snapshot, error nor 304")
    return "text"


def prepare(source_id: str, outcomes: Sequence[Outcome]) -> Prepared:
    """What the plan will need, computed without the database; raises ValueError for an outcome that says
    nothing, as `plan` does, before any lock or write."""
    ready = {id(oc.snapshot): Ready.of(oc.snapshot) for oc in outcomes if _sort(oc) == "text" and oc.snapshot}
    return Prepared(source_id, outcomes, ready)


def plan(
    source_id: str, outcomes: Sequence[Outcome], now: datetime, ready: Callable[[Snapshot], Ready] = Ready.of
) -> Plan:
    """Sort the outcomes into rows; raises ValueError for an outcome that says nothing, before any write.
    `ready` gives a new text's parts that depend on its snapshot alone (`Prepared.of`: made before the lock)."""
    p = Plan(source_id, now)
    for oc in outcomes:
        n, snap, kind = oc.notice, oc.snapshot, _sort(oc)
        if kind == "failed":
            assert oc.error is not None
            p.counts.failed += 1
            p.failed.append(
                dict(
                    _id=n.id,
                    _attempts=n.attempts + 1,
                    _error=oc.error[:2000],
                    _status="failed" if n.version_count == 0 else "ok",
                )
            )
        elif kind == "unchanged":
            p.counts.unchanged += 1
            p.unchanged.append(
                dict(
                    _id=n.id,
                    _status="ok" if n.version_count else n.status,
                    _checked=RETRY_AT if snap is not None and snap.retry else now,
                    _etag=snap.etag if snap else n.etag,
                    _lm=snap.last_modified if snap else n.last_modified,
                )
            )
        else:
            assert snap is not None
            _plan_version(p, n, ready(snap))
    p.texts = [r for oc in outcomes if oc.snapshot for r in oc.snapshot.attachment_texts]
    p.pages = [r for oc in outcomes if oc.snapshot for r in oc.snapshot.attachment_pages]
    return p


def _version_row(notice_id: int, seq: int, r: Ready, now: datetime) -> dict:
    snap = r.snapshot
    return dict(
        notice_id=notice_id,
        seq=seq,
        title=snap.title,
        doc_no=snap.doc_no,
        issuer=snap.issuer,
        written=snap.written,
        published=snap.published,
        body=snap.body,
        norm_text=snap.norm_text,
        content_hash=snap.content_hash,
        metadata_json=r.metadata_json,
        provenance_json=r.provenance_json,
        citations_json=r.citations_json,
        attachments_json=r.attachments_json,
        etag=snap.etag,
        last_modified=snap.last_modified,
        fetched_at=now,
    )


def _plan_version(p: Plan, n: NoticeState, r: Ready) -> None:
    """A new text: a version row, the notice's new metadata, and a notice.new or notice.version event."""
    snap = r.snapshot
    seq = n.version_count + 1
    if n.version_count == 0:
        event_type = "notice.new"
        p.counts.new += 1
    else:
        event_type = "notice.version"
        p.counts.changed += 1
    p.versions.append(_version_row(n.id, seq, r, p.now))
    p.search[n.id] = r.search
    published = snap.published or n.list_date
    payload = dict(
        url=snap.url,
        title=snap.title,
        doc_no=snap.doc_no,
        issuer=snap.issuer,
        seq=seq,
        published=published.isoformat() if published else None,
    )
    p.events.append(
        dict(
            kind=event_type,  # the outbox column is `kind`
            source_id=p.source_id,
            notice_id=n.id,
            created_at=p.now,
            payload_json=json.dumps(payload, ensure_ascii=False),
        )
    )
    p.changed.append(
        dict(
            _id=n.id,
            _title=snap.title,
            _tkey=r.title_key,
            _doc_no=snap.doc_no,
            _dkey=r.doc_key,
            _issuer=snap.issuer,
            _written=snap.written,
            _published=snap.published or n.list_date,
            _hash=snap.content_hash,
            _count=seq,
            _etag=snap.etag,
            _checked=RETRY_AT if snap.retry else p.now,
            _lm=snap.last_modified,
        )
    )


def write(conn: Connection, p: Plan) -> None:
    """Run a plan: one executemany per sort of row, in the caller's transaction."""
    _update_notices(conn, p)
    if p.texts:
        save_attachment_texts(conn, p.texts)
    if p.pages:
        save_pages(conn, p.source_id, p.pages)
    if p.versions:
        index_docs(conn, p.search)
        ids = (
            conn.execute(insert(T_VERSION).returning(T_VERSION.c.id, sort_by_parameter_order=True), p.versions)
            .scalars()
            .all()
        )
        conn.execute(insert(T_EVENT), [dict(ev, version_id=vid) for ev, vid in zip(p.events, ids, strict=True)])


def _update_notices(conn: Connection, p: Plan) -> None:
    """The notices' own rows: failed, unchanged and changed, one executemany each."""
    now = p.now
    where = T_NOTICE.c.id == bindparam("_id")
    if p.failed:
        conn.execute(
            update(T_NOTICE)
            .where(where)
            .values(
                attempts=bindparam("_attempts"),
                last_error=bindparam("_error"),
                last_checked=now,
                status=bindparam("_status"),
            ),
            p.failed,
        )
    if p.unchanged:
        conn.execute(
            update(T_NOTICE)
            .where(where)
            .values(
                last_checked=bindparam("_checked"),
                last_seen=now,
                last_error=None,
                status=bindparam("_status"),
                etag=bindparam("_etag"),
                last_modified=bindparam("_lm"),
            ),
            p.unchanged,
        )
    if p.changed:
        conn.execute(
            update(T_NOTICE)
            .where(where)
            .values(
                title=bindparam("_title"),
                title_key=bindparam("_tkey"),
                doc_no=bindparam("_doc_no"),
                doc_key=bindparam("_dkey"),
                issuer=bindparam("_issuer"),
                written=bindparam("_written"),
                published=bindparam("_published"),
                status="ok",
                last_error=None,
                content_hash=bindparam("_hash"),
                version_count=bindparam("_count"),
                etag=bindparam("_etag"),
                last_modified=bindparam("_lm"),
                last_checked=bindparam("_checked"),
                last_seen=now,
                last_changed=now,
            ),
            p.changed,
        )
