"""Notices and their versions: list items registered, notices due for a fetch, outcomes stored, reads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, col
from sqlmodel import select as select_model

from storage import batch
from storage.columns import attachments_of, citations_of, metadata_of, provenance_of
from storage.conflicts import is_busy, message
from storage.core import T_NOTICE, T_SIG, T_VERSION, Repo, chunks, insert_new, table_of
from storage.models import Event, Notice, Version, utcnow
from storage.pages import save_pages
from storage.records import Counts, NoticeState, Outcome, PollError, Snapshot

log = logging.getLogger(__name__)

_STATE_COLS = (
    T_NOTICE.c.id,
    T_NOTICE.c.url,
    T_NOTICE.c.status,
    T_NOTICE.c.list_title,
    T_NOTICE.c.list_date,
    T_NOTICE.c.attempts,
    T_NOTICE.c.content_hash,
    T_NOTICE.c.version_count,
    T_NOTICE.c.last_checked,
    T_NOTICE.c.etag,
    T_NOTICE.c.last_modified,
)


def _locked_states(conn: Connection, ids: Sequence[int]) -> dict[int, NoticeState]:
    """The notices' states, read after taking the write lock: PostgreSQL locks their rows (in id order,
    so two writers never deadlock on them), SQLite the database (BEGIN IMMEDIATE, waited for within
    busy_timeout; a deferred transaction that reads first can fail at once on its first write)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    out: dict[int, NoticeState] = {}
    for chunk in chunks(sorted(set(ids))):
        q = select(*_STATE_COLS).where(T_NOTICE.c.id.in_(chunk)).order_by(T_NOTICE.c.id)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        out.update((row.id, NoticeState(*row)) for row in conn.execute(q))
    return out


def _states(conn: Connection, urls: Sequence[str]) -> dict[str, NoticeState]:
    out: dict[str, NoticeState] = {}
    for chunk in chunks(list(urls)):
        for row in conn.execute(select(*_STATE_COLS).where(T_NOTICE.c.url.in_(chunk))):
            out[row.url] = NoticeState(*row)
    return out


class NoticeRepo(Repo):
    # ---- the crawl write path -------------------------------------------------------------------
    def record_list(self, source_id: str, page: dict | None, items: Sequence) -> dict[str, NoticeState]:
        """Register a list page's items (new ones as pending) and, when given, its validators, in one
        transaction: the validators are never saved without the items, so a crash in between makes the
        next run parse the list again instead of skipping items it never stored. (A poll walking several
        pages saves their validators when its walk is done: `PageRepo.save_page_rows`.)
        """
        now = utcnow()
        urls = [it.url for it in items]
        with self.engine.begin() as conn:
            states = _states(conn, urls)
            fresh = [it for it in items if it.url not in states]
            if fresh:
                insert_new(
                    conn,
                    T_NOTICE,
                    [
                        dict(
                            source_id=source_id,
                            url=it.url,
                            list_title=it.title,
                            list_date=it.date,
                            title=it.title,
                            published=it.date,
                            status="pending",
                            attempts=0,
                            version_count=0,
                            first_seen=now,
                            last_seen=now,
                        )
                        for it in fresh
                    ],
                    key=["url"],  # another process listing the same page at the same moment
                )
            seen = [states[u].id for u in urls if u in states]
            for chunk in chunks(seen):
                conn.execute(update(T_NOTICE).where(T_NOTICE.c.id.in_(chunk)).values(last_seen=now))
            if page is not None:
                save_pages(conn, source_id, [page])
            if fresh:
                states.update(_states(conn, [it.url for it in fresh]))
        return states

    def candidates(self, rules: dict[str, tuple[datetime, int]]) -> dict[str, list[NoticeState]]:
        """Per source, notices to fetch although the list may not bring them: every item whose detail page
        was never stored (the caller decides which are due: pipeline/retry.py), then stored ones not
        checked since the source's cutoff, newest first and at most its limit (revisions happen to recent
        pages). `rules` maps source id -> (checked_before, recheck_limit); two queries serve all sources."""
        out: dict[str, list[NoticeState]] = {sid: [] for sid in rules}
        if not rules:
            return out
        ids = list(rules)
        latest_cutoff = max(cut for cut, _ in rules.values())
        with self.engine.connect() as conn:
            for chunk in chunks(ids):
                for r in conn.execute(
                    select(T_NOTICE.c.source_id, *_STATE_COLS)
                    .where(T_NOTICE.c.source_id.in_(chunk), T_NOTICE.c.status.in_(("pending", "failed")))
                    .order_by(T_NOTICE.c.id)
                ):
                    out[r[0]].append(NoticeState(*r[1:]))
                rechecks: dict[str, int] = {}
                for r in conn.execute(
                    select(T_NOTICE.c.source_id, *_STATE_COLS)
                    .where(
                        T_NOTICE.c.source_id.in_(chunk),
                        T_NOTICE.c.status == "ok",
                        T_NOTICE.c.last_checked < latest_cutoff,
                    )
                    .order_by(T_NOTICE.c.id.desc())
                ):
                    cutoff, limit = rules[r[0]]
                    st = NoticeState(*r[1:])
                    if st.last_checked is not None and st.last_checked < cutoff and rechecks.get(r[0], 0) < limit:
                        rechecks[r[0]] = rechecks.get(r[0], 0) + 1
                        out[r[0]].append(st)
        return out

    def failing(self, source_ids: Sequence[str]) -> dict[str, int]:
        """Per source, the notices never stored whose last fetch failed (status `failed`): what keeps failing."""
        with self.engine.connect() as conn:
            return {
                sid: n
                for chunk in chunks(list(source_ids))
                for sid, n in conn.execute(
                    select(T_NOTICE.c.source_id, func.count())
                    .where(T_NOTICE.c.source_id.in_(chunk), T_NOTICE.c.status == "failed")
                    .group_by(T_NOTICE.c.source_id)
                )
            }

    def apply(self, source_id: str, outcomes: Sequence[Outcome], prepared: batch.Prepared | None = None) -> Counts:
        """Store a batch of outcomes: versions, notice updates and outbox events in one transaction.

        One record never blocks the others: when the batch is refused, each outcome is stored on its
        own, and one still refused is recorded as a failed attempt of its notice, with the database's
        error (counted in `failed` and listed in `errors`). A busy database is not a refusal: that
        error goes up, for the caller to run the batch again. `prepared`: `prepare_batch` of the same
        outcomes, made by a caller before the lock it holds for its storage calls (pipeline/db.py)."""
        if prepared is None or prepared.outcomes is not outcomes or prepared.source_id != source_id:
            prepared = self.prepare_batch(source_id, outcomes)  # an outcome that says nothing raises here
        return self.apply_many([prepared])[0]

    def apply_many(self, prepared: Sequence[batch.Prepared]) -> list[Counts]:
        """Several sources' batches (`prepare_batch` of each) in one transaction: what a cycle's sources fetched
        meanwhile, stored with one commit (watcher/pipeline/storer.py). Refused as a whole, each batch is stored
        on its own, and a batch refused alone one outcome at a time; a busy database goes up, as in `apply`."""
        try:
            return self._apply_locked(prepared)
        except Exception as exc:  # noqa: BLE001 - the driver's refusals are not all DBAPIErrors (a lone surrogate)
            if is_busy(exc):
                raise
            if len(prepared) == 1:
                p = prepared[0]
                log.warning(
                    "%s: a batch of %d was refused (%s): storing one by one", p.source_id, len(p.outcomes), message(exc)
                )
                return [self._one_by_one(p)]
            log.warning("%d batches were refused together (%s): storing each on its own", len(prepared), message(exc))
        return [self.apply_many([p])[0] for p in prepared]

    def _one_by_one(self, prepared: batch.Prepared) -> Counts:
        """A refused batch, each outcome in a transaction of its own; one still refused is a failed attempt."""
        counts = Counts()
        for oc in prepared.outcomes:
            try:
                counts.add(self._apply_locked([batch.Prepared(prepared.source_id, [oc], prepared.ready)])[0])
            except Exception as exc:  # noqa: BLE001 - as in apply_many
                if is_busy(exc):
                    raise
                counts.add(self._refused(prepared.source_id, oc, exc))
        return counts

    def prepare_batch(self, source_id: str, outcomes: Sequence[Outcome]) -> batch.Prepared:
        """What `apply` computes from the outcomes alone, with no database (its rows' JSON columns and keys, the
        search entries); raises ValueError for an outcome that says nothing."""
        prepared = batch.prepare(source_id, outcomes)
        if self.engine.dialect.name == "postgresql":
            for r in prepared.ready.values():
                _ = r.search.postgres_row  # made here, outside the transaction and its row locks
        return prepared

    def _apply_locked(self, prepared: Sequence[batch.Prepared]) -> list[Counts]:
        """Plan each batch against the notices as stored now, their rows locked, and write, in one transaction.
        Another process may have stored the same page since this one read it (two polls at once):
        planned against what it stored, the same text is unchanged, not a second version 1 (and what was
        prepared for it is not used)."""
        with self.engine.begin() as conn:
            fresh = _locked_states(conn, [oc.notice.id for p in prepared for oc in p.outcomes])
            now = utcnow()
            plans = [
                batch.plan(
                    p.source_id,
                    [replace(oc, notice=fresh.get(oc.notice.id, oc.notice)) for oc in p.outcomes],
                    now,
                    p.of,
                )
                for p in prepared
            ]
            for plan in plans:
                batch.write(conn, plan)
        return [plan.counts for plan in plans]

    def _refused(self, source_id: str, oc: Outcome, exc: Exception) -> Counts:
        """A record the database refuses on its own: a failed attempt of its notice, with the reason."""
        why = f"could not be stored: {message(exc)}"
        log.warning("%s: %s %s", source_id, oc.notice.url, why)
        counts = self._apply_locked([batch.prepare(source_id, [Outcome(oc.notice, error=why)])])[0]
        counts.errors.append(PollError(error="StoreError", message=why, source_id=source_id, url=oc.notice.url))
        return counts

    def unsigned_exist(self, window: int = 1000) -> bool:
        """Whether versions wait for the linking stage (no signature yet), asked cheaply after every poll:
        only the newest `window` versions are looked at, through the primary keys. Linking goes in
        version order, so what a kill or a Redis outage leaves unlinked includes the newest version; the
        window also covers a version committed late by another process below one already linked."""
        newest = select(func.max(T_VERSION.c.id)).scalar_subquery()
        signed = select(T_SIG.c.version_id).where(T_SIG.c.version_id == T_VERSION.c.id)
        q = select(T_VERSION.c.id).where(T_VERSION.c.id > newest - window, ~exists(signed)).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(q).first() is not None

    # ---- reading ------------------------------------------------------------------------------------
    def notice(self, notice_id: int) -> Notice | None:
        with self.session() as s:
            return s.get(Notice, notice_id)

    def notice_by_url(self, url: str) -> Notice | None:
        with self.session() as s:
            return s.exec(select_model(Notice).where(col(Notice.url) == url)).first()

    def notices(self, source_id: str | None = None, limit: int | None = None) -> list[Notice]:
        with self.session() as s:
            q = select_model(Notice).order_by(col(Notice.id).desc())
            if source_id:
                q = q.where(col(Notice.source_id) == source_id)
            if limit:
                q = q.limit(limit)
            return list(s.exec(q))

    def versions(self, notice_id: int) -> list[Version]:
        with self.session() as s:
            return list(
                s.exec(select_model(Version).where(col(Version.notice_id) == notice_id).order_by(col(Version.seq)))
            )

    def latest_snapshot(self, notice_id: int) -> Snapshot | None:
        """The notice's newest version as the Snapshot it was stored from (JSON columns decoded; what
        its attachments said is in `norm_text` only); None before the first version."""
        q = (
            select(T_VERSION, T_NOTICE.c.url)
            .join(T_NOTICE, T_NOTICE.c.id == T_VERSION.c.notice_id)
            .where(T_VERSION.c.notice_id == notice_id)
            .order_by(T_VERSION.c.seq.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            v = conn.execute(q).first()
        if v is None:
            return None
        return Snapshot(
            url=v.url,
            title=v.title or "",
            body=v.body,
            norm_text=v.norm_text,
            content_hash=v.content_hash,
            doc_no=v.doc_no,
            issuer=v.issuer,
            written=v.written,
            published=v.published,
            metadata=metadata_of(v.metadata_json),
            provenance=provenance_of(v.provenance_json),
            citations=citations_of(v.citations_json),
            attachments=attachments_of(v.attachments_json),
            etag=v.etag,
            last_modified=v.last_modified,
        )

    def diff(self, notice_id: int, old_seq: int | None = None, new_seq: int | None = None) -> list:
        """Paragraph diff between two versions (default: the previous and the newest)."""
        from watcher.text.diff import paragraph_diff

        versions = {v.seq: v for v in self.versions(notice_id)}
        if not versions:
            raise KeyError(f"notice {notice_id} has no stored version")
        new_seq = new_seq or max(versions)
        old_seq = old_seq or max(new_seq - 1, 1)
        for seq in (old_seq, new_seq):
            if seq not in versions:
                raise KeyError(f"notice {notice_id} has no version {seq} (has {sorted(versions)})")
        return paragraph_diff(versions[old_seq].body, versions[new_seq].body)

    def events(self, after_id: int = 0, limit: int | None = None) -> list[Event]:
        with self.session() as s:
            q = select_model(Event).where(col(Event.id) > after_id).order_by(col(Event.id))
            if limit:
                q = q.limit(limit)
            return list(s.exec(q))

    def count(self, model: type[SQLModel]) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table_of(model))).scalar_one()
