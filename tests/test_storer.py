"""A poll's sources store their outcomes together (watcher/pipeline/storer.py): one transaction for several
sources, written when BATCH wait, when the first has waited LINGER, or when a source ends."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from storage.records import Counts, NoticeState, Outcome
from tests.portal_site import build_site, source_for
from watcher.demo.server import PortalServer
from watcher.pipeline.poll import poll_sources
from watcher.pipeline.storer import Storer


def test_the_sources_outcomes_are_written_together_before_they_end(fresh_db, monkeypatch):
    """Three portals, each with one page that answers late: the other pages' outcomes of all three are written
    in one transaction once the first has waited LINGER, before any source ends; each source's counts are its own."""
    monkeypatch.setattr("watcher.pipeline.storer.LINGER", 0.5)
    monkeypatch.setattr("watcher.pipeline.storer.FEW", 6)
    writes: list[list[tuple[str, int]]] = []
    real = fresh_db.apply_many

    def recorded(prepared):
        writes.append([(p.source_id, len(p.outcomes)) for p in prepared])
        return real(prepared)

    monkeypatch.setattr(fresh_db, "apply_many", recorded)
    with contextlib.ExitStack() as stack:
        sources = []
        for sid in "abc":
            portal = stack.enter_context(PortalServer())  # a host each: each its own per-host slots
            paths = build_site(portal, prefix=f"/{sid}", pages=1, per_page=3)
            portal.routes[paths[0]].delay = 1.5  # answers after the others' write (the fetch timeout is 2 s)
            sources.append(source_for(portal, sid=sid, prefix=f"/{sid}", pages=1))
        results = asyncio.run(poll_sources(sources, fresh_db, concurrency=8))
    assert [(r.source_id, r.status, r.counts.new) for r in results] == [("a", "ok", 3), ("b", "ok", 3), ("c", "ok", 3)]
    assert sorted(writes[0]) == [("a", 2), ("b", 2), ("c", 2)]  # one transaction, three sources, none ended
    assert sorted(s for w in writes[1:] for s in w) == [("a", 1), ("b", 1), ("c", 1)]


class _Writes:
    """The storer's DB as far as it uses one: `write`, recorded; a batch's counts are its outcomes, new."""

    def __init__(self, fail: bool = False):
        self.calls: list[list[tuple[str, int]]] = []
        self.fail = fail

    async def write(self, batches):
        self.calls.append([(s, len(ocs)) for s, ocs in batches])
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("the database went away")
        return [Counts(new=len(ocs)) for _, ocs in batches]


def _outcome(i: int) -> Outcome:
    return Outcome(NoticeState(i, f"http://p/{i}.html", "pending", None, None, 0, None, 0, None, None, None))


async def test_a_full_batch_is_written_at_once_and_whole_sources_go_together():
    db = _Writes()
    storer = Storer(db, batch=4, few=2, linger=60.0)  # type: ignore[arg-type]
    for i in range(3):
        storer.add("a", _outcome(i))
    await asyncio.sleep(0.01)
    assert db.calls == []  # 3 of 4: lingering
    storer.add("b", _outcome(3))
    await asyncio.sleep(0.01)
    assert db.calls == [[("a", 3), ("b", 1)]]  # at 4, at once
    storer.add("b", _outcome(4))
    assert (await storer.flush("b")).new == 2 and db.calls[-1] == [("b", 1)]  # ended: written without lingering
    assert (await storer.flush("a")).new == 3 and len(db.calls) == 2


async def test_a_failed_write_is_raised_to_each_source_it_held():
    db = _Writes(fail=True)
    storer = Storer(db, few=2, linger=0.01)  # type: ignore[arg-type]
    storer.add("a", _outcome(1))
    storer.add("b", _outcome(2))
    await asyncio.sleep(0.05)
    for sid in "ab":
        with pytest.raises(ConnectionError):
            await storer.flush(sid)
    assert db.calls == [[("a", 1), ("b", 1)]]


async def test_a_trickle_waits_up_to_max_wait_and_a_few_go_after_linger():
    """Fewer than FEW outcomes (a paced portal, a worker's job) wait up to MAX_WAIT, not LINGER: not a transaction
    each; once FEW wait, LINGER after the first they go."""
    db = _Writes()
    storer = Storer(db, few=3, linger=0.02, max_wait=0.3)  # type: ignore[arg-type]
    storer.add("a", _outcome(1))
    storer.add("a", _outcome(2))
    await asyncio.sleep(0.1)
    assert db.calls == []  # two of three, past LINGER: still waiting
    await asyncio.sleep(0.3)
    assert db.calls == [[("a", 2)]]  # MAX_WAIT
    for i in range(3, 6):
        storer.add("b", _outcome(i))
    await asyncio.sleep(0.1)
    assert db.calls[-1] == [("b", 3)]  # three: LINGER
