"""The attachments stage: download what a detail page links to, read its text in a sandbox.

Downloads go through the run's Fetcher (same pacing, robots.txt, retries and conditional GET; the
validators of each attachment URL are kept in `pages` like any page). Text is extracted in a child
process with a time and memory limit (`watcher.attachments.sandbox`). A file already read (same
sha256) is not read again.

The attachment's text joins the notice's normalised text, so it takes part in change detection,
fingerprints, linking and search; the page body stays what the page shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx

from storage.records import AttachmentRecord, CachedAttachment, FileText
from watcher.attachments.doctext import MEDIA_TYPES, TextResult
from watcher.attachments.sandbox import extract_isolated
from watcher.config.settings import AttachmentSettings, Source
from watcher.crawl.fetch import Fetcher
from watcher.errors import FetchError
from watcher.extract.model import AttachmentRef
from watcher.text.normalise import storable

if TYPE_CHECKING:  # the pipeline builds the reader and hands it its executor
    from watcher.pipeline.db import DB

log = logging.getLogger(__name__)


@dataclass
class AttachmentRead:
    """One attachment read: the record kept with the version, the file's text, and what storage
    keeps besides (the text by content hash when read for the first time, the URL's validators)."""

    record: AttachmentRecord
    text: str = ""
    new_text: FileText | None = None
    page_row: dict[str, Any] | None = None
    transient: bool = False  # a fetch failure worth retrying on the next visit


# ---- file names -------------------------------------------------------------------------------------
def _decode_bytes(raw: bytes) -> str:
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _unquote_any(value: str) -> str:
    if "%" not in value:
        return value
    return _decode_bytes(unquote(value, encoding="latin-1").encode("latin-1"))


def filename_from_disposition(header: str | None) -> str | None:
    """The file name of a Content-Disposition header: RFC 6266 `filename*=charset''…` first, then
    `filename=`, which portals fill with raw GBK or UTF-8 bytes or percent-encoding."""
    if not header:
        return None
    star = re.search(r"filename\*\s*=\s*([\w-]+)'[^']*'([^;]+)", header, re.I)
    if star:
        charset, value = star.group(1), star.group(2).strip().strip('"')
        try:
            return unquote(value, encoding=charset, errors="strict")
        except (LookupError, UnicodeDecodeError):
            return _unquote_any(value)
    plain = re.search(r'filename\s*=\s*("([^"]*)"|[^;]+)', header, re.I)
    if not plain:
        return None
    value = plain.group(2) if plain.group(2) is not None else plain.group(1).strip()
    # httpx hands header bytes over as latin-1: undo that, then read them as the portal meant.
    try:
        value = _decode_bytes(value.encode("latin-1"))
    except UnicodeEncodeError:
        pass
    return _unquote_any(value).strip() or None


def filename_for(url: str, headers: httpx.Headers | None, link_text: str) -> str:
    name = filename_from_disposition(headers.get("content-disposition")) if headers is not None else None
    if name:
        return PurePosixPath(name.replace("\\", "/")).name
    if re.search(r"\.[A-Za-z]{2,4}$", link_text.strip()):  # 实施方案.pdf beats P020240102….pdf
        return link_text.strip()
    path_name = _unquote_any(PurePosixPath(urlsplit(url).path).name)
    if "." in path_name and not path_name.lower().endswith((".jsp", ".do", ".aspx", ".php", ".action")):
        return path_name
    for key in ("filename", "fileName", "name", "title"):
        m = re.search(rf"[?&]{key}=([^&]+)", url)
        if m and "." in m.group(1):
            return _unquote_any(m.group(1))
    return link_text.strip() or path_name or "attachment"


def _record(link: AttachmentRef, text: FileText, filename: str | None) -> AttachmentRecord:
    """What a version keeps of one attachment: its link, and what was read from the file."""
    return AttachmentRecord(
        url=link.url,
        name=link.name,
        filename=filename,
        media_type=text.media_type,
        size=text.size,
        sha256=text.sha256,
        file_type=text.file_type,
        status=text.status,
        error=text.error,
        pages=text.pages,
        chars=len(text.text),
    )


def _file_text(data: bytes, sha: str, filename: str, res: TextResult, content_type: str | None) -> FileText:
    """What was read from a file for the first time (the media type from its bytes, else from the server)."""
    return FileText(
        sha256=sha,
        size=len(data),
        filename=filename,
        file_type=res.file_type,
        status=res.status,
        error=res.error,
        pages=res.pages,
        text=storable(res.text) if res.status == "ok" else "",
        media_type=MEDIA_TYPES.get(res.file_type) or (content_type or "").split(";")[0] or "application/octet-stream",
    )


# ---- the stage --------------------------------------------------------------------------------------
class AttachmentReader:
    """Reads the attachments of detail pages for one source's poll."""

    def __init__(self, source: Source, fetcher: Fetcher, db: DB, *, slots: asyncio.Semaphore | None = None):
        self.source = source
        self.settings: AttachmentSettings = source.attachments
        self.fetcher = fetcher
        self.db = db
        self.store = db.store
        # Extraction is CPU-bound: no more at once than the machine has cores for.
        self.slots = slots or asyncio.Semaphore(max(1, (multiprocessing.cpu_count() or 2)))

    async def read_all(self, links: list[AttachmentRef]) -> list[AttachmentRead]:
        links = links[: self.settings.max_files]
        if not links:
            return []
        known = await self.db(self.store.attachment_cache, [a.url for a in links])
        return list(await asyncio.gather(*(self._one(a, known.get(a.url)) for a in links)))

    async def _one(self, link: AttachmentRef, known: CachedAttachment | None) -> AttachmentRead:
        url = link.url
        fetch = self.source.fetch.model_copy(update={"max_body_bytes": self.settings.max_bytes})
        cached = known.text if known else None  # validators count only with the text
        try:
            resp = await self.fetcher.get(
                url,
                fetch,
                etag=known.etag if known and cached else None,
                last_modified=known.last_modified if known and cached else None,
            )
        except FetchError as exc:
            log.warning("%s: attachment %s: %s", self.source.id, url, exc.message)
            failed = AttachmentRecord(url=url, name=link.name, status="fetch_error", error=exc.message)
            return AttachmentRead(record=failed, transient=exc.retryable)
        if resp.not_modified and cached:
            return AttachmentRead(record=_record(link, cached, cached.filename), text=cached.text)
        data = resp.content
        sha = hashlib.sha256(data).hexdigest()
        filename = filename_for(resp.url, resp.headers, link.name)
        page_row = dict(
            url=url,
            etag=resp.etag,
            last_modified=resp.last_modified,
            body_hash=sha,
            region_hash=None,
            status=resp.status,
        )
        text = await self.db(self.store.attachment_text, sha)
        fresh = text is None
        if text is None:
            async with self.slots:
                res = await asyncio.to_thread(extract_isolated, data, filename, self.settings)
            text = _file_text(data, sha, filename, res, resp.headers.get("content-type"))
            if res.status != "ok":
                log.warning("%s: attachment %s: %s", self.source.id, url, res.error)
        return AttachmentRead(
            record=_record(link, text, filename), text=text.text, new_text=text if fresh else None, page_row=page_row
        )
