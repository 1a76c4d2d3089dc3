"""The web view: server-rendered pages (jinja2 on Starlette) and a JSON API beside them, over the read model.

Every page has its JSON twin under /api with the same data (the page's records, see watcher/views/pages.py); the
feeds are under /feeds. Endpoints are plain functions, run by Starlette in its thread pool: the database calls are
the synchronous ones the command line uses.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from watcher.errors import NotFoundError, WatcherError
from watcher.i18n import _, install, use_locale
from watcher.views import feeds as feed_views
from watcher.views import pages
from watcher.views.diff import status_labels
from watcher.views.search import marked_html
from watcher.web.api import jsonable
from watcher.web.auth import TokenGate

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config

TEMPLATES = Path(__file__).with_name("templates")
PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 20  # hits a page: each is a snippet cut from its whole text


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise HTTPException(400, _("not a date (YYYY-MM-DD): {value}").format(value=value)) from None


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit():
        raise HTTPException(400, _("{name} must be a number").format(name=name))
    return int(value)


def filters_of(request: Request) -> pages.Filters:
    q = request.query_params
    return pages.Filters(
        source=q.get("source", ""),
        issuer=q.get("issuer", "").strip(),
        since=_day(q.get("since")),
        until=_day(q.get("until")),
        relation=q.get("relation", ""),
        tag=q.get("tag", ""),
        q=q.get("q", "").strip(),
        after=q.get("after", ""),
    )


class Site:
    """The endpoints over one configuration and one database, opened once by `watcher serve`."""

    def __init__(self, cfg: Config, store: Store):
        self.cfg, self.store = cfg, store
        self.tz = ZoneInfo(cfg.defaults.timezone)
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        env = self.templates.env
        install(env)
        env.filters["local"] = lambda t: _local(t, self.tz)
        env.filters["urlencode_without"] = _without
        env.globals.update(marked=_marked, labels=status_labels, relations=pages.RELATIONS)

    def render(self, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        with use_locale(self.cfg.defaults.locale):
            base = {
                "cfg": self.cfg,
                "tags": _tags(self.cfg),
                "relation_names": pages.relation_labels(),
                "child_names": pages.child_labels(),
            }
            return self.templates.TemplateResponse(request, name, {**base, **context}, status_code=status)

    def listing(self, request: Request) -> dict[str, Any]:
        """The list page's data: ranked search hits when there are terms, else the filtered notices by date."""
        f = filters_of(request)
        page = _int(request.query_params.get("page"), "page") or 1
        if f.q:
            size = SEARCH_PAGE_SIZE
            hits, more = pages.search_hits(self.store, self.cfg, f, limit=size, offset=(page - 1) * size)
            return {"f": f, "hits": hits, "notices": [], "next": None, "page": page, "more": more}
        result = pages.notice_list(self.store, self.cfg, f, PAGE_SIZE)
        return {"f": f, "hits": [], "notices": result.notices, "next": result.next.token() if result.next else None}

    # ---- pages and their JSON twins ------------------------------------------------------------------
    def home(self, request: Request) -> Response:
        return RedirectResponse("/notices", status_code=307)

    def notices_page(self, request: Request) -> Response:
        return self.render(
            request, "notices.html", {"sources": _sources(self.cfg, self.store), **self.listing(request)}
        )

    def notices_api(self, request: Request) -> Response:
        data = self.listing(request)
        out = {k: data[k] for k in ("hits", "notices", "next")}
        if data.get("more"):  # search pages are numbered: the next one is page + 1
            out["next_page"] = data["page"] + 1
        return JSONResponse(jsonable(out))

    def notice_page(self, request: Request) -> Response:
        return self.render(request, "notice.html", {"p": pages.notice_page(self.store, request.path_params["id"])})

    def notice_api(self, request: Request) -> Response:
        return JSONResponse(jsonable(pages.notice_page(self.store, request.path_params["id"])))

    def _diff(self, request: Request) -> tuple[Any, list]:
        q = request.query_params
        old, new = _int(q.get("old"), "old"), _int(q.get("new"), "new")
        return pages.diff_page(self.store, request.path_params["id"], old, new)

    def diff_page(self, request: Request) -> Response:
        notice, blocks = self._diff(request)
        return self.render(request, "diff.html", {"n": notice, "diff_blocks": blocks, "q": request.query_params})

    def diff_api(self, request: Request) -> Response:
        notice, blocks = self._diff(request)
        return JSONResponse(jsonable({"notice": notice, "blocks": blocks}))

    def _align(self, request: Request) -> pages.AlignmentPage:
        return pages.alignment_page(self.store, request.path_params["parent"], request.path_params["child"])

    def align_page(self, request: Request) -> Response:
        return self.render(request, "align.html", {"a": self._align(request)})

    def align_api(self, request: Request) -> Response:
        return JSONResponse(jsonable(self._align(request)))

    def sources_page(self, request: Request) -> Response:
        return self.render(request, "sources.html", {"rows": pages.source_rows(self.store, self.cfg)})

    def sources_api(self, request: Request) -> Response:
        return JSONResponse(jsonable(pages.source_rows(self.store, self.cfg)))

    def channels_page(self, request: Request) -> Response:
        return self.render(request, "channels.html", {"rows": pages.channel_rows(self.store, self.cfg)})

    def channels_api(self, request: Request) -> Response:
        return JSONResponse(jsonable(pages.channel_rows(self.store, self.cfg)))

    def feeds_page(self, request: Request) -> Response:
        return self.render(request, "feeds.html", {"feeds": feed_views.every_feed(self.cfg)})

    def feed(self, request: Request) -> Response:
        kind, name, ext = (request.path_params[k] for k in ("kind", "name", "ext"))
        pick = {"source": feed_views.source_feed, "tag": feed_views.tag_feed, "saved": feed_views.saved_feed}
        if kind not in pick or ext not in ("atom", "json"):
            raise HTTPException(404)
        with use_locale(self.cfg.defaults.locale):
            built = feed_views.build_feed(self.store, self.cfg, pick[kind](self.cfg, name))
            if ext == "atom":
                return Response(feed_views.atom(built), media_type="application/atom+xml; charset=utf-8")
            return Response(feed_views.json_bytes(built), media_type="application/feed+json; charset=utf-8")

    # ---- errors --------------------------------------------------------------------------------------
    def not_found(self, request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": str(exc)}, status_code=404)
        return self.render(request, "error.html", {"message": str(exc)}, status=404)

    def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return self.render(request, "error.html", {"message": exc.detail}, status=exc.status_code)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home),
            Route("/notices", self.notices_page),
            Route("/notices/{id:int}", self.notice_page),
            Route("/notices/{id:int}/diff", self.diff_page),
            Route("/align/{parent:int}/{child:int}", self.align_page),
            Route("/sources", self.sources_page),
            Route("/channels", self.channels_page),
            Route("/feeds", self.feeds_page),
            Route("/feeds/{kind}/{name}.{ext}", self.feed),
            Route("/api/notices", self.notices_api),
            Route("/api/notices/{id:int}", self.notice_api),
            Route("/api/notices/{id:int}/diff", self.diff_api),
            Route("/api/align/{parent:int}/{child:int}", self.align_api),
            Route("/api/sources", self.sources_api),
            Route("/api/channels", self.channels_api),
        ]


def create_app(cfg: Config, store: Store, *, token: str | None = None) -> Starlette:
    """The web application; with a token, every request must show it (watcher/web/auth.py)."""
    site = Site(cfg, store)
    return Starlette(
        routes=site.routes(),
        middleware=[Middleware(TokenGate, token=token)] if token else [],
        exception_handlers={
            NotFoundError: site.not_found,
            WatcherError: site.not_found,
            HTTPException: site.http_error,
        },
    )


def _marked(text: str, marks: Any) -> Markup:
    return Markup(marked_html(text, marks))


def _without(params: Any, key: str) -> str:
    """A query string without one of its keys (the pager replaces it)."""
    return urlencode([(k, v) for k, v in params.multi_items() if k != key])


def _local(t: datetime | str | None, tz: ZoneInfo) -> str:
    """A stored time as the reader's clock shows it: YYYY-MM-DD HH:MM in `defaults.timezone`."""
    if t is None:
        return "—"
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if t.tzinfo is None:
        from datetime import UTC

        t = t.replace(tzinfo=UTC)
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _tags(cfg: Config) -> list[str]:
    return sorted({t for s in cfg.sources for t in s.tags})


def _sources(cfg: Config, store: Store) -> list[str]:
    from storage.webreads import source_ids

    return sorted({s.id for s in cfg.sources} | set(source_ids(store)))
