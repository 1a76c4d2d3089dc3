"""What a document cites and in which role, from what it says (watcher/link/purpose.py).

A citation is a *want*: something the document would be linked to once it is stored.
- `parent`: what it implements (its title, its purpose sentence) → a `derived` link, or a link to
  the 文号 / 《title》 while the parent is not stored;
- `basis`: what its purpose sentence cites as legal basis → a `cites` link once stored;
- `passing`: any other 文号 in its text → a `cites` link once stored (a 文号 names one document; a
  title in passing is too often a short form or another issuer's namesake to be believed alone).
The document itself, what it carries, its attachments and the decisions amending it are never wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.records import CitationRow, Citations
from watcher.link.purpose import Reading, read
from watcher.text.docno import docno_key, find_title_spans
from watcher.text.titles import fold_title, is_distinctive

if TYPE_CHECKING:
    from watcher.link.classify import Doc


@dataclass(frozen=True)
class Want:
    role: str  # parent | basis | passing
    kind: str  # title | docno | bare (an unquoted law name: believed only when it resolves)
    key: str  # folded title, or the 文号
    raw: str  # as written
    docno: str | None = None  # 《title》（文号）: the 文号 naming the same document

    @property
    def relation(self) -> str:
        return "derived" if self.role == "parent" else "cites"

    def placeholder(self) -> str | None:
        """How a link names the parent while it is not stored (only what it implements waits so)."""
        if self.role != "parent" or self.kind == "bare":
            return None
        return self.docno or (self.key if self.kind == "docno" else f"《{self.raw}》")


@dataclass
class Cited(CitationRow):
    """A citation row of the document being linked, with what the text says around it (not stored)."""

    title: str | None = None  # a 文号 printed with a 《title》 after it: that title
    paired: str | None = None  # a 《title》 printed with a 文号 after it: the 文号's key


def _as_written(title: str | None, key: str) -> str:
    """The quoted span of the title that folds to key (中华人民共和国水法 for 水法), else the key."""
    for span in find_title_spans(title or ""):
        if fold_title(span.raw) == key:
            return span.raw
    return key


def wants(title: str | None, reading: Reading, cited: Citations, own_docno: str | None) -> list[Want]:
    """Every want of a document, parents first; none of its own keys."""
    out: list[Want] = []
    seen: set[tuple[str, str]] = set()
    by_key = {c.key: c for c in reading.implements}
    own_key = docno_key(own_docno)  # its own number in another form (国令 for 国务院令) is not a citation

    def add(w: Want) -> None:
        own = (
            w.key in reading.own
            or w.key == own_docno
            or (own_key is not None and w.kind == "docno" and docno_key(w.key) == own_key)
        )
        if (w.kind, w.key) not in seen and not own:
            seen.add((w.kind, w.key))
            out.append(w)

    for role, keys in (("parent", reading.parents()), ("basis", reading.basis())):
        for k in keys:
            c = by_key.get(k)
            if c is None:  # named by its title
                add(Want(role, "title", k, _as_written(title, k)))
            else:
                add(Want(role, c.kind, k, c.raw, c.docno if c.docno != own_docno else None))
    named = {w.docno for w in out if w.docno} | {w.key for w in out if w.kind == "docno"}
    for d in cited.docnos:
        if d not in named:
            add(Want("passing", "docno", d, d))
    return out


def citation_rows(notice_id: int, ws: list[Want], cited: Citations, own: set[str]) -> list[Cited]:
    """The rows stored for a document's citations: 文号 first, then titles (a 《title》（文号） pair is
    two rows, so that either name finds the document when it arrives), then titles cited in passing
    (kept for reading; they make no link)."""
    rows: list[Cited] = []
    for w in ws:
        if w.kind == "docno":
            rows.append(Cited(notice_id, "docno", w.key, w.raw, w.role == "parent", basis=w.role == "basis"))
        elif w.docno:
            rows.append(
                Cited(notice_id, "docno", w.docno, w.docno, w.role == "parent", basis=w.role == "basis", title=w.raw)
            )
    for w in ws:
        if w.kind != "docno":
            row = Cited(notice_id, w.kind, w.key[:200], w.raw, w.role == "parent", basis=w.role == "basis")
            row.paired = w.docno
            rows.append(row)
    taken = {r.key for r in rows}
    for t in cited.titles:
        key = fold_title(t)
        if key not in taken and key not in own and is_distinctive(key):
            taken.add(key)
            rows.append(Cited(notice_id, "title", key[:200], t, False))
    return rows


def citations_of(doc: Doc, cited: Citations, th: object = None) -> list[Cited]:
    """The citations of a document as they are stored, read from its title and text."""
    reading = read(doc.title, doc.text, doc.doc_no)
    own = reading.own | ({doc.title_key} if doc.title_key else set())
    return citation_rows(doc.id, wants(doc.title, reading, cited, doc.doc_no), cited, own)
