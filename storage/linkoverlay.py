"""What a linking transaction's reads see of the writes it keeps until it ends (storage/linksession.py).

A LinkSession writes nothing before its flush, so that SQLite's write lock (and the turnstile beside it,
storage/turnstile.py) is held while the writes are replayed and committed, not while the linker computes. Its reads
go to the database and are merged here, in Python, with the writes kept so far, as the statements would have
changed the rows: every read returns what it would return had each write been run when it was made. A transaction
is at most ~50 documents, so the kept writes are few and a read replays them without an index of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from typing import Any

from storage.models import utcnow
from storage.records import CitationRow, LinkRow, NoticeText, StoredSignature
from watcher.text.docno import docno_key

_CITATION_COLS = ("notice_id", "kind", "key", "raw", "in_purpose", "resolved_id", "basis")


# ---- rows and records ----------------------------------------------------------------------------------------
def citation_values(r: CitationRow) -> dict:
    """The citation's columns as stored: a 文号 by its key."""
    values = {k: getattr(r, k) for k in _CITATION_COLS}
    if r.kind == "docno":
        values["key"] = docno_key(r.key) or r.key
    return values


def citation_row(values: Any) -> CitationRow:
    """A CitationRow from a row or a dict with the citation's columns."""
    get: Any = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    return CitationRow(*(get(k) for k in _CITATION_COLS))


def notice_of(r, version_id: int) -> NoticeText:
    """A NoticeText from a row of NOTICE_COLS and the version's norm_text."""
    return NoticeText(
        r.id, r.title, r.title_key, r.doc_no, r.issuer, r.written, r.published, r.norm_text, version_id,
        r.link_date, r.repost_of,
    )  # fmt: skip


def link_row(r: Any, aligned: bool = True) -> LinkRow:
    """A stored link from a row, or from a dict of the link's columns (a kept link, as link_values inserts it: read
    back as a row would be). With aligned=False, without alignment_json (alignment None): what the linker reads of
    the links it may replace (reading and decoding the alignments of a law's links was ~4% of the stage's samples)."""
    get: Any = r.get if isinstance(r, dict) else partial(getattr, r)
    alignment = get("alignment_json") if aligned else None
    return LinkRow(
        get("child_id"), get("parent_id"), get("parent_key"), get("relation"), get("jaccard"), get("contain_child"),
        get("contain_parent"), json.loads(get("evidence_json") or "{}"), json.loads(alignment) if alignment else None,
        get("explanation"),
    )  # fmt: skip


def link_payload(link: LinkRow) -> dict:
    """A link as an outbox event carries it."""
    return dict(
        child_id=link.child_id,
        relation=link.relation,
        parent_id=link.parent_id,
        parent_key=link.parent_key,
        explanation=link.explanation,
    )


def link_values(link: LinkRow) -> dict:
    """The link's columns as inserted."""
    return dict(
        child_id=link.child_id,
        parent_id=link.parent_id,
        parent_key=link.parent_key,
        relation=link.relation,
        jaccard=link.jaccard,
        contain_child=link.contain_child,
        contain_parent=link.contain_parent,
        evidence_json=json.dumps(link.evidence, ensure_ascii=False),
        alignment_json=json.dumps(link.alignment, ensure_ascii=False) if link.alignment else None,
        explanation=link.explanation,
        created_at=utcnow(),
    )


def coalesce(*values):
    """The first value that is not None, as SQL's coalesce gives it."""
    return next((v for v in values if v is not None), None)


@dataclass(frozen=True)
class _Add:
    row: dict  # the link as inserted (evidence_json, alignment_json)


@dataclass(frozen=True)
class _Delete:
    child_id: int
    parent_key: str
    relation: str


@dataclass(frozen=True)
class _Repoint:
    old: int
    new: int


class Overlay:
    """The kept writes of one transaction as its reads see them (emptied by the session's flush)."""

    def __init__(self) -> None:
        self._seq = 0  # order of the writes to notices: a later write wins
        self._facts: dict[int, tuple[int, date | None, int | None]] = {}  # notice -> (seq, link date, repost of)
        self._repoints: list[tuple[int, int, int]] = []  # (seq, old canonical, new canonical)
        self.aliases: dict[int, frozenset[str]] = {}  # notice -> its former titles, replaced in the transaction
        self.cleared: set[int] = set()  # notices whose stored citations were deleted
        self._citations: dict[int, list[CitationRow]] = {}  # notice -> citations added, in order
        self._signatures: dict[int, list[StoredSignature]] = {}  # notice -> signatures added
        self._links: list[_Add | _Delete | _Repoint] = []  # every write to links, in order
        # where in _links each child's adds and deletes are, and every re-pointing (it may touch any child): a read
        # replays these, not every write of a transaction of 100 documents
        self._child_ops: dict[int, list[int]] = {}
        self._repoint_ops: list[int] = []

    # ---- writes ---------------------------------------------------------------------------------------------
    def set_facts(self, notice_id: int, when: date | None, repost_of: int | None) -> None:
        self._seq += 1
        self._facts[notice_id] = (self._seq, when, repost_of)

    def repoint(self, old: int, new: int) -> None:
        self._seq += 1
        self._repoints.append((self._seq, old, new))
        self._repoint_ops.append(len(self._links))
        self._links.append(_Repoint(old, new))

    def set_aliases(self, notice_id: int, keys: Iterable[str]) -> None:
        self.aliases[notice_id] = frozenset(keys)

    def clear_citations(self, notice_id: int) -> None:
        self.cleared.add(notice_id)
        self._citations[notice_id] = []

    def add_citation(self, row: CitationRow) -> None:
        self._citations.setdefault(row.notice_id, []).append(row)

    def add_signature(self, sig: StoredSignature) -> None:
        self._signatures.setdefault(sig.notice_id, []).append(sig)

    def add_link(self, values: dict) -> None:
        self._child_ops.setdefault(values["child_id"], []).append(len(self._links))
        self._links.append(_Add(values))

    def delete_link(self, child_id: int, parent_key: str, relation: str) -> None:
        self._child_ops.setdefault(child_id, []).append(len(self._links))
        self._links.append(_Delete(child_id, parent_key, relation))

    # ---- reads ----------------------------------------------------------------------------------------------
    def notice(self, notice_id: int, link_date: date | None, repost_of: int | None) -> tuple[date | None, int | None]:
        """A notice's link date and repost cluster after the kept writes, from the stored ones. The last
        set_link_facts replaces both; a re-pointing made after it moves the notice with its cluster (the two
        updates of repoint_cluster: `repost_of = old`, and `old` itself)."""
        since = 0
        facts = self._facts.get(notice_id)
        if facts is not None:
            since, link_date, repost_of = facts
        for seq, old, new in self._repoints:
            if seq > since and (repost_of == old or notice_id == old):
                repost_of = new
        return link_date, repost_of

    def citations(self, notice_id: int, stored: Sequence[CitationRow]) -> list[CitationRow]:
        """The notice's citations: those stored unless the transaction cleared them, then those it added."""
        kept = self._citations.get(notice_id, [])
        return kept if notice_id in self.cleared else [*stored, *kept]

    def kept_citations(self) -> Iterable[CitationRow]:
        for rows in self._citations.values():
            yield from rows

    def chain_ids(self, keys: Iterable[str]) -> list[int]:
        """The notices whose kept former titles include one of these keys."""
        wanted = set(keys)
        return sorted(n for n, ks in self.aliases.items() if ks & wanted)

    def signatures(self, notice_ids: Iterable[int], stored: Iterable[StoredSignature]) -> dict[int, StoredSignature]:
        """The newest signature of each notice, stored or kept (by version id, as the read orders them)."""
        rows = [*stored, *(s for n in notice_ids for s in self._signatures.get(n, ()))]
        return {s.notice_id: s for s in sorted(rows, key=lambda s: s.version_id)}

    def links(self, child_id: int, relations: Sequence[str], stored: Sequence[LinkRow]) -> list[LinkRow]:
        """The child's links of these relations, oldest first: the stored ones (read with these relations)
        with every kept write to links replayed over them in order; an added one is newer than any stored."""
        rows = list(stored)
        for at in sorted([*self._child_ops.get(child_id, ()), *self._repoint_ops]):
            op = self._links[at]
            if isinstance(op, _Add):
                if op.row["child_id"] == child_id:
                    rows.append(link_row(op.row, aligned=False))
            elif isinstance(op, _Delete):
                if op.child_id == child_id:
                    rows = [r for r in rows if (r.parent_key, r.relation) != (op.parent_key, op.relation)]
            else:  # repoint_cluster: the old canonical's own links go, its reposts point at the new one
                if op.old == child_id:
                    rows = [r for r in rows if r.relation == "repost"]
                rows = [
                    replace(r, parent_id=op.new, parent_key=f"n:{op.new}")
                    if r.parent_id == op.old and r.relation == "repost"
                    else r
                    for r in rows
                ]
        return [r for r in rows if r.relation in relations]
