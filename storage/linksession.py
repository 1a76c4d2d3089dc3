"""The statements of linking one version, on its transaction (`store.link_session()`).

Every lookup is by an indexed key (title key, 文号, notice id, citation key), so linking one document
reads what concerns it and never scans what is stored. The statements are built once, with bound
parameters: building a statement costs several times what SQLite takes to run it, and a document is
a dozen statements.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from datetime import date

from sqlalchemy import and_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from storage.core import T_CIT, T_EVENT, T_LINK, T_NOTICE, T_SIG, T_VERSION, table_of
from storage.models import TitleAlias, utcnow
from storage.records import CitationRow, Grounds, LinkRow, Member, NoticeText, StoredSignature, Waiting
from watcher.text.docno import docno_key

T_ALIAS = table_of(TitleAlias)
_CITATION_COLS = ("notice_id", "kind", "key", "raw", "in_purpose", "resolved_id", "basis")


def _citation_values(r: CitationRow) -> dict:
    values = {k: getattr(r, k) for k in _CITATION_COLS}
    if r.kind == "docno":
        values["key"] = docno_key(r.key) or r.key
    return values


_WHEN = func.coalesce(T_NOTICE.c.link_date, T_NOTICE.c.written, T_NOTICE.c.published)


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
_CITED_TITLE = and_(
    T_CIT.c.kind.in_(("title", "bare")),
    T_CIT.c.key.in_(_many("keys")),
    or_(T_CIT.c.in_purpose.is_(True), T_CIT.c.basis.is_(True)),
)
_CITED_DOCNO = and_(T_CIT.c.kind == "docno", T_CIT.c.key == bindparam("doc_no"))
_WAITING = {  # (by title keys, by 文号) -> the statement
    (t, d): select(T_CIT, _WHEN.label("child_when"), T_NOTICE.c.repost_of)
    .join(T_NOTICE, T_NOTICE.c.id == T_CIT.c.notice_id)
    .where(or_(*[c for c, on in ((_CITED_TITLE, t), (_CITED_DOCNO, d)) if on]), T_CIT.c.notice_id != bindparam("ex"))
    .order_by(T_CIT.c.notice_id, T_CIT.c.id)
    for t in (True, False)
    for d in (True, False)
    if t or d
}
_MEMBER_COLS = (T_NOTICE.c.id, T_NOTICE.c.title_key, T_NOTICE.c.issuer, T_NOTICE.c.doc_no, _WHEN.label("w"))
_MEMBERS = select(*_MEMBER_COLS, T_NOTICE.c.repost_of).where(T_NOTICE.c.version_count > 0).order_by(T_NOTICE.c.id)
_CHAIN = _MEMBERS.where(
    or_(
        T_NOTICE.c.title_key.in_(_many("keys")),
        T_NOTICE.c.id.in_(select(T_ALIAS.c.notice_id).where(T_ALIAS.c.key.in_(_many("keys")))),
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
    .where(T_LINK.c.child_id == bindparam("child"), T_LINK.c.relation.in_(_many("relations")))
    .order_by(T_LINK.c.id)
)
_ONE_LINK = and_(
    T_LINK.c.child_id == bindparam("child"),
    T_LINK.c.parent_key == bindparam("pkey"),
    T_LINK.c.relation == bindparam("rel"),
)
_LINK_EXISTS = select(T_LINK.c.id).where(_ONE_LINK)
_DELETE_LINK = delete(T_LINK).where(_ONE_LINK)
_ADD_LINK = insert(T_LINK)
_ANNOUNCE = insert(T_EVENT)
NOTICE_COLS = (
    T_NOTICE.c.id,
    T_NOTICE.c.title,
    T_NOTICE.c.title_key,
    T_NOTICE.c.doc_no,
    T_NOTICE.c.issuer,
    T_NOTICE.c.written,
    T_NOTICE.c.published,
    T_NOTICE.c.link_date,
    T_NOTICE.c.repost_of,
    T_NOTICE.c.source_id,
)
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


def notice_of(r, version_id: int) -> NoticeText:
    """A NoticeText from a row of NOTICE_COLS and the version's norm_text."""
    return NoticeText(
        r.id, r.title, r.title_key, r.doc_no, r.issuer, r.written, r.published, r.norm_text, version_id,
        r.link_date, r.repost_of,
    )  # fmt: skip


def link_row(r, aligned: bool = True) -> LinkRow:
    """A stored link; with aligned=False, from a row without alignment_json (alignment None): what the
    linker reads of the links it may replace (reading and decoding the alignments of a law's links was
    ~4% of the stage's samples)."""
    return LinkRow(
        r.child_id,
        r.parent_id,
        r.parent_key,
        r.relation,
        r.jaccard,
        r.contain_child,
        r.contain_parent,
        json.loads(r.evidence_json or "{}"),
        json.loads(r.alignment_json) if aligned and r.alignment_json else None,
        r.explanation,
    )


def link_payload(link: LinkRow) -> dict:
    """A link as an outbox event carries it."""
    return dict(
        child_id=link.child_id,
        relation=link.relation,
        parent_id=link.parent_id,
        parent_key=link.parent_key,
        explanation=link.explanation,
    )


class LinkSession:
    """The statements of linking, on one transaction (one document's, or a run of documents' with the
    linker's own memory index). Signatures, outbox events, links and the notices' link facts are kept and
    written in one statement each (~20 us a row instead of ~70 us a statement): before a statement that
    reads what they change, and when the transaction ends (flush), in the order they were made."""

    def __init__(self, conn: Connection, notices: Collection[int] = ()):
        self.conn = conn
        self._signatures: list[dict] = []
        self._events: list[dict] = []
        self._links: list[dict] = []
        self._facts: dict[int, dict] = {}  # notice id -> its link facts (the last set wins, as with updates)
        self._notices = sorted(set(notices))  # the notices the transaction links
        # of those, the ones with no citations ("c"), aliases ("a") or links as the child ("l") stored
        self._bare: dict[str, set[int]] | None = None

    def flush(self) -> None:
        """Write all that is kept so far (the session's owner calls it before commit)."""
        self._write_facts()
        self._write_links()
        if self._signatures:
            self.conn.execute(_ADD_SIGNATURE, self._signatures)
            self._signatures = []
        if self._events:
            self.conn.execute(_ANNOUNCE, self._events)
            self._events = []

    def _write_facts(self) -> None:
        if self._facts:
            self.conn.execute(_SET_LINK_FACTS, list(self._facts.values()))
            self._facts = {}

    def _write_links(self) -> None:
        if self._links:
            self.conn.execute(_ADD_LINK, self._links)
            self._links = []

    def add_signature(self, version_id: int, notice_id: int, params: str, size: int, hashvalues: bytes) -> None:
        self._signatures.append(
            dict(
                version_id=version_id,
                notice_id=notice_id,
                params=params,
                size=size,
                hashvalues=hashvalues,
                created_at=utcnow(),
            )
        )

    # ---- stored notices as the linker compares them ---------------------------------------------------
    def notice_text(self, notice_id: int) -> NoticeText | None:
        """A notice with the text of its newest version; None before its first version."""
        self._write_facts()
        r = self.conn.execute(_NOTICE_TEXT, {"nid": notice_id}).first()
        return notice_of(r, r.vid) if r is not None else None

    def grounds(self, notice_id: int) -> Grounds:
        """The keys a notice implements and those it cites as its legal basis."""
        rows = self.conn.execute(_GROUNDS, {"nid": notice_id}).all()
        return Grounds(frozenset(r.key for r in rows if r.in_purpose), frozenset(r.key for r in rows if r.basis))

    # ---- the notice as the linker dates and clusters it ---------------------------------------------
    def set_link_facts(self, notice_id: int, when: date | None, repost_of: int | None = None) -> None:
        """The date the linker dates the notice by, and its repost cluster (None: canonical)."""
        self._facts.pop(notice_id, None)  # written after the facts set before it, like a second update
        self._facts[notice_id] = dict(nid=notice_id, when=when, repost=repost_of)

    def repoint_cluster(self, old: int, new: int) -> None:
        """An earlier copy arrived late: the cluster of `old` (and `old` itself) become reposts of `new`,
        and `old`, a copy now, keeps no link of its own (the canonical copy carries them)."""
        self._write_facts()
        self._write_links()
        self.conn.execute(delete(T_LINK).where(T_LINK.c.child_id == old, T_LINK.c.relation != "repost"))
        self.conn.execute(update(T_NOTICE).where(T_NOTICE.c.repost_of == old).values(repost_of=new))
        self.conn.execute(
            update(T_LINK)
            .where(T_LINK.c.parent_id == old, T_LINK.c.relation == "repost")
            .values(parent_id=new, parent_key=f"n:{new}")
        )
        self.conn.execute(update(T_NOTICE).where(T_NOTICE.c.id == old).values(repost_of=new))

    def _none(self, what: str) -> set[int]:
        """The notices of the transaction with no citations ("c"), aliases ("a") or links as the child ("l")
        stored: for them, the two deletes and the read of links of a document are not run (a new notice; one
        look-up per transaction instead). Looked up at the first call, which follows the transaction's
        first write: SQLite then holds the write lock, and no other linker commits before this one does."""
        if self._bare is None:
            self._write_facts()  # the transaction's first write, if it has not written yet
            self._write_links()
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
            return False
        return True

    def set_aliases(self, notice_id: int, keys: Iterable[str]) -> None:
        """Former titles of the notice's instrument (its amendment history)."""
        if self._stored("a", notice_id):
            self.conn.execute(_DELETE_ALIASES, dict(nid=notice_id))
        rows = [dict(notice_id=notice_id, key=k[:200]) for k in sorted(set(keys))]
        if rows:
            self.conn.execute(_ADD_ALIASES, rows)

    # ---- citations --------------------------------------------------------------------------------
    def clear_citations(self, notice_id: int) -> None:
        if self._stored("c", notice_id):
            self.conn.execute(_DELETE_CITATIONS, dict(nid=notice_id))

    def add_citations(self, rows: Sequence[CitationRow]) -> None:
        """A 文号 is stored by its key (raw keeps it as printed): the document arriving under another form of
        it (中华人民共和国国务院令第707号 for 国令第707号) finds the citation."""
        if rows:
            self.conn.execute(_ADD_CITATIONS, [_citation_values(r) for r in rows])

    def waiting(self, title_keys: Sequence[str], doc_no: str | None, exclude: int) -> list[Waiting]:
        """Citations by other notices of these title keys (what they implement or cite as legal basis)
        or of this 文号 (any), each with the citing notice's date. Reposts are left out: a repost links
        to its cluster's canonical copy only."""
        if not title_keys and not doc_no:
            return []
        self._write_facts()
        q = _WAITING[(bool(title_keys), bool(doc_no))]
        params: dict = {"ex": exclude}
        if title_keys:
            params["keys"] = list(title_keys)
        if doc_no:
            params["doc_no"] = docno_key(doc_no) or doc_no  # citations store the key: 国令 = 国务院令
        # repost_of is filtered here, not in SQL: `repost_of IS NULL` holds for nearly every notice, and
        # SQLite would scan its index instead of looking the keys up.
        return [
            Waiting(r.notice_id, r.child_when, CitationRow(*(getattr(r, k) for k in _CITATION_COLS)))
            for r in self.conn.execute(q, params)
            if r.repost_of is None
        ]

    # ---- instruments ------------------------------------------------------------------------------
    def chain(self, keys: Sequence[str], exclude: int | None = None) -> list[Member]:
        """The stored notices that are versions of an instrument named by these keys (title key or a
        former title), one per repost cluster."""
        if not keys:
            return []
        self._write_facts()
        return self._members(self.conn.execute(_CHAIN, {"keys": list(keys)}), exclude)

    def by_docno(self, doc_no: str, exclude: int | None = None) -> list[Member]:
        """The stored notices carrying this 文号 in any of its forms (国令第707号 finds 中华人民共和国国务院令第707号),
        one per repost cluster."""
        self._write_facts()
        return self._members(self.conn.execute(_BY_DOCNO, {"doc_no": docno_key(doc_no) or doc_no}), exclude)

    @staticmethod
    def _members(rows, exclude: int | None) -> list[Member]:
        # reposts filtered here: see waiting()
        return [
            Member(r.id, r.title_key, r.issuer, r.doc_no, r.w) for r in rows if r.repost_of is None and r.id != exclude
        ]

    def signatures_of(self, notice_ids: Sequence[int]) -> dict[int, StoredSignature]:
        """The newest signature of each of these notices (one query for a query's neighbours)."""
        if not notice_ids:
            return {}
        self.flush()  # the signatures kept so far are read too
        return {
            r.notice_id: StoredSignature(r.notice_id, r.version_id, r.params, r.size, r.hashvalues)
            for r in self.conn.execute(_SIGNATURES_OF, {"ids": list(notice_ids)})
        }

    # ---- links ----------------------------------------------------------------------------------
    def links_of(self, child_id: int, relations: Sequence[str]) -> list[LinkRow]:
        """The child's stored links of these relations, oldest first, without their alignment (None)."""
        if child_id in self._none("l"):
            return []
        self._write_links()
        rows = self.conn.execute(_LINKS_OF, {"child": child_id, "relations": list(relations)})
        return [link_row(r, aligned=False) for r in rows]

    def link_exists(self, child_id: int, parent_key: str, relation: str) -> bool:
        one = dict(child=child_id, pkey=parent_key, rel=relation)
        self._write_links()
        return self.conn.execute(_LINK_EXISTS, one).first() is not None

    def delete_link(self, child_id: int, parent_key: str, relation: str) -> None:
        self._write_links()
        self.conn.execute(_DELETE_LINK, dict(child=child_id, pkey=parent_key, rel=relation))

    def add_link(self, link: LinkRow) -> None:
        self._none("l").discard(link.child_id)
        self._links.append(
            dict(
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
        )

    def announce(self, notice_id: int, source_id: str, links: Sequence[LinkRow]) -> None:
        """The one link.new outbox event of a linking pass: every link the pass made, the notice's own
        first (the top-level fields name its first link, for readers of one link per event)."""
        ordered = sorted(links, key=lambda ln: ln.child_id != notice_id)
        payload = {k: v for k, v in link_payload(ordered[0]).items() if k != "child_id"}
        payload["links"] = [link_payload(ln) for ln in ordered]
        self._events.append(
            dict(
                kind="link.new",
                source_id=source_id or "",
                notice_id=notice_id,
                version_id=None,
                created_at=utcnow(),
                payload_json=json.dumps(payload, ensure_ascii=False),
            )
        )
