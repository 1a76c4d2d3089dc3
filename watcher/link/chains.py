"""Links by name: versions of one instrument (revision), what a document implements or cites (derived,
cites), and the stored documents that were waiting for a new one.

An instrument's versions are the stored notices with its title key (or a former title), one per repost
cluster, ordered by date. A citation resolves to the version in force at the citing document's date
(the latest not after it; if every stored version is newer, the earliest). When a version arrives, only
the documents whose version in force it now is are linked to it: a new version of a law never takes
the measures made under the old one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from storage.records import Member, Waiting
from watcher.link.amendments import parse_history
from watcher.link.boilerplate import plain
from watcher.link.citing import Want
from watcher.link.classify import Doc
from watcher.link.context import Pass, chain_of, same_version
from watcher.link.instruments import Version, is_standing, normalise_issuer
from watcher.text.docno import docno_key


# ---- what it implements or cites ------------------------------------------------------------------
def resolve(p: Pass, w: Want) -> list[Member]:
    """The stored versions of what a want names: by title key, else by the 文号 printed with it. A
    title printed with a 文号 (《X》（国函〔2016〕204号）) is not a stored document of that title whose own
    文号 is another: a notice that carries X (关于印发《X》的通知, 发改地区〔2016〕2664号) is keyed X too."""
    if w.kind == "docno":
        found = p.tx.by_docno(w.key, exclude=p.doc.id)
    else:
        found = p.tx.chain([w.key], exclude=p.doc.id)
        if w.docno:
            found = [m for m in found if not m.doc_no or docno_key(m.doc_no) == docno_key(w.docno)]
        if not found and w.docno:
            found = p.tx.by_docno(w.docno, exclude=p.doc.id)
    return [m for m in found if m.id != p.doc.repost_of]


def link_wants(p: Pass, carriers: list[Doc]) -> None:
    """Derived links to what it implements (or a placeholder while that is not stored), cites links
    to its legal basis and to stored documents whose 文号 it cites."""
    for w in p.wants:
        members = resolve(p, w)
        if members:
            v = chain_of(members).in_force(p.doc.when)
            parent = p.docs.doc(v.id) if v else None
            if parent is not None:
                _relink(p, p.doc, parent, w.relation, members, _evidence(w.docno or w.raw, w.key, v, len(members)))
            continue
        if w.role != "parent":
            continue
        carrier = _carrier(p, w, carriers)
        if carrier is not None:
            _relink(p, p.doc, carrier, "derived", [], {"cites": w.docno or w.raw, "instrument": w.key})
        elif w.placeholder():
            p.writer.placeholder(p.doc, w)


def _evidence(cites: str, instrument: str, v: Version | None, versions: int) -> dict[str, Any]:
    """Why: what it cites, the instrument, and which version when several are stored."""
    ev: dict[str, Any] = {"cites": cites, "instrument": instrument}
    if versions > 1 and v is not None and v.when is not None:
        ev["version"] = v.when.isoformat()
    return ev


def _relink(p: Pass, child: Doc, parent: Doc, relation: str, members: list[Member], ev: dict[str, Any]) -> None:
    """Link child → parent, dropping the child's link to another version of the same instrument
    (made while this one was not stored, or by an older text of the child)."""
    others = {m.id for m in members} - {parent.id}
    if others:
        for ln in p.writer.links_of(child.id, (relation,)):
            if ln.parent_id in others:
                p.writer.drop(ln)
    if p.writer.link(relation, child, parent, ev):
        p.linked.add(parent.id if child is p.doc else child.id)


def _carrier(p: Pass, w: Want, reused: list[Doc]) -> Doc | None:
    """A document it reuses that prints the cited 文号 near its top but was stored without it (a
    repost that lost its metadata): the parent the 文号 names."""
    docno = w.docno or (w.key if w.kind == "docno" else None)
    if not docno:
        return None
    for other in reused:
        if not other.doc_no and docno in other.text[:2000]:
            _, c_doc, _ = p.writer.scores(p.doc.hashes, other.hashes)
            if c_doc >= p.th.reuse_containment:
                return other
    return None


# ---- the documents waiting for it -------------------------------------------------------------------
def link_waiting(p: Pass) -> None:
    """Stored documents that implement or cite this one's instrument (by title key, former title or
    文号): each is linked when this is the version in force at its date."""
    keys = [k for k in (p.doc.title_key, *sorted(p.aliases)) if k]
    rows = p.tx.waiting(keys, p.doc.doc_no, exclude=p.doc.id)
    by_child: dict[int, list[Waiting]] = defaultdict(list)
    for r in rows:
        by_child[r.child_id].append(r)
    versions: dict[tuple[str, str], list[Member]] = {}
    for child_id, waiting in by_child.items():
        for wt in waiting:
            c = wt.citation
            kind = "docno" if c.kind == "docno" else "title"
            if (kind, c.key) not in versions:
                versions[(kind, c.key)] = p.tx.by_docno(c.key) if kind == "docno" else p.tx.chain([c.key])
            members = [m for m in versions[(kind, c.key)] if m.id != child_id]
            v = chain_of(members).in_force(wt.when)
            if v is None or v.id != p.doc.id:
                continue  # an older version is in force at its date: it keeps its parent
            child = p.docs.doc(child_id)
            if child is not None:
                relation = "derived" if c.in_purpose else "cites"
                _relink(p, child, p.doc, relation, members, _evidence(c.raw, c.key, v, len(members)))


# ---- versions -------------------------------------------------------------------------------------
# The 落款: a date right after the signer (…人民政府办公厅 2016年6月22日) at the end of a line, under a
# notice or under the 印发 note before the text it carries: when the text was signed.
_SIGNED = re.compile(
    r"(?:厅|政府|委员会|办公室|局)[ \t\u3000]*((?:19|20)\d{2}年\d{1,2}月\d{1,2}日|[〇○零一二三四五六七八九]{4}年"
    r"[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日)[ \t\u3000]*(?=$|\n|[(（])"
)
_SIGNED_HEAD = 6000


def _signed(text: str) -> set[str]:
    return {m.group(1) for m in _SIGNED.finditer(plain(text[:_SIGNED_HEAD]))}


def link_revisions(p: Pass) -> None:
    """It revises the version just before it; when it arrived late, the version just after it now
    revises it. Found by its title key or a former title, else by its 文号."""
    for key in [k for k in (p.doc.title_key, *sorted(p.aliases)) if k]:
        members = [m for m in p.tx.chain([key], exclude=p.doc.id) if _same_issuer(p.doc, m)]
        if members and _link_versions(p, key, members):
            return
    if p.doc.doc_no:
        members = [m for m in p.tx.by_docno(p.doc.doc_no, exclude=p.doc.id) if _same_issuer(p.doc, m)]
        if members:
            _link_versions(p, None, members)


def _same_issuer(doc: Doc, m: Member) -> bool:
    a, b = normalise_issuer(doc.issuer), normalise_issuer(m.issuer)
    return not a or not b or a == b


def _link_versions(p: Pass, key: str | None, members: list[Member]) -> bool:
    chain = chain_of(members)
    me = Version(p.doc.id, p.doc.when)
    chain.add(me)
    pred, succ = chain.predecessor(me), chain.successor(me)
    ev = {"same": "title" if key else "文号", "instrument": key or p.doc.doc_no}
    older = p.docs.doc(pred.id) if pred else None
    if older is not None and _versions(p, key, p.doc, older):
        _relink(p, p.doc, older, "revision", [], ev)
    newer = p.docs.doc(succ.id) if succ else None
    if newer is not None and _versions(p, key, newer, p.doc):
        _relink(p, newer, p.doc, "revision", members, {**ev, "arrived": "late"})
    return pred is not None or succ is not None


def _versions(p: Pass, key: str | None, new: Doc, old: Doc) -> bool:
    """new is a later version of old: not the same version (copies are reposts, as are two texts that
    print the same signing date whatever the dates of their pages), and a standing rule
    of one title, a history that lists old's date, or recognisably the same text."""
    if same_version(new.when, old.when, p.th.same_version_days):
        return False
    if _signed(new.text) & _signed(old.text):
        return False  # two copies signed the same day, put on the web months apart: one version
    history = p.reading.history if new is p.doc else parse_history(new.text)
    if (key and is_standing(key)) or history.lists(old.when):
        return True
    j, c_new, c_old = p.writer.scores(new.hashes, old.hashes)
    return j >= p.th.revision_jaccard or max(c_new, c_old) >= p.th.revision_containment
