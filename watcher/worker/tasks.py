"""The jobs, small enough to spread over a cluster, each calling the functions `watcher poll` runs:

  poll      a source's list pages (`SourcePoll.walk`): new items registered as pending, then the due items
            deferred as `details` batches. Lock `source:ID` (no two walks of one source at once), queueing
            lock `poll:ID` (one waiting poll per source: missed periods coalesce, as APScheduler's do).
  details   a batch of detail pages (`SourcePoll.details`, `Store.apply`): stored, then `link` deferred.
  link      the linking stage (`link_pending`), lock `link`: one pass at a time in the whole cluster, so a
            parent and its child stored by two workers at once are linked (each pass sees every signature
            stored before it), then `alerts` deferred.
  alerts    `send_alerts`, and `digest` for an email channel: lock `alerts`, one sender at a time.

A job started goes on before new ones (priority: alerts, link, details, then polls), so a poll's notices are
stored and announced before the next sources' list pages are read.

Every job is at-least-once (retried with backoff when it fails, and after the stall timeout when its worker
died); what it writes is idempotent: `Store.apply` compares content hashes in a row-locked transaction (a
page stored twice is `unchanged` the second time: no second version, no second event), linking signs each
version once, and a delivery claimed by a dead alert job is resent with the same idempotency key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from procrastinate import App, Blueprint, JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued

from notifiers.dispatch import Dispatcher, send_alerts
from storage.models import utcnow
from storage.records import NoticeState
from watcher.crawl.fetch import Fetcher
from watcher.errors import ConfigError
from watcher.extract.model import ListItem
from watcher.pipeline.db import DB, StoredRobots
from watcher.pipeline.durable import beating, link_pending
from watcher.pipeline.poll import BEAT, RUN_LEASE, SourcePoll, due_again, recheck_rules
from watcher.text.redact import redact

if TYPE_CHECKING:
    from watcher.worker.runtime import Runtime

log = logging.getLogger(__name__)
T = TypeVar("T")

blueprint = Blueprint()
# Transient failures (a portal down, the database or Redis away) are retried: 2, 4, 8, 16 s, then failed.
RETRY = RetryStrategy(max_attempts=5, exponential_wait=2)
DETAIL_BATCH = 20  # detail pages per `details` job
NS = "watcher"


class JobFailed(Exception):
    """A job's work failed as a whole (every list URL, linking, a delivery): retried, then shown failed."""


def runtime(context: JobContext) -> Runtime:
    return context.additional_context["runtime"]


async def guarded(context: JobContext, work: Awaitable[T]) -> T:
    """Run a job's work; a failure is recorded with the job (`watcher status` shows it) and raised on, so
    procrastinate retries it or marks it failed."""
    try:
        return await work
    except Exception as exc:
        job = context.job
        error = redact(f"{type(exc).__name__}: {exc}")
        log.error("job %s %s failed (attempt %d): %s", job.id, job.task_name, job.attempts + 1, error)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(
                runtime(context).queue.record_error, job.id or 0, job.task_name, job.attempts + 1, error
            )
        raise


async def defer(
    app: App, task: str, *, lock: str | None = None, queueing_lock: str | None = None, **kw: Any
) -> int | None:
    """Defer a job; None when one with the same queueing lock is already waiting (it will do the work)."""
    try:
        return await app.configure_task(f"{NS}:{task}", lock=lock, queueing_lock=queueing_lock).defer_async(**kw)
    except AlreadyEnqueued:
        return None


def poll_locks(source_id: str) -> dict[str, str]:
    return dict(lock=f"source:{source_id}", queueing_lock=f"poll:{source_id}")


@contextlib.asynccontextmanager
async def fetching(rt: Runtime, db: DB, run_id: int) -> AsyncIterator[Fetcher]:
    """A job's fetcher (the cluster pacer, robots.txt read through the store per host) while its run beats."""
    robots = StoredRobots(db)  # read per host
    async with Fetcher(concurrency=rt.config.defaults.concurrency, robots_cache=robots, pacer=rt.pacer) as fetcher:
        async with beating(db, [run_id], BEAT):
            yield fetcher


def _item_args(st: NoticeState, item: ListItem | None) -> dict:
    it = item or ListItem(url=st.url, title=st.list_title or "", date=st.list_date)
    return dict(url=it.url, title=it.title, date=it.date.isoformat() if it.date else None, listed=item is not None)


# ---- the jobs ------------------------------------------------------------------------------------------
@blueprint.task(name="poll", queue="poll", pass_context=True, retry=RETRY)
async def poll(context: JobContext, source_id: str, timestamp: int | None = None) -> dict:
    """A source's list pages; `timestamp` is the period's, when the periodic deferrer sent it."""
    return await guarded(context, poll_list(runtime(context), source_id))


@blueprint.task(name="details", queue="details", pass_context=True, retry=RETRY, priority=1)
async def details(context: JobContext, source_id: str, items: list[dict]) -> dict:
    return await guarded(context, detail_batch(runtime(context), source_id, items))


@blueprint.task(name="link", queue="link", pass_context=True, retry=RETRY, priority=2)
async def link(context: JobContext) -> dict:
    return await guarded(context, link_stored(runtime(context)))


@blueprint.task(name="alerts", queue="alerts", pass_context=True, retry=RETRY, priority=3)
async def alerts(context: JobContext) -> dict:
    return await guarded(context, send_owed(runtime(context)))


@blueprint.task(name="digest", queue="alerts", pass_context=True, retry=RETRY)
async def digest(context: JobContext, channel_id: str, timestamp: int | None = None) -> dict:
    return await guarded(context, send_digest(runtime(context), channel_id))


# ---- what they do (plain coroutines: the tests and the benchmark call them too) ----------------------------
async def poll_list(rt: Runtime, source_id: str) -> dict:
    """Walk the source's list pages as `watcher poll` does, record the run, defer the detail batches."""
    try:
        source = rt.config.get(source_id)
    except ConfigError:
        return dict(source_id=source_id, skipped="not in sources.yaml any more")
    store, db = rt.store, rt.db
    await db(store.mark_interrupted, RUN_LEASE)
    run_id = (await db(store.start_runs, [source_id]))[source_id]
    started, now = time.monotonic(), utcnow()
    pages = await db(store.pages, list(source.urls))
    due_before = due_again((await db(store.candidates, recheck_rules([source], now)))[source_id], now)
    async with fetching(rt, db, run_id) as fetcher:
        sp = SourcePoll(source, db, fetcher, pages, due_before)
        due, failures = await sp.walk()
    result = sp.finish(started, failures)
    await db(store.finish_runs, [result.finished(run_id)])
    items = [_item_args(st, item) for st, item in due.values()]
    for i in range(0, len(items), DETAIL_BATCH):
        await defer(rt.app, "details", source_id=source_id, items=items[i : i + DETAIL_BATCH])
    if not items and rt.config.channels:  # nothing to fetch: deliveries that failed before are still owed
        await defer(rt.app, "alerts", lock="alerts", queueing_lock="alerts")
    if result.status == "failed":
        raise JobFailed(f"[{source_id}] " + "; ".join(f"{e.url}: {e.message}" for e in result.errors))
    return dict(source_id=source_id, status=result.status, pages=result.pages, due=len(items))


async def detail_batch(rt: Runtime, source_id: str, items: list[dict]) -> dict:
    """Fetch and store a batch of detail pages as `watcher poll` does; defer linking when something changed."""
    try:
        source = rt.config.get(source_id)
    except ConfigError:
        return dict(source_id=source_id, skipped="not in sources.yaml any more")
    listed = [
        ListItem(url=i["url"], title=i["title"] or "", date=date.fromisoformat(i["date"]) if i["date"] else None)
        for i in items
    ]
    store, db = rt.store, rt.db
    run_id = (await db(store.start_runs, [source_id]))[source_id]
    started = time.monotonic()
    states = await db(store.record_list, source_id, None, listed)  # known already: their states
    due = {it.url: (states[it.url], it if i["listed"] else None) for it, i in zip(listed, items, strict=True)}
    async with fetching(rt, db, run_id) as fetcher:
        sp = SourcePoll(source, db, fetcher, {}, [])
        await sp.details(due)
    result = sp.finish(started, 0)
    await db(store.finish_runs, [result.finished(run_id)])
    if result.counts.new or result.counts.changed:
        await defer(rt.app, "link", lock="link", queueing_lock="link")
    return dict(source_id=source_id, status=result.status, new=result.counts.new, changed=result.counts.changed)


async def link_stored(rt: Runtime) -> dict:
    outcome = await asyncio.to_thread(link_pending, rt.linker())
    if outcome.error:
        raise JobFailed(f"linking: {outcome.error}")
    if rt.config.channels:
        await defer(rt.app, "alerts", lock="alerts", queueing_lock="alerts")
    return dict(links=outcome.links)


async def send_owed(rt: Runtime) -> dict:
    """Each webhook channel's owed events; the only sender (lock `alerts`), so a claim left `sending` is a
    dead job's and is resent at once with its key."""
    if not rt.config.channels:
        return dict(messages=0)
    reports = await asyncio.to_thread(send_alerts, rt.store, rt.config, exclusive=True)
    errors = [f"{r.channel}: {e}" for r in reports for e in r.errors]
    if errors:
        raise JobFailed("; ".join(errors))
    return dict(messages=sum(r.messages for r in reports))


async def send_digest(rt: Runtime, channel_id: str) -> dict:
    def send() -> list[str]:
        with Dispatcher(rt.store, rt.config, exclusive=True) as d:
            rep = d.send_digest(d.channel(channel_id))
        if rep.errors:
            raise JobFailed("; ".join(rep.errors))
        return rep.answers

    return dict(answers=await asyncio.to_thread(send))
