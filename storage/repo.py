"""The Store: every write the pipeline makes, each batch in one transaction.

Writes go through SQLAlchemy Core in batches because a cold ingest stores thousands of documents a
minute; reads for the CLI use the SQLModel classes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from watcher.text.docno import title_key

from .db import make_engine, migrate
from .models import AttachmentText, CrawlRun, Event, Notice, Page, RobotsRow, SourceRow, Version, utcnow

T_NOTICE = Notice.__table__
T_VERSION = Version.__table__
T_PAGE = Page.__table__
T_EVENT = Event.__table__
T_RUN = CrawlRun.__table__
T_SOURCE = SourceRow.__table__
T_ROBOTS = RobotsRow.__table__
T_ATT = AttachmentText.__table__
# last_checked of a notice to look at again on the next run, whatever its source's recheck_after.
_RETRY_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass
class NoticeState:
    id: int
    url: str
    status: str
    list_title: str | None
    list_date: date | None
    attempts: int
    content_hash: str | None
    version_count: int
    last_checked: datetime | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Snapshot:
    """One fetched and extracted detail page, ready to store."""
    url: str
    title: str
    body: str
    norm_text: str
    content_hash: str
    doc_no: str | None = None
    issuer: str | None = None
    written: date | None = None
    published: date | None = None
    metadata: dict = field(default_factory=dict)
    citations: dict = field(default_factory=dict)
    attachments: list = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    attachment_text: str = ""                               # what the attachments say, for search
    attachment_texts: list = field(default_factory=list)   # rows for attachment_texts read this time
    attachment_pages: list = field(default_factory=list)   # validators of the attachment URLs
    retry: bool = False      # something on the page failed for now (an attachment): check again next run


@dataclass
class Outcome:
    """What happened to one notice in a run: a snapshot, a 304, or an error."""
    notice: NoticeState
    snapshot: Snapshot | None = None
    not_modified: bool = False
    error: str | None = None


@dataclass
class Counts:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, other: "Counts") -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.failed += other.failed


_STATE_COLS = (T_NOTICE.c.id, T_NOTICE.c.url, T_NOTICE.c.status, T_NOTICE.c.list_title, T_NOTICE.c.list_date,
               T_NOTICE.c.attempts, T_NOTICE.c.content_hash, T_NOTICE.c.version_count, T_NOTICE.c.last_checked,
               T_NOTICE.c.etag, T_NOTICE.c.last_modified)


def _event_payload(oc: Outcome, seq: int) -> dict:
    snap = oc.snapshot
    published = snap.published or oc.notice.list_date
    return dict(url=snap.url, title=snap.title, doc_no=snap.doc_no, issuer=snap.issuer, seq=seq,
                published=published.isoformat() if published else None)


def _chunks(seq: Sequence, n: int = 500) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str | None = None, *, run_migrations: bool = True) -> "Store":
        engine = make_engine(url)
        if run_migrations:
            migrate(engine)
        return cls(engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # ---- sources ---------------------------------------------------------------------------
    def sync_sources(self, sources: Iterable) -> None:
        """Mirror the configured sources (pydantic Source objects) into the sources table."""
        now = utcnow()
        with self.engine.begin() as conn:
            existing = dict(conn.execute(select(T_SOURCE.c.id, T_SOURCE.c.config_json)).all())
            fresh = []
            for s in sources:
                config_json = s.model_dump_json(by_alias=True)
                values = dict(name=s.name, kind=s.kind, region=s.region, enabled=s.enabled,
                              config_json=config_json, updated_at=now)
                if s.id not in existing:
                    fresh.append(dict(id=s.id, created_at=now, **values))
                elif existing[s.id] != config_json:
                    conn.execute(update(T_SOURCE).where(T_SOURCE.c.id == s.id).values(**values))
            if fresh:
                conn.execute(insert(T_SOURCE), fresh)

    # ---- pages (HTTP validators) ------------------------------------------------------------
    def page(self, url: str) -> Page | None:
        with self.session() as s:
            return s.get(Page, url)

    def pages(self, urls: Sequence[str]) -> dict[str, Page]:
        out: dict[str, Page] = {}
        with self.session() as s:
            for chunk in _chunks(list(urls)):
                for p in s.exec(select(Page).where(Page.url.in_(chunk))).scalars():
                    out[p.url] = p
        return out

    def _save_pages(self, conn: Connection, source_id: str, rows: list[dict]) -> None:
        if not rows:
            return
        now = utcnow()
        urls = [r["url"] for r in rows]
        known = set()
        for chunk in _chunks(urls):
            known.update(r[0] for r in conn.execute(select(T_PAGE.c.url).where(T_PAGE.c.url.in_(chunk))))
        for r in rows:
            values = dict(source_id=source_id, etag=r.get("etag"), last_modified=r.get("last_modified"),
                          body_hash=r.get("body_hash"), region_hash=r.get("region_hash"),
                          status=r.get("status"), fetched_at=now)
            if r["url"] in known:
                conn.execute(update(T_PAGE).where(T_PAGE.c.url == r["url"]).values(**values))
            else:
                conn.execute(insert(T_PAGE).values(url=r["url"], **values))

    # ---- attachments ---------------------------------------------------------------------------
    def attachment_text(self, sha256: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_ATT).where(T_ATT.c.sha256 == sha256)).mappings().first()
        return dict(row) if row else None

    def attachment_cache(self, urls: Sequence[str]) -> dict[str, dict]:
        """Per attachment URL already fetched: its validators, and what was read from it."""
        out: dict[str, dict] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(urls)):
                q = (select(T_PAGE.c.url, T_PAGE.c.etag, T_PAGE.c.last_modified, T_ATT)
                     .join(T_ATT, T_ATT.c.sha256 == T_PAGE.c.body_hash, isouter=True).where(T_PAGE.c.url.in_(chunk)))
                for r in conn.execute(q).mappings():
                    row = {k: r[k] for k in T_ATT.c.keys()} if r["sha256"] else None
                    out[r["url"]] = dict(etag=r["etag"], last_modified=r["last_modified"], text_row=row)
        return out

    def _save_attachment_texts(self, conn: Connection, rows: list[dict]) -> None:
        rows = list({r["sha256"]: r for r in rows}.values())
        known = set(conn.execute(select(T_ATT.c.sha256).where(T_ATT.c.sha256.in_([r["sha256"] for r in rows])))
                    .scalars())
        fresh = [dict(r, created_at=utcnow()) for r in rows if r["sha256"] not in known]
        if fresh:
            conn.execute(insert(T_ATT), fresh)

    def touch_page(self, source_id: str, url: str, **fields) -> None:
        with self.engine.begin() as conn:
            self._save_pages(conn, source_id, [dict(url=url, **fields)])

    # ---- robots.txt cache ------------------------------------------------------------------
    def robots_get(self, host: str) -> tuple[int | None, str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_ROBOTS.c.status, T_ROBOTS.c.body, T_ROBOTS.c.fetched_at)
                               .where(T_ROBOTS.c.host == host)).first()
        return (row.status, row.body, row.fetched_at) if row else None

    def robots_all(self) -> dict[str, tuple[int | None, str, datetime]]:
        with self.engine.connect() as conn:
            return {r.host: (r.status, r.body, r.fetched_at) for r in conn.execute(select(T_ROBOTS))}

    def robots_put(self, host: str, status: int | None, body: str) -> None:
        with self.engine.begin() as conn:
            values = dict(status=status, body=body, fetched_at=utcnow())
            if conn.execute(update(T_ROBOTS).where(T_ROBOTS.c.host == host).values(**values)).rowcount == 0:
                conn.execute(insert(T_ROBOTS).values(host=host, **values))

    # ---- notices -------------------------------------------------------------------------------
    def record_list(self, source_id: str, page: dict, items: Sequence) -> dict[str, NoticeState]:
        """Register a list page's items (new ones as pending) and its validators, in one transaction.

        The validators are saved only together with the items, so a crash in between makes the next
        run parse the list again instead of skipping items it never stored.
        """
        now = utcnow()
        urls = [it.url for it in items]
        with self.engine.begin() as conn:
            states = self._states(conn, urls)
            fresh = [it for it in items if it.url not in states]
            if fresh:
                conn.execute(insert(T_NOTICE), [
                    dict(source_id=source_id, url=it.url, list_title=it.title, list_date=it.date,
                         title=it.title, published=it.date, status="pending", attempts=0, version_count=0,
                         first_seen=now, last_seen=now) for it in fresh])
            seen = [states[u].id for u in urls if u in states]
            for chunk in _chunks(seen):
                conn.execute(update(T_NOTICE).where(T_NOTICE.c.id.in_(chunk)).values(last_seen=now))
            self._save_pages(conn, source_id, [page])
            if fresh:
                states.update(self._states(conn, [it.url for it in fresh]))
        return states

    def _states(self, conn: Connection, urls: Sequence[str]) -> dict[str, NoticeState]:
        out: dict[str, NoticeState] = {}
        for chunk in _chunks(list(urls)):
            for row in conn.execute(select(*_STATE_COLS).where(T_NOTICE.c.url.in_(chunk))):
                out[row.url] = NoticeState(*row)
        return out

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
            for chunk in _chunks(ids):
                for r in conn.execute(select(T_NOTICE.c.source_id, *_STATE_COLS).where(
                        T_NOTICE.c.source_id.in_(chunk), T_NOTICE.c.status.in_(("pending", "failed")),
                        T_NOTICE.c.attempts < max_attempts).order_by(T_NOTICE.c.id)):
                    out[r[0]].append(NoticeState(*r[1:]))
                rechecks: dict[str, int] = {}
                for r in conn.execute(select(T_NOTICE.c.source_id, *_STATE_COLS).where(
                        T_NOTICE.c.source_id.in_(chunk), T_NOTICE.c.status == "ok",
                        T_NOTICE.c.last_checked < latest_cutoff).order_by(T_NOTICE.c.id.desc())):
                    cutoff, limit = rules[r[0]]
                    st = NoticeState(*r[1:])
                    if st.last_checked < cutoff and rechecks.get(r[0], 0) < limit:
                        rechecks[r[0]] = rechecks.get(r[0], 0) + 1
                        out[r[0]].append(st)
        return out

    def apply(self, source_id: str, outcomes: Sequence[Outcome]) -> Counts:
        """Store a batch of outcomes: versions, notice updates and outbox events in one transaction."""
        counts = Counts()
        now = utcnow()
        failed, unchanged, changed = [], [], []
        new_versions: list[dict] = []
        events_for: list[tuple[str, Outcome]] = []
        for oc in outcomes:
            n = oc.notice
            if oc.error is not None:
                counts.failed += 1
                failed.append(dict(_id=n.id, _attempts=n.attempts + 1, _error=oc.error[:2000],
                                   _status="failed" if n.version_count == 0 else "ok"))
                continue
            snap = oc.snapshot
            if oc.not_modified or (snap is not None and snap.content_hash == n.content_hash):
                counts.unchanged += 1
                unchanged.append(dict(_id=n.id, _status="ok" if n.version_count else n.status,
                                      _checked=_RETRY_AT if snap is not None and snap.retry else now,
                                      _etag=snap.etag if snap else n.etag,
                                      _lm=snap.last_modified if snap else n.last_modified))
                continue
            if snap is None:
                raise ValueError(f"outcome for {n.url} has neither snapshot, error nor 304")
            kind = "notice.new" if n.version_count == 0 else "notice.version"
            if kind == "notice.new":
                counts.new += 1
            else:
                counts.changed += 1
            new_versions.append(dict(
                notice_id=n.id, seq=n.version_count + 1, title=snap.title, doc_no=snap.doc_no,
                issuer=snap.issuer, written=snap.written, published=snap.published, body=snap.body,
                norm_text=snap.norm_text, content_hash=snap.content_hash,
                metadata_json=json.dumps(snap.metadata, ensure_ascii=False),
                citations_json=json.dumps(snap.citations, ensure_ascii=False),
                attachments_json=json.dumps(snap.attachments, ensure_ascii=False),
                etag=snap.etag, last_modified=snap.last_modified, fetched_at=now,
                _search=snap.body + ("\n" + snap.attachment_text if snap.attachment_text else "")))
            events_for.append((kind, oc))
            changed.append(dict(_id=n.id, _title=snap.title, _tkey=title_key(snap.title), _doc_no=snap.doc_no,
                                _issuer=snap.issuer,
                                _written=snap.written, _published=snap.published or n.list_date,
                                _hash=snap.content_hash, _count=n.version_count + 1, _etag=snap.etag,
                                _checked=_RETRY_AT if snap.retry else now,
                                _lm=snap.last_modified))
        with self.engine.begin() as conn:
            where = T_NOTICE.c.id == bindparam("_id")
            if failed:
                conn.execute(update(T_NOTICE).where(where).values(
                    attempts=bindparam("_attempts"), last_error=bindparam("_error"), last_checked=now,
                    status=bindparam("_status")), failed)
            if unchanged:
                conn.execute(update(T_NOTICE).where(where).values(
                    last_checked=bindparam("_checked"), last_seen=now, last_error=None, status=bindparam("_status"),
                    etag=bindparam("_etag"), last_modified=bindparam("_lm")), unchanged)
            if changed:
                conn.execute(update(T_NOTICE).where(where).values(
                    title=bindparam("_title"), title_key=bindparam("_tkey"), doc_no=bindparam("_doc_no"),
                    issuer=bindparam("_issuer"),
                    written=bindparam("_written"), published=bindparam("_published"), status="ok",
                    last_error=None, content_hash=bindparam("_hash"), version_count=bindparam("_count"),
                    etag=bindparam("_etag"), last_modified=bindparam("_lm"), last_checked=bindparam("_checked"),
                    last_seen=now, last_changed=now), changed)
            texts = [r for oc in outcomes if oc.snapshot for r in oc.snapshot.attachment_texts]
            if texts:
                self._save_attachment_texts(conn, texts)
            pages = [r for oc in outcomes if oc.snapshot for r in oc.snapshot.attachment_pages]
            if pages:
                self._save_pages(conn, source_id, pages)
            if new_versions:
                self._index_text(conn, [(v["notice_id"], v["title"] or "", v.pop("_search"))
                                        for v in new_versions])
                ids = conn.execute(insert(T_VERSION).returning(T_VERSION.c.id, sort_by_parameter_order=True),
                                   new_versions).scalars().all()
                conn.execute(insert(T_EVENT), [
                    dict(kind=kind, source_id=source_id, notice_id=oc.notice.id, version_id=vid, created_at=now,
                         payload_json=json.dumps(_event_payload(oc, v["seq"]), ensure_ascii=False))
                    for (kind, oc), vid, v in zip(events_for, ids, new_versions)])
        return counts

    def _index_text(self, conn: Connection, rows: list[tuple[int, str, str]]) -> None:
        """Keep the search table at each notice's newest text."""
        ids = [r[0] for r in rows]
        if conn.dialect.name == "sqlite":
            conn.execute(text(f"DELETE FROM notice_search WHERE rowid IN ({','.join(map(str, ids))})"))
            conn.execute(text("INSERT INTO notice_search (rowid, title, body) VALUES (:id, :title, :body)"),
                         [dict(id=i, title=t, body=b) for i, t, b in rows])
        else:
            conn.execute(text("DELETE FROM notice_search WHERE notice_id = ANY(:ids)"), dict(ids=ids))
            conn.execute(text("INSERT INTO notice_search (notice_id, title, body) VALUES (:id, :title, :body)"),
                         [dict(id=i, title=t, body=b) for i, t, b in rows])

    def search(self, query: str, *, source_id: str | None = None, since: date | None = None,
               limit: int = 20) -> list[dict]:
        """Notices whose title or body contains `query` (substring, served by the trigram index)."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        key = "s.rowid" if self.engine.dialect.name == "sqlite" else "s.notice_id"
        like = "LIKE" if self.engine.dialect.name == "sqlite" else "ILIKE"
        sql = (f"SELECT n.id, n.title, n.doc_no, n.issuer, n.published, n.source_id, n.url, s.title AS st, s.body "
               f"FROM notice_search s JOIN notices n ON n.id = {key} "
               f"WHERE (s.title {like} :p ESCAPE '\\' OR s.body {like} :p ESCAPE '\\')")
        params: dict = {"p": pattern, "limit": limit}
        if source_id:
            sql += " AND n.source_id = :source"
            params["source"] = source_id
        if since:
            sql += " AND n.published >= :since"
            params["since"] = since
        sql += " ORDER BY n.published DESC, n.id DESC LIMIT :limit"
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(text(sql), params):
                pos = r.body.lower().find(query.lower())
                snippet = r.body[max(0, pos - 30):pos + len(query) + 30].replace("\n", " ") if pos >= 0 else ""
                out.append(dict(id=r.id, title=r.title, doc_no=r.doc_no, issuer=r.issuer,
                                published=str(r.published) if r.published else None, source_id=r.source_id,
                                url=r.url, snippet=snippet))
        return out

    # ---- crawl runs ------------------------------------------------------------------------------
    def start_runs(self, source_ids: Sequence[str]) -> dict[str, int]:
        """Open a 'running' crawl run per source, all in one transaction."""
        if not source_ids:
            return {}
        now = utcnow()
        with self.engine.begin() as conn:
            ids = conn.execute(insert(T_RUN).returning(T_RUN.c.id, sort_by_parameter_order=True), [
                dict(source_id=sid, started_at=now, status="running") for sid in source_ids]).scalars().all()
        return dict(zip(source_ids, ids))

    def finish_runs(self, runs: Sequence[dict]) -> None:
        """Close crawl runs, all in one transaction. Each dict: run_id, status, counts, pages,
        not_modified, errors, duration."""
        if not runs:
            return
        now = utcnow()
        rows = [dict(_id=r["run_id"], _status=r["status"], _pages=r["pages"], _nm=r["not_modified"],
                     _new=r["counts"].new, _changed=r["counts"].changed, _unchanged=r["counts"].unchanged,
                     _failed=r["counts"].failed, _duration=r["duration"],
                     _errors=json.dumps(r["errors"][:200], ensure_ascii=False)) for r in runs]
        with self.engine.begin() as conn:
            conn.execute(update(T_RUN).where(T_RUN.c.id == bindparam("_id")).values(
                status=bindparam("_status"), finished_at=now, pages=bindparam("_pages"),
                not_modified=bindparam("_nm"), new=bindparam("_new"), changed=bindparam("_changed"),
                unchanged=bindparam("_unchanged"), failed=bindparam("_failed"), duration=bindparam("_duration"),
                errors_json=bindparam("_errors")), rows)

    def last_runs(self, limit_per_source: int = 1) -> dict[str, CrawlRun]:
        with self.session() as s:
            latest = select(CrawlRun.source_id, func.max(CrawlRun.id).label("mid")).group_by(
                CrawlRun.source_id).subquery()
            rows = s.exec(select(CrawlRun).join(latest, CrawlRun.id == latest.c.mid)).scalars().all()
            return {r.source_id: r for r in rows}

    # ---- reading -----------------------------------------------------------------------------------
    def notice(self, notice_id: int) -> Notice | None:
        with self.session() as s:
            return s.get(Notice, notice_id)

    def notice_by_url(self, url: str) -> Notice | None:
        with self.session() as s:
            return s.exec(select(Notice).where(Notice.url == url)).scalars().first()

    def notices(self, source_id: str | None = None, limit: int | None = None) -> list[Notice]:
        with self.session() as s:
            q = select(Notice).order_by(Notice.id.desc())
            if source_id:
                q = q.where(Notice.source_id == source_id)
            if limit:
                q = q.limit(limit)
            return list(s.exec(q).scalars())

    def versions(self, notice_id: int) -> list[Version]:
        with self.session() as s:
            return list(s.exec(select(Version).where(Version.notice_id == notice_id)
                               .order_by(Version.seq)).scalars())

    def latest_version(self, notice_id: int) -> Version | None:
        with self.session() as s:
            return s.exec(select(Version).where(Version.notice_id == notice_id)
                          .order_by(Version.seq.desc()).limit(1)).scalars().first()

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
            q = select(Event).where(Event.id > after_id).order_by(Event.id)
            if limit:
                q = q.limit(limit)
            return list(s.exec(q).scalars())

    def count(self, model) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(model.__table__)).scalar_one()
