"""The rules of linking two documents by their text, without a database: what relation a pair is in,
from their exact scores, their citations and what each implements. (What a document cites and in which
role is watcher/link/citing.py; instruments and versions, watcher/link/chains.py.)

Why the thresholds have their values: docs/linking.md (measured on the labelled seeds + laws and
laws_large corpora).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from storage.records import CitationRow
from watcher.link.align import summary_line
from watcher.link.citing import Cited, citations_of
from watcher.text.docno import docno_key

__all__ = ["Cited", "Doc", "Pair", "Relation", "Scores", "Thresholds", "citations_of", "classify", "explain"]

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Thresholds:
    """Why these values: see docs/linking.md (measured on the labelled seeds + laws corpus)."""

    repost_jaccard: float = 0.8  # the same text, give or take a header
    derived_jaccard: float = 0.25  # text reuse without a citation
    derived_containment: float = 0.4  # ... or this share of the child's shingles is in the parent
    reuse_containment: float = 0.15  # a parent that lost its 文号 is recognised by this much reuse
    revision_jaccard: float = 0.1  # same title or 文号: versions even after a large rewrite
    revision_containment: float = 0.3  # ... or this much of one is in the other
    lsh_bands: int = 64  # 64 bands x 2 rows of 128: P(candidate | J=0.2) = 0.93
    lsh_rows: int = 2
    ranked: int = 48  # LSH neighbours sharing the most bands whose signatures are compared
    candidates: int = 12  # of those, verified exactly (the best estimates first)
    estimate_jaccard: float = 0.03  # a signature estimate under this and the next: no sibling is near
    estimate_containment: float = 0.3  # (reuse: under half derived_jaccard and this)
    min_shingles: int = 300  # containment means something only for a text this long: a stub is in anything
    min_indexed: int = 30  # shingles left after boilerplate below which a text is neither indexed nor queried
    same_version_days: int = 31  # two copies of one text dated this close are one version (reposts)


@dataclass
class Doc:
    """A stored notice as the linker compares it: its newest text and the shingles of that text."""

    id: int
    title: str | None
    title_key: str | None
    doc_no: str | None
    issuer: str | None
    when: date | None
    text: str
    version_id: int
    hashes: np.ndarray = field(repr=False)  # shingles of its text without boilerplate
    purpose_keys: set[str] = field(default_factory=set)  # what it says it implements
    basis_keys: set[str] = field(default_factory=set)  # what it cites as legal basis
    repost_of: int | None = None  # the canonical copy of its repost cluster

    @property
    def size(self) -> int:
        return len(self.hashes)

    def ref(self) -> str:
        return self.doc_no or (f"《{self.title}》" if self.title else f"notice {self.id}")

    def order(self) -> tuple[date, int]:
        """Earlier first: by date, then by arrival (the version stored first), so that a copy dated like the one
        an analyst was told of first never displaces it (by the notice's id, found with its list page, a copy
        stored later re-pointed the cluster: 119 re-pointings linking 1,000 bench notices stored as sources
        interleave, none stored source by source)."""
        return (self.when or date.max, self.version_id)


class Scores(NamedTuple):
    """Exact scores of a pair, from the new document's side: containment is the share of that side's
    shingles found in the other."""

    jaccard: float
    contain_doc: float
    contain_other: float


@dataclass(frozen=True)
class Pair:
    """What is known about the new document and one candidate before they are classified."""

    scores: Scores
    doc_cites_other: Sequence[CitationRow] = ()
    other_cites_doc: Sequence[CitationRow] = ()
    same_name: bool = False  # same title key or same 文号


@dataclass(frozen=True)
class Relation:
    relation: str  # revision | repost | derived | cites | sibling
    child: Doc
    parent: Doc
    evidence: dict[str, Any]


# ---- relations --------------------------------------------------------------------------------
# A news report opens with a dateline (新华社北京10月16日电, 本报讯) or names its reporter (记者 …): it
# quotes the document it reports on, and is not derived from it.
_DATELINE = re.compile(
    r"(?:社|报|台|网)[^\s。，,：:《》]{0,10}?\d{1,2}月\d{1,2}日电|本报讯|本报记者|[(（]\s*记者[^()（）\n]{1,30}[)）]"
)
_NEWS_HEAD = 300  # the dateline is in the first lines


def is_news_report(text: str) -> bool:
    """The text is a news report (its opening has a dateline or a reporter's byline)."""
    return _news_opening(text[:_NEWS_HEAD])


@lru_cache(maxsize=1024)
def _news_opening(head: str) -> bool:
    """Kept for the openings asked again: a pass classifies the new text with each of its neighbours (the
    dateline's search, ~10 us, was 1 % of the stage)."""
    return bool(_DATELINE.search(head))


def same_issuer(a: Doc, b: Doc) -> bool:
    return not a.issuer or not b.issuer or a.issuer == b.issuer


def classify(doc: Doc, other: Doc, pair: Pair, th: Thresholds) -> Relation | None:
    """The relation between the new document `doc` and a stored one, or None; checked in order:
    same name (revision), same text (repost), a citation (derived or cites), a shared parent
    (sibling), text reuse (derived)."""
    j, c_doc, c_other = pair.scores
    ev: dict[str, Any] = {"jaccard": round(j, 3)}
    if pair.same_name and (j >= th.revision_jaccard or max(c_doc, c_other) >= 0.3) and same_issuer(doc, other):
        parent, child = sorted((doc, other), key=Doc.order)
        ev["same"] = "文号" if doc.doc_no and docno_key(doc.doc_no) == docno_key(other.doc_no) else "title"
        return Relation("revision", child, parent, ev)
    if j >= th.repost_jaccard:
        parent, child = sorted((doc, other), key=Doc.order)
        return Relation("repost", child, parent, ev)
    if pair.doc_cites_other or pair.other_cites_doc:
        if pair.doc_cites_other:
            child, parent, cits = doc, other, pair.doc_cites_other
        else:
            child, parent, cits = other, doc, pair.other_cites_doc
        reuse = c_doc if child is doc else c_other
        ev["cites"] = cits[0].raw
        ev["reuse"] = round(reuse, 3)
        # Cited as what it implements, or cited in passing but copied heavily: derived.
        if any(c.in_purpose for c in cits) or reuse >= th.derived_containment:
            return Relation("derived", child, parent, ev)
        return Relation("cites", child, parent, ev)
    # Two documents implementing the same parent look alike: siblings, never parent and child.
    shared = doc.purpose_keys & other.purpose_keys
    if shared:
        ev["shared_parent"] = sorted(shared)[0]
        parent, child = sorted((doc, other), key=Doc.order)
        return Relation("sibling", child, parent, ev) if j >= 0.05 else None
    # Two regulations made under the same law share its wording (definitions, duties): not reuse.
    if (doc.purpose_keys | doc.basis_keys) & (other.purpose_keys | other.basis_keys):
        return None
    if j >= th.derived_jaccard or max(c_doc, c_other) >= th.derived_containment:
        parent, child = sorted((doc, other), key=Doc.order)
        if is_news_report(child.text):  # a report quoting a document is not derived from it
            return None
        ev["reuse"] = round(c_doc if child is doc else c_other, 3)
        return Relation("derived", child, parent, ev)
    return None


def explain(relation: str, parent_ref: str, evidence: dict[str, Any], alignment: dict[str, Any] | None) -> str:
    """One line for people: the relation, the parent, and why."""
    why = []
    if evidence.get("cites"):
        why.append("cites it")
    if evidence.get("same"):
        why.append(f"same {evidence['same']}")
    if evidence.get("version"):
        why.append(f"the version in force, of {evidence['version']}")
    if evidence.get("shared_parent"):
        why.append(f"both implement {evidence['shared_parent']}")
    if alignment:
        why.append(summary_line(alignment))
    elif evidence.get("jaccard") is not None:
        why.append(f"Jaccard {evidence['jaccard']:.2f}")
    if evidence.get("unresolved"):
        why.append("not stored yet")
    if evidence.get("title") and evidence.get("unresolved"):
        parent_ref = f"{parent_ref} 《{evidence['title']}》"
    verb = {
        "derived": "derived from",
        "revision": "revision of",
        "repost": "repost of",
        "cites": "cites",
        "sibling": "sibling of",
    }[relation]
    return f"{verb} {parent_ref} — " + "; ".join(why) if why else f"{verb} {parent_ref}"
