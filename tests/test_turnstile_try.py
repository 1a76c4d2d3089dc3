"""The link process computes on while a poll writes (storage/turnstile.py `Turnstile.try_enter`, `may_write_now`)."""

from __future__ import annotations

import threading

from sqlalchemy import text

from storage.repo import Store
from storage.turnstile import give_way, may_write_now, turnstile
from watcher.evaluation.links import store_text
from watcher.extract.model import Detail
from watcher.link.linker import Linker


def test_the_turn_is_taken_only_when_no_poll_writes(sqlite_store):
    linker_turn = give_way(sqlite_store.engine)
    poll_turn = turnstile(sqlite_store.engine)
    assert linker_turn is not None and poll_turn is not None
    linker_turn.enter()  # the link process has written: the poll takes turns from now on
    linker_turn.leave()
    in_call, release = threading.Event(), threading.Event()

    def poll_call() -> None:
        with poll_turn.first():
            in_call.set()
            release.wait(10)

    t = threading.Thread(target=poll_call)
    t.start()
    assert in_call.wait(10)
    assert may_write_now(sqlite_store.engine) is False  # the poll writes: compute on
    release.set()
    t.join(10)
    assert may_write_now(sqlite_store.engine) is True  # free: taken, and held for the transaction
    waited = threading.Event()

    def next_call() -> None:
        with poll_turn.first():
            waited.set()

    t = threading.Thread(target=next_call)
    t.start()
    assert not waited.wait(0.3)  # the poll's next call queues behind the linker's transaction
    linker_turn.enter(1)  # that transaction's first write finds the turn held
    linker_turn.leave(1)  # its end lets it go
    t.join(10)
    assert waited.is_set()


def test_may_write_now_without_a_turnstile(sqlite_store):
    assert may_write_now(sqlite_store.engine) is True  # nothing gives way on this engine


def _texts(store: Store, n: int) -> None:
    for i in range(n):
        own = "".join(f"第{i}项第{j}条工作要求由第{i * 7 + j}小组负责落实并按月报送进展情况。" for j in range(6))
        d = Detail(url=f"http://a.test/{i}.html", title=f"关于第{i}项工作的通知", body=own)
        store_text(store, "s", "http://a.test/list.html", d)


def _linked(store: Store, monkeypatch, free: bool) -> tuple[int, list]:
    _texts(store, 12)
    sessions = []
    real = Store.link_session

    def counted(self, notices=()):
        sessions.append(len(notices))
        return real(self, notices)

    monkeypatch.setattr(Store, "link_session", counted)
    monkeypatch.setattr(store, "may_write_now", lambda: free)
    monkeypatch.setattr("watcher.link.linker.TRANSACTION_SECONDS", 0.0)
    Linker(store).run()
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT version_id, size FROM signatures ORDER BY 1")).all()
    return len(sessions), [tuple(r) for r in rows]


def test_a_transaction_goes_on_while_a_poll_writes(tmp_path, monkeypatch):
    """Past its time, a link transaction ends when it may write now; while a poll writes, it links the next
    document instead (all 12 in one transaction here), and what it stores is the same."""
    free = Store.open(f"sqlite:///{tmp_path / 'free.db'}")
    busy = Store.open(f"sqlite:///{tmp_path / 'busy.db'}")
    try:
        n_free, rows_free = _linked(free, monkeypatch, True)
        n_busy, rows_busy = _linked(busy, monkeypatch, False)
    finally:
        free.close()
        busy.close()
    assert n_free == 12 and n_busy == 1
    assert rows_free == rows_busy and len(rows_free) == 12
