"""What keeps a long poll's progress durable and visible while it runs: the crawl runs' heartbeat (outcomes are
stored within LINGER seconds: watcher/pipeline/storer.py), and the linking stage run so that its failure never
costs the poll's alerts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from watcher.link.stage import LinkFailed

if TYPE_CHECKING:
    from watcher.link.stage import LinkStage
    from watcher.pipeline.db import DB

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def every(seconds: float, action: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Run `action` every `seconds` while the block runs (the action handles its own failures). When the
    block ends, an action under way finishes: cancelled, a flush queued behind other storage calls lost its
    batch (taken from the poll, never stored). When the block fails, the action is cancelled."""
    stop = asyncio.Event()

    async def loop() -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
                return
            await action()

    task = asyncio.create_task(loop())
    try:
        yield
    except BaseException:
        task.cancel()
        raise
    finally:
        stop.set()
        await asyncio.wait({task})  # a cancellation of the block itself still goes up from here
        if not task.cancelled() and task.exception() is not None:  # an action let a failure through
            log.error("a periodic task of the poll failed: %s", task.exception())


def beating(db: DB, run_ids: list[int], seconds: float) -> contextlib.AbstractAsyncContextManager[None]:
    """While the polls run, their crawl runs beat (storage: `RunRepo.beat`): another process starting
    meanwhile sees them alive, and a killed poll's runs are known dead once their beat is old."""
    started = time.monotonic()

    async def beat() -> None:
        try:
            await db(db.store.beat, run_ids, time.monotonic() - started)
        except Exception as exc:  # noqa: BLE001 - a missed beat costs nothing; the poll goes on
            log.warning("crawl run heartbeat not written: %s", exc)

    return every(seconds, beat)


@dataclass
class LinkOutcome:
    """What the linking stage did after a poll: links made, or why it failed (then left to the next poll)."""

    links: int = 0
    error: str | None = None


def link_pending(linker: LinkStage) -> LinkOutcome:
    """Link what is stored and not linked yet. A failure (Redis away, a bug) is logged and returned, never
    raised: the poll's alerts go out regardless, and the next poll links what this one could not. A pass that
    failed in the link process is logged here only (LinkFailed: the child sends its failure, and where)."""
    try:
        return LinkOutcome(links=linker.run())
    except Exception as exc:  # noqa: BLE001 - reported in the cycle's report and the log
        error = str(exc) if isinstance(exc, LinkFailed) else f"{type(exc).__name__}: {exc}"
        log.error("linking failed, left to the next poll: %s", error)
        log.debug("linking failed", exc_info=True)
        return LinkOutcome(error=error)
