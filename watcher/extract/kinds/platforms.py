"""Source kinds for the platforms most portals run on. Each is a registered class with its own options
model (`options:` of the source, validated when sources.yaml is loaded); detail pages are read as
HTML with the source's selectors or the platform's, falling back to the generic extractor.

- `hanweb`: 大汉 Hanweb jpage columns. The column page embeds its first records and further ones come
  from `/module/web/jpage/dataproxy.jsp`, both as `<record><![CDATA[<li>…</li>]]></record>`.
- `gkmlpt`: Guangdong's 政府信息公开 platform, a JSON API `/gkmlpt/api/all/{category}?page=N&sid=S`.
- `feed`: RSS 2.0 and Atom.
- `govcn`: the gov.cn policy library templates, old (`table.bd1`, `#UCAP-CONTENT`) and current.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Literal, cast
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree as ET

from pydantic import BaseModel, ConfigDict, Field
from selectolax.lexbor import LexborHTMLParser

from watcher.config.settings import DetailSelectors
from watcher.errors import ExtractError
from watcher.extract.kinds.base import HtmlKind, register
from watcher.extract.links import absolute
from watcher.extract.listing import items_digest
from watcher.extract.model import ListItem, ListPage
from watcher.text.docno import parse_date


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)  # columnid: 84242


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


class _DetailAsHtml(HtmlKind):
    """Detail pages: the source's selectors, else the platform's defaults, else the generic extractor.
    Lists are the platform's own (each subclass's parse_list)."""

    detail_defaults: DetailSelectors = DetailSelectors()

    def detail_selectors(self) -> DetailSelectors:
        own = self.source.detail
        return own if (own.body or own.meta or own.title) else self.detail_defaults


# ---- Hanweb -----------------------------------------------------------------------------------------
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|totalRecord\s*:\s*(\d+)", re.I)


def hanweb_records(text: str, base: str) -> list[ListItem]:
    """Items of a Hanweb datastore (in a column page or a dataproxy.jsp answer)."""
    items: list[ListItem] = []
    for fragment in _RECORD.findall(text):
        tree = LexborHTMLParser(fragment)
        a = tree.css_first("a[href]")
        if a is None:
            continue
        url = absolute(base, a.attributes.get("href"))
        if not url:
            continue
        title = (a.attributes.get("title") or "").strip() or " ".join((a.text() or "").split())
        items.append(ListItem(url=url, title=title, date=parse_date(tree.body.text() if tree.body else fragment)))
    return items


class HanwebOptions(_Options):
    columnid: str | None = Field(None, description="the column (col/colNNN): read through dataproxy.jsp")
    webid: str = "1"
    unitid: str | None = None
    per_request: int = Field(45, ge=1, le=500, description="records asked of dataproxy.jsp at a time")
    perpage: int = 15
    path: str = "/"
    source_content_type: str = "1"
    webname: str | None = None
    method: Literal["post", "get"] = Field(
        "post", description="post: the column fields as a form, as the portal's own script sends them"
    )


@register("hanweb")
class HanwebKind(_DetailAsHtml):
    """大汉 Hanweb portals. Without `columnid` the column page's embedded records are read; with it,
    dataproxy.jsp pages through the column: the record range in the query, the column's fields POSTed
    as a form (or all in the query with `method: get`, which many portals also accept)."""

    Options = HanwebOptions
    detail_defaults = DetailSelectors(
        title="div.sp_title, div.title, .article-title, h1",
        body="#zoom, .bt-content, #barrierfree_container",
        meta="div.sp_time, table.xxgk_table, .xxgk_table",
    )

    @property
    def opts(self) -> HanwebOptions:
        return cast(HanwebOptions, self.options)

    def _form(self) -> dict:
        o = self.opts
        form = dict(
            col=1,
            appid=1,
            webid=o.webid,
            path=o.path,
            columnid=o.columnid,
            sourceContentType=o.source_content_type,
            unitid=o.unitid or "",
            permissiontype=0,
        )
        if o.webname:
            form["webname"] = o.webname
        return form

    def _proxy(self, page_index: int) -> str:
        o = self.opts
        start = page_index * o.per_request + 1
        query = dict(startrecord=start, endrecord=start + o.per_request - 1, perpage=o.perpage)
        if o.method == "get":
            query.update(self._form())
        return f"{_origin(self.source.urls[0])}/module/web/jpage/dataproxy.jsp?{urlencode(query)}"

    def request_form(self, url: str) -> dict | None:
        if self.opts.columnid and self.opts.method == "post" and "/jpage/dataproxy.jsp" in url:
            return {k: str(v) for k, v in self._form().items()}
        return None

    def start_urls(self) -> list[str]:
        return [self._proxy(0)] if self.opts.columnid else list(self.source.urls)

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        items = hanweb_records(html, url)
        if not items and "<record" not in html.lower():
            raise ExtractError("no Hanweb <record> items on the page (is this a jpage column?)")
        next_urls: list[str] = []
        total = _TOTAL.search(html)
        total_n = int(next(g for g in total.groups() if g)) if total else None
        more = (page_index + 1) * self.opts.per_request < total_n if total_n is not None else bool(items)
        if self.opts.columnid and more and page_index + 1 < self.source.pagination.pages:
            next_urls = [self._proxy(page_index + 1)]
        return ListPage(items=items, next_urls=next_urls, region_hash=items_digest(items))


# ---- Guangdong gkmlpt ---------------------------------------------------------------------------------
class GkmlptOptions(_Options):
    sid: str = Field(description="site id of the portal's gkmlpt (in its page config: SID)")
    category: str = Field("0", description="category (the #NNN of gkmlpt/index#NNN); 0 = everything")


def _when(value) -> date | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        ts = float(value)
        return datetime.fromtimestamp(ts / 1000 if ts > 1e11 else ts, tz=UTC).date()
    return parse_date(str(value))


@register("gkmlpt")
class GkmlptKind(_DetailAsHtml):
    """广东 gkmlpt: the list is JSON; detail pages are its content/post_N.html pages."""

    Options = GkmlptOptions
    detail_defaults = DetailSelectors(
        # div.classify holds the 索引号/发布机构/文号 table (selectors of three independent scrapers; no saved page)
        title="h1, .title",
        body="div.article-content, div.zw, .content",
        meta="div.classify, div.introduce, table.classify, table",
    )

    @property
    def opts(self) -> GkmlptOptions:
        return cast(GkmlptOptions, self.options)

    def _api(self, page: int) -> str:
        root = self.source.urls[0].split("/gkmlpt/")[0]
        return f"{root}/gkmlpt/api/all/{self.opts.category}?{urlencode(dict(page=page, sid=self.opts.sid))}"

    def start_urls(self) -> list[str]:
        return [self._api(1)]

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        try:
            data = json.loads(html)
        except ValueError as exc:
            raise ExtractError(f"gkmlpt answered non-JSON: {exc}") from None
        items = []
        for a in data.get("articles") or []:
            link = absolute(url, a.get("url") or a.get("post_url"))
            if link:
                when = next(
                    (_when(a.get(k)) for k in ("first_publish_time", "publish_time", "created_at", "date") if a.get(k)),
                    None,
                )
                items.append(ListItem(url=link, title=" ".join((a.get("title") or "").split()), date=when))
        total = data.get("total") or (data.get("classify") or {}).get("post_count") or 0
        seen = (page_index + 1) * max(len(items), 1)
        more = items and seen < int(total) and page_index + 1 < self.source.pagination.pages
        return ListPage(
            items=items, next_urls=[self._api(page_index + 2)] if more else [], region_hash=items_digest(items)
        )


# ---- RSS / Atom ---------------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _feed_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError):
        return parse_date(text)


@register("feed")
class FeedKind(_DetailAsHtml):
    """RSS 2.0 or Atom: the feed is the list; each entry's link is the detail page."""

    Options = _Options

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        try:
            root = ET.fromstring(html.encode("utf-8") if isinstance(html, str) else html)
        except ET.ParseError as exc:
            raise ExtractError(f"not a valid RSS/Atom feed: {exc}") from None
        items = []
        for node in root.iter():
            name = _local(node.tag)
            if name not in ("item", "entry"):
                continue
            fields = {_local(c.tag): c for c in node}
            link = None
            for c in node:
                if _local(c.tag) == "link":
                    href = c.get("href") or (c.text or "").strip()
                    if href and c.get("rel", "alternate") == "alternate":
                        link = href
                        break
            title = " ".join(((fields["title"].text or "") if "title" in fields else "").split())
            when = next(
                (
                    _feed_date(fields[k].text)
                    for k in ("pubDate", "published", "updated", "date")
                    if k in fields and fields[k].text
                ),
                None,
            )
            url_abs = absolute(url, link)
            if url_abs:
                items.append(ListItem(url=url_abs, title=title, date=when))
        return ListPage(items=items, next_urls=[], region_hash=items_digest(items))


# ---- gov.cn -------------------------------------------------------------------------------------------
@register("govcn")
class GovCnKind(HtmlKind):
    """gov.cn: list pages of 最新政策 / 政策文件库, detail pages of the old policy-library template
    (metadata in table.bd1, body in #UCAP-CONTENT) and the current one (div.pages_content); the
    source's own selectors win where it gives them."""

    Options = _Options
    LIST = {"item": "div.news_box li, ul.list li, div.list li", "link": "a", "date": "span"}
    DETAIL = {
        "title": "div.share-title, div.article h1",  # the old template: 标题 in table.bd1
        "body": "#UCAP-CONTENT, div.pages_content, div.trs_editor_view",
        "meta": "table.bd1, div.policyLibraryOverview_header table, table.border-table",
    }

    def __init__(self, source):
        lst = {**self.LIST, **source.listing.model_dump(exclude_none=True, exclude_defaults=True)}
        det = {**self.DETAIL, **source.detail.model_dump(exclude_none=True, exclude_defaults=True)}
        super().__init__(
            source.model_copy(
                update={
                    "listing": type(source.listing).model_validate(lst),
                    "detail": DetailSelectors.model_validate(det),
                }
            )
        )
