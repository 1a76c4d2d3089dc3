"""What a database error means to the caller, without the caller importing SQLAlchemy: another process
got there first (a duplicate key), the database is busy for now (SQLite's lock, a PostgreSQL deadlock or
serialisation failure: try again), or the record itself is refused (anything else).

Two `watcher poll` or two `watcher run` on one database meet all three; each has its own answer, and
none of them is a traceback to the user.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")

# SQLSTATE of PostgreSQL errors that say "run the transaction again": serialization_failure, deadlock_detected.
_RETRY_STATES = {"40001", "40P01"}
LOCK_WAIT = 10.0  # seconds: SQLite's busy_timeout (storage/db.py), the wait a writer accepts in all


def is_database_error(exc: BaseException) -> bool:
    """An error the database raised for a statement (not a bug in the caller's Python)."""
    return isinstance(exc, DBAPIError)


def is_duplicate(exc: BaseException) -> bool:
    """A unique key another transaction stored first (not another integrity error: a foreign key, a NULL)."""
    if not isinstance(exc, IntegrityError):
        return False
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def is_busy(exc: BaseException) -> bool:
    """The database was busy, not the statement wrong: SQLite's lock held past busy_timeout, a
    PostgreSQL deadlock or serialisation failure. The same transaction may succeed if run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig):
        return True
    return getattr(exc.orig, "sqlstate", None) in _RETRY_STATES


def message(exc: BaseException) -> str:
    """The database's own words, without SQLAlchemy's statement and parameters (which carry page text)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}"


def retry_busy(fn: Callable[[], T], wait: float | None = None, pause: float = 0.05) -> T:
    """fn() again while the database is busy, for up to `wait` (LOCK_WAIT) more seconds. Only for a fn that
    is one transaction: a busy error rolled it back whole, so running it again stores it once."""
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    while True:
        try:
            return fn()
        except DBAPIError as exc:
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
