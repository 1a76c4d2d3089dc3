"""Link each new notice to what is stored: revisions, reposts, derived documents, citations, siblings.

For every version without a signature (so a crash only delays linking, never skips it):
  1. fingerprint its normalised text (watcher.fingerprint) and store the signature;
  2. record the 文号 and 《titles》 it cites, resolve them against stored notices, and resolve
     earlier citations that were waiting for this notice;
  3. gather candidates: LSH neighbours, notices it cites, notices citing it, same title or 文号;
  4. verify each candidate exactly (Jaccard and containment from the stored texts) and classify;
  5. store links with their evidence and clause alignment, and an outbox event per new link.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from datasketch import MinHashLSH
from sqlalchemy import and_, delete, insert, or_, select, update

from storage.models import Citation, Event, Link, Notice, SignatureRow, Version, utcnow
from storage.repo import Store

from watcher.link.align import align, summary_line
from watcher.text.docno import normalise_title, titles_implemented
from watcher.link.lshstore import attach, bucket_keys
from watcher.errors import ParamsMismatch
from watcher.link.fingerprint import (Params, Signature, exact_scores, shingle_hashes, signature_of_hashes,
                          signatures_bulk)

log = logging.getLogger("watcher.link.linker")
T_SIG, T_CIT, T_LINK = SignatureRow.__table__, Citation.__table__, Link.__table__
T_NOTICE, T_VERSION, T_EVENT = Notice.__table__, Version.__table__, Event.__table__


@dataclass(frozen=True)
class Thresholds:
    """Why these values: see docs/linking.md (measured on the labelled seeds + laws corpus)."""
    repost_jaccard: float = 0.8        # the same text, give or take a header
    derived_jaccard: float = 0.25      # text reuse without a citation
    derived_containment: float = 0.4   # ... or this share of the child's shingles is in the parent
    reuse_containment: float = 0.15    # a parent that lost its 文号 is recognised by this much reuse
    revision_jaccard: float = 0.1      # same title or 文号: versions even after a large rewrite
    lsh_bands: int = 64                # 64 bands x 2 rows of 128: P(candidate | J=0.2) = 0.93
    lsh_rows: int = 2
    purpose_chars: int = 600           # the opening clause, where 根据/贯彻落实 name the parent


@dataclass
class Doc:
    id: int
    title: str | None
    title_key: str | None
    doc_no: str | None
    issuer: str | None
    when: date | None
    text: str
    version_id: int
    hashes: np.ndarray = field(default=None, repr=False)
    purpose_keys: set = field(default_factory=set)   # what it says it implements

    def ref(self) -> str:
        return self.doc_no or (f"《{self.title}》" if self.title else f"notice {self.id}")

    def order(self) -> tuple:
        return (self.when or date.max, self.id)


class Index:
    """datasketch MinHashLSH over the latest signature of each notice. Storage `memory` (compact numpy
    tables, watcher/lshstore.py), `redis` (datasketch's), or `dict` (datasketch's own in-memory
    storage: the benchmark's baseline)."""

    def __init__(self, params: Params, th: Thresholds, storage: str = "memory", redis_url: str | None = None,
                 basename: str = "watcher"):
        self.params = params
        config = None
        if storage == "redis":
            from urllib.parse import urlsplit
            u = urlsplit(redis_url or "redis://127.0.0.1:6379/0")
            config = {"type": "redis", "basename": f"{basename}:{params.num_perm}:{params.seed}".encode(),
                      "redis": {"host": u.hostname or "127.0.0.1", "port": u.port or 6379,
                                "db": int((u.path or "/0").strip("/") or 0)}}
            self._check_redis_params(config, params)
        elif storage not in ("memory", "dict"):
            raise ValueError(f"unknown index storage {storage!r} (memory or redis)")
        self.lsh = MinHashLSH(num_perm=params.num_perm, params=(th.lsh_bands, th.lsh_rows), storage_config=config)
        self.compact = attach(self.lsh) if storage == "memory" else None

    @staticmethod
    def _check_redis_params(config: dict, params: Params) -> None:
        import redis
        r = redis.Redis(**config["redis"])
        key = config["basename"] + b":params"
        stored = r.get(key)
        if stored is None:
            r.set(key, params.key())
        elif stored.decode() != params.key():
            raise ParamsMismatch(f"redis index {config['basename'].decode()} holds signatures made with "
                                 f"{stored.decode()}, not {params.key()}")

    def load(self, items: list[tuple[str, Signature]]) -> None:
        if self.compact is not None:
            # The session's work, vectorised: every band key of every signature in one numpy pass.
            fresh = [(k, s) for k, s in items if k not in self.compact.slot_of]
            for _, sig in fresh:
                self.params.check(sig.params, "signature")
            if fresh:
                matrix = np.stack([s.hashvalues for _, s in fresh])   # the dtype MinHashLSH hashes
                self.compact.bulk([k for k, _ in fresh], bucket_keys(matrix, self.lsh.r, self.lsh.b))
            return
        with self.lsh.insertion_session(buffer_size=50_000) as session:
            for key, sig in items:
                self.params.check(sig.params, "signature")
                if not self.lsh.keys.has_key(key):
                    session.insert(key, sig.minhash(), check_duplication=False)

    def put(self, key: str, sig: Signature) -> None:
        self.params.check(sig.params, "signature")
        if self.lsh.keys.has_key(key):
            self.lsh.remove(key)
        self.lsh.insert(key, sig.minhash(), check_duplication=False)

    def query(self, sig: Signature) -> list[str]:
        self.params.check(sig.params, "signature")
        return list(self.lsh.query(sig.minhash()))


class Linker:
    def __init__(self, store: Store, params: Params = Params(), thresholds: Thresholds = Thresholds(),
                 storage: str = "memory", redis_url: str | None = None, redis_basename: str = "watcher"):
        self.store = store
        self.params = params
        self.th = thresholds
        self.index = Index(params, thresholds, storage, redis_url, redis_basename)
        self._docs: dict[int, Doc] = {}
        self._load_index(storage)

    # ---- index --------------------------------------------------------------------------------
    def _load_index(self, storage: str) -> None:
        """Memory storage is rebuilt from the stored signatures (latest per notice) in one session."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(T_SIG.c.notice_id, T_SIG.c.version_id, T_SIG.c.params, T_SIG.c.size,
                                       T_SIG.c.hashvalues).order_by(T_SIG.c.version_id)).all()
        latest: dict[int, Signature] = {}
        for r in rows:
            p = Params.from_key(r.params)
            if p != self.params:
                raise ParamsMismatch(f"stored signature of version {r.version_id} was made with {r.params}; "
                                     f"this index uses {self.params.key()} (re-fingerprint with `watcher link --rebuild`)")
            latest[r.notice_id] = Signature.from_bytes(p, r.hashvalues, r.size)
        if storage == "memory" or latest:
            self.index.load([(str(k), v) for k, v in latest.items()])

    # ---- documents ----------------------------------------------------------------------------
    def _doc(self, notice_id: int, hashes: np.ndarray | None = None, version_id: int | None = None) -> Doc | None:
        doc = self._docs.get(notice_id)
        if doc is not None:
            return doc
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(T_NOTICE.c.id, T_NOTICE.c.title, T_NOTICE.c.title_key, T_NOTICE.c.doc_no, T_NOTICE.c.issuer,
                       T_NOTICE.c.written, T_NOTICE.c.published, T_VERSION.c.norm_text, T_VERSION.c.id.label("vid"))
                .join(T_VERSION, T_VERSION.c.notice_id == T_NOTICE.c.id)
                .where(T_NOTICE.c.id == notice_id).order_by(T_VERSION.c.seq.desc()).limit(1)).first()
        if row is None:
            return None
        doc = Doc(row.id, row.title, row.title_key, row.doc_no, row.issuer, row.written or row.published,
                  row.norm_text, row.vid)
        doc.hashes = hashes if hashes is not None and doc.version_id == version_id else \
            shingle_hashes(doc.text, self.params.k)
        with self.store.engine.connect() as conn:
            doc.purpose_keys = set(conn.execute(select(T_CIT.c.key).where(
                T_CIT.c.notice_id == notice_id, T_CIT.c.in_purpose.is_(True))).scalars())
        if len(self._docs) > 5000:
            self._docs.clear()
        self._docs[notice_id] = doc
        return doc

    # ---- the stage ----------------------------------------------------------------------------
    def pending_versions(self) -> list[tuple[int, int]]:
        with self.store.engine.connect() as conn:
            return [(r.id, r.notice_id) for r in conn.execute(
                select(T_VERSION.c.id, T_VERSION.c.notice_id).outerjoin(T_SIG, T_SIG.c.version_id == T_VERSION.c.id)
                .where(T_SIG.c.version_id.is_(None)).order_by(T_VERSION.c.id))]

    def run(self, batch: int = 200) -> int:
        """Link every version not linked yet, in arrival order; returns how many links were made.
        Signatures are computed in bulk per batch (one numpy pass per permutation for the batch)."""
        made = 0
        pending = self.pending_versions()
        for i in range(0, len(pending), batch):
            chunk = pending[i:i + batch]
            with self.store.engine.connect() as conn:
                texts = dict(conn.execute(select(T_VERSION.c.id, T_VERSION.c.norm_text)
                                          .where(T_VERSION.c.id.in_([v for v, _ in chunk]))).all())
            hashes = [shingle_hashes(texts[v], self.params.k) for v, _ in chunk]
            for (version_id, notice_id), h, sig in zip(chunk, hashes, signatures_bulk(hashes, self.params)):
                made += self.link_version(version_id, notice_id, (h, sig))
        return made

    def link_version(self, version_id: int, notice_id: int,
                     computed: tuple[np.ndarray, Signature] | None = None) -> int:
        self._docs.pop(notice_id, None)
        doc = self._doc(notice_id, computed[0] if computed else None, version_id)
        if doc is None or doc.version_id != version_id:
            # An older version that a newer one already superseded: sign it, link nothing.
            doc = None
        with self.store.engine.connect() as conn:
            v = conn.execute(select(T_VERSION.c.norm_text, T_VERSION.c.citations_json)
                             .where(T_VERSION.c.id == version_id)).first()
        if computed is not None:
            hashes, sig = computed
        else:
            hashes = doc.hashes if doc else shingle_hashes(v.norm_text, self.params.k)
            sig = signature_of_hashes(hashes, self.params)
        new_links: list[dict] = []
        with self.store.engine.begin() as conn:
            conn.execute(insert(T_SIG).values(version_id=version_id, notice_id=notice_id, params=self.params.key(),
                                              size=sig.size, hashvalues=sig.to_bytes(), created_at=utcnow()))
            if doc is not None:
                cited = json.loads(v.citations_json or "{}")
                new_links = self._link(conn, doc, sig, cited)
                for ln in new_links:
                    conn.execute(insert(T_EVENT).values(
                        kind="link.new", source_id=self._source_of(conn, ln["child_id"]), notice_id=ln["child_id"],
                        version_id=None, created_at=utcnow(), payload_json=json.dumps(
                            {k: ln[k] for k in ("relation", "parent_id", "parent_key", "explanation")},
                            ensure_ascii=False)))
        if doc is not None:
            self.index.put(str(notice_id), sig)
        return len(new_links)

    @staticmethod
    def _source_of(conn, notice_id: int) -> str:
        return conn.execute(select(T_NOTICE.c.source_id).where(T_NOTICE.c.id == notice_id)).scalar() or ""

    # ---- citations ------------------------------------------------------------------------------
    def _record_citations(self, conn, doc: Doc, cited: dict) -> list[dict]:
        conn.execute(delete(T_CIT).where(T_CIT.c.notice_id == doc.id))
        implemented = {normalise_title(t) for t in titles_implemented(doc.title)}

        def purpose(raw: str, key: str) -> bool:
            # A title that names what it implements is the authority: 上海市实施《X》办法 derives from X
            # alone, whatever else its first article cites. Otherwise the opening clause decides.
            if implemented:
                return key in implemented
            return _purpose_citation(doc.text, raw, self.th.purpose_chars)

        rows: list[dict] = []
        for d in cited.get("docnos", []):
            if d != doc.doc_no:
                rows.append(dict(notice_id=doc.id, kind="docno", key=d, raw=d, in_purpose=purpose(d, d)))
        for t in list(cited.get("titles", [])) + titles_implemented(doc.title):
            key = normalise_title(t)
            if len(key) < 4 or key == doc.title_key or any(r["key"] == key for r in rows):
                continue
            rows.append(dict(notice_id=doc.id, kind="title", key=key[:200], raw=t, in_purpose=purpose(f"《{t}》", key)))
        # 《title》（文号）names one document twice: remember the pair so it gets one placeholder link.
        for r in rows:
            if r["kind"] == "title":
                m = re.search(re.escape(f"《{r['raw']}》") + r"\s*[(（]\s*([^()（）]{4,30}?号)", doc.text)
                if m:
                    for d in rows:
                        if d["kind"] == "docno" and d["raw"] in m.group(1):
                            d["title"] = r["raw"]
                            r["paired"] = d["key"]
        for r in rows:
            r["resolved_id"] = self._resolve(conn, r["kind"], r["key"], doc.id)
        if rows:
            conn.execute(insert(T_CIT), [{k: v for k, v in r.items() if k in T_CIT.c} for r in rows])
        # Earlier citations that were waiting for this notice.
        keys = [and_(T_CIT.c.kind == "docno", T_CIT.c.key == doc.doc_no)] if doc.doc_no else []
        if doc.title_key:
            keys.append(and_(T_CIT.c.kind == "title", T_CIT.c.key == doc.title_key))
        if keys:
            conn.execute(update(T_CIT).where(or_(*keys), T_CIT.c.resolved_id.is_(None),
                                             T_CIT.c.notice_id != doc.id).values(resolved_id=doc.id))
        return rows

    @staticmethod
    def _resolve(conn, kind: str, key: str, self_id: int) -> int | None:
        col = T_NOTICE.c.doc_no if kind == "docno" else T_NOTICE.c.title_key
        # Several stored versions of one law share a title: the citation resolves to the newest.
        ids = conn.execute(select(T_NOTICE.c.id).where(col == key, T_NOTICE.c.id != self_id,
                                                       T_NOTICE.c.version_count > 0)
                           .order_by(T_NOTICE.c.id.desc())).scalars().all()
        return ids[0] if ids else None

    def _citing(self, conn, target: Doc) -> dict[int, list]:
        """Notices whose citations point at target (by 文号 or title key): child id -> citation rows."""
        conds = [T_CIT.c.resolved_id == target.id]
        if target.doc_no:
            conds.append(and_(T_CIT.c.kind == "docno", T_CIT.c.key == target.doc_no))
        if target.title_key:
            conds.append(and_(T_CIT.c.kind == "title", T_CIT.c.key == target.title_key))
        out: dict[int, list] = {}
        for r in conn.execute(select(T_CIT).where(or_(*conds), T_CIT.c.notice_id != target.id)):
            out.setdefault(r.notice_id, []).append(r)
        return out

    # ---- linking ----------------------------------------------------------------------------------
    def _link(self, conn, doc: Doc, sig: Signature, cited: dict) -> list[dict]:
        my_cits = self._record_citations(conn, doc, cited)
        doc.purpose_keys = {c["key"] for c in my_cits if c["in_purpose"]}
        cites_to: dict[int, list[dict]] = {}
        for c in my_cits:
            if c["resolved_id"]:
                cites_to.setdefault(c["resolved_id"], []).append(c)
        cited_by = self._citing(conn, doc)
        # Same title key and 文号: every version of an instrument, not just the newest.
        same = set()
        if doc.title_key:
            same.update(conn.execute(select(T_NOTICE.c.id).where(T_NOTICE.c.title_key == doc.title_key)).scalars())
        if doc.doc_no:
            same.update(conn.execute(select(T_NOTICE.c.id).where(T_NOTICE.c.doc_no == doc.doc_no)).scalars())
        # Titles it implements resolve to every stored version of that title.
        for c in my_cits:
            if c["kind"] == "title" and c["in_purpose"]:
                for nid in conn.execute(select(T_NOTICE.c.id).where(T_NOTICE.c.title_key == c["key"],
                                                                    T_NOTICE.c.version_count > 0)).scalars():
                    if nid != doc.id:
                        cites_to.setdefault(nid, []).append(c)
        candidates = {int(k) for k in self.index.query(sig)} | set(cites_to) | set(cited_by) | same
        candidates.discard(doc.id)
        my_parents = doc.purpose_keys
        made: list[dict] = []
        linked_parent_keys: set[str] = set()
        for cid in sorted(candidates):
            other = self._doc(cid)
            if other is None:
                continue
            j, c_doc, c_other = exact_scores(doc.hashes, other.hashes)
            rel = self._classify(conn, doc, other, (j, c_doc, c_other), cites_to.get(cid), cited_by.get(cid),
                                 cid in same, my_parents)
            if rel is None:
                continue
            relation, child, parent, evidence = rel
            scores = (j, c_doc, c_other) if child is doc else (j, c_other, c_doc)
            link = self._save(conn, relation, child, parent, scores, evidence)
            if link:
                made.append(link)
            if child is doc:
                linked_parent_keys.update(k for k in (parent.doc_no, parent.title_key) if k)
        # Derived from documents that are not stored (yet): the 文号 or title it implements.
        for c in my_cits:
            if c["in_purpose"] and not c["resolved_id"] and c["key"] not in linked_parent_keys \
                    and not c.get("paired") and not self._cited_in_candidate(c, doc, candidates):
                evidence = {"cites": c["raw"], "unresolved": True}
                if c.get("title"):
                    evidence["title"] = c["title"]
                link = self._save(conn, "derived", doc, None, None, evidence,
                                  parent_key=c["key"] if c["kind"] == "docno" else f"《{c['raw']}》")
                if link:
                    made.append(link)
        return made

    def _cited_in_candidate(self, c: dict, doc: Doc, candidates: set[int]) -> bool:
        """A 文号 the child cites that a reused parent mentions is that parent's number (a repost that
        lost its metadata): the derived link to the parent already covers it."""
        if c["kind"] != "docno":
            return False
        for cid in candidates:
            other = self._doc(cid)
            if other is not None and not other.doc_no and c["raw"] in other.text[:2000]:
                j, c_doc, _ = exact_scores(doc.hashes, other.hashes)
                if c_doc >= self.th.reuse_containment:
                    return True
        return False

    def _classify(self, conn, doc: Doc, other: Doc, scores, doc_cites_other, other_cites_doc, same_name: bool,
                  my_parents: set[str]):
        """(relation, child, parent, evidence) for the pair, or None. `doc` is the new one."""
        j, c_doc, c_other = scores
        th = self.th
        ev: dict = {"jaccard": round(j, 3)}
        if same_name and (j >= th.revision_jaccard or max(c_doc, c_other) >= 0.3) and _same_issuer(doc, other):
            parent, child = sorted((doc, other), key=Doc.order)
            ev["same"] = "文号" if doc.doc_no and doc.doc_no == other.doc_no else "title"
            return "revision", child, parent, ev
        if j >= th.repost_jaccard:
            parent, child = sorted((doc, other), key=Doc.order)
            return "repost", child, parent, ev
        if doc_cites_other or other_cites_doc:
            child, parent, cits = (doc, other, doc_cites_other) if doc_cites_other else (other, doc, other_cites_doc)
            reuse = (c_doc if child is doc else c_other)
            purpose = any((c["in_purpose"] if isinstance(c, dict) else c.in_purpose) for c in cits)
            ev["cites"] = [(c["raw"] if isinstance(c, dict) else c.raw) for c in cits][0]
            ev["reuse"] = round(reuse, 3)
            # Cited as what it implements, or cited in passing but copied heavily: derived.
            if purpose or reuse >= th.derived_containment:
                return "derived", child, parent, ev
            return "cites", child, parent, ev
        # Two documents implementing the same parent look alike: siblings, never parent and child.
        shared = my_parents & other.purpose_keys
        if shared:
            ev["shared_parent"] = sorted(shared)[0]
            parent, child = sorted((doc, other), key=Doc.order)
            return ("sibling", child, parent, ev) if j >= 0.05 else None
        if j >= th.derived_jaccard or max(c_doc, c_other) >= th.derived_containment:
            parent, child = sorted((doc, other), key=Doc.order)
            ev["reuse"] = round(c_doc if child is doc else c_other, 3)
            return "derived", child, parent, ev
        return None

    def _save(self, conn, relation: str, child: Doc, parent: Doc | None, scores, evidence: dict,
              parent_key: str | None = None) -> dict | None:
        pkey = f"n:{parent.id}" if parent else parent_key
        exists = conn.execute(select(T_LINK.c.id).where(T_LINK.c.child_id == child.id, T_LINK.c.parent_key == pkey,
                                                        T_LINK.c.relation == relation)).first()
        if exists:
            return None
        alignment = None
        if parent is not None and relation in ("derived", "revision"):
            alignment = align(parent.text, child.text)
        row = dict(child_id=child.id, parent_id=parent.id if parent else None, parent_key=pkey, relation=relation,
                   jaccard=scores[0] if scores else None, contain_child=scores[1] if scores else None,
                   contain_parent=scores[2] if scores else None,
                   evidence_json=json.dumps(evidence, ensure_ascii=False),
                   alignment_json=json.dumps(alignment, ensure_ascii=False) if alignment else None,
                   explanation=explain(relation, parent.ref() if parent else parent_key, evidence, alignment),
                   created_at=utcnow())
        if parent is not None:
            # A parent that was cited before it was stored: the placeholder link becomes the real one.
            refs = [k for k in (parent.doc_no, f"《{parent.title}》" if parent.title else None) if k]
            if refs:
                conn.execute(delete(T_LINK).where(T_LINK.c.child_id == child.id, T_LINK.c.parent_id.is_(None),
                                                  T_LINK.c.parent_key.in_(refs)))
        conn.execute(insert(T_LINK).values(**row))
        return row


_PURPOSE_VERBS = re.compile(r"(?:贯彻|落实|根据|依据|按照|依照)[^。；;]{0,150}$")  # a verb governs a list of citations


def _purpose_citation(text: str, raw: str, window: int) -> bool:
    """Cited in the opening clause after a verb of implementing: 为贯彻落实《…》（国发〔2021〕4号）.
    The opening is the first `window` characters or the first 15% of the text, whichever is longer:
    reposts put a news paragraph or a covering notice before it."""
    window = max(window, len(text) * 15 // 100)
    pos = text.find(raw, 0, window + len(raw))
    return pos >= 0 and bool(_PURPOSE_VERBS.search(text[max(0, pos - 160):pos]))


def _same_issuer(a: Doc, b: Doc) -> bool:
    return not a.issuer or not b.issuer or a.issuer == b.issuer


def explain(relation: str, parent_ref: str, evidence: dict, alignment: dict | None) -> str:
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
    verb = {"derived": "derived from", "revision": "revision of", "repost": "repost of", "cites": "cites",
            "sibling": "sibling of"}[relation]
    return f"{verb} {parent_ref} — " + "; ".join(why) if why else f"{verb} {parent_ref}"

