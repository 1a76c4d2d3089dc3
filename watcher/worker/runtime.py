"""What the jobs of one worker process share: the configuration (reloaded when sources.yaml changes), the
store, the linking stage and the cluster-wide host pacer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage.queue import QueueRepo
from watcher.config.loader import file_digest, load_config
from watcher.link.stage import LinkStage, make_linker
from watcher.pipeline.cycle import prepare
from watcher.pipeline.db import DB

if TYPE_CHECKING:
    from procrastinate import App

    from storage.repo import Store
    from watcher.config.settings import Config
    from watcher.worker.pacing import ClusterPacer

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    config_path: Path
    store: Store
    config: Config
    pacer: ClusterPacer
    app: App
    stall_timeout: float = 60.0
    db: DB = field(init=False)  # every job's storage calls, on one executor per process
    _digest: str | None = None
    _linker: LinkStage | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.db = DB(self.store)

    @property
    def queue(self) -> QueueRepo:
        return QueueRepo(self.store.engine)

    def reload(self) -> bool:
        """Read sources.yaml again when it changed; a broken file is logged and the previous one kept."""
        digest = file_digest(self.config_path)
        if digest == self._digest:
            return False
        self._digest = digest
        try:
            config = load_config(self.config_path)
            self.store.sync_sources(config.sources)
            prepare(config, self.store)
        except Exception as exc:  # noqa: BLE001 - the worker keeps the configuration it has
            log.error("sources.yaml not reloaded: %s", exc)
            return False
        if config.defaults.index != self.config.defaults.index:
            self._linker = None
        self.config = config
        return True

    def linker(self) -> LinkStage:
        """The linking stage. With the Redis index every worker shares one index; with the memory index a
        worker's copy would miss the signatures other workers stored, so it is built again for each job."""
        if self.config.defaults.index.storage != "redis":
            return make_linker(self.config, self.store)
        if self._linker is None:
            self._linker = make_linker(self.config, self.store)
        return self._linker
