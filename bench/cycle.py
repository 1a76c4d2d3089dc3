"""One poll cycle inside an already running process, as `watcher run` performs it: the config is
loaded, the store open and (with --link) the linking stage started before the clock starts. Prints
JSON with wall and CPU seconds; with --link, the cycle links what it stored with the stage `watcher
run` uses (watcher/pipeline/linkproc.py: a process beside the poll on a database file) and the JSON
has the links made and the link stage's CPU seconds (its `cpu`: the child's, or the in-process stage's).

    python bench/cycle.py SOURCES_YAML DATABASE_URL [--link] [--in-process]
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
from watcher.link.stage import LinkStage  # noqa: E402
from watcher.pipeline.collector import settle  # noqa: E402
from watcher.pipeline.cycle import run_cycle  # noqa: E402
from watcher.pipeline.linkproc import link_stage  # noqa: E402
from watcher.text.search import warm  # noqa: E402


class TimedStage:
    """A linking stage, with the wall seconds of its runs added up (beside the poll, a drain's wall time is mostly
    the wait for the last batches: not reported)."""

    def __init__(self, stage: LinkStage):
        self.stage = stage
        self.beside = stage.beside
        self.wall = 0.0

    @property
    def cpu(self) -> float:
        return self.stage.cpu

    def begin(self) -> None:
        self.stage.begin()

    def run(self) -> int:
        wall = time.perf_counter()
        made = self.stage.run()
        self.wall += time.perf_counter() - wall
        return made

    def close(self) -> None:
        self.stage.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sources")
    ap.add_argument("database")
    ap.add_argument("--link", action="store_true", help="link what the cycle stores")
    ap.add_argument("--in-process", action="store_true", help="link in this process, after the poll")
    args = ap.parse_args()
    config = load_config(args.sources)
    store = Store.open(args.database)
    stage = link_stage(config, store, beside=not args.in_process) if args.link else None
    if stage is not None:
        stage.run()  # a running service's stage: started (its index loaded), nothing to link yet
    linker = TimedStage(stage) if stage is not None else None
    warm()  # as `watcher run` does once started
    settle()
    cpu0 = linker.cpu if linker is not None else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(run_cycle(config, store, linker=linker))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out: dict = {"wall": wall, "cpu": cpu, "results": [r.as_dict() for r in report.results]}
    if report.link.error:
        sys.exit(f"linking failed: {report.link.error}")
    if linker is not None:
        link_cpu = linker.cpu - cpu0
        # Beside the poll the stage has no wall time of its own; its CPU is the child's, added to the cycle's.
        link_wall = None if linker.beside else linker.wall
        out.update(link_wall=link_wall, link_cpu=link_cpu, links=report.link.links, beside=linker.beside)
        if linker.beside:
            out["cpu"] += link_cpu
        linker.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
