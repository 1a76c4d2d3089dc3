"""One poll of one source: list pages -> new or due items -> detail pages -> store.

A failure belongs to its page: it is recorded with source and URL and the run goes on. Items are
registered as pending before their detail page is fetched, so a crash or a failed fetch never loses
one: pending items are fetched again on the next run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from storage.models import Page, utcnow
from storage.records import Counts, FinishedRun, NoticeState, Outcome, PollError, Snapshot
from storage.repo import Store
from watcher.attachments.reader import AttachmentReader
from watcher.config.settings import Source
from watcher.crawl.fetch import Fetcher, Response
from watcher.errors import ExtractError, WatcherError, error_context
from watcher.extract.kinds import SourceKind, kind_for
from watcher.extract.model import ListItem
from watcher.link.stage import LinkStage
from watcher.pipeline.db import DB, StoredRobots
from watcher.pipeline.durable import beating, link_pending
from watcher.pipeline.retry import retry_due
from watcher.pipeline.snapshot import attachment_links, snapshot, with_attachments_read_again
from watcher.pipeline.storer import Storer

log = logging.getLogger(__name__)
# A running poll beats every BEAT seconds; a run that has not beaten for RUN_LEASE was cut off (a kill, a
# crash) and the next poll or scheduler start closes it as interrupted.
BEAT = 15.0
RUN_LEASE = timedelta(minutes=2)
Progress = Callable[..., None]


def _error_record(exc: BaseException, source_id: str, url: str | None) -> PollError:
    """What a run keeps of a failure: a WatcherError's own fields, or those of an unexpected exception."""
    if isinstance(exc, WatcherError):
        return PollError(error=type(exc).__name__, message=exc.message, source_id=exc.source_id, url=exc.url)
    return PollError(error=type(exc).__name__, message=str(exc) or repr(exc), source_id=source_id, url=url)


@dataclass
class RunResult:
    source_id: str
    status: str = "ok"
    counts: Counts = field(default_factory=Counts)
    pages: int = 0
    not_modified: int = 0
    errors: list[PollError] = field(default_factory=list)
    duration: float = 0.0
    failing: int = 0  # notices never stored whose detail page keeps failing (retried with a growing wait)

    def finished(self, run_id: int) -> FinishedRun:
        """The crawl run's record of this result."""
        return FinishedRun(run_id, self.status, self.counts, self.pages, self.not_modified, self.errors, self.duration)

    def as_dict(self) -> dict:
        return dict(
            source_id=self.source_id,
            status=self.status,
            new=self.counts.new,
            changed=self.counts.changed,
            unchanged=self.counts.unchanged,
            failed=self.counts.failed,
            pages=self.pages,
            not_modified=self.not_modified,
            errors=[e.as_dict() for e in self.errors],
            duration=round(self.duration, 3),
            failing=self.failing,
        )


class SourcePoll:
    """State of one source's run."""

    def __init__(
        self,
        source: Source,
        db: DB,
        fetcher: Fetcher,
        pages: dict[str, Page],
        candidates: list[NoticeState],
        progress: Progress | None = None,
        storer: Storer | None = None,
    ):
        self.source = source
        self.kind: SourceKind = kind_for(source)
        self.db = db
        self.store = db.store
        self.fetcher = fetcher
        self.known_pages = pages
        self.candidates = candidates
        self.progress = progress or (lambda *a, **k: None)
        self.result = RunResult(source.id)
        self.storer = storer or Storer(db)  # a poll's sources share one: their outcomes are written together
        self.attachments = AttachmentReader(source, fetcher, db)

    def _error(self, exc: BaseException, url: str) -> PollError:
        err = _error_record(exc, self.source.id, url)
        log.warning("%s: %s %s", self.source.id, url, err.message)
        self.result.errors.append(err)
        return err

    async def run(self) -> RunResult:
        started = time.monotonic()
        due, list_failures = await self.walk()
        await self.details(due)
        return self.finish(started, list_failures)

    async def walk(self) -> tuple[dict[str, tuple[NoticeState, ListItem | None]], int]:
        """The list pages walked (their new items registered as pending): the items due for a detail fetch,
        the candidates among them, and how many start URLs failed. A worker (watcher/worker/) stops here and
        spreads `details` over other jobs."""
        list_failures = 0
        due: dict[str, tuple[NoticeState, ListItem | None]] = {}
        for start in self.kind.start_urls():
            try:
                with error_context(source_id=self.source.id, url=start):
                    await self._walk_list(start, due)
            except Exception as exc:  # noqa: BLE001 - one list URL failing must not stop the others
                self._error(exc, start)
                list_failures += 1
        for st in self.candidates:
            due.setdefault(st.url, (st, None))
        return due, list_failures

    async def details(self, due: dict[str, tuple[NoticeState, ListItem | None]]) -> None:
        """Fetch the due detail pages and store them (watcher/pipeline/storer.py: with the other sources' outcomes,
        within LINGER seconds); returns once all are stored, and raises when a write that held some failed."""
        self.progress(self.source.id, "details", total=len(due))
        await asyncio.gather(*(self._detail(st, item) for st, item in due.values()))
        counts = await self.storer.flush(self.source.id)
        self.result.errors += counts.errors  # records the database refused, each with its reason
        self.result.counts.add(counts)

    def finish(self, started: float, list_failures: int) -> RunResult:
        r = self.result
        if list_failures and list_failures == len(self.kind.start_urls()):
            r.status = "failed"
        elif r.errors:
            r.status = "partial"
        r.duration = time.monotonic() - started
        self.progress(self.source.id, "done", result=r)
        return r

    async def _walk_list(self, start: str, due: dict) -> None:
        """Walk a list from its first page while pages bring unseen items. The validators of the pages walked
        are saved when the walk ends, not page by page: a walk cut short (a kill, a page failing) leaves the
        first page unknown, so the next poll walks again past where this one stopped instead of taking an
        unchanged first page for an unchanged list."""
        url: str | None = start
        index = 0
        walked: list[dict] = []
        while url is not None:
            rec = self.known_pages[url] if url in self.known_pages else await self.db(self.store.page, url)
            resp = await self.fetcher.get(
                url,
                self.source.fetch,
                etag=rec.etag if rec else None,
                last_modified=rec.last_modified if rec else None,
                form=self.kind.request_form(url),
            )
            self.result.pages += 1
            if resp.not_modified or (rec is not None and rec.body_hash == resp.body_hash):
                # An unchanged page means the older pages behind it are unchanged too.
                walked += self._unchanged_row(url, rec, resp)
                break
            try:
                page = self.kind.parse_list(resp.text, resp.url, index)
            except Exception as exc:
                raise ExtractError(f"list page could not be parsed: {exc}", url=url) from exc
            walked.append(
                dict(
                    url=url,
                    etag=resp.etag,
                    last_modified=resp.last_modified,
                    body_hash=resp.body_hash,
                    region_hash=page.region_hash,
                    status=resp.status,
                )
            )
            if rec is not None and rec.region_hash == page.region_hash:
                self.result.not_modified += 1
                break
            if not page.items and index == 0:
                raise ExtractError("no list items found: check the list selectors", url=url)
            states = await self.db(self.store.record_list, self.source.id, None, page.items)
            fresh = 0
            for item in page.items:
                st = states[item.url]
                if self._is_due(st, item):
                    due.setdefault(item.url, (st, item))
                    fresh += st.version_count == 0
            self.progress(self.source.id, "list", url=url, items=len(page.items), due=len(due))
            index += 1
            url = await self._next_page(page.next_urls, fresh, walked_before=rec is not None)
        if walked:
            await self.db(self.store.save_page_rows, self.source.id, walked)

    async def _next_page(self, next_urls: list[str], fresh: int, walked_before: bool) -> str | None:
        """Walk further while a page still brings unseen items, or while this page and the next were never
        walked to the end of a walk (their validators unsaved): a walk cut short before is finished now,
        though the items of the pages it reached were stored meanwhile."""
        if not next_urls:
            return None
        if fresh:
            return next_urls[0]
        if walked_before:
            return None
        return next_urls[0] if await self.db(self.store.page, next_urls[0]) is None else None

    def _unchanged_row(self, url: str, rec: Page | None, resp: Response) -> list[dict]:
        """An unchanged list page: counted, and its new validators kept when only they changed."""
        self.result.not_modified += 1
        if (
            rec is not None
            and not resp.not_modified  # same body, new validators: keep them
            and (resp.etag, resp.last_modified) != (rec.etag, rec.last_modified)
        ):
            return [
                dict(
                    url=url,
                    etag=resp.etag,
                    last_modified=resp.last_modified,
                    body_hash=rec.body_hash,
                    region_hash=rec.region_hash,
                    status=resp.status,
                )
            ]
        return []

    def _is_due(self, st: NoticeState, item: ListItem) -> bool:
        if st.version_count == 0:
            return retry_due(st, utcnow())
        if (item.title and item.title != st.list_title) or (item.date and item.date != st.list_date):
            return True
        if st.last_checked is None:
            return True
        return utcnow() - st.last_checked > timedelta(seconds=self.source.recheck_after)

    async def _detail(self, st: NoticeState, item: ListItem | None) -> None:
        outcome = Outcome(notice=st)
        try:
            with error_context(source_id=self.source.id, url=st.url):
                outcome.snapshot, outcome.not_modified = await self._read_detail(st, item)
        except Exception as exc:  # noqa: BLE001 - a bug on one page must not lose the others
            outcome.error = self._error(exc, st.url).message
        self.storer.add(self.source.id, outcome)
        self.progress(self.source.id, "detail", url=st.url, ok=outcome.error is None)

    async def _read_detail(self, st: NoticeState, item: ListItem | None) -> tuple[Snapshot | None, bool]:
        """The detail page's snapshot (None when nothing changed) and whether the server said 304."""
        resp = await self.fetcher.get(
            st.url,
            self.source.fetch,
            etag=st.etag if st.version_count else None,
            last_modified=st.last_modified if st.version_count else None,
        )
        if resp.not_modified:
            # The page is unchanged; an attachment may have been replaced behind it.
            changed = await self._attachments_changed(st)
            return changed, changed is None
        try:
            detail = self.kind.parse_detail(resp.text, resp.url, item)
        except Exception as exc:
            raise ExtractError(f"detail page could not be parsed: {exc}") from exc
        reads = await self.attachments.read_all(detail.attachments) if self.source.attachments.enabled else []
        if not detail.body.strip() and not any(r.text for r in reads):
            raise ExtractError("no body text found: check the detail.body selector")
        detail.url = st.url
        return snapshot(detail, resp.etag, resp.last_modified, reads), False

    async def _attachments_changed(self, st: NoticeState) -> Snapshot | None:
        """A new snapshot when a stored attachment answers with other content (conditional GETs)."""
        if not (self.source.attachments.enabled and st.version_count):
            return None
        stored = await self.db(self.store.latest_snapshot, st.id)
        if stored is None or not stored.attachments:
            return None
        reads = await self.attachments.read_all(attachment_links(stored))
        if any(r.record.status == "fetch_error" for r in reads):
            return None  # a host that fails now says nothing about the file: no version without it
        if [r.record.sha256 for r in reads] == [a.sha256 for a in stored.attachments[: len(reads)]]:
            return None
        return with_attachments_read_again(stored, reads, st.etag, st.last_modified)


async def poll_sources(
    sources: Iterable[Source],
    store: Store,
    *,
    concurrency: int = 32,
    client: httpx.AsyncClient | None = None,
    progress: Progress | None = None,
    linker: LinkStage | None = None,
) -> list[RunResult]:
    """Poll the given sources concurrently with one shared fetcher; never raises for a source's failure.
    With a linker, what is stored and not linked yet is linked after (a failure there is logged).

    What every source needs from the database is read in a few queries up front and the crawl runs
    are closed together at the end, so a quiet portal costs one conditional GET and a few queries."""
    sources = list(sources)
    db = DB(store)
    try:
        await db(store.mark_interrupted, RUN_LEASE)  # runs a killed poll left open; a live process's beat on
        await db(store.sync_sources, sources)
        run_ids = await db(store.start_runs, [s.id for s in sources])
        async with beating(db, list(run_ids.values()), BEAT):
            results = await _poll_all(sources, db, client, concurrency, progress)
        await db(store.finish_runs, [r.finished(run_ids[r.source_id]) for r in results])
        failing = await db(store.failing, [s.id for s in sources])
        for r in results:
            r.failing = failing.get(r.source_id, 0)
        if linker is not None:
            await db(link_pending, linker)
        return results
    finally:
        db.close()


def recheck_rules(sources: Iterable[Source], now: datetime) -> dict[str, tuple[datetime, int]]:
    """Per source, what `Store.candidates` reads: known pages checked before this moment, at most this many."""
    return {s.id: (now - timedelta(seconds=s.recheck_after), s.recheck_limit) for s in sources}


def due_again(candidates: list[NoticeState], now: datetime) -> list[NoticeState]:
    """The candidates fetched again this poll: stored ones to recheck, and failed ones whose wait is over."""
    return [st for st in candidates if st.version_count or retry_due(st, now)]


async def _poll_all(
    sources: list[Source], db: DB, client: httpx.AsyncClient | None, concurrency: int, progress: Progress | None
) -> list[RunResult]:
    """Every source's poll through one fetcher, after the few reads they all need."""
    store = db.store
    pages = await db(store.pages, [u for s in sources for u in s.urls])
    now = utcnow()
    candidates = await db(store.candidates, recheck_rules(sources, now))
    robots = StoredRobots(db, await db(store.robots_all))
    storer = Storer(db)
    async with Fetcher(client, concurrency=concurrency, robots_cache=robots) as fetcher:

        async def one(src: Source) -> RunResult:
            due = due_again(candidates[src.id], now)
            try:
                with error_context(source_id=src.id):
                    return await SourcePoll(src, db, fetcher, pages, due, progress, storer).run()
            except Exception as exc:  # noqa: BLE001 - e.g. the database went away mid-run
                log.exception("source %s failed", src.id)
                return RunResult(src.id, status="failed", errors=[_error_record(exc, src.id, None)])

        return list(await asyncio.gather(*(one(s) for s in sources)))
