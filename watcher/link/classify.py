"""The rules of linking, without a database: which citations name a parent, and what relation a pair of
documents is in, from their exact scores, their citations and their names.

Why the thresholds have their values: docs/linking.md (measured on the labelled seeds + laws corpus).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from storage.records import CitationRow, Citations
from watcher.link.align import summary_line
from watcher.text.docno import normalise_title, titles_implemented

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
    lsh_bands: int = 64  # 64 bands x 2 rows of 128: P(candidate | J=0.2) = 0.93
    lsh_rows: int = 2
    purpose_chars: int = 600  # the opening clause, where 根据/贯彻落实 name the parent


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
    hashes: np.ndarray = field(repr=False)
    purpose_keys: set[str] = field(default_factory=set)  # what it says it implements

    def ref(self) -> str:
        return self.doc_no or (f"《{self.title}》" if self.title else f"notice {self.id}")

    def order(self) -> tuple[date, int]:
        return (self.when or date.max, self.id)


@dataclass
class Cited(CitationRow):
    """A citation of the document being linked, with what the text says around it (not stored)."""

    title: str | None = None  # a 文号 printed with a 《title》 after it: that title
    paired: str | None = None  # a 《title》 printed with a 文号 after it: the 文号's key


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


# ---- citations ----------------------------------------------------------------------------------
_PURPOSE_VERBS = re.compile(r"(?:贯彻|落实|根据|依据|按照|依照)[^。；;]{0,150}$")  # a verb governs a list of citations


def purpose_citation(text: str, raw: str, window: int) -> bool:
    """Cited in the opening clause after a verb of implementing: 为贯彻落实《…》（国发〔2021〕4号）.
    The opening is the first `window` characters or the first 15% of the text, whichever is longer:
    reposts put a news paragraph or a covering notice before it."""
    window = max(window, len(text) * 15 // 100)
    pos = text.find(raw, 0, window + len(raw))
    return pos >= 0 and bool(_PURPOSE_VERBS.search(text[max(0, pos - 160) : pos]))


def citations_of(doc: Doc, cited: Citations, th: Thresholds) -> list[Cited]:
    """The 文号 and 《titles》 a document cites, other than its own, with whether each names what it
    implements; not resolved yet."""
    implemented = {normalise_title(t) for t in titles_implemented(doc.title)}

    def purpose(raw: str, key: str) -> bool:
        # A title that names what it implements is the authority: 上海市实施《X》办法 derives from X
        # alone, whatever else its first article cites. Otherwise the opening clause decides.
        if implemented:
            return key in implemented
        return purpose_citation(doc.text, raw, th.purpose_chars)

    rows: list[Cited] = []
    for d in cited.docnos:
        if d != doc.doc_no:
            rows.append(Cited(doc.id, "docno", d, d, purpose(d, d)))
    for t in list(cited.titles) + titles_implemented(doc.title):
        key = normalise_title(t)
        if len(key) < 4 or key == doc.title_key or any(r.key == key for r in rows):
            continue
        rows.append(Cited(doc.id, "title", key[:200], t, purpose(f"《{t}》", key)))
    _pair_titles_with_docnos(doc.text, rows)
    return rows


def _pair_titles_with_docnos(text: str, rows: list[Cited]) -> None:
    """《title》（文号）names one document twice: remember the pair so it gets one placeholder link."""
    for r in rows:
        if r.kind == "title":
            m = re.search(re.escape(f"《{r.raw}》") + r"\s*[(（]\s*([^()（）]{4,30}?号)", text)
            if m:
                for d in rows:
                    if d.kind == "docno" and d.raw in m.group(1):
                        d.title = r.raw
                        r.paired = d.key


# ---- relations --------------------------------------------------------------------------------
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
        ev["same"] = "文号" if doc.doc_no and doc.doc_no == other.doc_no else "title"
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
    if j >= th.derived_jaccard or max(c_doc, c_other) >= th.derived_containment:
        parent, child = sorted((doc, other), key=Doc.order)
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
