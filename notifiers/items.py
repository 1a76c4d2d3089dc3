"""Outbox events, enriched with their notice and link, filtered per channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from storage.deliveries import AnnouncedNotice, Announcements, Deliveries, OutboxEvent
from storage.repo import Store
from watcher.config.channels import LEVELS, Channel, Filter
from watcher.text.changes import Change


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
    relation: str  # the one line: "new", "revised — 3 paragraphs changed", "derived from …"
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


def _link_line(found: Announcements, e: OutboxEvent, notice_id: int) -> tuple[str, str]:
    """The one line of a link.new item: its own links (strongest first), then how many stored
    documents it became the parent of; and the item's level."""
    own, children = [], []
    for ln in _event_links(e):
        if ln.get("child_id", notice_id) == notice_id:
            parent_id = ln.get("parent_id")
            parent = (found.parent_refs.get(parent_id) if parent_id else None) or ln.get("parent_key") or ""
            own.append((ln.get("relation", ""), parent, ln.get("explanation") or ln.get("relation", "")))
        else:
            children.append(ln.get("relation", ""))
    own.sort(key=lambda x: _ORDER.get(x[0], 9))
    parts = [why for _, _, why in own]
    if children:
        kinds = ", ".join(sorted(set(children), key=lambda r: _ORDER.get(r, 9)))
        parts.append(f"{len(children)} stored document{'s' if len(children) != 1 else ''} now linked to it ({kinds})")
    return "; ".join(parts), _level(e.kind, [(r, p) for r, p, _ in own], children)


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
    if e.kind == "link.new":
        relation, level = _link_line(found, e, n.id)
    elif e.kind == "notice.version":
        relation = _revised(store, n.id, e.payload.get("seq", 2))
    else:
        relation = "new"
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
    )


def _revised(store: Store, notice_id: int, seq: int) -> str:
    from watcher.text.diff import changed_paragraphs

    try:  # store.diff loads the two versions itself
        changed = changed_paragraphs(store.diff(notice_id, seq - 1, seq))
    except KeyError:
        changed = 0
    return f"revised — {changed} paragraph{'s' if changed != 1 else ''} changed"


def matches(item: Item, ch: Channel, tags_of: dict[str, list[str]], text_of: Callable[[int], str]) -> bool:
    return passes(item, ch.filter, tags_of, text_of)


def passes(item: Item, f: Filter, tags_of: dict[str, list[str]], text_of: Callable[[int], str]) -> bool:
    """Whether an item passes a filter: a channel's, or a saved feed's (watcher/views/feeds.py)."""
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
