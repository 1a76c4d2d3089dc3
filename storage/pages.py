"""The HTTP cache: validators per fetched URL, what was read from each attachment file, robots.txt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, select
from sqlalchemy.engine import Connection
from sqlmodel import col
from sqlmodel import select as select_model

from storage.core import T_ATT, T_PAGE, T_ROBOTS, Repo, chunks, insert_new
from storage.models import Page, utcnow
from storage.records import CachedAttachment, FileText

_PAGE_UPDATE = ("source_id", "etag", "last_modified", "body_hash", "region_hash", "status", "fetched_at")


def save_pages(conn: Connection, source_id: str, rows: list[dict]) -> None:
    """Insert or update the validators of fetched URLs (each dict: url and any of etag, last_modified,
    body_hash, region_hash, status). One statement: a URL another process stored a moment ago (two polls
    of one portal) is updated, not a duplicate key."""
    if not rows:
        return
    now = utcnow()
    by_url = {
        r["url"]: dict(
            url=r["url"],
            source_id=source_id,
            etag=r.get("etag"),
            last_modified=r.get("last_modified"),
            body_hash=r.get("body_hash"),
            region_hash=r.get("region_hash"),
            status=r.get("status"),
            fetched_at=now,
        )
        for r in rows
    }  # one row per URL: an attachment linked twice in a batch is one page
    insert_new(conn, T_PAGE, list(by_url.values()), key=["url"], update=_PAGE_UPDATE)


def _file_text(row: RowMapping) -> FileText:
    return FileText(
        sha256=row["sha256"],
        size=row["size"],
        filename=row["filename"],
        media_type=row["media_type"],
        file_type=row["kind"],
        status=row["status"],
        error=row["error"],
        pages=row["pages"],
        text=row["text"],
    )


def save_attachment_texts(conn: Connection, texts: list[FileText]) -> None:
    """Store what was read from attachment files not stored yet (one row per content hash)."""
    by_hash = {t.sha256: t for t in texts}
    known = set(conn.execute(select(T_ATT.c.sha256).where(T_ATT.c.sha256.in_(list(by_hash)))).scalars())
    now = utcnow()
    fresh = [
        dict(
            sha256=t.sha256,
            size=t.size,
            filename=t.filename,
            media_type=t.media_type,
            kind=t.file_type,
            status=t.status,
            error=t.error,
            pages=t.pages,
            text=t.text,
            created_at=now,
        )
        for sha, t in by_hash.items()
        if sha not in known
    ]
    insert_new(conn, T_ATT, fresh, key=["sha256"])  # the same file read by another poll at the same moment


class PageRepo(Repo):
    # ---- pages (HTTP validators) --------------------------------------------------------------
    def page(self, url: str) -> Page | None:
        with self.session() as s:
            return s.get(Page, url)

    def pages(self, urls: Sequence[str]) -> dict[str, Page]:
        out: dict[str, Page] = {}
        with self.session() as s:
            for chunk in chunks(list(urls)):
                for p in s.exec(select_model(Page).where(col(Page.url).in_(chunk))):
                    out[p.url] = p
        return out

    def touch_page(self, source_id: str, url: str, **fields) -> None:
        with self.engine.begin() as conn:
            save_pages(conn, source_id, [dict(url=url, **fields)])

    def save_page_rows(self, source_id: str, rows: list[dict]) -> None:
        """The validators of several fetched pages, in one transaction (rows as for `save_pages`)."""
        with self.engine.begin() as conn:
            save_pages(conn, source_id, rows)

    # ---- attachments ----------------------------------------------------------------------------
    def attachment_text(self, sha256: str) -> FileText | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(T_ATT).where(T_ATT.c.sha256 == sha256)).mappings().first()
        return _file_text(row) if row else None

    def attachment_cache(self, urls: Sequence[str]) -> dict[str, CachedAttachment]:
        """Per attachment URL already fetched: its validators, and what was read from it."""
        out: dict[str, CachedAttachment] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(urls)):
                q = (
                    select(T_PAGE.c.url, T_PAGE.c.etag, T_PAGE.c.last_modified, T_ATT)
                    .join(T_ATT, T_ATT.c.sha256 == T_PAGE.c.body_hash, isouter=True)
                    .where(T_PAGE.c.url.in_(chunk))
                )
                for r in conn.execute(q).mappings():
                    text = _file_text(r) if r["sha256"] else None
                    out[r["url"]] = CachedAttachment(etag=r["etag"], last_modified=r["last_modified"], text=text)
        return out

    # ---- robots.txt cache -------------------------------------------------------------------------
    def robots_get(self, host: str) -> tuple[int | None, str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(T_ROBOTS.c.status, T_ROBOTS.c.body, T_ROBOTS.c.fetched_at).where(T_ROBOTS.c.host == host)
            ).first()
        return (row.status, row.body, row.fetched_at) if row else None

    def robots_all(self) -> dict[str, tuple[int | None, str, datetime]]:
        with self.engine.connect() as conn:
            return {r.host: (r.status, r.body, r.fetched_at) for r in conn.execute(select(T_ROBOTS))}

    def robots_put(self, host: str, status: int | None, body: str) -> None:
        with self.engine.begin() as conn:
            row = dict(host=host, status=status, body=body, fetched_at=utcnow())
            insert_new(conn, T_ROBOTS, [row], key=["host"], update=["status", "body", "fetched_at"])
