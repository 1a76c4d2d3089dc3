"""The typed records that cross the storage boundary: what the pipeline hands in, what the linker reads.

They are plain dataclasses with no database behaviour, so the stages above (pipeline, linking,
evaluation, bench) can import them without importing SQLAlchemy's session machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple


# ---- the crawl write path ----------------------------------------------------------------------
@dataclass
class NoticeState:
    """What a run needs to know about a stored notice to decide whether to fetch it and how to store it."""

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
    """One fetched and extracted detail page, ready to store (or, from `Store.latest_snapshot`, as stored)."""

    url: str
    title: str
    body: str
    norm_text: str
    content_hash: str
    doc_no: str | None = None
    issuer: str | None = None
    written: date | None = None
    published: date | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)  # field -> label:…, meta:…, position:…, list, source
    citations: Citations = field(default_factory=lambda: Citations())  # defined with the linking records
    attachments: list[AttachmentRecord] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    attachment_text: str = ""  # what the attachments say, for search
    attachment_texts: list[FileText] = field(default_factory=list)  # files read for the first time this run
    attachment_pages: list[dict[str, Any]] = field(default_factory=list)  # validators of the attachment URLs
    retry: bool = False  # something on the page failed for now (an attachment): check again next run


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
    errors: list[PollError] = field(default_factory=list)  # records storage refused (counted in `failed`)

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.errors += other.errors


# ---- attachments ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttachmentRecord:
    """What a version keeps of one attachment its page links to (`versions.attachments_json`).

    Three shapes, kept apart in the stored JSON: not read (`status` None: past `max_files`, or
    attachments off for the source), not downloaded (`status` "fetch_error" and `error`), and read
    (every field; `status` says whether text came out of the file: ok, no_text or error)."""

    url: str
    name: str = ""  # the link's text on the page
    status: str | None = None
    error: str | None = None
    filename: str | None = None
    media_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    file_type: str | None = None  # from the bytes: pdf docx xlsx ofd zip doc wps … (the JSON key is "kind")
    pages: int | None = None
    chars: int | None = None  # of text read

    def as_dict(self) -> dict[str, Any]:
        """The stored JSON object (and `docs show --json`): only the keys of the record's shape, in their order."""
        if self.status is None:
            return {"url": self.url, "name": self.name}
        if self.sha256 is None:
            return {"url": self.url, "name": self.name, "status": self.status, "error": self.error}
        return {
            "url": self.url,
            "name": self.name,
            "filename": self.filename,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "kind": self.file_type,
            "status": self.status,
            "error": self.error,
            "pages": self.pages,
            "chars": self.chars,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttachmentRecord:
        return cls(
            url=d["url"],
            name=d.get("name") or "",
            status=d.get("status"),
            error=d.get("error"),
            filename=d.get("filename"),
            media_type=d.get("media_type"),
            size=d.get("size"),
            sha256=d.get("sha256"),
            file_type=d.get("kind"),
            pages=d.get("pages"),
            chars=d.get("chars"),
        )


@dataclass(frozen=True)
class FileText:
    """What was read from one attachment file (an `attachment_texts` row): read once per content hash."""

    sha256: str
    size: int
    filename: str | None
    media_type: str
    file_type: str  # the column is `kind`
    status: str  # ok | no_text | error
    error: str | None
    pages: int | None
    text: str


@dataclass(frozen=True)
class CachedAttachment:
    """An attachment URL fetched before: its validators, and what was read from the file it gave."""

    etag: str | None
    last_modified: str | None
    text: FileText | None  # None when the file's text is not stored (the validators are then no use)


# ---- crawl runs -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PollError:
    """A failure a poll kept (in its RunResult and in `crawl_runs.errors_json`): what went wrong, and where."""

    error: str  # the exception's class name: HTTPStatusError, ExtractError, …
    message: str
    source_id: str | None = None
    url: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"error": self.error, "message": self.message, "source_id": self.source_id, "url": self.url}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PollError:
        return cls(
            error=d.get("error") or "", message=d.get("message") or "", source_id=d.get("source_id"), url=d.get("url")
        )


@dataclass(frozen=True)
class FinishedRun:
    """A crawl run to close: how the poll of its source ended."""

    run_id: int
    status: str
    counts: Counts
    pages: int
    not_modified: int
    errors: list[PollError]
    duration: float


# ---- the linking stage --------------------------------------------------------------------------
@dataclass(frozen=True)
class Citations:
    """What a version's text cites (the decoded `versions.citations_json`)."""

    docnos: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)


class PendingVersion(NamedTuple):
    """A version without a signature: the linker has not seen it yet."""

    version_id: int
    notice_id: int


@dataclass(frozen=True)
class StoredSignature:
    """One `signatures` row as stored; the linker checks `params` before it rebuilds the MinHash."""

    notice_id: int
    version_id: int
    params: str
    size: int
    hashvalues: bytes


@dataclass(frozen=True)
class NoticeText:
    """A notice's metadata with the normalised text of its newest version."""

    id: int
    title: str | None
    title_key: str | None
    doc_no: str | None
    issuer: str | None
    written: date | None
    published: date | None
    text: str
    version_id: int
    link_date: date | None = None  # the date the linker dated it by (see storage.models.Notice)
    repost_of: int | None = None  # the canonical copy of its repost cluster; None when it is one

    @property
    def when(self) -> date | None:
        return self.link_date or self.written or self.published


@dataclass(frozen=True)
class VersionText:
    """One version's normalised text and what it cites."""

    norm_text: str
    citations: Citations


@dataclass(frozen=True)
class LinkingText:
    """A version to link: its text and citations, and its notice when it is the notice's newest."""

    version: VersionText
    notice: NoticeText | None
    source_id: str


@dataclass
class CitationRow:
    """A 文号 (kind `docno`) or a 《title》 (kind `title`, key normalised) that a notice cites."""

    notice_id: int
    kind: str
    key: str
    raw: str
    in_purpose: bool  # what it implements (a `derived` link)
    resolved_id: int | None = None
    basis: bool = False  # its legal basis (a `cites` link)


@dataclass(frozen=True)
class Member:
    """A stored notice as a version of an instrument: what chains and resolves citations need."""

    id: int
    title_key: str | None
    issuer: str | None
    doc_no: str | None
    when: date | None  # the linker's date, else written, else published


@dataclass(frozen=True)
class Waiting:
    """A citation, stored before the notice it names arrived, with what the citing notice is dated."""

    child_id: int
    when: date | None
    citation: CitationRow


@dataclass(frozen=True)
class Grounds:
    """What a stored notice implements (its parents' keys) and cites as its legal basis."""

    parents: frozenset[str] = frozenset()
    basis: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FilterState:
    """The boilerplate filter as persisted: its counters, the documents counted, the last version seen."""

    data: bytes
    docs: float
    through_version: int


@dataclass
class LinkRow:
    """A link between two notices, or from a notice to a parent not stored yet (`parent_id` None and
    `parent_key` the cited 文号 or 《title》). Scores are None for such placeholder links."""

    child_id: int
    parent_id: int | None
    parent_key: str
    relation: str
    jaccard: float | None
    contain_child: float | None
    contain_parent: float | None
    evidence: dict[str, Any]
    alignment: dict[str, Any] | None
    explanation: str
