"""The linking stage as the rest of the pipeline sees it: something that links what is new.

This module stays light (no numpy, datasketch or redis): the poll, the scheduler and the CLI import
it on every start, and a cycle that finds nothing to link never needs the index.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Protocol

from storage.conflicts import is_duplicate

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config
    from watcher.link.linker import Linker

log = logging.getLogger(__name__)

# One linking pass at a time in a process: two poll jobs of one `watcher run` ending together would
# otherwise link the same versions at once and collide on their signatures.
_LINKING = threading.Lock()
# A pass that meets another process's link runs again; this many times in a row with no version linked in
# between, and the duplicate is not another process's.
_STUCK_PASSES = 3


class LinkStage(Protocol):
    """What a cycle does with the stage: begin() before its poll, run() after it (the drain), close() when the
    process that holds the stage is done with it. In this process (LazyLinker) begin and close do nothing; beside
    the polls (watcher/pipeline/linkproc.py) they start and stop the link process."""

    @property
    def beside(self) -> bool:
        """The passes run in another process: their CPU is not in this process's time."""
        ...

    @property
    def cpu(self) -> float:
        """CPU seconds the passes took so far, wherever they ran (for the benchmarks)."""
        ...

    def begin(self) -> None:
        """A cycle starts: the stage may link what is stored from now on, before the cycle's run()."""
        ...

    def run(self) -> int:
        """Link every stored version not linked yet; returns how many links were made."""
        ...

    def close(self) -> None:
        """Release what the stage holds; a running cycle must not be using it."""
        ...


class LinkFailed(RuntimeError):
    """A pass failed in another process: the message is its failure and where it happened, ready to be logged."""


class LazyLinker:
    """The linking stage, built on first use: the index is loaded only when versions wait to be linked."""

    beside = False

    def __init__(self, config: Config, store: Store):
        self.config, self.store = config, store
        self.linker: Linker | None = None
        self.cpu = 0.0  # this process's CPU seconds in run(), the lock's wait excluded

    def begin(self) -> None:
        """Nothing to start: what the poll stores is linked by run(), after it."""

    def run(self) -> int:
        """Link what waits, if anything does (a cheap query first)."""
        with _LINKING:
            start = time.process_time()
            try:
                return self._run()
            finally:
                self.cpu += time.process_time() - start

    def close(self) -> None:
        """Nothing to stop: the linker is this process's memory, freed with the stage."""

    def _run(self) -> int:
        """Across processes, a version another process linked meanwhile is a duplicate key here: already linked,
        so the pass goes on from what is still unsigned. Duplicates that recur with nothing linked in between
        are a bug, and raised."""
        if not self.store.unsigned_exist():
            return 0
        linker = self._linker()
        left: int | None = None  # versions unsigned at the last duplicate
        stuck = 0
        while True:
            try:
                return linker.run()
            except Exception as exc:
                if not is_duplicate(exc):
                    raise
                now_left = len(self.store.unsigned_versions())
                stuck = stuck + 1 if left is not None and now_left >= left else 0
                if stuck >= _STUCK_PASSES:
                    raise
                left = now_left
                log.info("a version was linked by another process meanwhile: linking the rest")

    def load(self) -> None:
        """Build the linker now (imports and the index: ~1 s and more with a large store), for a process that
        exists to link: its first pass then costs what linking costs."""
        self._linker()

    def _linker(self) -> Linker:
        if self.linker is None:
            from watcher.link.linker import Linker  # numpy and datasketch: only when something is linked

            idx = self.config.defaults.index
            self.linker = Linker(
                self.store, storage=idx.storage, redis_url=idx.redis_url or os.environ.get("WATCHER_REDIS_URL")
            )
        return self.linker


def make_linker(config: Config, store: Store) -> LinkStage:
    """The linking stage configured by `defaults.index` (memory or Redis), built on first use."""
    return LazyLinker(config, store)
