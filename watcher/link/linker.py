"""Link each new notice to what is stored: revisions, reposts, derived documents, citations, siblings.

For every version without a signature (so a crash only delays linking, never skips it), in arrival order,
in transactions of up to TRANSACTION_DOCS versions with the memory index (one with a shared one):
  1. read what it says (watcher/link/purpose.py: its purpose sentence, its title, its amendment
     history) and date it (written, published, the history's version date, the date it takes effect);
  2. fingerprint its text without boilerplate (watcher/link/boilerplate.py) and store the signature;
  3. rank its LSH neighbours by the bands they share and verify the first few exactly
     (watcher/link/reuse.py); a copy of a stored text joins that repost cluster and is done;
  4. link it by name (watcher/link/chains.py): the version before it (revision), the version in force
     of what it implements (derived) or cites as legal basis (cites), the stored documents that were
     waiting for it;
  5. link it by text to the neighbours not linked otherwise (derived, sibling);
  6. store one outbox event carrying the pass's links.
The index holds one copy per repost cluster. The SQL is in storage/links.py and storage/linksession.py.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np

from storage.records import FilterState, LinkingText, PendingVersion, StoredSignature
from storage.repo import Store
from watcher.link.boilerplate import BoilerplateFilter, ClauseTable, clause_table
from watcher.link.chains import link_revisions, link_waiting, link_wants
from watcher.link.citing import citation_rows, wants
from watcher.link.classify import Doc, Thresholds
from watcher.link.context import Pass
from watcher.link.fingerprint import (
    Params,
    ParamsMismatch,
    Signature,
    shingle_hashes,
    signature_of_hashes,
    signatures_bulk,
)
from watcher.link.index import Index
from watcher.link.purpose import read
from watcher.link.reuse import link_repost, link_reuse, neighbours
from watcher.link.writer import LinkWriter
from watcher.text.docno import effective_date

if TYPE_CHECKING:
    from storage.linksession import LinkSession

log = logging.getLogger("watcher.link.linker")

_NO_KEYS = np.zeros(0, dtype=np.uint32)
FILTER_STATE = "boilerplate"
SAVE_EVERY = 1000  # documents observed between two saves of the filter: what a restart counts again
CACHE = 5000  # stored documents kept with their shingles
FULL_SCAN = 600.0  # seconds between two looks at every version for one not linked
RESCAN_WINDOW = 1000  # version ids below the highest linked one looked at again on every run
# Documents linked in one transaction with the memory index (the linker's own): a begin, a commit and two
# pooled connections cost ~0.4 ms a document when each has its own (1,000 bench notices: 1,000 commits,
# 2,009 checkouts; 1 document a transaction cost ~1.5 s more CPU than 50, 10 about as little as 50).
# A transaction ends after TRANSACTION_SECONDS too. It writes only at its end (storage/linksession.py keeps
# every write until the flush), so a poll writing the same SQLite file beside it (storage/turnstile.py) waits
# for the flush and commit, not for the computing: the length bounds what a rollback loses and how stale the
# transaction's reads may be (each is its own snapshot until the flush). A crash rolls back the run of documents,
# which the next run links again; memory, which already holds them, is rebuilt from what is committed.
# Past TRANSACTION_SECONDS, a transaction goes on while a poll beside it writes (up to TRANSACTION_DOCS): what it
# would wait for the turn it spends linking (storage/turnstile.py, `Turnstile.try_enter`).
# A shared (Redis) index must hold only what is committed: one document a transaction there.
TRANSACTION_DOCS = 100
TRANSACTION_SECONDS = 0.05
# Texts prepared (stripped, shingled, signed in bulk) together, just before they are linked: the fewer documents
# the filter counts between a text's preparing and its linking, the fewer are prepared again (Linker._current).
# The 1,000 bench notices, a run's versions read 200 at a time: prepared 200 at a time, 446 prepared again; 50,
# 168; 16, 53; 10, 26 (link CPU ~2.8 s at 200, ~2.5 s at 10-25: one numpy pass per permutation still serves a
# segment, and a transaction of 16 documents commits about as cheaply as one of 50).
PREPARE_EVERY = 16


@dataclass
class Prepared:
    """What a new version's text gives before it is linked."""

    hashes: np.ndarray  # shingles without boilerplate
    clause_keys: np.ndarray  # for the boilerplate filter to count once the version is linked
    signature: Signature | None = None
    clauses: ClauseTable | None = None  # the text's clauses, and which of them the filter kept (see _current)
    keep: np.ndarray | None = None


class Linker:
    def __init__(
        self,
        store: Store,
        params: Params = Params(),  # noqa: B008 - frozen, shared safely
        thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, shared safely
        storage: str = "memory",
        redis_url: str | None = None,
        redis_basename: str = "watcher",
        boilerplate: bool = True,
    ):
        self.store = store
        self._storage = storage
        self._index_at = (redis_url, redis_basename)
        self._boilerplate = boilerplate
        self.params = params
        self.th = thresholds
        self._linked_through = 0  # the highest version id linked by this process
        self._tx: LinkSession | None = None  # the transaction linking now: stored notices are read in it
        self._start()

    def _start(self) -> None:
        """What memory holds, built from what is committed: at start, and after a transaction of several
        documents rolled back (what memory held of them goes: index, signatures, filter counts, documents)."""
        self.index = Index(self.params, self.th, self._storage, *self._index_at)
        self.filter = BoilerplateFilter() if self._boilerplate else None
        self._through = 0  # the last version the filter has seen
        self._unsaved = 0
        self._docs: OrderedDict[int, Doc] = OrderedDict()
        self._full_scan_at: float | None = None  # None: the next run looks at every version (a rolled-back one
        # is unsigned again, below the highest linked id)
        # With the memory index (this process's own), the newest signature of every notice it holds, so that
        # ranking a new text's neighbours reads no signature: 0.5 kB a notice. A Redis index is shared with
        # other processes, whose signatures are read from the database.
        self._sigs: dict[int, StoredSignature] | None = {} if self._storage == "memory" else None
        self._load_index()
        self._load_filter()

    # ---- state --------------------------------------------------------------------------------
    def _load_index(self) -> None:
        """Memory storage is rebuilt from the stored signatures (latest per notice, one per repost
        cluster) in one session."""
        latest: dict[int, Signature] = {}
        for r in self.store.signatures(canonical_only=True):
            if self._sigs is not None:
                self._sigs[r.notice_id] = r
            p = Params.from_key(r.params)
            if p != self.params:
                raise ParamsMismatch(
                    f"stored signature of version {r.version_id} was made with {r.params}; "
                    f"this index uses {self.params.key()} "
                    "(keep the index's parameters, or link into a new database)"
                )
            if r.size >= self.th.min_indexed:
                latest[r.notice_id] = Signature.from_bytes(p, r.hashvalues, r.size)
        if self._storage == "memory" or latest:
            self.index.load([(str(k), v) for k, v in latest.items()])

    def _load_filter(self) -> None:
        """The saved counts, then the documents linked after they were saved (a crash loses none)."""
        if self.filter is None:
            return
        state = self.store.filter_state(FILTER_STATE)
        if state is not None:
            self.filter.sketch.load(zlib.decompress(state.data))
            self.filter.docs = state.docs
            self._through = state.through_version
        for version_id, text in self.store.canonical_texts_after(self._through):
            self.filter.observe(text)
            self._through = version_id
            self._unsaved += 1  # counted again: saved with the next state

    def save_state(self) -> None:
        """Persist the boilerplate filter (one row, compressed: mostly zeros)."""
        if self.filter is not None and self._unsaved:
            data = zlib.compress(self.filter.sketch.to_bytes(), 1)
            self.store.save_filter_state(FILTER_STATE, FilterState(data, self.filter.docs, self._through))
            self._unsaved = 0

    # ---- documents ----------------------------------------------------------------------------
    def _hashes(self, text: str) -> np.ndarray:
        return shingle_hashes(self.filter.strip(text) if self.filter else text, self.params.k)

    def prepare(self, text: str, cs: ClauseTable | None = None, keep: np.ndarray | None = None) -> Prepared:
        """A new text's shingles without boilerplate, and its clause keys for the filter to count (cs: its
        clauses, keep: which of them the filter keeps, when they are at hand)."""
        if self.filter is None:
            return Prepared(shingle_hashes(text, self.params.k), _NO_KEYS)
        cs = clause_table(text) if cs is None else cs
        keep = self.filter.kept(cs) if keep is None else keep
        return Prepared(shingle_hashes(self.filter.strip(text, cs, keep), self.params.k), cs.keys, None, cs, keep)

    def _current(self, prep: Prepared, text: str) -> Prepared:
        """The text prepared as the filter strips it now. PREPARE_EVERY texts are prepared in bulk before they are
        linked, and each linked document is counted by the filter: a text whose clauses those counts changed
        (one crossing the threshold) is prepared again, so that links never depend on how the pending versions
        were batched (linking 1,000 bench notices in batches of 1, 37 and 200 gave 1,255, 1,266 and 1,269 links
        before, now 1,255 each). The check is one estimate a document (~25 us); preparing again costs ~0.7 ms (its
        signature alone, 0.12 ms in bulk): 56 of the 1,000 bench notices, whose few hundred shared paragraphs
        cross the threshold one after another; few once the common clauses are known."""
        if self.filter is None or prep.clauses is None or prep.keep is None:
            return prep
        keep = self.filter.kept(prep.clauses)
        if np.array_equal(keep, prep.keep):
            return prep
        return self.prepare(text, prep.clauses, keep)

    def doc(self, notice_id: int) -> Doc | None:
        """A stored notice as the linker compares it (its newest text), cached."""
        doc = self._docs.get(notice_id)
        if doc is not None:
            self._docs.move_to_end(notice_id)
            return doc
        reader = self._tx or self.store  # in the transaction: it sees what the documents before kept
        row = reader.notice_text(notice_id)
        if row is None:
            return None
        g = reader.grounds(notice_id)
        doc = Doc(
            row.id, row.title, row.title_key, row.doc_no, row.issuer, row.when, row.text, row.version_id,
            self._hashes(row.text), set(g.parents), set(g.basis), row.repost_of,
        )  # fmt: skip
        self._remember(doc)
        return doc

    def signatures_of(self, tx: LinkSession, notice_ids: list[int]) -> dict[int, StoredSignature]:
        """The newest signature of each notice: from memory, what is not there from the database."""
        if self._sigs is None:
            return tx.signatures_of(notice_ids)
        found = {i: s for i in notice_ids if (s := self._sigs.get(i)) is not None}
        missing = [i for i in notice_ids if i not in found]
        if missing:
            found.update(tx.signatures_of(missing))
        return found

    def _remember(self, doc: Doc) -> None:
        self._docs[doc.id] = doc
        self._docs.move_to_end(doc.id)
        while len(self._docs) > CACHE:
            self._docs.popitem(last=False)

    # ---- the stage ----------------------------------------------------------------------------
    def pending_versions(self) -> list[PendingVersion]:
        """Versions not linked yet. Every version on the first run and every FULL_SCAN seconds; in
        between, those above the highest linked id less a window: a version committed late with a
        lower id (another process's transaction) is still found, and a run costs what is new, not a
        scan of every stored version."""
        now = time.monotonic()
        if self._full_scan_at is None or now - self._full_scan_at >= FULL_SCAN:
            self._full_scan_at = now
            return self.store.unsigned_versions()
        return self.store.unsigned_versions(after=max(0, self._linked_through - RESCAN_WINDOW))

    def run(self, batch: int = 200) -> int:
        """Link every version not linked yet, in arrival order; returns how many links were made.
        Per batch, the versions are read in one query; PREPARE_EVERY of them at a time have their signatures
        computed in bulk (one numpy pass per permutation) just before they are linked, up to TRANSACTION_DOCS a
        transaction (a transaction may span several such segments)."""
        made = 0
        pending = self.pending_versions()
        per_tx = TRANSACTION_DOCS if self._sigs is not None else 1
        for i in range(0, len(pending), batch):
            chunk = pending[i : i + batch]
            work = self._prepared(chunk, self.store.linking_texts([v for v, _ in chunk]))
            j = 0
            while j < len(chunk):
                linked, links = self._link_all(work, [v.notice_id for v in chunk[j : j + per_tx]])
                j, made = j + linked, made + links
        if self._unsaved >= SAVE_EVERY:
            self.save_state()
        return made

    def _prepared(
        self, chunk: list[PendingVersion], found: dict[int, LinkingText]
    ) -> Iterator[tuple[PendingVersion, LinkingText, Prepared]]:
        """The chunk's versions with their texts prepared, PREPARE_EVERY at a time as they are taken."""
        for k in range(0, len(chunk), PREPARE_EVERY):
            segment = chunk[k : k + PREPARE_EVERY]
            prepared = [self.prepare(found[v.version_id].version.norm_text) for v in segment]
            sigs = signatures_bulk([p.hashes for p in prepared], self.params)
            for v, prep, sig in zip(segment, prepared, sigs, strict=True):
                prep.signature = sig
                yield v, found[v.version_id], prep

    def _link_all(
        self, work: Iterator[tuple[PendingVersion, LinkingText, Prepared]], notices: list[int]
    ) -> tuple[int, int]:
        """Link the next of these versions in one transaction, at most those of `notices` (the next ones), as many
        as TRANSACTION_SECONDS allow (one at least); returns how many were linked and the links made. With the
        memory index, each is indexed as soon as it is linked (the next may be its copy); a shared index is told
        once it is committed. The session writes at its exit only (its flush, then the commit): until then it
        holds no write lock."""
        shared = self._sigs is None
        deadline = time.monotonic() + TRANSACTION_SECONDS
        done: list[tuple[PendingVersion, StoredSignature, Pass | None, Prepared]] = []
        try:
            with self.store.link_session(notices) as tx:
                self._tx = tx
                for (version_id, notice_id), found, prepared in islice(work, len(notices)):
                    prep = self._current(prepared, found.version.norm_text)
                    self._docs.pop(notice_id, None)
                    sig = prep.signature or signature_of_hashes(prep.hashes, self.params)
                    prep.signature = sig
                    stored = StoredSignature(notice_id, version_id, self.params.key(), sig.size, sig.to_bytes())
                    tx.add_signature(version_id, notice_id, stored.params, stored.size, stored.hashvalues)
                    # An older version that a newer one already superseded: signed, nothing linked.
                    p = self._pass(tx, found, prep.hashes, sig) if found.notice is not None else None
                    done.append((PendingVersion(version_id, notice_id), stored, p, prep))
                    if not shared:
                        self._linked(*done[-1])
                    if time.monotonic() >= deadline and self.store.may_write_now():
                        break  # while a poll writes, the next document is linked rather than waited for
        except BaseException:
            if not shared and done:  # memory holds documents that were rolled back
                self._start()
            raise
        finally:
            self._tx = None
        if shared:
            for d in done:
                self._linked(*d)
        return len(done), sum(len(p.writer.made) for _, _, p, _ in done if p is not None)

    def _linked(self, v: PendingVersion, stored: StoredSignature, p: Pass | None, prep: Prepared) -> None:
        version_id, notice_id = v
        self._through = max(self._through, version_id)
        self._linked_through = max(self._linked_through, version_id)
        if self._sigs is not None and stored.version_id >= getattr(self._sigs.get(notice_id), "version_id", 0):
            self._sigs[notice_id] = stored  # a version committed late is older than the one held
        if p is not None:
            assert prep.signature is not None
            self._after(p, prep.signature, prep.clause_keys)

    def _pass(self, tx: LinkSession, found: LinkingText, hashes: np.ndarray, sig: Signature) -> Pass:
        """Link one notice's newest version, in the transaction tx (see the module docstring)."""
        row, version = found.notice, found.version
        assert row is not None
        reading = read(row.title, row.text, row.doc_no)
        when = row.written or row.published or reading.history.version_date or effective_date(row.text)
        ws = wants(row.title, reading, version.citations, row.doc_no)
        own = reading.own | ({row.title_key} if row.title_key else set())
        rows = citation_rows(row.id, ws, version.citations, own)
        doc = Doc(
            row.id, row.title, row.title_key, row.doc_no, row.issuer, when, row.text, row.version_id, hashes,
            {r.key for r in rows if r.in_purpose}, {r.key for r in rows if r.basis},
        )  # fmt: skip
        aliases = reading.history.own_titles() - {row.title_key}
        tx.set_link_facts(row.id, when)  # a new text joins no repost cluster until it is compared
        tx.set_aliases(row.id, aliases)
        tx.clear_citations(row.id)
        tx.add_citations(rows)
        p = Pass(tx, LinkWriter(tx), self, self.th, doc, reading, ws, aliases)
        near = neighbours(p, self.index, sig)
        if not link_repost(p, near):
            link_revisions(p)
            link_wants(p, [v.doc for v in near])
            link_waiting(p)
            link_reuse(p, near)
        p.writer.announce(row.id, found.source_id)
        return p

    def _after(self, p: Pass, sig: Signature, keys: np.ndarray) -> None:
        """Once linked (with a shared index, once committed): the index holds the canonical copy of each
        cluster, and the filter counts one document per cluster (a text reposted 500 times is no template)."""
        doc = p.doc
        if p.repost:
            doc.repost_of = p.writer.made[0].parent_id if p.writer.made else None
            self.index.remove(str(doc.id))
        else:
            if p.repost_displaced is not None:
                self.index.remove(str(p.repost_displaced))
                self._docs.pop(p.repost_displaced, None)
            if doc.size >= self.th.min_indexed:
                self.index.put(str(doc.id), sig)
            else:
                self.index.remove(str(doc.id))
            if self.filter is not None:
                self.filter.observe_keys(keys)
                self._unsaved += 1
        self._remember(doc)
