"""Feeds: Atom (RFC 4287) and JSON Feed 1.1 of a source, a tag, or a saved filter (`feeds:` in sources.yaml).

A feed's entries are the newest outbox events that pass its filter — a new notice, a new version, a new link —
judged by the same rule as a channel's alerts (`notifiers.items.passes`), so a feed shows what a channel with that
filter would have been sent. Each entry links to the notice's page in the web view when `defaults.web_url` is set,
else to the notice on its portal. Times are RFC 3339 in `defaults.timezone`.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from notifiers.items import Item, load_items, passes
from storage import webreads
from watcher.config.channels import Filter
from watcher.errors import NotFoundError
from watcher.i18n import _

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config

ATOM = "http://www.w3.org/2005/Atom"
JSON_FEED = "https://jsonfeed.org/version/1.1"
WINDOW = 500  # events read per feed, newest first: a feed is about what happened lately


@dataclass(frozen=True)
class FeedSpec:
    key: str  # source/ID, tag/TAG or saved/ID: the feed's path without its extension
    title: str
    filter: Filter


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    summary: str
    doc_no: str | None
    issuer: str | None
    source_id: str


@dataclass(frozen=True)
class Feed:
    id: str
    key: str
    title: str
    home: str | None  # the page the feed is about (web view or portal)
    self_url: str | None  # the feed's own URL, when the web view's public URL is known
    updated: datetime
    entries: list[Entry]


def source_feed(cfg: Config, source_id: str) -> FeedSpec:
    s = cfg.get(source_id)
    return FeedSpec(f"source/{s.id}", s.name, Filter(sources=[s.id]))


def tag_feed(cfg: Config, tag: str) -> FeedSpec:
    if not any(tag in s.tags for s in cfg.sources):
        raise NotFoundError(_("no source has the tag {tag}").format(tag=tag))
    return FeedSpec(f"tag/{tag}", _("Tag: {tag}").format(tag=tag), Filter(tags=[tag]))


def saved_feed(cfg: Config, feed_id: str) -> FeedSpec:
    for f in cfg.feeds:
        if f.id == feed_id:
            return FeedSpec(f"saved/{f.id}", f.title or f.id, f.filter)
    raise NotFoundError(_("no feed {id} in the feeds: section").format(id=feed_id))


def every_feed(cfg: Config) -> list[FeedSpec]:
    """Every feed the configuration defines: one per source, per tag and per saved filter."""
    tags = sorted({t for s in cfg.sources for t in s.tags})
    return (
        [source_feed(cfg, s.id) for s in cfg.sources]
        + [tag_feed(cfg, t) for t in tags]
        + [saved_feed(cfg, f.id) for f in cfg.feeds]
    )


def _sources_of(cfg: Config, f: Filter) -> list[str] | None:
    """The sources whose events can pass `f`, to read only theirs; None when any source can."""
    if not f.sources and not f.tags:
        return None
    ids = set(f.sources) if f.sources else {s.id for s in cfg.sources}
    if f.tags:
        ids &= {s.id for s in cfg.sources if set(f.tags) & set(s.tags)}
    return sorted(ids)


def _uid(*parts: object) -> str:
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "policy-watcher:" + ":".join(map(str, parts))))


def notice_link(cfg: Config, notice_id: int, portal_url: str) -> str:
    base = cfg.defaults.web_url
    return f"{base.rstrip('/')}/notices/{notice_id}" if base else portal_url


def _summary(item: Item) -> str:
    kind = {"notice.new": _("New notice"), "notice.version": _("New version"), "link.new": _("New link")}
    why = item.relation if item.kind != "notice.new" else None  # "new" says what the kind already says
    parts = [kind.get(item.kind, item.kind), item.doc_no, item.issuer, item.published, why]
    return " · ".join(p for p in parts if p)


def build_feed(store: Store, cfg: Config, spec: FeedSpec, limit: int = 50) -> Feed:
    """The newest `limit` events that pass the feed's filter, newest first, among the newest WINDOW of its sources."""
    tz = ZoneInfo(cfg.defaults.timezone)
    sources = _sources_of(cfg, spec.filter)
    tags_of = {s.id: s.tags for s in cfg.sources}

    def text_of(notice_id: int) -> str:
        return webreads.newest_text(store, notice_id) or ""

    entries: list[Entry] = []
    read, before = 0, None
    while len(entries) < limit and read < WINDOW:  # a window at a time: a source's feed is full after the first
        times = webreads.recent_events(store, sources, min(2 * limit, WINDOW - read), before)
        if not times:
            break
        read, before = read + len(times), min(times)
        for item in reversed(load_items(store, list(times))):
            if len(entries) < limit and passes(item, spec.filter, tags_of, text_of):
                entries.append(_entry(cfg, item, times[item.event_id], tz))
    base = cfg.defaults.web_url.rstrip("/") if cfg.defaults.web_url else None
    return Feed(
        id=_uid(base or "local", spec.key),
        key=spec.key,
        title=spec.title,
        home=f"{base}/" if base else None,
        self_url=f"{base}/feeds/{spec.key}.atom" if base else None,
        updated=entries[0].updated if entries else datetime.now(tz).replace(microsecond=0),
        entries=entries,
    )


def _entry(cfg: Config, item: Item, when: datetime, tz: ZoneInfo) -> Entry:
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(tz)
    link = notice_link(cfg, item.notice_id, item.url)
    return Entry(
        _uid(item.url, "event", item.event_id), item.title, link, when, _summary(item), item.doc_no, item.issuer,
        item.source_id,
    )  # fmt: skip


def _rfc3339(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def atom(feed: Feed) -> bytes:
    """The feed as an Atom document: feed id, title, updated and author; each entry's id, title, updated,
    alternate link and summary."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    root = ET.Element(f"{{{ATOM}}}feed")
    sub(root, "id", feed.id)
    sub(root, "title", feed.title)
    sub(root, "updated", _rfc3339(feed.updated))
    sub(sub(root, "author"), "name", _("Policy Watcher"))
    sub(root, "generator", "Policy Watcher")
    if feed.self_url:
        sub(root, "link", rel="self", href=feed.self_url, type="application/atom+xml")
    if feed.home:
        sub(root, "link", rel="alternate", href=feed.home, type="text/html")
    for e in feed.entries:
        el = sub(root, "entry")
        sub(el, "id", e.id)
        sub(el, "title", e.title)
        sub(el, "updated", _rfc3339(e.updated))
        sub(el, "link", rel="alternate", href=e.link, type="text/html")
        sub(el, "summary", e.summary)
        sub(el, "category", term=e.source_id)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def json_feed(feed: Feed) -> dict:
    """The feed as a JSON Feed 1.1 object."""
    out: dict = {"version": JSON_FEED, "title": feed.title, "authors": [{"name": _("Policy Watcher")}]}
    if feed.home:
        out["home_page_url"] = feed.home
    if feed.self_url:
        out["feed_url"] = feed.self_url.removesuffix(".atom") + ".json"
    out["items"] = [
        {
            "id": e.id,
            "url": e.link,
            "title": e.title,
            "content_text": e.summary,
            "date_published": _rfc3339(e.updated),
            "date_modified": _rfc3339(e.updated),
            "tags": [e.source_id],
        }
        for e in feed.entries
    ]
    return out


def json_bytes(feed: Feed) -> bytes:
    return json.dumps(json_feed(feed), ensure_ascii=False, indent=2).encode("utf-8")
