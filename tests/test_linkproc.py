"""The linking stage in a process of its own beside the poll (watcher/pipeline/linkproc.py), and the turnstile that
lets the poll's writes go first on a SQLite file (storage/turnstile.py). Real child processes, real SQLite files."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import threading
import time
import types

import pytest
from sqlalchemy import select

from storage.core import table_of
from storage.models import Link
from storage.repo import Store
from storage.turnstile import turnstile
from tests.portal_site import source_for
from tests.test_linking import _docs
from watcher.config.settings import Config, Defaults
from watcher.demo.portal import detail_page, list_page, seed_documents
from watcher.evaluation.links import store_documents
from watcher.link.stage import LazyLinker
from watcher.pipeline.cycle import run_cycle
from watcher.pipeline.durable import link_pending
from watcher.pipeline.linkproc import DRAIN, FAILED_WAIT, POLL_EVERY, Drained, LinkProcess, _Passes, link_stage

CONFIG = Config(path=None, defaults=Defaults(), sources=[])


def _links(store: Store) -> list:
    links = table_of(Link)
    with store.engine.connect() as conn:
        return conn.execute(select(links).order_by(links.c.id)).all()


def _family(store: Store) -> dict[str, int]:
    """A measure and the law it implements, stored (not linked); their notice ids by path."""
    child, parent = _docs("family_guiqiao__上海市*.md", "family_guiqiao__归侨侨眷权益保护法(2009-08-27).md")
    return store_documents(store, [parent, child])


def _until(cond, deadline: float = 90.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_the_child_links_what_the_parent_stored(sqlite_store):
    ids = _family(sqlite_store)
    with LinkProcess(CONFIG, sqlite_store) as lp:
        made = lp.run()
        assert lp._proc is not None and lp._proc.pid != os.getpid()
    derived = [(ln.child_id, ln.parent_id) for ln in _links(sqlite_store) if ln.relation == "derived"]
    assert made >= 1 and len(_links(sqlite_store)) == made
    parent, child = ids.values()  # stored in date order: the law first
    assert (child, parent) in derived
    assert not sqlite_store.unsigned_exist()


def test_a_begun_cycle_is_linked_before_its_drain(sqlite_store):
    with LinkProcess(CONFIG, sqlite_store) as lp:
        lp.begin()
        _family(sqlite_store)  # stored while the child is active: it finds them without being told
        assert _until(lambda: not sqlite_store.unsigned_exist())
        assert _links(sqlite_store)
        assert lp.run() == len(_links(sqlite_store))  # the drain counts the links made meanwhile


def test_a_killed_child_is_replaced_and_nothing_is_lost(sqlite_store):
    with LinkProcess(CONFIG, sqlite_store) as lp:
        lp.begin()
        assert lp._proc is not None
        first = lp._proc.pid
        os.kill(first, signal.SIGKILL)
        lp._proc.join()
        _family(sqlite_store)
        outcome = link_pending(lp)  # the next drain starts a new child, which links what waits
        assert outcome.error is None and outcome.links >= 1
        assert lp._proc is not None and lp._proc.pid != first
    assert not sqlite_store.unsigned_exist()


def test_a_memory_database_is_linked_in_process():
    store = Store.open("sqlite://")
    try:
        assert isinstance(link_stage(CONFIG, store), LazyLinker)
    finally:
        store.close()


def test_a_stage_loaded_ahead_links_with_what_it_loaded(sqlite_store):
    """The link process loads its linker when it starts (LazyLinker.load), not in the first pass."""
    stage = LazyLinker(CONFIG, sqlite_store)
    assert stage.linker is None
    stage.load()
    loaded = stage.linker
    assert loaded is not None
    _family(sqlite_store)
    assert stage.run() >= 1
    assert stage.linker is loaded
    assert stage.cpu > 0.0  # what the benchmark reads as the stage's CPU


def _in_thread(fn) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()
    t = threading.Thread(target=lambda: (fn(), done.set()))
    t.start()
    return t, done


def test_a_poll_waits_for_the_linkers_transaction_and_then_goes_first(sqlite_store):
    linker = turnstile(sqlite_store.engine)
    poll = turnstile(sqlite_store.engine)  # another process's: its own descriptors
    assert linker is not None and poll is not None
    linker.enter()  # the linker is in a transaction
    in_store, release = threading.Event(), threading.Event()

    def poll_call() -> None:
        with poll.first():
            in_store.set()
            release.wait(10)  # the poll's call runs: the linker's next transaction must wait for it

    p, _ = _in_thread(poll_call)
    p.join(0.3)
    assert p.is_alive() and not in_store.is_set()  # held until the linker's transaction ends
    linker.leave()
    assert in_store.wait(10)
    nxt, entered = _in_thread(linker.enter)  # the linker's next transaction waits for the poll's call
    assert not entered.wait(0.3)
    release.set()
    p.join(10)
    assert entered.wait(10)
    linker.leave()
    nxt.join(10)


def test_a_database_only_polled_gets_no_lock_files(sqlite_store):
    """The turnstile's files appear with the first link process that writes the database, not before."""
    poll = turnstile(sqlite_store.engine)
    assert poll is not None
    with poll.first():
        pass
    assert not os.path.exists(poll.write) and not os.path.exists(poll.want)
    linker = turnstile(sqlite_store.engine)
    assert linker is not None
    linker.enter()
    linker.leave()
    assert os.path.exists(poll.write)


def test_a_linker_is_not_held_by_a_poll_that_does_not_wait(sqlite_store):
    """A poll holds the file only during its own call: between calls the linker goes in (it was starved when
    the poll held it back for as long as it was storing)."""
    poll = turnstile(sqlite_store.engine)
    linker = turnstile(sqlite_store.engine)
    assert poll is not None and linker is not None
    with poll.first():
        pass
    t, entered = _in_thread(linker.enter)
    assert entered.wait(10)
    linker.reset()
    t.join(10)


def test_a_cycle_links_beside_the_poll(portal, sqlite_store):
    """A whole cycle against a loopback portal: two portals' copies of one document, linked by the child."""
    _, docs = seed_documents()
    meta, text = docs[0]
    items = []
    for i in (1, 2):
        path = f"/col/art/{i}.html"
        page = dict(meta, title=f"{meta['title']}（转载{i}）", published=f"2024-03-0{i}", index_no=f"T-{i}")
        portal.add(path, detail_page(page, text.splitlines()))
        items.append((path, page["title"], page["published"]))
    portal.add("/col/index.html", list_page("政府文件", items))
    src = source_for(portal, pages=1)
    config = Config(path=None, defaults=Defaults(), sources=[src])
    with LinkProcess(config, sqlite_store) as lp:
        report = asyncio.run(run_cycle(config, sqlite_store, linker=lp, alert=False))
    assert report.ok and report.link.error is None
    assert sum(r.counts.new for r in report.results) == 2
    links = _links(sqlite_store)
    assert report.link.links == len(links) >= 1
    assert [ln.relation for ln in links if ln.parent_id is not None] == ["repost"]


def _failing_index() -> Config:
    """An index in a Redis that is not there: every pass that has something to link fails."""
    return Config(
        path=None, defaults=Defaults(index={"storage": "redis", "redis_url": "redis://127.0.0.1:1/0"}), sources=[]
    )


def test_a_failed_pass_is_logged_once_by_the_parent_with_where_it_failed(sqlite_store, caplog, capfd):
    """The child logged a failed pass (to its stderr) and the parent logged it again, as a RuntimeError wrapping
    it, without saying which database or pass."""
    _family(sqlite_store)
    with LinkProcess(_failing_index(), sqlite_store) as lp:
        outcome = link_pending(lp)
    assert outcome.error is not None and outcome.error.startswith("ConnectionError: ")
    logged = [r for r in caplog.records if "linking failed" in r.getMessage() and r.levelname == "ERROR"]
    assert len(logged) == 1
    message = logged[0].getMessage()
    assert f"the link process on {lp.where}" in message and "the drain's pass" in message
    assert "RuntimeError" not in message and outcome.error in message
    assert "linking failed" not in capfd.readouterr().err  # the child said nothing of it
    assert sqlite_store.unsigned_exist()  # left to the next poll


class _Flaky:
    """A stage whose first `fails` passes fail."""

    beside, cpu = False, 0.0

    def __init__(self, fails: int):
        self.fails = fails

    def run(self) -> int:
        if self.fails:
            self.fails -= 1
            raise ConnectionError("redis away")
        return 2


def test_the_passes_beside_the_poll_send_their_failures_with_the_drain():
    passes = _Passes(_Flaky(fails=2), None)
    assert [passes.beside(), passes.beside()] == [2 * POLL_EVERY, 4 * POLL_EVERY]  # failing: longer waits
    assert passes.beside() == 0.0  # links 2: more may be stored, the next look is at once
    answer = passes.drain()  # links 2 more
    assert (answer.links, answer.error, answer.earlier_failed) == (4, None, 2)
    assert answer.earlier_error == "ConnectionError: redis away"
    assert passes.drain().earlier_failed == 0  # counted from one drain to the next


def test_passes_that_keep_failing_wait_longer_up_to_a_bound():
    passes = _Passes(_Flaky(fails=100), None)
    waits = [passes.beside() for _ in range(8)]
    assert waits == sorted(waits) and waits[-1] == FAILED_WAIT and passes.failed == 8


def test_failures_before_a_drain_that_linked_are_logged_once_as_a_warning(sqlite_store, caplog):
    """The parent's side of the answer above (a pipe of this process stands in for the child)."""
    lp = LinkProcess(CONFIG, sqlite_store)
    mine, childs = mp.Pipe()
    lp._proc, lp._conn = types.SimpleNamespace(is_alive=lambda: True), mine
    childs.send(Drained(4, earlier_failed=2, earlier_error="ConnectionError: redis away"))
    assert lp.run() == 4
    assert childs.recv() == DRAIN
    [warned] = [r for r in caplog.records if r.name == "watcher.pipeline.linkproc"]
    assert warned.levelname == "WARNING" and "2 passes" in warned.getMessage() and lp.where in warned.getMessage()
    assert "ConnectionError: redis away" in warned.getMessage()
    mine.close()
    childs.close()


class _Recorded(_Flaky):
    """A stage that records its begin and its runs."""

    def __init__(self) -> None:
        super().__init__(fails=0)
        self.calls: list[str] = []

    def begin(self) -> None:
        self.calls.append("begin")

    def run(self) -> int:
        self.calls.append("run")
        return super().run()


def test_a_cycle_begins_the_stage_before_its_poll_and_drains_it_after(sqlite_store):
    """Any stage (run_cycle tested for a LinkProcess before beginning one)."""
    stage = _Recorded()
    report = asyncio.run(run_cycle(CONFIG, sqlite_store, [], linker=stage, alert=False))
    assert stage.calls == ["begin", "run"] and report.link.links == 2


def test_a_cycle_whose_poll_fails_still_drains_the_stage_it_began(sqlite_store, monkeypatch):
    """A begun link process left without a drain went on looking for versions every 0.2 s until the next cycle."""

    async def down(*a, **k):
        raise ConnectionError("the database went away")

    monkeypatch.setattr("watcher.pipeline.cycle.poll_sources", down)
    stage = _Recorded()
    with pytest.raises(ConnectionError):
        asyncio.run(run_cycle(CONFIG, sqlite_store, [], linker=stage, alert=False))
    assert stage.calls == ["begin", "run"]


def test_the_in_process_stage_begins_and_closes_as_a_no_op(sqlite_store):
    stage = link_stage(CONFIG, sqlite_store, beside=False)
    assert isinstance(stage, LazyLinker) and not stage.beside
    stage.begin()
    _family(sqlite_store)
    assert stage.run() >= 1
    stage.close()
    assert stage.linker is not None  # nothing was torn down
