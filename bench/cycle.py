"""One poll cycle inside an already running process, as `watcher run` performs it: the config is
loaded, the store open and (with --link) the linking stage started before the clock starts. Prints
JSON with wall and CPU seconds; with --link, the cycle links what it stored with the stage `watcher
run` uses (watcher/pipeline/linkproc.py: a process beside the poll on a database file) and the JSON
has the links made and the link stage's CPU seconds (the child's, or the in-process stage's).

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
from watcher.pipeline.linkproc import LinkProcess, link_stage  # noqa: E402


class TimedStage:
    """An in-process linking stage, with the wall and CPU seconds of its runs added up."""

    def __init__(self, stage: LinkStage):
        self.stage = stage
        self.wall = self.cpu = 0.0

    def run(self) -> int:
        wall, cpu = time.perf_counter(), time.process_time()
        made = self.stage.run()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return made


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
    linker = TimedStage(stage) if stage is not None and not isinstance(stage, LinkProcess) else stage
    settle()  # as `watcher run` does once started
    cpu0 = stage.cpu if isinstance(stage, LinkProcess) else 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(run_cycle(config, store, linker=linker))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out: dict = {"wall": wall, "cpu": cpu, "results": [r.as_dict() for r in report.results]}
    if report.link.error:
        sys.exit(f"linking failed: {report.link.error}")
    if isinstance(linker, TimedStage):
        out.update(link_wall=linker.wall, link_cpu=linker.cpu, links=report.link.links, beside=False)
    elif isinstance(stage, LinkProcess):
        # Beside the poll the stage has no wall time of its own; its CPU is the child's, added to the cycle's.
        out.update(link_wall=None, link_cpu=stage.cpu - cpu0, links=report.link.links, beside=True)
        out["cpu"] += stage.cpu - cpu0
        stage.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
