"""A link as a reader sees it: one line in the reader's language, rendered when it is read.

The linker stores each link's structure — relation, parent, evidence, clause alignment — and this module turns it
into the line people read, in the current locale (watcher/i18n.py):

    依据 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》制定 · 33 条改写，2 条新增

Each part of the line is one whole message with named placeholders (never translated fragments glued together); the
parts are joined with a separator that is itself a message. The English line stored in `links.explanation` at link
time stays the fallback for a relation this module does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from watcher.errors import WatcherError
from watcher.i18n import _, current_locale, ngettext

if TYPE_CHECKING:
    from storage.reads import LinkRecord
    from storage.repo import Store

MAX_TITLE = 60  # a parent's title longer than this is cut in a relation line (the 文号 names it whole)


@dataclass(frozen=True)
class LinkFacts:
    """What a line is rendered from: a stored link, seen from its child."""

    relation: str  # revision | repost | derived | cites | sibling
    parent: str  # the parent as named: `parent_name(...)`
    evidence: Mapping[str, Any] = field(default_factory=dict)
    alignment: Mapping[str, Any] | None = None
    fallback: str = ""  # the English line stored at link time, for a relation not known here


def parent_name(doc_no: str | None, title: str | None, key: str = "") -> str:
    """A parent as a Chinese reader names it: 文号《标题》, or either alone, or the key it was cited by."""
    t = (title or "").strip().strip("《》〈〉")
    if len(t) > MAX_TITLE:
        t = t[: MAX_TITLE - 1] + "…"
    if doc_no and t:
        return f"{doc_no}《{t}》"
    if doc_no:
        return doc_no
    if t:
        return f"《{t}》"
    return key


def placeholder_name(parent_key: str, evidence: Mapping[str, Any]) -> str:
    """A parent not stored yet: its 文号 (the key) with the title it was cited with, when there is one."""
    title = evidence.get("title")
    if title and title.strip("《》") != parent_key.strip("《》"):
        return parent_name(parent_key, title)
    return parent_key


def relation_name(relation: str) -> str:
    """The relation as a noun (in lists: `3 份文件与之关联（依据、引用）`)."""
    names = {
        "derived": _("derived"),
        "revision": _("revision"),
        "repost": _("repost"),
        "cites": _("cites"),
        "sibling": _("sibling"),
    }
    return names.get(relation, relation)


def _head(relation: str, parent: str, evidence: Mapping[str, Any]) -> str | None:
    """The relation with its parent: the first part of the line."""
    unresolved = bool(evidence.get("unresolved"))
    shared = evidence.get("shared_parent")
    if relation == "derived":
        return (_("derived from {parent} (not stored)") if unresolved else _("derived from {parent}")).format(
            parent=parent
        )
    if relation == "revision":
        return _("new version of {parent}").format(parent=parent)
    if relation == "repost":
        return _("repost of {parent}").format(parent=parent)
    if relation == "cites":
        return (_("cites {parent} (not stored)") if unresolved else _("cites {parent}")).format(parent=parent)
    if relation == "sibling":
        if shared:
            return _("companion of {parent}, both implementing {shared}").format(parent=parent, shared=shared)
        return _("companion of {parent}").format(parent=parent)
    return None


def alignment_line(al: Mapping[str, Any]) -> str:
    """Articles compared with the parent's: `33 条对应，6 条改写，2 条新增` (parts that are zero left out)."""
    parts = []
    if al.get("reused"):
        parts.append(ngettext("{n} article unchanged", "{n} articles unchanged", al["reused"]).format(n=al["reused"]))
    if al.get("modified"):
        n = al["modified"]
        parts.append(ngettext("{n} article rewritten", "{n} articles rewritten", n).format(n=n))
    if al.get("added"):
        parts.append(ngettext("{n} article added", "{n} articles added", al["added"]).format(n=al["added"]))
    if al.get("removed"):
        n = al["removed"]
        parts.append(ngettext("{n} article removed", "{n} articles removed", n).format(n=n))
    if not parts:
        return _("no articles in common")
    return _(", ").join(parts)


def _reasons(relation: str, evidence: Mapping[str, Any], alignment: Mapping[str, Any] | None) -> list[str]:
    """Why, in the parts a reader needs: which version, which name is shared, how much text is kept."""
    out = []
    if evidence.get("version"):
        out.append(_("the version of {date}").format(date=evidence["version"]))
    if relation == "revision" and evidence.get("same") == "文号":
        out.append(_("same 文号"))
    elif relation == "revision" and evidence.get("same"):
        out.append(_("same title"))
    if alignment:
        out.append(alignment_line(alignment))
    elif evidence.get("jaccard") is not None and not evidence.get("unresolved") and relation != "cites":
        out.append(_("{percent}% of the text shared").format(percent=round(float(evidence["jaccard"]) * 100)))
    return out


def render(facts: LinkFacts) -> str:
    """The one line of a link, in the current locale."""
    head = _head(facts.relation, facts.parent, facts.evidence)
    if head is None:
        return facts.fallback or f"{facts.relation} {facts.parent}"
    return _(" · ").join([head, *_reasons(facts.relation, facts.evidence, facts.alignment)])


def relation_line(
    relation: str, parent: str, evidence: Mapping[str, Any] | None = None, alignment: Mapping[str, Any] | None = None
) -> str:
    """`render` for the parts of a link given one by one (what classify.explain is given)."""
    return render(LinkFacts(relation, parent, evidence or {}, alignment))


def children_line(relations: list[str]) -> str:
    """An event that made stored documents children of its notice: how many, and in which relations."""
    order = ("derived", "revision", "repost", "cites", "sibling")
    from babel.lists import format_list

    names = [relation_name(r) for r in sorted(set(relations), key=lambda r: order.index(r) if r in order else 9)]
    kinds = format_list(names, locale=current_locale())
    n = len(relations)
    return ngettext(
        "{n} stored document now linked to it ({kinds})", "{n} stored documents now linked to it ({kinds})", n
    ).format(n=n, kinds=kinds)


def changes_line(n: int) -> str:
    """The line of a revision: how many places changed."""
    if n == 0:
        return _("revised: no change in the text")
    return ngettext("revised: {n} change", "revised: {n} changes", n).format(n=n)


def links_read(store: Store, notice_id: int) -> list[tuple[LinkRecord, LinkFacts]]:
    """The stored links of a notice (as child or parent, oldest first), each with what its line is rendered from;
    parents are named by their 文号 and title as stored now (a parent stored after the link was made is named)."""
    from storage import reads

    recs = reads.links_of(store, notice_id)
    names: dict[int, str] = {}
    for pid in {r.parent_id for r in recs if r.parent_id is not None}:
        try:
            p = reads.find_notice(store, str(pid))
        except WatcherError:
            continue
        names[pid] = parent_name(p.doc_no, p.title, f"#{pid}")
    out = []
    for r in recs:
        if r.parent_id is None:
            parent = placeholder_name(r.parent_key, r.evidence)
        else:
            parent = names.get(r.parent_id) or r.parent_key
        out.append((r, LinkFacts(r.relation, parent, r.evidence, r.alignment, r.explanation)))
    return out
