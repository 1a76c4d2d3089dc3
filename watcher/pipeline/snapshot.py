"""A detail page (and the attachments read with it) as the record storage keeps: `Snapshot`.

The normalised text and its hash decide, in storage, whether a notice is new, changed or unchanged."""

from __future__ import annotations

from storage.records import Snapshot
from watcher.attachments.reader import Read
from watcher.extract.model import Detail
from watcher.text.docno import find_docnos, find_titles
from watcher.text.normalise import content_hash, normalise


def snapshot(
    detail: Detail, etag: str | None = None, last_modified: str | None = None, reads: list[Read] | None = None
) -> Snapshot:
    """A detail page ready to store; its attachments' text joins the normalised text (and so the
    fingerprint and change detection) and their citations join the page's."""
    reads = reads or []
    retry = any(r.transient for r in reads)
    if retry:  # keep no validators: the next visit fetches the page in full and retries the attachment
        etag = last_modified = None
    extra = "\n\n".join(r.text for r in reads if r.text)
    norm = normalise(detail.body + ("\n\n" + extra if extra else ""))
    docnos, titles = list(detail.cited_docnos), list(detail.cited_titles)
    if extra:
        docnos += [d for d in map(str, find_docnos(extra)) if d not in docnos and d != detail.doc_no]
        titles += [t for t in find_titles(extra) if t not in titles]
    key = "\n".join([detail.title or "", detail.doc_no or "", detail.issuer or "", str(detail.written or ""), norm])
    return Snapshot(
        url=detail.url,
        title=detail.title,
        body=detail.body,
        norm_text=norm,
        content_hash=content_hash(key),
        doc_no=detail.doc_no,
        issuer=detail.issuer,
        written=detail.written,
        published=detail.published,
        metadata=detail.metadata,
        citations={"docnos": docnos, "titles": titles},
        attachments=[r.record for r in reads] + detail.attachments[len(reads) :],
        etag=etag,
        last_modified=last_modified,
        attachment_text=extra,
        attachment_texts=[r.text_row for r in reads if r.text_row],
        attachment_pages=[r.page_row for r in reads if r.page_row],
        retry=retry,
    )
