"""The storage writes of a poll: what its sources fetch, stored together (a group commit).

Each source used to store its outcomes in batches of its own, at 50 or every 5 s. A source has a few new items
(20 in bench/poll.py's portals), so every source stored at its end, the sources of a cycle ended together, and
nothing was stored for the first half of a cold ingest: the link process beside the poll
(watcher/pipeline/linkproc.py) waited, then had the whole cycle to link after it (1,000 bench notices: versions
stored from 1.1 s to 2.2 s of a 2.2 s cycle, the last link at 3.2 s).

Here the outcomes of every source wait in one place and are written in one transaction (`Store.apply_many`) when
BATCH of them wait, when the first of FEW or more has waited LINGER seconds (the first of fewer, MAX_WAIT), or
when a source ends and wants its own stored. A write takes whole sources' outcomes until it holds BATCH (a
transaction, and the link process's wait for SQLite's lock, stay bounded); what waits when a write ends is
written then if it is due, else at its deadline. The counts of each source, and the failure of a write that held
some of its outcomes, are handed to the source when it ends (`flush`): a write that fails leaves its notices
pending, fetched again by the next run.

Measured (`python bench/poll.py --link-only`, 1,000 notices, three runs each alternating with per-source writes):
linking ON beside the poll 410-451 docs/s against 370-400, linking off 487-526 against 468-489. (Before the
linker ordered texts dated alike by arrival, interleaved stores made it re-point clusters and replace parents:
ON was slower this way, 316-370.)
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from storage.records import Counts, Outcome

if TYPE_CHECKING:
    from watcher.pipeline.db import DB

BATCH = 50  # outcomes waiting that are written at once
# Seconds the first of FEW or more waiting outcomes waits for others before they are written: how late the link
# process sees a cold ingest's texts (each source storing at its own 50 or 5 s, it saw nothing for half of one).
LINGER = 0.2
FEW = 10
# Seconds fewer wait at most: what a kill loses. Outcomes trickling in (a portal paced at 1 s a page, a worker's job
# of one source) are not written one at a time, a transaction each.
MAX_WAIT = 5.0


class Storer:
    """The outcomes of one poll's sources, written together; one per poll (or per worker job)."""

    def __init__(
        self,
        db: DB,
        *,
        batch: int | None = None,
        few: int | None = None,
        linger: float | None = None,
        max_wait: float | None = None,
    ):
        self.db = db
        self.batch = BATCH if batch is None else batch  # the module's values as they are now (tests change them)
        self.few = FEW if few is None else few
        self.linger = LINGER if linger is None else linger
        self.max_wait = MAX_WAIT if max_wait is None else max_wait
        self._waiting: dict[str, list[Outcome]] = {}  # by source id, in arrival order
        self._count = 0
        self._since = 0.0  # loop time the oldest waiting outcome arrived
        self._in_flight: set[str] = set()  # sources with outcomes in the write under way
        self._flushing: set[str] = set()  # sources that ended: theirs are written without lingering
        self._writing: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._counts: dict[str, Counts] = {}
        self._failed: dict[str, BaseException] = {}

    def add(self, source_id: str, outcome: Outcome) -> None:
        """An outcome to store: written with the next write."""
        if not self._count:
            self._since = asyncio.get_running_loop().time()
        self._waiting.setdefault(source_id, []).append(outcome)
        self._count += 1
        self._schedule()

    async def flush(self, source_id: str) -> Counts:
        """Wait until every outcome of `source_id` is written; what was stored of them since the last flush.
        Raises the failure of a write that held some of them (their notices stay pending)."""
        self._flushing.add(source_id)
        try:
            while source_id in self._waiting or source_id in self._in_flight:
                self._start()
                assert self._writing is not None
                await asyncio.shield(self._writing)  # a flush cancelled never cancels a write under way
        finally:
            self._flushing.discard(source_id)
        counts = self._counts.pop(source_id, Counts())
        failure = self._failed.pop(source_id, None)
        if failure is not None:
            raise failure
        return counts

    def _deadline(self) -> float:
        return self._since + (self.linger if self._count >= self.few else self.max_wait)

    def _due(self) -> bool:
        return bool(self._waiting) and (
            self._count >= self.batch
            or not self._flushing.isdisjoint(self._waiting)
            or asyncio.get_running_loop().time() >= self._deadline()
        )

    def _schedule(self) -> None:
        if self._writing is not None and not self._writing.done():
            return  # the write under way looks again when it ends
        if self._due():
            self._start()
        elif self._waiting:
            self._arm()

    def _arm(self) -> None:
        """The timer at the waiting outcomes' deadline (sooner once FEW wait)."""
        when = self._deadline()
        if self._timer is not None:
            if self._timer.when() == when:
                return
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._schedule()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write())

    def _take(self) -> dict[str, list[Outcome]]:
        """The sources whose outcomes the next write takes, in arrival order, until it holds BATCH outcomes: a write's
        transaction is bounded, and with it how long the link process waits for SQLite's lock."""
        taken: dict[str, list[Outcome]] = {}
        n = 0
        for source_id in list(self._waiting):
            if n >= self.batch:
                break
            taken[source_id] = self._waiting.pop(source_id)
            n += len(taken[source_id])
        self._count -= n
        return taken

    async def _write(self) -> None:
        """Write what waits, then again while more is due (it arrived during the write); then wait for the timer."""
        first = True
        while self._waiting and (first or self._due()):
            first = False
            batches = self._take()
            self._in_flight = set(batches)
            try:
                counts = await self.db.write(list(batches.items()))
            except Exception as exc:  # noqa: BLE001 - each source whose outcomes it held gets it at its flush
                for source_id in batches:
                    self._failed.setdefault(source_id, exc)
            else:
                for source_id, c in zip(batches, counts, strict=True):
                    self._counts.setdefault(source_id, Counts()).add(c)
            finally:
                self._in_flight = set()
        if self._waiting:
            self._arm()
