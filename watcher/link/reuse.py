"""Links by text: reposts, text reuse without a citation, siblings.

Texts are compared without their boilerplate (watcher/link/boilerplate.py): a portal's template, a
salutation or 此件公开发布 is no reuse. The LSH index holds one copy per repost cluster; its neighbours
are ranked by the number of bands they share with the new text and only the first
`Thresholds.candidates` are verified exactly, so linking one document costs the same whatever is
stored and however often one text was reposted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.link.classify import Doc, Pair, Scores, classify
from watcher.link.context import Pass, same_version
from watcher.link.fingerprint import Signature, exact_scores

if TYPE_CHECKING:
    from watcher.link.index import Index


@dataclass(frozen=True)
class Verified:
    """A neighbour of the new document with its exact scores (from the new document's side)."""

    doc: Doc
    scores: Scores
    bands: int


def neighbours(p: Pass, index: Index, sig: Signature) -> list[Verified]:
    """The stored texts most like the new one (one per repost cluster), verified exactly."""
    if p.doc.size < p.th.min_indexed:
        return []  # nothing left but boilerplate: every such text would look alike
    out: list[Verified] = []
    seen = {p.doc.id}
    for key, bands in index.ranked(sig, 2 * p.th.candidates):
        other = p.docs.doc(int(key))
        if other is not None and other.repost_of:  # a copy indexed before its cluster's original arrived
            other = p.docs.doc(other.repost_of)
        if other is None or other.id in seen:
            continue
        seen.add(other.id)
        out.append(Verified(other, _scores(p, other), bands))
        if len(out) >= p.th.candidates:
            break
    return out


def _scores(p: Pass, other: Doc) -> Scores:
    """Exact scores; a short text is contained in anything, so its containment counts for nothing."""
    j, c_doc, c_other = exact_scores(p.doc.hashes, other.hashes)
    return Scores(
        j,
        c_doc if p.doc.size >= p.th.min_shingles else 0.0,
        c_other if other.size >= p.th.min_shingles else 0.0,
    )


def _other_version(doc: Doc, other: Doc, days: int) -> bool:
    """Same title or 文号 but another date: a version, which the chain links, never a copy."""
    named = (doc.title_key and doc.title_key == other.title_key) or (doc.doc_no and doc.doc_no == other.doc_no)
    return bool(named) and not same_version(doc.when, other.when, days)


def link_repost(p: Pass, found: list[Verified]) -> bool:
    """The new text is a copy of a stored one (the same text, or a 转发 notice that carries it whole):
    it joins that cluster, linked to its canonical (earliest) copy only. An earlier copy arriving late
    becomes the canonical one."""
    best: Verified | None = None
    for v in found:
        if _other_version(p.doc, v.doc, p.th.same_version_days):
            continue
        j, _, c_other = v.scores
        carries = bool(p.reading.forwards) and c_other >= p.th.repost_jaccard
        if (j >= p.th.repost_jaccard or carries) and (best is None or j > best.scores.jaccard):
            best = v
    if best is None:
        return False
    canonical = best.doc
    ev = {"forwards": p.reading.forwards[0]} if p.reading.forwards else {}
    if Doc.order(p.doc) < Doc.order(canonical):
        p.writer.link("repost", canonical, p.doc, ev)
        p.tx.repoint_cluster(canonical.id, p.doc.id)
        p.repost_displaced = canonical.id
        return False  # the new text is the canonical copy now: it is linked like any other
    p.writer.link("repost", p.doc, canonical, ev)
    p.tx.set_link_facts(p.doc.id, p.doc.when, canonical.id)
    p.repost = True
    return True


def link_reuse(p: Pass, found: list[Verified]) -> None:
    """Text reuse and siblings among the neighbours not linked otherwise. A pair named alike is left to
    the chains (versions), and a pair where one implements the other to its citation."""
    for v in found:
        other = v.doc
        if other.id in p.linked or other.id == p.repost_displaced or _named_alike(p.doc, other):
            continue
        rel = classify(p.doc, other, Pair(v.scores), p.th)
        if rel is None or rel.relation == "repost":
            continue
        evidence = {k: val for k, val in rel.evidence.items() if k != "jaccard"}
        if p.writer.link(rel.relation, rel.child, rel.parent, evidence):
            p.linked.add(other.id)


def _named_alike(doc: Doc, other: Doc) -> bool:
    if (doc.title_key and doc.title_key == other.title_key) or (doc.doc_no and doc.doc_no == other.doc_no):
        return True
    names_doc = {k for k in (doc.title_key, doc.doc_no) if k}
    names_other = {k for k in (other.title_key, other.doc_no) if k}
    return bool(names_other & doc.purpose_keys) or bool(names_doc & other.purpose_keys)
