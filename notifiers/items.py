"""Outbox events, enriched with their notice and link, filtered per channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from storage.deliveries import AnnouncedNotice, Announcements, Deliveries, OutboxEvent
from storage.repo import Store
from watcher.config.channels import LEVELS, Channel


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

    def as_dict(self) -> dict:
        return asdict(self)


def _level(kind: str, relation: str | None, parent: str | None) -> str:
    if kind == "link.new" and relation in ("derived", "revision", "repost"):
        return "important" if (parent or "").startswith(("国发", "国办发", "国令", "《中华人民共和国")) else "notice"
    if kind == "link.new":
        return "info"
    return "notice"


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
    parent = None
    if e.kind == "link.new":
        relation = e.payload.get("explanation") or e.payload.get("relation", "")
        parent_id = e.payload.get("parent_id")
        parent = (found.parent_refs.get(parent_id) if parent_id else None) or e.payload.get("parent_key")
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
        level=_level(e.kind, e.payload.get("relation"), parent),
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
