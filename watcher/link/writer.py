"""Storing the links of one linking pass: each with its scores, evidence, clause alignment and a line for
people, and, at the end of the pass, one outbox event that carries them all.

The links of each child the pass links are read once (one query per child, not two per link) and kept
up to date by the writer: every link the pass adds or deletes goes through it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from storage.records import LinkRow
from watcher.link.align import align
from watcher.link.classify import Doc, explain
from watcher.link.fingerprint import exact_scores, scores_of

if TYPE_CHECKING:
    from storage.linksession import LinkSession
    from watcher.link.citing import Want

_ALIGNED = ("derived", "revision")  # relations where the clause-by-clause comparison tells something
_RELATIONS = ("revision", "repost", "derived", "cites", "sibling")


class LinkWriter:
    def __init__(self, tx: LinkSession):
        self.tx = tx
        self.made: list[LinkRow] = []
        self._stored: dict[int, list[LinkRow]] = {}  # child id -> its stored links, oldest first
        # |A ∩ B| of shingle arrays the pass has intersected, by the arrays' identity (held, so no id is reused)
        self._inter: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = {}

    def know(self, a: np.ndarray, others: list[np.ndarray], inters: list[int]) -> None:
        """|a ∩ others[i]| is inters[i]: the neighbours verified are the texts the pass links, and
        exact_scores would intersect them again (~20 us a link)."""
        ida = id(a)
        self._inter.update({(ida, id(b)): (a, b, n) for b, n in zip(others, inters, strict=True)})

    def scores(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
        """exact_scores(a, b), from |a ∩ b| when the pass has it."""
        for x, y in ((a, b), (b, a)):
            hit = self._inter.get((id(x), id(y)))
            if hit is not None and hit[0] is x and hit[1] is y:
                return scores_of(hit[2], len(a), len(b))
        return exact_scores(a, b)

    def links_of(self, child_id: int, relations: tuple[str, ...] = _RELATIONS) -> list[LinkRow]:
        """The child's stored links of these relations, oldest first (read once per pass)."""
        self.read_links([child_id])
        return [ln for ln in self._stored[child_id] if ln.relation in relations]

    def read_links(self, child_ids: list[int]) -> None:
        """Read the stored links of those of these children not read yet, in one query."""
        unread = [i for i in child_ids if i not in self._stored]
        if unread:
            self._stored.update(self.tx.links_of_many(unread, _RELATIONS))

    def exists(self, child_id: int, parent_key: str, relation: str) -> bool:
        return any(ln.parent_key == parent_key and ln.relation == relation for ln in self.links_of(child_id))

    def forget(self) -> None:
        """Read the links again: statements outside the writer changed them (a repost cluster re-pointed)."""
        self._stored.clear()

    def _add(self, link: LinkRow) -> None:
        self.links_of(link.child_id)  # read before the insert: the cache holds the new row once
        self.tx.add_link(link)
        self._stored[link.child_id].append(link)
        self.made.append(link)

    def link(self, relation: str, child: Doc, parent: Doc, evidence: dict[str, Any]) -> LinkRow | None:
        """Store child → parent unless it is stored; scores are computed here (shares of each side's
        shingles without boilerplate)."""
        pkey = f"n:{parent.id}"
        if child.id == parent.id or self.exists(child.id, pkey, relation):
            return None
        j, c_child, c_parent = self.scores(child.hashes, parent.hashes)
        evidence = {"jaccard": round(j, 3), **evidence}
        alignment = align(parent.text, child.text) if relation in _ALIGNED else None
        link = LinkRow(
            child.id,
            parent.id,
            pkey,
            relation,
            j,
            c_child,
            c_parent,
            evidence,
            alignment,
            explain(relation, parent.ref(), evidence, alignment),
        )
        self._add(link)
        # Named before it was stored: the placeholder of this parent goes.
        self.drop_placeholders(child.id, evidence.get("instrument"), parent.doc_no)
        return link

    def placeholder(self, child: Doc, want: Want) -> LinkRow | None:
        """A derived link to a parent not stored yet, named by its 文号 or 《title》."""
        name = want.placeholder()
        if name is None or self.exists(child.id, name, "derived"):
            return None
        evidence: dict[str, Any] = {"cites": want.docno or want.raw, "unresolved": True, "instrument": want.key}
        if want.docno:
            evidence["title"] = want.raw
        link = LinkRow(
            child.id, None, name, "derived", None, None, None, evidence, None, explain("derived", name, evidence, None)
        )
        self._add(link)
        return link

    def drop_placeholders(self, child_id: int, instrument: str | None, doc_no: str | None) -> None:
        """Remove the child's placeholder links that named this instrument (by key) or this 文号."""
        for ln in self.links_of(child_id, ("derived",)):
            if ln.parent_id is None and (
                (instrument and ln.evidence.get("instrument") == instrument) or (doc_no and ln.parent_key == doc_no)
            ):
                self.drop(ln)

    def drop(self, link: LinkRow) -> None:
        self.tx.delete_link(link.child_id, link.parent_key, link.relation)
        stored = self._stored.get(link.child_id)
        if stored is not None:
            self._stored[link.child_id] = [
                ln for ln in stored if (ln.parent_key, ln.relation) != (link.parent_key, link.relation)
            ]

    def announce(self, notice_id: int, source_id: str) -> None:
        """The pass's one event (none when it made no link)."""
        if self.made:
            self.tx.announce(notice_id, source_id, self.made)
