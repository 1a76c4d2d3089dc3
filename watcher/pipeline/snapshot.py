"""A detail page (and the attachments read with it) as the record storage keeps: `Snapshot`.

The normalised text and its hash decide, in storage, whether a notice is new, changed or unchanged."""

from __future__ import annotations

from dataclasses import replace

from storage.records import AttachmentRecord, Citations, Snapshot
from watcher.attachments.reader import AttachmentRead
from watcher.extract.model import AttachmentRef, Detail
from watcher.text.docno import find_docnos, find_titles
from watcher.text.normalise import content_hash, normalise, storable


def snapshot(
    detail: Detail,
    etag: str | None = None,
    last_modified: str | None = None,
    reads: list[AttachmentRead] | None = None,
) -> Snapshot:
    """A detail page ready to store; its attachments' text joins the normalised text (and so the
    fingerprint and change detection) and their citations join the page's."""
    reads = reads or []
    detail = _storable(detail)
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
    # Links past max_files (or all of them, with attachments off) are kept unread.
    unread = [AttachmentRecord(url=a.url, name=a.name) for a in detail.attachments[len(reads) :]]
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
        provenance=detail.provenance,
        citations=Citations(docnos=docnos, titles=titles),
        attachments=[r.record for r in reads] + unread,
        etag=etag,
        last_modified=last_modified,
        attachment_text=extra,
        attachment_texts=[r.new_text for r in reads if r.new_text],
        attachment_pages=[r.page_row for r in reads if r.page_row],
        retry=retry,
    )


def _storable(d: Detail) -> Detail:
    """The page's text fields as a database can hold them (a stray `&#xD800;` or NUL would refuse the notice on every
    poll); the metadata block's values likewise."""
    meta = {storable(k): storable(v) for k, v in d.metadata.items()} if d.metadata else d.metadata
    return replace(
        d,
        title=storable(d.title) if d.title else d.title,
        body=storable(d.body),
        doc_no=storable(d.doc_no) if d.doc_no else d.doc_no,
        issuer=storable(d.issuer) if d.issuer else d.issuer,
        metadata=meta,
    )


def with_attachments_read_again(
    stored: Snapshot, reads: list[AttachmentRead], etag: str | None, last_modified: str | None
) -> Snapshot:
    """The stored page with its attachments read again. The page keeps its fields and the citations its
    body states; what the earlier files said (their text, their citations) gives way to the new reads."""
    page = Detail(
        url=stored.url,
        title=stored.title,
        body=stored.body,
        metadata=stored.metadata,
        provenance=stored.provenance,
        doc_no=stored.doc_no,
        issuer=stored.issuer,
        written=stored.written,
        published=stored.published,
        cited_docnos=[d for d in stored.citations.docnos if d in stored.body],
        cited_titles=[t for t in stored.citations.titles if t in stored.body],
        attachments=attachment_links(stored),
    )
    return snapshot(page, etag, last_modified, reads)


def attachment_links(stored: Snapshot) -> list[AttachmentRef]:
    """The attachment links of a stored page, to read again."""
    return [AttachmentRef(a.url, a.name) for a in stored.attachments]
