"""Tables. Times are aware UTC datetimes; dates are the portal's calendar dates (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class SourceRow(SQLModel, table=True):
    __tablename__ = "sources"
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str = "html"
    region: str | None = None
    enabled: bool = True
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Notice(SQLModel, table=True):
    """One per URL. The current content lives in the newest Version."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_source_status", "source_id", "status", "last_checked"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(index=True, max_length=64)
    url: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    list_title: str | None = Field(default=None, sa_column=Column(Text))
    list_date: date | None = None
    title: str | None = Field(default=None, sa_column=Column(Text))
    doc_no: str | None = Field(default=None, index=True, max_length=64)
    doc_key: str | None = Field(default=None, index=True, max_length=64)  # docno_key(doc_no): what links compare
    title_key: str | None = Field(default=None, index=True, max_length=200)  # folded instrument name
    issuer: str | None = None
    written: date | None = None
    published: date | None = Field(default=None, index=True)
    status: str = Field(default="pending", max_length=16, index=True)  # pending | ok | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str | None = Field(default=None, max_length=64)
    version_count: int = 0
    etag: str | None = None
    last_modified: str | None = None
    first_seen: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow)
    last_checked: datetime | None = None
    last_changed: datetime | None = None
    # Set by the linker: the date a version is in force by (written, published, the amendment history,
    # else the date it takes effect), and the canonical copy of its repost cluster (None: canonical).
    link_date: date | None = None
    repost_of: int | None = Field(default=None, index=True)


class Version(SQLModel, table=True):
    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("notice_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notices.id", index=True)
    seq: int
    title: str | None = Field(default=None, sa_column=Column(Text))
    doc_no: str | None = Field(default=None, max_length=64)
    issuer: str | None = None
    written: date | None = None
    published: date | None = None
    body: str = Field(sa_column=Column(Text, nullable=False))
    norm_text: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(index=True, max_length=64)
    metadata_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    provenance_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    citations_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    attachments_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime = Field(default_factory=utcnow)


class Page(SQLModel, table=True):
    """HTTP validators and content hashes per fetched URL (list and detail pages)."""

    __tablename__ = "pages"
    url: str = Field(sa_column=Column(Text, primary_key=True))
    source_id: str = Field(index=True, max_length=64)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = Field(default=None, max_length=64)
    region_hash: str | None = Field(default=None, max_length=64)
    status: int | None = None
    fetched_at: datetime = Field(default_factory=utcnow)


class CrawlRun(SQLModel, table=True):
    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    source_id: str = Field(max_length=64)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=16)  # running | ok | partial | failed
    pages: int = 0
    not_modified: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    duration: float | None = None
    errors_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, default="[]"))


class Event(SQLModel, table=True):
    """Outbox: written in the same transaction as the data it announces."""

    __tablename__ = "events"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)  # notice.new | notice.version
    source_id: str = Field(max_length=64)
    notice_id: int | None = Field(default=None, index=True)
    version_id: int | None = None
    payload_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class RobotsRow(SQLModel, table=True):
    """robots.txt per host, kept between runs so a quiet portal costs one request, not two."""

    __tablename__ = "robots"
    host: str = Field(primary_key=True, max_length=255)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: int | None = None
    fetched_at: datetime = Field(default_factory=utcnow)


class SignatureRow(SQLModel, table=True):
    """MinHash signature of one version; the parameters are stored with it and checked on use."""

    __tablename__ = "signatures"
    version_id: int = Field(primary_key=True, foreign_key="versions.id")
    notice_id: int = Field(index=True)
    params: str = Field(max_length=200)
    size: int
    hashvalues: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Citation(SQLModel, table=True):
    """A 文号 or 《title》 a notice cites; resolved when the cited document is stored."""

    __tablename__ = "citations"
    __table_args__ = (Index("ix_citations_kind_key", "kind", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(index=True)
    kind: str = Field(max_length=8)  # docno | title
    key: str = Field(max_length=200)  # normalised 文号 or title key
    raw: str = Field(sa_column=Column(Text, nullable=False))
    in_purpose: bool = False  # what it implements: named by its title or its purpose sentence
    basis: bool = False  # its legal basis (根据《X法》 in the purpose sentence): a `cites` link
    resolved_id: int | None = Field(default=None, index=True)


class TitleAlias(SQLModel, table=True):
    """A former title of an instrument, read from its amendment history (关于修改〈X〉的决定): its
    earlier versions and the documents citing them are found under that key too."""

    __tablename__ = "title_aliases"
    notice_id: int = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=200, index=True)


class LinkState(SQLModel, table=True):
    """State the linker keeps between processes (the boilerplate filter's counts), so that start-up
    reads one row instead of every stored text; `through_version` is the last version it has seen."""

    __tablename__ = "link_state"
    name: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    docs: float
    through_version: int
    updated_at: datetime = Field(default_factory=utcnow)


class Link(SQLModel, table=True):
    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("child_id", "parent_key", "relation"),)
    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(index=True)
    parent_id: int | None = Field(default=None, index=True)
    parent_key: str = Field(max_length=220)  # "n:<id>" or the unresolved 文号/title
    relation: str = Field(max_length=16)  # revision | repost | derived | cites | sibling
    jaccard: float | None = None
    contain_child: float | None = None  # share of the child's shingles found in the parent
    contain_parent: float | None = None
    evidence_json: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    alignment_json: str | None = Field(default=None, sa_column=Column(Text))
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """One event to one channel: claimed before sending, marked after. Never sent twice once 'sent'."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel_id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(index=True)
    channel_id: str = Field(max_length=64, index=True)
    batch_key: str = Field(max_length=64, index=True)  # idempotency key of the message that carries it
    status: str = Field(max_length=16)  # sending | sent | failed | skipped
    owner: str | None = Field(default=None, max_length=128)  # host:pid of the worker that claimed it
    claimed_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class ChannelRow(SQLModel, table=True):
    """A channel starts with the events after it was first seen: no flood of old notices."""

    __tablename__ = "channels"
    id: str = Field(primary_key=True, max_length=64)
    start_event_id: int
    created_at: datetime = Field(default_factory=utcnow)


class AttachmentText(SQLModel, table=True):
    """What was read from one attachment file, by content hash: read once however often it is linked."""

    __tablename__ = "attachment_texts"
    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    filename: str | None = Field(default=None, sa_column=Column(Text))
    media_type: str = Field(max_length=128)
    kind: str = Field(max_length=16)  # pdf docx xlsx ofd zip doc wps … (from the bytes)
    status: str = Field(max_length=16)  # ok | no_text | error
    error: str | None = Field(default=None, sa_column=Column(Text))
    pages: int | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class Clipped(TypeDecorator[str]):
    """A bounded string column that keeps what fits. PostgreSQL refuses a value over VARCHAR(n) and the
    whole batch with it (a 17-character file extension, a 200-character Content-Type kept one source's
    notices pending for ever); a portal's overlong value is cut to the bound instead. The DDL is the
    bounded string's own, so the schema does not change."""

    impl = AutoString
    cache_ok = True

    def __init__(self, length: int):
        super().__init__(length=length)
        self.bound = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and len(value) > self.bound:
            return value[: self.bound]
        return value


def clip_bounded_strings(metadata: Any) -> None:
    """Every String(n) column of the tables clips what is too long: the bounds come from the table
    definitions, so a column added later is covered without naming it."""
    for table in metadata.tables.values():
        for column in table.columns:
            t = column.type
            inner = t.impl_instance if isinstance(t, TypeDecorator) else t  # SQLModel's AutoString wraps String
            if isinstance(inner, String) and inner.length and not isinstance(t, Clipped):
                column.type = Clipped(inner.length)


clip_bounded_strings(SQLModel.metadata)
