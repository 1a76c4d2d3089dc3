"""Links by text: reposts, text reuse without a citation, siblings.

Texts are compared without their boilerplate (watcher/link/boilerplate.py): a portal's template, a
salutation or 此件公开发布 is no reuse. The LSH index holds one copy per repost cluster; its neighbours
are ranked by the number of bands they share with the new text, the first `Thresholds.ranked` are
ranked again by the Jaccard their stored signatures give (one query), and only the first
`Thresholds.candidates` that may pass a threshold are read and verified exactly. Linking one document
so costs the same whatever is stored and however often one text was reposted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from storage.records import StoredSignature
from watcher.link.classify import Doc, Pair, Relation, Scores, Thresholds, classify
from watcher.link.context import Pass, same_version
from watcher.link.fingerprint import Signature, intersection_sizes, scores_of

if TYPE_CHECKING:
    from watcher.link.index import Index


@dataclass(frozen=True)
class Verified:
    """A neighbour of the new document with its exact scores (from the new document's side)."""

    doc: Doc
    scores: Scores
    estimate: float  # the Jaccard its signature gave before the texts were compared


def neighbours(p: Pass, index: Index, sig: Signature) -> list[Verified]:
    """The stored texts most like the new one (one per repost cluster), verified exactly: the LSH
    neighbours sharing the most bands, then ranked by the estimate their signatures give, and only the
    first `Thresholds.candidates` of those that may pass a threshold are read and compared."""
    if p.doc.size < p.th.min_indexed:
        return []  # nothing left but boilerplate: every such text would look alike
    ranked = [int(k) for k, _ in index.ranked(sig, p.th.ranked)]
    stored = p.docs.signatures_of(p.tx, [k for k in ranked if k != p.doc.id])
    js = _jaccards(sig, list(stored.values()))
    siblings = bool(p.doc.purpose_keys)
    estimates = sorted(
        (
            (est, nid)
            for (nid, s), j in zip(stored.items(), js, strict=True)
            if (est := _estimate(sig, s, j, p.th, siblings)) is not None
        ),
        reverse=True,
    )
    found: list[tuple[Doc, float]] = []
    seen = {p.doc.id}
    for est, nid in estimates:
        other = p.docs.doc(nid)
        if other is not None and other.repost_of:  # a copy indexed before its cluster's original arrived
            other = p.docs.doc(other.repost_of)
        if other is None or other.id in seen:
            continue
        seen.add(other.id)
        found.append((other, est))
        if len(found) >= p.th.candidates:
            break
    hashes = [other.hashes for other, _ in found]
    inters = intersection_sizes(p.doc.hashes, hashes)
    p.writer.know(p.doc.hashes, hashes, inters)
    return [Verified(other, _scores(p, other, n), est) for (other, est), n in zip(found, inters, strict=True)]


def _jaccards(sig: Signature, stored: list[StoredSignature]) -> list[float | None]:
    """The Jaccard each stored signature estimates with sig (the share of equal values), in one numpy
    pass; None for a signature of another length."""
    n = len(sig.hashvalues)
    fit = [i for i, s in enumerate(stored) if len(s.hashvalues) == 4 * n]
    out: list[float | None] = [None] * len(stored)
    if fit:
        matrix = np.frombuffer(b"".join(stored[i].hashvalues for i in fit), dtype="<u4").reshape(len(fit), n)
        for i, j in zip(fit, ((matrix == sig.hashvalues).sum(axis=1) / n).tolist(), strict=True):
            out[i] = j
    return out


def _estimate(sig: Signature, stored: StoredSignature, j: float | None, th: Thresholds, siblings: bool) -> float | None:
    """Jaccard estimated from the two signatures (j), None when neither it nor the containments it implies
    (with the two sizes) come near a threshold: reuse (derived_jaccard, derived_containment) or, when
    the new text implements something, a sibling's bit of shared text."""
    if j is None or not sig.size or not stored.size:
        return None
    shared = j * (sig.size + stored.size) / (1 + j)
    floor = th.estimate_jaccard if siblings else th.derived_jaccard / 2  # 128 values: about ±0.04 at 0.2
    if j >= floor or shared / min(sig.size, stored.size) >= th.estimate_containment:
        return j
    return None


def _scores(p: Pass, other: Doc, inter: int) -> Scores:
    """Exact scores (inter: the shingles the two share); a short text is contained in anything, so its
    containment counts for nothing."""
    j, c_doc, c_other = scores_of(inter, p.doc.size, other.size)
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
        p.writer.forget()
        p.repost_displaced = canonical.id
        return False  # the new text is the canonical copy now: it is linked like any other
    p.writer.link("repost", p.doc, canonical, ev)
    p.tx.set_link_facts(p.doc.id, p.doc.when, canonical.id)
    p.repost = True
    return True


def link_reuse(p: Pass, found: list[Verified]) -> None:
    """Text reuse and siblings among the neighbours not linked otherwise. A pair named alike is left to
    the chains (versions), and a pair where one implements the other to its citation. Reuse without a
    citation gives the new text one parent, the one holding most of it: the others it resembles hold
    the same borrowed text, and are its siblings or cousins, not its parents."""
    parents: list[tuple[float, float, Relation]] = []
    found_rels: list[tuple[Verified, Relation]] = []
    for v in found:
        other = v.doc
        if other.id in p.linked or other.id == p.repost_displaced or _named_alike(p.doc, other):
            continue
        rel = classify(p.doc, other, Pair(v.scores), p.th)
        if rel is not None and rel.relation != "repost":
            found_rels.append((v, rel))
    # The stored texts the new one may become the parent of: their links read in one query (one a child: 0.2 s
    # of the 2.4 s that linking 1,000 bench notices stored source after source in turn took).
    p.writer.read_links([rel.child.id for _, rel in found_rels if _adoptable(p, rel)])
    for v, rel in found_rels:
        if rel.relation == "derived" and rel.child is p.doc:
            parents.append((v.scores.contain_doc, v.scores.jaccard, rel))
        elif _adoptable(p, rel):
            _adopt(p, rel, (v.scores.contain_other, v.scores.jaccard))
        else:
            _save(p, rel, v.doc)
    if parents:
        _save(p, max(parents, key=lambda x: x[:2])[2], None)


def _adoptable(p: Pass, rel: Relation) -> bool:
    """A relation where the new text is the parent of a stored text by reuse alone."""
    return rel.relation == "derived" and rel.child is not p.doc and "cites" not in rel.evidence


def _adopt(p: Pass, rel: Relation, held: tuple[float, float]) -> None:
    """The new text is older than a stored text that reuses it: it becomes that text's parent only if it holds
    more of it (containment, then Jaccard) than the parent by reuse the stored text has, which it replaces. A text
    so has one parent by reuse whichever of the two arrived first: before, a parent arriving after its child was
    linked beside the child's parent, and interleaved arrival (sources storing a batch each in turn) gave 1,020
    derived links to 362 children where arrival source by source gave 379 to 329 (50 bench portals)."""
    child = rel.child
    current = [ln for ln in p.writer.links_of(child.id, ("derived",)) if _by_reuse(ln.evidence) and ln.parent_id]
    if any((ln.contain_child or 0.0, ln.jaccard or 0.0) >= held for ln in current):
        return
    for ln in current:
        p.writer.drop(ln)
    _save(p, rel, None)


def _by_reuse(evidence: dict) -> bool:
    """A derived link made by text reuse alone (no citation, no chain of versions)."""
    return "reuse" in evidence and not evidence.get("cites") and not evidence.get("version")


def _save(p: Pass, rel: Relation, other: Doc | None) -> None:
    evidence = {k: val for k, val in rel.evidence.items() if k != "jaccard"}
    if p.writer.link(rel.relation, rel.child, rel.parent, evidence):
        p.linked.add(rel.parent.id if rel.child is p.doc else rel.child.id)


def _named_alike(doc: Doc, other: Doc) -> bool:
    if (doc.title_key and doc.title_key == other.title_key) or (doc.doc_no and doc.doc_no == other.doc_no):
        return True
    names_doc = {k for k in (doc.title_key, doc.doc_no) if k}
    names_other = {k for k in (other.title_key, other.doc_no) if k}
    return bool(names_other & doc.purpose_keys) or bool(names_doc & other.purpose_keys)
