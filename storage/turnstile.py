"""Who writes first when two processes write one SQLite file: the poll, before the linking stage.

SQLite lets one writer in at a time, and a writer turned away sleeps in the busy handler (1, 2, 5 … 100 ms) and
tries again. The link process (watcher/pipeline/linkproc.py) writes one transaction after another: a poll's batch
then found the file locked nearly every time it looked, slept, and a cold ingest of 1,000 bench notices took 64 s
beside the linker against 30 s after it. A first turnstile that held the linker back for as long as the poll was
in the store starved the linker instead: while the poll stored 900 notices it signed 44 (the poll's calls follow
each other closely). So two lock files beside the database:

  `.write`  held exclusively by whoever is in a transaction (the poll: for each storage call); a waiter is woken
            by the kernel the moment it is released, with no sleeping in the busy handler;
  `.want`   held shared by a poll while it waits for `.write`: the linker starts no transaction while it is held;
            held exclusively by the linker while it waits for `.write`: the poll's next call queues behind it.

Both take `.want` before `.write` and let it go before anything else (no deadlock). A poll therefore waits for at
most the linker's current flush and commit (below), and the linker for the poll's current call, never for a queue
of them: the two alternate on the file. (With the linker waiting for `.write` alone, the poll, whose
calls follow each other closely and whose thread was running when the kernel woke both, won nearly every race.)
The linker takes its turn at a transaction's first write, not for its reads. A process that dies drops its locks
with its file descriptors (flock). PostgreSQL needs none of this: its writers lock rows.

What it does not remove: SQLite has one writer. The linker keeps every write of a transaction until it ends
(storage/linksession.py: its reads merge what it keeps), so its first write is its flush: it holds the turn and
the write lock only to write its rows and commit (0.14-0.19 s per 1,000 bench notices, from 2.5-3.3 s when it
took them at a document's first write and computed until its commit), and computes while the poll writes. (The
figures: bench/cycle.py, a cold ingest of 50 portals x 20 notices with the linker beside the poll.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import weakref
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

from storage.db import in_memory


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


class Turnstile:
    """The lock files of one SQLite database (`{database}.write`, `{database}.want`)."""

    def __init__(self, database: str):
        self.write = f"{database}.write"
        self.want = f"{database}.want"
        self._fd: int | None = None  # the linker's `.write`, held while any of its transactions writes
        self._holding: set[int] = set()  # the linker's connections in a transaction that holds the turn

    @contextlib.contextmanager
    def first(self) -> Iterator[None]:
        """A call of the poll: it says it wants the file, waits for the linker's transaction, then runs. Until a
        link process has written this database (it makes `.write`), there is no one to take turns with: the call
        runs at once and leaves no lock files beside a database only polled (`watcher poll`, the demo). A link
        process starting during such a call meets it in SQLite's busy handler, as two writers always may."""
        if not os.path.exists(self.write):
            yield
            return
        want, write = _open(self.want), _open(self.write)
        try:
            fcntl.flock(want, fcntl.LOCK_SH)
            fcntl.flock(write, fcntl.LOCK_EX)
            os.close(want)  # the linker may queue behind this call now, not behind the next
            want = -1
            yield
        finally:
            if want >= 0:
                os.close(want)
            os.close(write)  # releases `.write`

    def enter(self, key: int = 0) -> None:
        """Transaction `key` of the linker writes: after any poll that waits, it holds `.write` (once for all the
        process's writing transactions: flock on another descriptor would wait for the process itself)."""
        if key in self._holding:
            return
        if not self._holding and self._fd is None:  # (held already when `try_enter` took it)
            want = _open(self.want)
            try:
                fcntl.flock(want, fcntl.LOCK_EX)  # granted once no poll waits; kept while waiting for `.write`,
                self._fd = _open(self.write)  # so that the poll's next call queues behind this transaction
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # instead of winning every race for `.write` (it did)
            finally:
                os.close(want)
        self._holding.add(key)

    def try_enter(self) -> bool:
        """Take the linker's turn now if no poll is in a call or waits for one, and say whether it is held: then
        the transaction under way writes without waiting (`enter` finds it held; its end lets it go). When a poll
        is writing, a linker that computes on instead of waiting for it loses nothing: a transaction keeps its
        writes until its flush (storage/linksession.py). Waiting, the link process spent 0.2-0.5 s of a cold
        ingest of 1,000 bench notices blocked here, ~15 % of its time while the poll stored."""
        if self._holding or self._fd is not None:
            return True
        want = _open(self.want)
        try:
            fcntl.flock(want, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fd = _open(self.write)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        except BlockingIOError:
            return False
        finally:
            os.close(want)

    def leave(self, key: int = 0) -> None:
        """Transaction `key` of the linker ended (committed or rolled back); nothing once none writes."""
        self._holding.discard(key)
        if not self._holding:
            self.reset()

    def reset(self) -> None:
        """Hold nothing: after each pass of the linker, whatever a connection lost in an error left held."""
        self._holding.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def turnstile(engine: Engine) -> Turnstile | None:
    """The turnstile of a SQLite file; None for SQLite's memory or a server database."""
    if engine.dialect.name != "sqlite" or in_memory(engine):
        return None
    return Turnstile(str(engine.url.database))


_READS = ("SELECT", "PRAGMA", "WITH")  # statements that take no write lock (pysqlite opens no transaction for them)


_GIVING_WAY: weakref.WeakKeyDictionary[Engine, Turnstile] = weakref.WeakKeyDictionary()


def may_write_now(engine: Engine) -> bool:
    """Whether a transaction on `engine` would write without waiting for a poll: always, unless `give_way` made
    its writes take turns; then whether the turn was free (and is now held: see `Turnstile.try_enter`)."""
    turn = _GIVING_WAY.get(engine)
    return turn is None or turn.try_enter()


def give_way(engine: Engine) -> Turnstile | None:
    """Make every transaction on `engine` (the link process's) that writes take its turn after a waiting poll; the
    turnstile (None when the database needs none). The turn is taken at a transaction's first write, which is when
    the driver begins the transaction and SQLite takes its write lock: a read never waits for a poll (the linker's
    reads between its writes, each waiting for a poll's call, had made it link 6 notices while the poll stored 200)."""
    turn = turnstile(engine)
    if turn is None:
        return None

    def before(conn, _cursor, statement: str, *_args) -> None:
        if not statement.lstrip()[:6].upper().startswith(_READS):
            turn.enter(id(conn))

    def ended(conn) -> None:
        turn.leave(id(conn))

    _GIVING_WAY[engine] = turn
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    return turn
