"""What the web view's pages show, as typed records built from the read model (storage/reads.py, storage/webreads.py):
the filtered notice list, a notice with its versions, links and newest changes, a version diff and an alignment.
The templates (watcher/web/templates/) and the JSON API format these records; neither queries anything itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from storage import reads, webreads
from storage.reads import LinkRecord, NoticeDetail, NoticeSummary
from storage.webreads import Cursor, NoticePage, NoticeQuery, VersionHeader
from watcher.errors import NotFoundError
from watcher.i18n import _
from watcher.views.diff import Block, Row, side_by_side, version_blocks

if TYPE_CHECKING:
    from storage.repo import Store
    from storage.search import SearchHit
    from watcher.config.settings import Config

RELATIONS = ("derived", "revision", "repost", "cites", "sibling")
_LINEAGE = ("derived", "revision", "cites")  # drawn as parents and children; reposts and siblings on their own


def relation_labels() -> dict[str, str]:
    """The relations as people read them, in the current locale."""
    return {
        "derived": _("derived from"),
        "revision": _("revision of"),
        "repost": _("repost"),
        "cites": _("cites"),
        "sibling": _("sibling"),
    }


def child_labels() -> dict[str, str]:
    """The relations seen from the parent's side: what a child is to it."""
    return {"derived": _("derived from it"), "revision": _("revised by"), "cites": _("cites it")}


@dataclass(frozen=True)
class Filters:
    """The list page's filters as the reader gave them (query string), and the search terms."""

    source: str = ""
    issuer: str = ""
    since: date | None = None
    until: date | None = None
    relation: str = ""
    tag: str = ""
    q: str = ""
    after: str = ""  # the cursor of the page to show

    def notice_query(self, cfg: Config) -> NoticeQuery:
        sources: tuple[str, ...] = (self.source,) if self.source else ()
        if self.tag:
            tagged = tuple(s.id for s in cfg.sources if self.tag in s.tags)
            sources = tuple(s for s in sources if s in tagged) if sources else tagged
            sources = sources or ("",)  # a tag no source has: nothing, rather than everything
        return NoticeQuery(
            sources=sources,
            issuer=self.issuer or None,
            since=self.since,
            until=self.until,
            relation=self.relation if self.relation in RELATIONS else None,
        )


@dataclass(frozen=True)
class Related:
    """A link seen from one notice, with the notice at its other end (None while the parent is not stored)."""

    link: LinkRecord
    other: NoticeSummary | None
    other_ref: str  # the other end as people name it: 文号, title, or the unresolved key


@dataclass(frozen=True)
class NoticePageData:
    notice: NoticeDetail
    versions: list[VersionHeader]
    parents: list[Related] = field(default_factory=list)
    children: list[Related] = field(default_factory=list)
    reposts: list[Related] = field(default_factory=list)
    siblings: list[Related] = field(default_factory=list)
    changes: list[Block] = field(default_factory=list)  # the newest version against the one before


@dataclass(frozen=True)
class AlignmentPage:
    parent: NoticeSummary
    child: NoticeSummary
    summary: dict  # the alignment's counts (watcher.link.align.align without its pairs)
    rows: list[Row]


def notice_list(store: Store, cfg: Config, f: Filters, limit: int = 50) -> NoticePage:
    after = Cursor.parse(f.after) if f.after else None
    return webreads.notice_page(store, f.notice_query(cfg), after=after, limit=limit)


def _ref(n: NoticeSummary | None, key: str) -> str:
    if n is None:
        return key
    return n.doc_no or n.title or f"#{n.id}"


def notice_page(store: Store, notice_id: int) -> NoticePageData:
    detail = reads.notice_detail(store, notice_id)
    links = reads.links_of(store, notice_id)
    others = webreads.summaries(
        store, [(ln.parent_id if ln.child_id == notice_id else ln.child_id) or 0 for ln in links]
    )
    groups: dict[str, list[Related]] = {"parents": [], "children": [], "reposts": [], "siblings": []}
    for ln in links:
        mine = ln.child_id == notice_id  # the link points from this notice to a parent
        other_id = ln.parent_id if mine else ln.child_id
        other = others.get(other_id) if other_id else None
        rel = Related(ln, other, _ref(other, ln.parent_key))
        if ln.relation == "repost":
            groups["reposts"].append(rel)
        elif ln.relation == "sibling":
            groups["siblings"].append(rel)
        else:
            groups["parents" if mine else "children"].append(rel)
    versions = webreads.version_headers(store, notice_id)
    changes: list[Block] = []
    if len(versions) > 1:
        changes = version_blocks(reads.version_diff(store, notice_id))
    return NoticePageData(detail, versions, changes=changes, **groups)


def diff_page(store: Store, notice_id: int, old: int | None, new: int | None) -> tuple[NoticeSummary, list[Block]]:
    n = reads.find_notice(store, str(notice_id))
    return n, version_blocks(reads.version_diff(store, notice_id, old, new))


def alignment_page(store: Store, parent_id: int, child_id: int) -> AlignmentPage:
    """The child's articles beside the parent's: the stored alignment of their link, or one computed now."""
    found = webreads.summaries(store, [parent_id, child_id])
    if parent_id not in found or child_id not in found:
        raise NotFoundError(f"no notice {parent_id if parent_id not in found else child_id}")
    ptext, ctext = webreads.newest_text(store, parent_id), webreads.newest_text(store, child_id)
    if ptext is None or ctext is None:
        raise NotFoundError(f"notices {parent_id} and {child_id} need a stored version")
    stored = next(
        (ln.alignment for ln in reads.links_of(store, child_id) if ln.parent_id == parent_id and ln.alignment),
        None,
    )
    if stored is None:
        from watcher.link.align import align

        stored = align(ptext, ctext)
    summary = {k: v for k, v in stored.items() if k != "pairs"}
    return AlignmentPage(found[parent_id], found[child_id], summary, side_by_side(stored, ptext, ctext))


def search_hits(store: Store, cfg: Config, f: Filters, *, limit: int, offset: int = 0) -> tuple[list[SearchHit], bool]:
    """The ranked search (storage/search.py) for the list page's terms: the source and the first date are part of
    the query; the issuer, last date, tag and relation keep the hits of the page that pass them. Also whether the
    search had `limit` hits, so there may be a next page."""
    q = f.notice_query(cfg)
    hits = store.search(
        f.q, source_id=q.sources[0] if len(q.sources) == 1 else None, since=f.since, limit=limit, offset=offset
    )
    keep = [
        h
        for h in hits
        if (not q.sources or h.source_id in q.sources)
        and (not q.issuer or (h.issuer or "").startswith(q.issuer))
        and (not q.until or (h.published is not None and str(h.published) <= q.until.isoformat()))  # str on SQLite
    ]
    if q.relation:
        linked = webreads.with_relation(store, [h.id for h in keep], q.relation)
        keep = [h for h in keep if h.id in linked]
    return keep, len(hits) == limit


@dataclass(frozen=True)
class SourcesPage:
    """Per source of sources.yaml: its last run and errors (`watcher status`'s rows), and the recent failures."""

    sources: list[dict]
    failures: list[dict]


def source_rows(store: Store, cfg: Config) -> SourcesPage:
    from watcher.views.status import recent_failures, source_status

    return SourcesPage(source_status(cfg, store), recent_failures(store, 20))


def channel_rows(store: Store, cfg: Config) -> list[dict]:
    """Per channel: deliveries sent, failed and uncertain, the last send and error (`watcher status`'s rows)."""
    from notifiers.dispatch import channel_status

    return channel_status(store, cfg.channels)
