"""Link each new notice to what is stored: revisions, reposts, derived documents, citations, siblings.

For every version without a signature (so a crash only delays linking, never skips it):
  1. fingerprint its normalised text (watcher/link/fingerprint.py) and store the signature;
  2. record the 文号 and 《titles》 it cites, resolve them against stored notices, and resolve
     earlier citations that were waiting for this notice;
  3. gather candidates: LSH neighbours, notices it cites, notices citing it, same title or 文号;
  4. verify each candidate exactly (Jaccard and containment from the stored texts) and classify
     (watcher/link/classify.py);
  5. store links with their evidence and clause alignment, and an outbox event per new link.
The SQL is in storage/links.py; one version is linked in one transaction (`store.link_session()`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from storage.links import LinkSession
from storage.records import CitationRow, Citations, LinkRow, PendingVersion
from storage.repo import Store
from watcher.link.align import align
from watcher.link.classify import Cited, Doc, Pair, Relation, Scores, Thresholds, citations_of, classify, explain
from watcher.link.fingerprint import (
    Params,
    ParamsMismatch,
    Signature,
    exact_scores,
    shingle_hashes,
    signature_of_hashes,
    signatures_bulk,
)
from watcher.link.index import Index

log = logging.getLogger("watcher.link.linker")


@dataclass
class Candidates:
    """Stored notices worth verifying against the new one, and why each was gathered."""

    ids: set[int] = field(default_factory=set)
    cites_to: dict[int, list[CitationRow]] = field(default_factory=dict)  # notices it cites -> its citations
    cited_by: dict[int, list[CitationRow]] = field(default_factory=dict)  # notices citing it -> their citations
    same_name: set[int] = field(default_factory=set)  # same title key or 文号


class Linker:
    def __init__(
        self,
        store: Store,
        params: Params = Params(),  # noqa: B008 - frozen, shared safely
        thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, shared safely
        storage: str = "memory",
        redis_url: str | None = None,
        redis_basename: str = "watcher",
    ):
        self.store = store
        self.params = params
        self.th = thresholds
        self.index = Index(params, thresholds, storage, redis_url, redis_basename)
        self._docs: dict[int, Doc] = {}
        self._load_index(storage)

    # ---- index --------------------------------------------------------------------------------
    def _load_index(self, storage: str) -> None:
        """Memory storage is rebuilt from the stored signatures (latest per notice) in one session."""
        latest: dict[int, Signature] = {}
        for r in self.store.signatures():
            p = Params.from_key(r.params)
            if p != self.params:
                raise ParamsMismatch(
                    f"stored signature of version {r.version_id} was made with {r.params}; "
                    f"this index uses {self.params.key()} "
                    f"(re-fingerprint with `watcher link --rebuild`)"
                )
            latest[r.notice_id] = Signature.from_bytes(p, r.hashvalues, r.size)
        if storage == "memory" or latest:
            self.index.load([(str(k), v) for k, v in latest.items()])

    # ---- documents ----------------------------------------------------------------------------
    def _doc(self, notice_id: int, hashes: np.ndarray | None = None, version_id: int | None = None) -> Doc | None:
        doc = self._docs.get(notice_id)
        if doc is not None:
            return doc
        row = self.store.notice_text(notice_id)
        if row is None:
            return None
        if hashes is None or row.version_id != version_id:
            hashes = shingle_hashes(row.text, self.params.k)
        doc = Doc(
            row.id,
            row.title,
            row.title_key,
            row.doc_no,
            row.issuer,
            row.written or row.published,
            row.text,
            row.version_id,
            hashes,
            self.store.purpose_keys(notice_id),
        )
        if len(self._docs) > 5000:
            self._docs.clear()
        self._docs[notice_id] = doc
        return doc

    # ---- the stage ----------------------------------------------------------------------------
    def pending_versions(self) -> list[PendingVersion]:
        return self.store.unsigned_versions()

    def run(self, batch: int = 200) -> int:
        """Link every version not linked yet, in arrival order; returns how many links were made.
        Signatures are computed in bulk per batch (one numpy pass per permutation for the batch)."""
        made = 0
        pending = self.pending_versions()
        for i in range(0, len(pending), batch):
            chunk = pending[i : i + batch]
            texts = self.store.version_texts([v for v, _ in chunk])
            hashes = [shingle_hashes(texts[v], self.params.k) for v, _ in chunk]
            for (version_id, notice_id), h, sig in zip(
                chunk, hashes, signatures_bulk(hashes, self.params), strict=True
            ):
                made += self.link_version(version_id, notice_id, (h, sig))
        return made

    def link_version(
        self, version_id: int, notice_id: int, computed: tuple[np.ndarray, Signature] | None = None
    ) -> int:
        self._docs.pop(notice_id, None)
        doc = self._doc(notice_id, computed[0] if computed else None, version_id)
        if doc is None or doc.version_id != version_id:
            # An older version that a newer one already superseded: sign it, link nothing.
            doc = None
        version = self.store.version_text(version_id)
        if version is None:
            raise KeyError(f"version {version_id} is not stored")
        if computed is not None:
            hashes, sig = computed
        else:
            hashes = doc.hashes if doc else shingle_hashes(version.norm_text, self.params.k)
            sig = signature_of_hashes(hashes, self.params)
        new_links: list[LinkRow] = []
        with self.store.link_session() as tx:
            tx.add_signature(version_id, notice_id, self.params.key(), sig.size, sig.to_bytes())
            if doc is not None:
                new_links = self._link(tx, doc, sig, version.citations)
                for link in new_links:
                    tx.announce_link(link)
        if doc is not None:
            self.index.put(str(notice_id), sig)
        return len(new_links)

    # ---- linking ----------------------------------------------------------------------------------
    def _link(self, tx: LinkSession, doc: Doc, sig: Signature, cited: Citations) -> list[LinkRow]:
        cits = self._record_citations(tx, doc, cited)
        doc.purpose_keys = {c.key for c in cits if c.in_purpose}
        cands = self._gather(tx, doc, sig, cits)
        made, linked_parent_keys = self._verify(tx, doc, cands)
        return made + self._unresolved(tx, doc, cits, cands.ids, linked_parent_keys)

    def _record_citations(self, tx: LinkSession, doc: Doc, cited: Citations) -> list[Cited]:
        """Replace the document's citations, resolved against stored notices, and point the earlier
        citations that were waiting for it at it."""
        tx.clear_citations(doc.id)
        rows = citations_of(doc, cited, self.th)
        for r in rows:
            r.resolved_id = tx.resolve(r.kind, r.key, doc.id)
        tx.add_citations(rows)
        tx.resolve_waiting(doc.id, doc.doc_no, doc.title_key)
        return rows

    def _gather(self, tx: LinkSession, doc: Doc, sig: Signature, cits: list[Cited]) -> Candidates:
        """LSH neighbours, the notices it cites and that cite it, and every version of its name."""
        c = Candidates(
            cited_by=tx.citing(doc.id, doc.doc_no, doc.title_key), same_name=tx.same_name(doc.doc_no, doc.title_key)
        )
        for cit in cits:
            if cit.resolved_id:
                c.cites_to.setdefault(cit.resolved_id, []).append(cit)
        # Titles it implements resolve to every stored version of that title.
        for cit in cits:
            if cit.kind == "title" and cit.in_purpose:
                for nid in tx.stored_titled(cit.key):
                    if nid != doc.id:
                        c.cites_to.setdefault(nid, []).append(cit)
        c.ids = {int(k) for k in self.index.query(sig)} | set(c.cites_to) | set(c.cited_by) | c.same_name
        c.ids.discard(doc.id)
        return c

    def _verify(self, tx: LinkSession, doc: Doc, cands: Candidates) -> tuple[list[LinkRow], set[str]]:
        """Score each candidate exactly, classify, store the links; also the keys (文号, title) of the
        parents the new document was linked to."""
        made: list[LinkRow] = []
        linked_parent_keys: set[str] = set()
        for cid in sorted(cands.ids):
            other = self._doc(cid)
            if other is None:
                continue
            scores = Scores(*exact_scores(doc.hashes, other.hashes))
            rel = classify(
                doc,
                other,
                Pair(scores, cands.cites_to.get(cid, ()), cands.cited_by.get(cid, ()), cid in cands.same_name),
                self.th,
            )
            if rel is None:
                continue
            j, c_doc, c_other = scores
            link = self._save(tx, rel, (j, c_doc, c_other) if rel.child is doc else (j, c_other, c_doc))
            if link:
                made.append(link)
            if rel.child is doc:
                linked_parent_keys.update(k for k in (rel.parent.doc_no, rel.parent.title_key) if k)
        return made, linked_parent_keys

    def _unresolved(
        self, tx: LinkSession, doc: Doc, cits: list[Cited], candidates: set[int], linked_parent_keys: set[str]
    ) -> list[LinkRow]:
        """Derived from documents that are not stored (yet): the 文号 or title it implements."""
        made: list[LinkRow] = []
        for c in cits:
            if (
                c.in_purpose
                and not c.resolved_id
                and c.key not in linked_parent_keys
                and not c.paired
                and not self._cited_in_candidate(c, doc, candidates)
            ):
                evidence: dict = {"cites": c.raw, "unresolved": True}
                if c.title:
                    evidence["title"] = c.title
                link = self._save_placeholder(tx, doc, c.key if c.kind == "docno" else f"《{c.raw}》", evidence)
                if link:
                    made.append(link)
        return made

    def _cited_in_candidate(self, c: Cited, doc: Doc, candidates: set[int]) -> bool:
        """A 文号 the child cites that a reused parent mentions is that parent's number (a repost that
        lost its metadata): the derived link to the parent already covers it."""
        if c.kind != "docno":
            return False
        for cid in candidates:
            other = self._doc(cid)
            if other is not None and not other.doc_no and c.raw in other.text[:2000]:
                _, c_doc, _ = exact_scores(doc.hashes, other.hashes)
                if c_doc >= self.th.reuse_containment:
                    return True
        return False

    # ---- storing links --------------------------------------------------------------------------
    def _save(self, tx: LinkSession, rel: Relation, scores: tuple[float, float, float]) -> LinkRow | None:
        """Store a link between two stored notices unless it exists. `scores`: Jaccard, then the share of
        the child's shingles in the parent, then the parent's in the child."""
        child, parent, relation = rel.child, rel.parent, rel.relation
        pkey = f"n:{parent.id}"
        if tx.link_exists(child.id, pkey, relation):
            return None
        alignment = align(parent.text, child.text) if relation in ("derived", "revision") else None
        link = LinkRow(
            child.id,
            parent.id,
            pkey,
            relation,
            *scores,
            rel.evidence,
            alignment,
            explain(relation, parent.ref(), rel.evidence, alignment),
        )
        # A parent that was cited before it was stored: the placeholder link becomes the real one.
        refs = [k for k in (parent.doc_no, f"《{parent.title}》" if parent.title else None) if k]
        tx.add_link(link, replaces=refs)
        return link

    @staticmethod
    def _save_placeholder(tx: LinkSession, child: Doc, parent_key: str, evidence: dict) -> LinkRow | None:
        """Store a derived link to a parent not stored yet, named by its 文号 or 《title》."""
        if tx.link_exists(child.id, parent_key, "derived"):
            return None
        link = LinkRow(
            child.id,
            None,
            parent_key,
            "derived",
            None,
            None,
            None,
            evidence,
            None,
            explain("derived", parent_key, evidence, None),
        )
        tx.add_link(link)
        return link
