"""One poll cycle inside an already running process, as `watcher run` performs it: the config is
loaded and the store open before the clock starts. Prints JSON with wall and CPU seconds.

    python bench/cycle.py SOURCES_YAML DATABASE_URL
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage.repo import Store  # noqa: E402
from watcher.config.loader import load_config  # noqa: E402
from watcher.pipeline.cycle import run_cycle  # noqa: E402


def main() -> None:
    config = load_config(sys.argv[1])
    store = Store.open(sys.argv[2])
    wall, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(run_cycle(config, store)).results
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "results": [r.as_dict() for r in results]}))


if __name__ == "__main__":
    main()
