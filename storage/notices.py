"""Notices and their versions: list items registered, notices due for a fetch, outcomes stored, reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel, col
from sqlmodel import select as select_model

from storage import batch
from storage.columns import attachments_of, citations_of, metadata_of
from storage.core import T_NOTICE, T_VERSION, Repo, chunks, insert_new, table_of
from storage.models import Event, Notice, Version, utcnow
from storage.pages import save_pages
from storage.records import Counts, NoticeState, Outcome, Snapshot

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


def _states(conn: Connection, urls: Sequence[str]) -> dict[str, NoticeState]:
    out: dict[str, NoticeState] = {}
    for chunk in chunks(list(urls)):
        for row in conn.execute(select(*_STATE_COLS).where(T_NOTICE.c.url.in_(chunk))):
            out[row.url] = NoticeState(*row)
    return out


class NoticeRepo(Repo):
    # ---- the crawl write path -------------------------------------------------------------------
    def record_list(self, source_id: str, page: dict, items: Sequence) -> dict[str, NoticeState]:
        """Register a list page's items (new ones as pending) and its validators, in one transaction.

        The validators are saved only together with the items, so a crash in between makes the next
        run parse the list again instead of skipping items it never stored.
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
            save_pages(conn, source_id, [page])
            if fresh:
                states.update(_states(conn, [it.url for it in fresh]))
        return states

    def candidates(self, rules: dict[str, tuple[datetime, int]], max_attempts: int) -> dict[str, list[NoticeState]]:
        """Per source, notices to fetch although the list may not bring them: items whose detail page
        was never stored (every run, up to max_attempts), then stored ones not checked since the
        source's cutoff, newest first and at most its limit (revisions happen to recent pages).
        `rules` maps source id -> (checked_before, recheck_limit); two queries serve all sources."""
        out: dict[str, list[NoticeState]] = {sid: [] for sid in rules}
        if not rules:
            return out
        ids = list(rules)
        latest_cutoff = max(cut for cut, _ in rules.values())
        with self.engine.connect() as conn:
            for chunk in chunks(ids):
                for r in conn.execute(
                    select(T_NOTICE.c.source_id, *_STATE_COLS)
                    .where(
                        T_NOTICE.c.source_id.in_(chunk),
                        T_NOTICE.c.status.in_(("pending", "failed")),
                        T_NOTICE.c.attempts < max_attempts,
                    )
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

    def apply(self, source_id: str, outcomes: Sequence[Outcome]) -> Counts:
        """Store a batch of outcomes: versions, notice updates and outbox events in one transaction."""
        plan = batch.plan(source_id, outcomes, utcnow())
        with self.engine.begin() as conn:
            batch.write(conn, plan)
        return plan.counts

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
