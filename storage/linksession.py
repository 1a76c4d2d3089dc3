"""The statements of linking one version, on its transaction (`store.link_session()`).

Every lookup is by an indexed key (title key, 文号, notice id, citation key), so linking one document
reads what concerns it and never scans what is stored. The statements are built once, with bound
parameters: building a statement costs several times what SQLite takes to run it, and a document is
a dozen statements.

A session writes nothing until it ends (LinkSession.flush); its reads merge what it keeps
(storage/linkoverlay.py). What that means beside other writers is in LinkSession's docstring.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import date
from itertools import groupby

from sqlalchemy import and_, bindparam, delete, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from storage.core import T_CIT, T_EVENT, T_LINK, T_NOTICE, T_SIG, T_VERSION, chunks, table_of
from storage.linkoverlay import (
    Overlay,
    citation_row,
    citation_values,
    coalesce,
    link_payload,
    link_row,
    link_values,
    notice_of,
)
from storage.models import TitleAlias, utcnow
from storage.records import CitationRow, Grounds, LinkRow, Member, NoticeText, StoredSignature, Waiting
from watcher.text.docno import docno_key

T_ALIAS = table_of(TitleAlias)
_TITLE_KINDS = ("title", "bare")


def _many(name: str):
    return bindparam(name, expanding=True)


_ADD_SIGNATURE = insert(T_SIG)
# Which of these notices have citations, former titles or links (as the child) stored.
_GROUNDED = (
    select(T_CIT.c.notice_id, literal("c").label("what"))
    .where(T_CIT.c.notice_id.in_(_many("ids")))
    .union_all(
        select(T_ALIAS.c.notice_id, literal("a")).where(T_ALIAS.c.notice_id.in_(_many("ids"))),
        select(T_LINK.c.child_id, literal("l")).where(T_LINK.c.child_id.in_(_many("ids"))),
    )
)
_SET_LINK_FACTS = (
    update(T_NOTICE)
    .where(T_NOTICE.c.id == bindparam("nid"))
    .values(link_date=bindparam("when"), repost_of=bindparam("repost"))
)
_DELETE_ALIASES = delete(T_ALIAS).where(T_ALIAS.c.notice_id == bindparam("nid"))
_ADD_ALIASES = insert(T_ALIAS)
_DELETE_CITATIONS = delete(T_CIT).where(T_CIT.c.notice_id == bindparam("nid"))
_ADD_CITATIONS = insert(T_CIT)
# What decides a date and a cluster (the date is coalesce(link_date, written, published), computed after the
# kept link facts are merged: see Overlay.notice).
_DATES = (T_NOTICE.c.link_date, T_NOTICE.c.written, T_NOTICE.c.published, T_NOTICE.c.repost_of)
_NOTICE_DATES = select(T_NOTICE.c.id, *_DATES).where(T_NOTICE.c.id.in_(_many("ids")))
_CITED_TITLE = and_(
    T_CIT.c.kind.in_(_TITLE_KINDS),
    T_CIT.c.key.in_(_many("keys")),
    or_(T_CIT.c.in_purpose.is_(True), T_CIT.c.basis.is_(True)),
)
_CITED_DOCNO = and_(T_CIT.c.kind == "docno", T_CIT.c.key == bindparam("doc_no"))
_WAITING = {  # (by title keys, by 文号) -> the statement
    (t, d): select(T_CIT, *_DATES)
    .join(T_NOTICE, T_NOTICE.c.id == T_CIT.c.notice_id)
    .where(or_(*[c for c, on in ((_CITED_TITLE, t), (_CITED_DOCNO, d)) if on]), T_CIT.c.notice_id != bindparam("ex"))
    .order_by(T_CIT.c.notice_id, T_CIT.c.id)
    for t in (True, False)
    for d in (True, False)
    if t or d
}
_MEMBER_COLS = (T_NOTICE.c.id, T_NOTICE.c.title_key, T_NOTICE.c.issuer, T_NOTICE.c.doc_no, *_DATES)
_MEMBERS = select(*_MEMBER_COLS).where(T_NOTICE.c.version_count > 0).order_by(T_NOTICE.c.id)
_ALIASED = select(T_ALIAS.c.notice_id).where(T_ALIAS.c.key.in_(_many("keys")))
_CHAIN = _MEMBERS.where(or_(T_NOTICE.c.title_key.in_(_many("keys")), T_NOTICE.c.id.in_(_ALIASED)))
# With former titles kept by the session: the stored ones of those notices ("over") do not count, the kept
# ones that match ("extra") do.
_CHAIN_KEPT = _MEMBERS.where(
    or_(
        T_NOTICE.c.title_key.in_(_many("keys")),
        T_NOTICE.c.id.in_(_ALIASED.where(T_ALIAS.c.notice_id.not_in(_many("over")))),
        T_NOTICE.c.id.in_(_many("extra")),
    )
)
_BY_DOCNO = _MEMBERS.where(T_NOTICE.c.doc_key == bindparam("doc_no"))
_SIGNATURES_OF = (
    select(T_SIG.c.notice_id, T_SIG.c.version_id, T_SIG.c.params, T_SIG.c.size, T_SIG.c.hashvalues)
    .where(T_SIG.c.notice_id.in_(_many("ids")))
    .order_by(T_SIG.c.version_id)
)
# Every column but the clause alignment, the largest, which linking never reads back (see links_of).
_LINKS_OF = (
    select(*(c for c in T_LINK.c if c.name != "alignment_json"))
    .where(T_LINK.c.child_id.in_(_many("children")), T_LINK.c.relation.in_(_many("relations")))
    .order_by(T_LINK.c.id)
)
_ONE_LINK = and_(
    T_LINK.c.child_id == bindparam("child"),
    T_LINK.c.parent_key == bindparam("pkey"),
    T_LINK.c.relation == bindparam("rel"),
)
_DELETE_LINK = delete(T_LINK).where(_ONE_LINK)
_ADD_LINK = insert(T_LINK)
_ANNOUNCE = insert(T_EVENT)
# repoint_cluster(old, new), four statements run in this order
_DELETE_OWN_LINKS = delete(T_LINK).where(T_LINK.c.child_id == bindparam("old"), T_LINK.c.relation != "repost")
_REPOINT_CLUSTER = update(T_NOTICE).where(T_NOTICE.c.repost_of == bindparam("old")).values(repost_of=bindparam("new"))
_REPOINT_REPOSTS = (
    update(T_LINK)
    .where(T_LINK.c.parent_id == bindparam("old"), T_LINK.c.relation == "repost")
    .values(parent_id=bindparam("new"), parent_key=bindparam("pkey"))
)
_REPOINT_OLD = update(T_NOTICE).where(T_NOTICE.c.id == bindparam("old")).values(repost_of=bindparam("new"))
# Rows another process stored, since the session looked, for notices it found with none (see LinkSession).
_CLEAR_CITATIONS = delete(T_CIT).where(T_CIT.c.notice_id.in_(_many("ids")))
_CLEAR_ALIASES = delete(T_ALIAS).where(T_ALIAS.c.notice_id.in_(_many("ids")))
# The writes a session keeps, each with the rank of its table: the flush runs a table's writes in the order they
# were made, one table after another (no trigger; the foreign keys point at notices and versions, whose rows
# linking only updates, so writes to two tables commute).
_SIG = (0, _ADD_SIGNATURE)
_FACTS, _CLUSTER, _OLD = (1, _SET_LINK_FACTS), (1, _REPOINT_CLUSTER), (1, _REPOINT_OLD)
_DEL_ALIAS, _ALIAS = (2, _DELETE_ALIASES), (2, _ADD_ALIASES)
_DEL_CIT, _CIT = (3, _DELETE_CITATIONS), (3, _ADD_CITATIONS)
_LINK, _DEL_LINK = (4, _ADD_LINK), (4, _DELETE_LINK)
_OWN_LINKS, _REPOSTS = (4, _DELETE_OWN_LINKS), (4, _REPOINT_REPOSTS)
_EVENT = (5, _ANNOUNCE)
_NOTICE_NAMES = ("id", "title", "title_key", "doc_no", "issuer", "written", "published", "link_date", "repost_of")
NOTICE_COLS = tuple(T_NOTICE.c[k] for k in (*_NOTICE_NAMES, "source_id"))
_NOTICE_TEXT = (
    select(*NOTICE_COLS, T_VERSION.c.norm_text, T_VERSION.c.id.label("vid"))
    .join(T_VERSION, T_VERSION.c.notice_id == T_NOTICE.c.id)
    .where(T_NOTICE.c.id == bindparam("nid"))
    .order_by(T_VERSION.c.seq.desc())
    .limit(1)
)
_GROUNDS = select(T_CIT.c.key, T_CIT.c.in_purpose, T_CIT.c.basis).where(
    T_CIT.c.notice_id == bindparam("nid"), T_CIT.c.in_purpose.is_(True) | T_CIT.c.basis.is_(True)
)


class LinkSession:
    """The statements of linking, on one transaction (one document's, or a run of documents' with the
    linker's own memory index). Every write is kept until the transaction ends (flush, ~20 us a row instead
    of ~70 us a statement), and every read merges the kept writes into what it reads (storage/linkoverlay.py).

    Until the flush the transaction has only read: pysqlite begins a transaction at the first statement that
    is not a SELECT, and SQLite takes its write lock there (the turnstile too: storage/turnstile.py), so the
    lock is held while the kept writes are replayed and committed, not while the linker computes. The reads
    before are each their own snapshot (autocommit; on PostgreSQL, READ COMMITTED statements), and another
    process may commit between two of them:
      - a poll adds notices and versions: a later read may find a notice an earlier one did not, as a
        document linked a moment later would; the poll writes none of the rows linking writes (signatures,
        citations, aliases, links, link facts), so a kept write never replaces one the poll made meanwhile;
      - another linker links the same version: both keep its signature, and the second flush meets the
        duplicate key and rolls back (watcher/link/stage.py LazyLinker runs again from what is unsigned);
        a link both made is a duplicate key too (links are unique by child, parent key and relation);
      - another linker stores citations or former titles of a notice this session found with none
        (_none: then it deletes none before adding its own): the flush deletes them first, so the notice
        ends with this session's rows, as if the two had run one after the other; links it made with such
        a notice as the child stay, as if made after this session's reads.
    """

    def __init__(self, conn: Connection, notices: Collection[int] = ()):
        self.conn = conn
        self._log: list[tuple[tuple, dict]] = []  # ((table rank, statement), parameters), in the order made
        self._kept = Overlay()
        self._notices = sorted(set(notices))  # the notices the transaction links
        # of those, the ones with no citations ("c"), aliases ("a") or links as the child ("l") stored
        self._bare: dict[str, set[int]] | None = None
        self._skipped: dict[str, set[int]] = {"c": set(), "a": set()}  # their deletes not kept (see _stored)

    def flush(self) -> None:
        """Write all that is kept so far (the session's owner calls it before commit): each table's writes
        in the order they were made, consecutive writes of one statement in one executemany."""
        for stmt, what in ((_CLEAR_CITATIONS, "c"), (_CLEAR_ALIASES, "a")):
            if self._skipped[what]:
                self.conn.execute(stmt, {"ids": sorted(self._skipped[what])})
        log = sorted(self._log, key=lambda w: w[0][0])  # stable: the order within a table stays
        for _, writes in groupby(log, key=lambda w: id(w[0])):
            group = list(writes)
            self.conn.execute(group[0][0][1], [params for _, params in group])
        self._log = []
        self._kept = Overlay()
        self._skipped = {"c": set(), "a": set()}

    def _keep(self, write: tuple, params: dict) -> None:
        self._log.append((write, params))

    def add_signature(self, version_id: int, notice_id: int, params: str, size: int, hashvalues: bytes) -> None:
        self._kept.add_signature(StoredSignature(notice_id, version_id, params, size, hashvalues))
        row = dict(version_id=version_id, notice_id=notice_id, params=params, size=size, hashvalues=hashvalues)
        self._keep(_SIG, dict(row, created_at=utcnow()))

    # ---- stored notices as the linker compares them ---------------------------------------------------
    def notice_text(self, notice_id: int) -> NoticeText | None:
        """A notice with the text of its newest version; None before its first version."""
        r = self.conn.execute(_NOTICE_TEXT, {"nid": notice_id}).first()
        if r is None:
            return None
        notice = notice_of(r, r.vid)
        link_date, repost_of = self._kept.notice(notice_id, notice.link_date, notice.repost_of)
        if (link_date, repost_of) != (notice.link_date, notice.repost_of):
            notice = replace(notice, link_date=link_date, repost_of=repost_of)
        return notice

    def grounds(self, notice_id: int) -> Grounds:
        """The keys a notice implements and those it cites as its legal basis."""
        rows = self.conn.execute(_GROUNDS, {"nid": notice_id}).all()
        stored = [CitationRow(notice_id, "", r.key, "", r.in_purpose, None, r.basis) for r in rows]
        cited = self._kept.citations(notice_id, stored)
        return Grounds(frozenset(r.key for r in cited if r.in_purpose), frozenset(r.key for r in cited if r.basis))

    # ---- the notice as the linker dates and clusters it ---------------------------------------------
    def set_link_facts(self, notice_id: int, when: date | None, repost_of: int | None = None) -> None:
        """The date the linker dates the notice by, and its repost cluster (None: canonical)."""
        self._kept.set_facts(notice_id, when, repost_of)
        self._keep(_FACTS, dict(nid=notice_id, when=when, repost=repost_of))

    def repoint_cluster(self, old: int, new: int) -> None:
        """An earlier copy arrived late: the cluster of `old` (and `old` itself) become reposts of `new`,
        and `old`, a copy now, keeps no link of its own (the canonical copy carries them). Kept like any
        write (11 times in 1,000 bench notices: written at once, it held the lock for the rest of 11 of the
        37 transactions)."""
        self._kept.repoint(old, new)
        ids = dict(old=old, new=new)
        self._keep(_OWN_LINKS, dict(old=old))
        self._keep(_CLUSTER, ids)
        self._keep(_REPOSTS, dict(ids, pkey=f"n:{new}"))
        self._keep(_OLD, ids)

    def _none(self, what: str) -> set[int]:
        """The notices of the transaction with no citations ("c"), aliases ("a") or links as the child ("l")
        stored: for them, the two deletes and the read of links of a document are not run (a new notice; one
        look-up per transaction instead). Looked up at the first call, by a read outside the write lock:
        see the class docstring for what another process may store after it."""
        if self._bare is None:
            self._bare = {k: set(self._notices) for k in "cal"}
            if self._notices:
                for r in self.conn.execute(_GROUNDED, {"ids": self._notices}):
                    self._bare[r.what].discard(r.notice_id)
        return self._bare[what]

    def _stored(self, what: str, notice_id: int) -> bool:
        """Whether the notice may have rows of that kind stored; from now on it may (rows are added)."""
        none = self._none(what)
        if notice_id in none:
            none.discard(notice_id)
            self._skipped[what].add(notice_id)
            return False
        return True

    def set_aliases(self, notice_id: int, keys: Iterable[str]) -> None:
        """Former titles of the notice's instrument (its amendment history)."""
        if self._stored("a", notice_id):
            self._keep(_DEL_ALIAS, dict(nid=notice_id))
        kept = sorted({k[:200] for k in keys})
        self._kept.set_aliases(notice_id, kept)
        for key in kept:
            self._keep(_ALIAS, dict(notice_id=notice_id, key=key))

    # ---- citations --------------------------------------------------------------------------------
    def clear_citations(self, notice_id: int) -> None:
        if self._stored("c", notice_id):
            self._keep(_DEL_CIT, dict(nid=notice_id))
        self._kept.clear_citations(notice_id)

    def add_citations(self, rows: Sequence[CitationRow]) -> None:
        """A 文号 is stored by its key (raw keeps it as printed): the document arriving under another form of
        it (中华人民共和国国务院令第707号 for 国令第707号) finds the citation."""
        for r in rows:
            self._none("c").discard(r.notice_id)  # it has citations now: a later clear deletes them
            values = citation_values(r)
            self._kept.add_citation(citation_row(values))
            self._keep(_CIT, values)

    def waiting(self, title_keys: Sequence[str], doc_no: str | None, exclude: int) -> list[Waiting]:
        """Citations by other notices of these title keys (what they implement or cite as legal basis)
        or of this 文号 (any), each with the citing notice's date. Reposts are left out: a repost links
        to its cluster's canonical copy only."""
        if not title_keys and not doc_no:
            return []
        q = _WAITING[(bool(title_keys), bool(doc_no))]
        params: dict = {"ex": exclude}
        if title_keys:
            params["keys"] = list(title_keys)
        doc_key = (docno_key(doc_no) or doc_no) if doc_no else None
        if doc_key:
            params["doc_no"] = doc_key  # citations store the key: 国令 = 国务院令
        rows = [(citation_row(r), r) for r in self.conn.execute(q, params) if r.notice_id not in self._kept.cleared]
        keys = set(title_keys)
        kept = [
            c
            for c in self._kept.kept_citations()
            if c.notice_id != exclude
            and (
                (c.kind in _TITLE_KINDS and c.key in keys and bool(c.in_purpose or c.basis))
                or (c.kind == "docno" and doc_key is not None and c.key == doc_key)
            )
        ]
        if kept:
            dates = {r.id: r for r in self.conn.execute(_NOTICE_DATES, {"ids": sorted({c.notice_id for c in kept})})}
            rows += [(c, dates[c.notice_id]) for c in kept]
            rows.sort(key=lambda cr: cr[0].notice_id)  # stable: stored citations before kept ones, as by id
        # repost_of is filtered here, not in SQL: `repost_of IS NULL` holds for nearly every notice, and
        # SQLite would scan its index instead of looking the keys up.
        out = []
        for c, n in rows:
            link_date, repost_of = self._kept.notice(c.notice_id, n.link_date, n.repost_of)
            if repost_of is None:
                out.append(Waiting(c.notice_id, coalesce(link_date, n.written, n.published), c))
        return out

    # ---- instruments ------------------------------------------------------------------------------
    def chain(self, keys: Sequence[str], exclude: int | None = None) -> list[Member]:
        """The stored notices that are versions of an instrument named by these keys (title key or a
        former title), one per repost cluster."""
        if not keys:
            return []
        if not self._kept.aliases:
            return self._members(self.conn.execute(_CHAIN, {"keys": list(keys)}), exclude)
        params = {"keys": list(keys), "over": sorted(self._kept.aliases), "extra": self._kept.chain_ids(keys)}
        return self._members(self.conn.execute(_CHAIN_KEPT, params), exclude)

    def by_docno(self, doc_no: str, exclude: int | None = None) -> list[Member]:
        """The stored notices carrying this 文号 in any of its forms (国令第707号 finds 中华人民共和国国务院令第707号),
        one per repost cluster."""
        return self._members(self.conn.execute(_BY_DOCNO, {"doc_no": docno_key(doc_no) or doc_no}), exclude)

    def _members(self, rows, exclude: int | None) -> list[Member]:
        out = []
        for r in rows:
            link_date, repost_of = self._kept.notice(r.id, r.link_date, r.repost_of)
            if repost_of is None and r.id != exclude:  # reposts filtered here: see waiting()
                out.append(Member(r.id, r.title_key, r.issuer, r.doc_no, coalesce(link_date, r.written, r.published)))
        return out

    def signatures_of(self, notice_ids: Sequence[int]) -> dict[int, StoredSignature]:
        """The newest signature of each of these notices (one query for a query's neighbours)."""
        if not notice_ids:
            return {}
        stored = [
            StoredSignature(r.notice_id, r.version_id, r.params, r.size, r.hashvalues)
            for r in self.conn.execute(_SIGNATURES_OF, {"ids": list(notice_ids)})
        ]
        return self._kept.signatures(notice_ids, stored)

    # ---- links ----------------------------------------------------------------------------------
    def links_of(self, child_id: int, relations: Sequence[str]) -> list[LinkRow]:
        """The child's stored links of these relations, oldest first, without their alignment (None)."""
        return self.links_of_many([child_id], relations)[child_id]

    def links_of_many(self, child_ids: Sequence[int], relations: Sequence[str]) -> dict[int, list[LinkRow]]:
        """`links_of` of several children, read in one query (the stored texts a new one may become the parent
        of: one query a pass, not one a child)."""
        none = self._none("l")
        stored: dict[int, list[LinkRow]] = {i: [] for i in child_ids}
        wanted = sorted({i for i in child_ids if i not in none})
        for part in chunks(wanted):
            for r in self.conn.execute(_LINKS_OF, {"children": part, "relations": list(relations)}):
                stored[r.child_id].append(link_row(r, aligned=False))
        return {i: self._kept.links(i, relations, rows) for i, rows in stored.items()}

    def link_exists(self, child_id: int, parent_key: str, relation: str) -> bool:
        return any(ln.parent_key == parent_key for ln in self.links_of(child_id, (relation,)))

    def delete_link(self, child_id: int, parent_key: str, relation: str) -> None:
        self._kept.delete_link(child_id, parent_key, relation)
        self._keep(_DEL_LINK, dict(child=child_id, pkey=parent_key, rel=relation))

    def add_link(self, link: LinkRow) -> None:
        self._none("l").discard(link.child_id)
        values = link_values(link)
        self._kept.add_link(values)
        self._keep(_LINK, values)

    def announce(self, notice_id: int, source_id: str, links: Sequence[LinkRow]) -> None:
        """The one link.new outbox event of a linking pass: every link the pass made, the notice's own
        first (the top-level fields name its first link, for readers of one link per event)."""
        ordered = sorted(links, key=lambda ln: ln.child_id != notice_id)
        payload = {k: v for k, v in link_payload(ordered[0]).items() if k != "child_id"}
        payload["links"] = [link_payload(ln) for ln in ordered]
        payload_json = json.dumps(payload, ensure_ascii=False)
        event = dict(kind="link.new", source_id=source_id or "", notice_id=notice_id, version_id=None)
        self._keep(_EVENT, dict(event, created_at=utcnow(), payload_json=payload_json))
