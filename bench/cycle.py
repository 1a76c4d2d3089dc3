"""One poll cycle inside an already running process, as `watcher run` performs it: the config is
loaded and the store open before the clock starts. Prints JSON with wall and CPU seconds; with
--link, the cycle links what it stored (the linking stage `watcher run` uses) and the JSON has the
link stage's own seconds and the links it made.

    python bench/cycle.py SOURCES_YAML DATABASE_URL [--link]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage.repo import Store  # noqa: E402
from watcher.config.loader import load_config  # noqa: E402
from watcher.link.stage import LinkStage, make_linker  # noqa: E402
from watcher.pipeline.cycle import run_cycle  # noqa: E402


class TimedStage:
    """The configured linking stage, with the wall and CPU seconds of its runs added up."""

    def __init__(self, stage: LinkStage):
        self.stage = stage
        self.wall = self.cpu = 0.0
        self.links = 0

    def run(self) -> int:
        wall, cpu = time.perf_counter(), time.process_time()
        made = self.stage.run()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        self.links += made
        return made


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sources")
    ap.add_argument("database")
    ap.add_argument("--link", action="store_true", help="link what the cycle stores")
    args = ap.parse_args()
    config = load_config(args.sources)
    store = Store.open(args.database)
    linker = TimedStage(make_linker(config, store)) if args.link else None
    wall, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(run_cycle(config, store, linker=linker)).results
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out: dict = {"wall": wall, "cpu": cpu, "results": [r.as_dict() for r in results]}
    if linker is not None:
        out.update(link_wall=linker.wall, link_cpu=linker.cpu, links=linker.links)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
