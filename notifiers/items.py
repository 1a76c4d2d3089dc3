"""Outbox events, enriched with their notice and link, filtered per channel."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from storage.models import Event, Link, Notice, Version
from storage.repo import Store

from watcher.config.channels import LEVELS, Channel

T_EVENT, T_NOTICE, T_LINK, T_VERSION = Event.__table__, Notice.__table__, Link.__table__, Version.__table__


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
    relation: str          # the one line: "new", "revised — 3 paragraphs changed", "derived from …"
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
    from watcher.text.diff import changed_paragraphs
    with store.engine.connect() as conn:
        q = select(T_EVENT).order_by(T_EVENT.c.id)
        q = q.where(T_EVENT.c.id.in_(event_ids)) if event_ids is not None else q.where(T_EVENT.c.id > after)
        events = conn.execute(q).all()
        ids = {e.notice_id for e in events if e.notice_id}
        notices = {r.id: r for r in conn.execute(select(T_NOTICE).where(T_NOTICE.c.id.in_(ids)))} if ids else {}
        links: dict[int, list] = {}
        for r in conn.execute(select(T_LINK).where(T_LINK.c.child_id.in_(ids))) if ids else []:
            links.setdefault(r.child_id, []).append(r)
        parent_ids = {l.parent_id for ls in links.values() for l in ls if l.parent_id}
        parent_ids |= {json.loads(e.payload_json or "{}").get("parent_id") for e in events if e.kind == "link.new"}
        parent_ids.discard(None)
        parent_refs = {r.id: r.doc_no or r.title or "" for r in conn.execute(
            select(T_NOTICE.c.id, T_NOTICE.c.doc_no, T_NOTICE.c.title).where(T_NOTICE.c.id.in_(parent_ids)))} \
            if parent_ids else {}
    out = []
    for e in events:
        n = notices.get(e.notice_id)
        if n is None:
            continue
        payload = json.loads(e.payload_json or "{}")
        mine = links.get(n.id, [])
        parent = None
        if e.kind == "link.new":
            relation = payload.get("explanation") or payload.get("relation", "")
            parent = parent_refs.get(payload.get("parent_id")) or payload.get("parent_key")
        elif e.kind == "notice.version":
            seq = payload.get("seq", 2)
            try:   # store.diff loads the two versions itself
                changed = changed_paragraphs(store.diff(n.id, seq - 1, seq))
            except KeyError:
                changed = 0
            relation = f"revised — {changed} paragraph{'s' if changed != 1 else ''} changed"
        else:
            relation = "new"
        out.append(Item(event_id=e.id, kind=e.kind, notice_id=n.id, source_id=n.source_id, title=n.title or n.url,
                        url=n.url, doc_no=n.doc_no, issuer=n.issuer,
                        written=str(n.written) if n.written else None,
                        published=str(n.published) if n.published else None, relation=relation,
                        level=_level(e.kind, payload.get("relation"), parent),
                        relations=sorted({l.relation for l in mine}),
                        parents=[parent_refs.get(l.parent_id, "") if l.parent_id else l.parent_key
                                 for l in mine if l.relation in ("derived", "revision", "cites")]))
    return out


def matches(item: Item, ch: Channel, tags_of: dict[str, list[str]], text_of) -> bool:
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
