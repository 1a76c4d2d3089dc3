"""Who writes first when two processes write one SQLite file: the poll, before the linking stage.

SQLite lets one writer in at a time, and a writer turned away sleeps in the busy handler (1, 2, 5 … 100 ms) and
tries again. The link process (watcher/pipeline/linkproc.py) writes in one transaction per document, each held
while the document is compared (~8 ms), one after another: a poll's batch then found the file locked nearly every
time it looked, slept, and the whole cold ingest took 2x longer beside the linker than after it (64 s against 30 s
for 1,000 bench notices). So writes take turns through a lock file beside the database:

  the poll        holds the turnstile shared while it calls the store (any number of pollers at once);
  the linker      passes through it exclusively, and releases it at once, before each transaction.

A linker arriving while a poll holds it waits for that call to end; a poll arriving while the linker is in a
transaction waits in SQLite's busy handler for that one document only, and no new one starts meanwhile. A process
that dies drops its lock with its file descriptor (flock). PostgreSQL needs none of this: its writers lock rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine

from storage.db import in_memory


class Turnstile:
    """The lock file of one SQLite database (`{database}.write-turn`); None-safe helpers below."""

    def __init__(self, database: str):
        self.path = f"{database}.write-turn"

    @contextlib.contextmanager
    def first(self) -> Iterator[None]:
        """A call of the poll: the linker starts no transaction until it returns."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # releases the lock

    def after(self) -> None:
        """Before a transaction of the linker: wait while a poll is in the store."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)


def turnstile(engine: Engine) -> Turnstile | None:
    """The turnstile of a SQLite file; None for SQLite's memory or a server database."""
    if engine.dialect.name != "sqlite" or in_memory(engine):
        return None
    return Turnstile(str(engine.url.database))


def give_way(engine: Engine) -> None:
    """Make every transaction begun on `engine` wait its turn after the poll's calls (the link process's engine)."""
    turn = turnstile(engine)
    if turn is not None:
        event.listen(engine, "begin", lambda _conn: turn.after())
