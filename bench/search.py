"""Search at scale: N notices built from the shipped documents' sentences (bench/search_corpus.py), stored and
indexed, then each query's median time over five runs after a warm-up. A measurement, not a test.

    python bench/search.py [N] [DATABASE_URL]      # default 100000 notices into a temporary SQLite file
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import text  # noqa: E402

from bench.search_corpus import notices  # noqa: E402
from storage.records import Outcome  # noqa: E402
from storage.repo import Store  # noqa: E402
from watcher.extract.model import ListItem  # noqa: E402

QUERIES = [
    "绿色 金融",
    "绿色",
    "苏政发[2020]28号",
    "綠色低碳",
    "碳达峰 碳中和",
    "发展",
    "清洁生产审核制度",
    "第三条",
    "第3条",
]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{tempfile.mkdtemp()}/search.db"
    store = Store.open(url)
    t0 = time.perf_counter()
    for batch in notices(n, 500):
        states = store.record_list("bench", {"url": "http://bench/list"}, [ListItem(s.url, s.title) for s in batch])
        store.apply("bench", [Outcome(states[s.url], s) for s in batch])
    loaded = time.perf_counter() - t0
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"{store.engine.dialect.name}: {n} notices stored and indexed in {loaded:.0f} s")
    for q in QUERIES:
        store.search(q)  # warm the cache: what a reader asking twice sees
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            hits = store.search(q)
            runs.append(time.perf_counter() - t)
        print(f"  {q:12} {sorted(runs)[2] * 1000:7.1f} ms  ({len(hits)} hits shown)")
    store.close()


if __name__ == "__main__":
    main()
