"""The linking stage as the rest of the pipeline sees it: something that links what is new.

This module stays light (no numpy, datasketch or redis): the poll, the scheduler and the CLI import
it on every start, and a cycle that stored nothing new never needs the index.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config
    from watcher.link.linker import Linker


class LinkStage(Protocol):
    def run(self) -> int:
        """Link every stored version not linked yet; returns how many links were made."""
        ...


class LazyLinker:
    """The linking stage, built on first use: a cycle that stored nothing new never loads the index."""

    def __init__(self, config: Config, store: Store):
        self.config, self.store = config, store
        self.linker: Linker | None = None

    def run(self) -> int:
        if self.linker is None:
            from watcher.link.linker import Linker  # numpy and datasketch: only when something is linked

            idx = self.config.defaults.index
            self.linker = Linker(
                self.store, storage=idx.storage, redis_url=idx.redis_url or os.environ.get("WATCHER_REDIS_URL")
            )
        return self.linker.run()


def make_linker(config: Config, store: Store) -> LinkStage:
    """The linking stage configured by `defaults.index` (memory or Redis), built on first use."""
    return LazyLinker(config, store)
