"""The linking stage in a process of its own, beside the polls (docs/architecture.md, "Linking beside the poll").

A poll is fetching, reading and storing; the linking stage is numpy, regexes and its own statements: both are
CPU work for one interpreter, so in one process they take turns (a cold ingest of 1,000 bench notices: ~10 s
polling, then ~8 s linking). In a process of its own the stage links each stored batch while the poll fetches
the next, on the machine's other core, and a cycle waits only for the last batches' links before its alerts.

Nothing crosses the pipe but three words and one answer: what to link is read from the database (versions
without a signature), as the in-process stage reads it, so a batch stored by any process is linked, a kill of
either process loses nothing (the next pass links what has no signature), and the links are made by the same
code. While at least one cycle is under way the child looks for new versions every POLL_EVERY seconds
(one indexed query); idle, it waits on the pipe and costs nothing.

    parent                                   child (spawned: no inherited threads, locks or connections)
    begin()  ── "begin" ─────────────────▶   active: link what is stored, look again every POLL_EVERY s
    run()    ── "drain" ─────────────────▶   link what is left, then
             ◀──── Drained(links, error) ──   the links made since the last drain
    close()  ── "stop" ──────────────────▶   exits

A child that died is started again by the next begin() or run(); its death is the drain's error, reported like
any linking failure (the poll's alerts go out, the next cycle links the rest). The child logs no failed pass: it
sends it with the drain's answer, and the parent logs it once, saying where it happened (a spawned child's log
goes to stderr, not where the service's goes).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from storage.db import in_memory
from watcher.config.settings import Config, Defaults
from watcher.link.stage import LazyLinker, LinkFailed, LinkStage, make_linker
from watcher.pipeline.collector import settle

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess

    from storage.repo import Store
    from storage.turnstile import Turnstile

log = logging.getLogger(__name__)

FAILED_WAIT = 5.0  # seconds at most between two passes that fail while a cycle runs
POLL_EVERY = 0.2  # seconds between two looks for stored versions while a cycle runs: a batch waits at most this
START_TIMEOUT = 120.0  # seconds the child may take to import and load the index before its first answer
BEGIN, DRAIN, STOP = "begin", "drain", "stop"


@dataclass(frozen=True)
class Drained:
    """The child's answer to a drain: links made since the previous drain, and the last pass's failure."""

    links: int
    error: str | None = None
    cpu: float = 0.0  # the child's CPU seconds since it started: what linking cost, for the benchmarks
    trace: str | None = None  # the failure's traceback in the child, for the parent's debug log
    earlier_failed: int = 0  # passes beside the poll, since the previous drain, that failed
    earlier_error: str | None = None  # the last of their failures


class _Passes:
    """The child's passes between two drains: the links they made and their failures, all sent with the drain's
    answer (the parent logs a failure; logged here as well, it was logged twice)."""

    def __init__(self, stage: LinkStage, turn: Turnstile | None):
        self.stage, self.turn = stage, turn
        self.links, self.failed = 0, 0
        self.error: str | None = None
        self.in_a_row = 0  # passes beside the poll that failed one after the other

    def beside(self) -> float:
        """A pass while a cycle runs: a failure is counted, and the drain's pass links what it left. Returns the
        seconds to the next pass: none after one that made links (more was stored meanwhile), POLL_EVERY after one
        that found nothing, and twice as long after each failure in a row, up to FAILED_WAIT (Redis away: a pass
        every 0.2 s was a connection attempt every 0.2 s)."""
        links, error, _ = self._one()
        self.links += links
        if error is None:
            self.in_a_row = 0
            return 0.0 if links else POLL_EVERY
        self.failed, self.error, self.in_a_row = self.failed + 1, error, self.in_a_row + 1
        return min(FAILED_WAIT, POLL_EVERY * 2**self.in_a_row)

    def drain(self) -> Drained:
        """The drain's pass, and what the passes since the previous drain did."""
        links, error, trace = self._one()
        answer = Drained(self.links + links, error, time.process_time(), trace, self.failed, self.error)
        self.links, self.failed, self.error = 0, 0, None
        return answer

    def _one(self) -> tuple[int, str | None, str | None]:
        try:
            return self.stage.run(), None, None
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which logs it
            return 0, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        finally:
            if self.turn is not None:
                self.turn.reset()


def _child(url: str, defaults: Defaults, conn: Connection) -> None:
    """The child's loop: link while active, answer drains, exit on stop or when the parent is gone."""
    from storage.repo import Store
    from storage.turnstile import give_way

    store = Store.open(url, run_migrations=False)  # the parent migrated before starting it
    stage = LazyLinker(Config(path=None, defaults=defaults, sources=[]), store)
    # On a SQLite file, a waiting poll writes first (storage/turnstile.py).
    passes = _Passes(stage, give_way(store.engine))
    active, wait = 0, POLL_EVERY
    conn.send(Drained(0))  # ready: the parent's _ensure() waits for this
    try:
        # Loaded now, while the parent polls its first pages, not in the first pass: the imports alone (numpy,
        # datasketch, scipy) were ~1 s of a 7 s cold ingest of 1,000 notices. A failure (Redis away) is the
        # first pass's to report, to the parent: that pass loads again.
        with contextlib.suppress(Exception):
            stage.load()
        settle()
        while True:
            if not conn.poll(wait if active else None):
                wait = passes.beside()  # active, and nothing said: look for stored versions
                continue
            wait = POLL_EVERY
            msg = conn.recv()
            if msg == STOP:
                return
            if msg == BEGIN:
                active += 1
            elif msg == DRAIN:
                conn.send(passes.drain())
                active = max(0, active - 1)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return  # the parent is gone: what is not linked is linked by the next linker
    finally:
        store.close()


class _ChildTrace(Exception):
    """The child's traceback of a failed pass, as the cause of the parent's LinkFailed (the debug log shows it)."""

    def __str__(self) -> str:
        return str(self.args[0])


class LinkProcess:
    """A LinkStage whose work is done in a child process (see the module docstring). Thread-safe: the scheduler's
    poll jobs run concurrently, and each begins and drains. Call begin() off the event loop: the first one starts
    the child (an interpreter, imports and the index: seconds)."""

    beside = True

    def __init__(self, config: Config, store: Store):
        self.url = store.engine.url.render_as_string(hide_password=False)
        self.where = store.engine.url.render_as_string(hide_password=True)  # for the log
        self.defaults = config.defaults
        self._pipe = threading.Lock()  # the child, the pipe and every send
        self._drain = threading.Lock()  # one drain waits for its answer at a time: answers come in order
        self._proc: SpawnProcess | None = None
        self._conn: Connection | None = None
        self.cpu = 0.0  # the child's CPU seconds at the last drain

    def begin(self) -> None:
        """A cycle starts: the child links stored versions as they arrive, until the cycle's drain."""
        with self._pipe:
            self._send(BEGIN)

    def run(self) -> int:
        """The cycle's drain: every version stored so far linked; the links made since the last drain. A child
        that died or failed raises LinkFailed (link_pending logs it, once, and the next cycle links what is left)."""
        with self._drain:
            with self._pipe:
                conn = self._send(DRAIN)
            try:
                answer: Drained = conn.recv()
            except (EOFError, OSError) as exc:
                with self._pipe:
                    self._forget(conn)
                raise LinkFailed(f"the link process on {self.where} ended before it answered") from exc
        self.cpu = answer.cpu
        if answer.error is not None:
            also = f"; {answer.earlier_failed} passes before it failed too" if answer.earlier_failed else ""
            where = f" (the link process on {self.where}, the drain's pass{also})"
            raise LinkFailed(answer.error + where) from _ChildTrace(answer.trace)
        if answer.earlier_failed:
            log.warning(
                "linking: %d passes of the link process on %s failed while the poll ran, the last: %s; "
                "the drain's pass linked what they left",
                answer.earlier_failed,
                self.where,
                answer.earlier_error,
            )
        return answer.links

    def close(self) -> None:
        with self._drain, self._pipe:
            if self._conn is not None:
                with contextlib.suppress(OSError):
                    self._conn.send(STOP)
            if self._proc is not None:
                self._proc.join(10)
                if self._proc.is_alive():
                    self._proc.kill()
                    self._proc.join()
            self._forget(self._conn)

    def __enter__(self) -> LinkProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the child (under self._pipe) -----------------------------------------------------------------------
    def _ensure(self) -> Connection:
        if self._proc is not None and self._proc.is_alive() and self._conn is not None:
            return self._conn
        self._forget(self._conn)
        ctx = mp.get_context("spawn")  # fork would copy the parent's threads' locks and open connections
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child, args=(self.url, self.defaults, child), name="watcher-link", daemon=True)
        proc.start()
        child.close()
        ready = False
        try:
            ready = parent.poll(START_TIMEOUT) and isinstance(parent.recv(), Drained)
        except EOFError:  # it died starting (an import failed): its stderr says why
            pass
        finally:
            if not ready:  # not left running, nor unreaped, by a failed start
                parent.close()
                proc.kill()
                proc.join()
        if not ready:
            raise LinkFailed(
                f"the link process on {self.where} did not start (exit code {proc.exitcode}, "
                f"{START_TIMEOUT:.0f} s allowed)"
            )
        self._proc, self._conn = proc, parent
        return parent

    def _send(self, msg: str) -> Connection:
        conn = self._ensure()
        try:
            conn.send(msg)
        except OSError:  # died since the check: once more, with a new child
            self._forget(conn)
            conn = self._ensure()
            conn.send(msg)
        return conn

    def _forget(self, conn: Connection | None) -> None:
        """Drop the child whose pipe is `conn` (not a newer one started meanwhile)."""
        if conn is None or conn is not self._conn:
            return
        conn.close()
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc, self._conn = None, None


def link_stage(config: Config, store: Store, *, beside: bool = True) -> LinkStage:
    """The linking stage a long-running process uses: beside the polls in a child process when the database can
    be shared with one (`beside`), else in this process after each poll."""
    if beside and not in_memory(store.engine):
        return LinkProcess(config, store)
    return make_linker(config, store)
