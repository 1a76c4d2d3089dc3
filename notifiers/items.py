"""Outbox events, enriched with their notice and link, filtered per channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from storage.deliveries import AnnouncedNotice, Announcements, Deliveries, OutboxEvent
from storage.repo import Store
from watcher.config.channels import LEVELS, Channel
from watcher.i18n import _
from watcher.link.explain import changes_line, children_line, links_read, relation_name, render
from watcher.text.changes import Change, text_changes

SHOWN_CHANGES = 3  # changed places quoted per revision
MAX_COUNTED = 50  # changed places counted ("修订：12 处改动"); past this the count says 50


@dataclass
class Item:
    event_id: int
    kind: str
    notice_id: int
    source_id: str
    title: str
    url: str
    doc_no: str | None
    issuer: str | None
    written: str | None
    published: str | None
    relation: str  # the one line, in the current locale: "修订：2 处改动", "依据 …制定"; "new" for a new notice
    level: str = "notice"
    relations: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    # a revision's changed places (`10家 → 20家`, watcher/text/changes.py), first first; empty for other events
    changes: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


_STRONG = ("derived", "revision", "repost")  # relations an analyst is told about; cites and siblings are info
_ORDER = {"derived": 0, "revision": 1, "repost": 2, "cites": 3, "sibling": 4}


def _level(kind: str, links: list[tuple[str, str]], children: list[str]) -> str:
    """links: (relation, parent as named) of the notice's own links in the event; children: the
    relations of the stored documents the event links to it."""
    strong = [parent for relation, parent in links if relation in _STRONG]
    if kind == "link.new" and strong:
        national = ("国发", "国办发", "国令", "《中华人民共和国")
        return "important" if any(p.startswith(national) for p in strong) else "notice"
    if kind == "link.new":
        return "notice" if set(children) & set(_STRONG) else "info"
    return "notice"


def _event_links(e: OutboxEvent) -> list[dict]:
    """The links a link.new event carries: a list since one event per linking pass; one link before."""
    return list(e.payload.get("links") or [dict(e.payload, child_id=e.notice_id)])


def _link_line(store: Store, found: Announcements, e: OutboxEvent, notice_id: int) -> tuple[str, str]:
    """The one line of a link.new item, in the current locale: its own links (strongest first), rendered from
    the stored links (watcher/link/explain.py), then how many stored documents it became the parent of; and the
    item's level."""
    facts = {(r.parent_key, r.relation): f for r, f in links_read(store, notice_id) if r.child_id == notice_id}
    own: list[tuple[str, str, str]] = []
    children: list[str] = []
    for ln in _event_links(e):
        relation = ln.get("relation", "")
        if ln.get("child_id", notice_id) != notice_id:
            children.append(relation)
            continue
        parent_id = ln.get("parent_id")
        parent = (found.parent_refs.get(parent_id) if parent_id else None) or ln.get("parent_key") or ""
        f = facts.get((ln.get("parent_key") or "", relation))
        # a link dropped since the event (a placeholder whose parent came): the line the event carries
        own.append((relation, parent, render(f) if f else ln.get("explanation") or relation_name(relation)))
    own.sort(key=lambda x: _ORDER.get(x[0], 9))
    parts = [why for _r, _p, why in own]
    if children:
        parts.append(children_line(children))
    return _("; ").join(parts), _level(e.kind, [(r, p) for r, p, _w in own], children)


def load_items(store: Store, event_ids: list[int] | None = None, after: int = 0) -> list[Item]:
    """Items for the given events (or every event after `after`), oldest first."""
    found = Deliveries(store.engine).announcements(event_ids, after)
    out = []
    for e in found.events:
        n = found.notices.get(e.notice_id) if e.notice_id is not None else None
        if n is not None:  # an event whose notice is gone announces nothing
            out.append(_item(store, found, e, n))
    return out


def _item(store: Store, found: Announcements, e: OutboxEvent, n: AnnouncedNotice) -> Item:
    mine = found.links.get(n.id, [])
    level = "notice"
    changes: list[Change] = []
    if e.kind == "link.new":
        relation, level = _link_line(store, found, e, n.id)
    elif e.kind == "notice.version":
        relation, changes = _revised(store, n.id, e.payload.get("seq", 2))
    else:
        relation = "new"  # a sentinel, not a line: formats show nothing for a new notice
    return Item(
        event_id=e.id,
        kind=e.kind,
        notice_id=n.id,
        source_id=n.source_id,
        title=n.title or n.url,
        url=n.url,
        doc_no=n.doc_no,
        issuer=n.issuer,
        written=str(n.written) if n.written else None,
        published=str(n.published) if n.published else None,
        relation=relation,
        level=level,
        relations=sorted({pl.relation for pl in mine}),
        parents=[
            found.parent_refs.get(pl.parent_id, "") if pl.parent_id else pl.parent_key
            for pl in mine
            if pl.relation in ("derived", "revision", "cites")
        ],
        changes=changes,
    )


def _revised(store: Store, notice_id: int, seq: int) -> tuple[str, list[Change]]:
    """A revision's line (`修订：2 处改动`) and its first changed places, from the two versions' texts."""
    versions = {v.seq: v.body for v in store.versions(notice_id)}
    if seq not in versions or seq - 1 not in versions:
        return changes_line(0), []
    changes = text_changes(versions[seq - 1], versions[seq], limit=MAX_COUNTED)
    return changes_line(len(changes)), changes[:SHOWN_CHANGES]


def change_line(c: Change, *, sentence: bool = True) -> str:
    """One changed place for people: `「…支持20家企业…」 10家 → 20家`, `删除「…」`, `新增「…」`; without the
    sentence when the change before was in the same one (`sentence=False`)."""
    if c.old and c.new and not sentence:
        return _("{old} → {new}").format(old=c.old, new=c.new)
    if c.old and c.new:
        return _("“{sentence}” {old} → {new}").format(sentence=c.sentence, old=c.old, new=c.new)
    if c.old:
        return _("deleted “{old}”").format(old=c.old)
    return _("added “{new}”").format(new=c.new)


def matches(item: Item, ch: Channel, tags_of: dict[str, list[str]], text_of: Callable[[int], str]) -> bool:
    f = ch.filter
    if item.kind not in f.kinds or LEVELS[item.level] < LEVELS[f.min_level]:
        return False
    if f.sources and item.source_id not in f.sources:
        return False
    if f.tags and not set(f.tags) & set(tags_of.get(item.source_id, [])):
        return False
    if f.relations and not set(f.relations) & set(item.relations):
        return False
    if f.parent_prefix and not any(p.startswith(f.parent_prefix) for p in item.parents):
        return False
    if f.keywords:
        hay = item.title + "\n" + text_of(item.notice_id)
        if not any(k in hay for k in f.keywords):
            return False
    return True
