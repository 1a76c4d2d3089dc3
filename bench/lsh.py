"""LSH index benchmark: build time, memory per document and query latency (p50/p99) at several
index sizes, the rebuild of the memory index through an insertion session, and the throughput of
the whole linking stage (fingerprint + query + verify + store) on real documents.

Index contents are synthetic signatures with the background similarity of a policy corpus: each
document belongs to one of 200 topics and takes each permutation's value from its topic with
probability 0.15, so unrelated documents of one topic have Jaccard ≈ 0.02 and share LSH buckets now
and then, as boilerplate-sharing notices do. Each size is built in a fresh subprocess so memory is
measured from a clean process.

    python bench/lsh.py [--sizes 10000,100000,1000000] [--baseline-max 100000] [--queries 2000]

The `memory` index is MinHashLSH with compact numpy tables (watcher/link/lshstore.py). The baseline,
measured in the same run, is MinHashLSH with datasketch's own dict storage: about 22 kB per document
(64 bands, mostly one-member Python sets), so it is run only up to --baseline-max (1M would need
22 GB). Ratios are baseline / memory: above 1 means the memory index is smaller or faster.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def synthetic(n: int, num_perm: int = 128, topics: int = 200, p: float = 0.15, seed: int = 3) -> np.ndarray:
    # The topics are the same for the index and the probes; the documents are not.
    topic_values = np.random.default_rng(1).integers(0, 2**32, size=(topics, num_perm), dtype=np.uint32)
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, size=(n, num_perm), dtype=np.uint32)
    topic = rng.integers(0, topics, size=n)
    take = rng.random((n, num_perm)) < p
    sigs[take] = topic_values[topic][take]
    return sigs


def one_size(n: int, queries: int, storage: str = "memory") -> dict:
    from watcher.link.classify import Thresholds
    from watcher.link.fingerprint import Params, Signature
    from watcher.link.index import Index

    params = Params()
    sigs = synthetic(n)
    base = rss_bytes()
    index = Index(params, Thresholds(), storage)
    t = time.perf_counter()
    index.load([(str(i), Signature(params, sigs[i], 0)) for i in range(n)])
    build = time.perf_counter() - t
    mem = rss_bytes() - base
    probe = synthetic(queries, seed=11)
    lat, found = [], 0
    for q in probe:
        s = Signature(params, q, 0)
        t = time.perf_counter()
        found += len(index.query(s))
        lat.append(time.perf_counter() - t)
    lat_ms = np.array(lat) * 1000
    return {
        "n": n,
        "build_s": build,
        "bytes_per_doc": mem / n,
        "p50_ms": float(np.percentile(lat_ms, 50)),
        "p99_ms": float(np.percentile(lat_ms, 99)),
        "candidates_per_query": found / queries,
    }


def ingest_throughput(docs: int) -> dict:
    """Linking stage on real text: documents made from corpus paragraphs, stored, then linked."""
    from storage.records import Outcome
    from storage.repo import Store
    from watcher.demo.portal import seed_documents
    from watcher.extract.model import Detail, ListItem
    from watcher.link.linker import Linker
    from watcher.pipeline.snapshot import snapshot

    paras = [p for _, t in seed_documents()[1] for p in t.splitlines() if len(p) > 40]
    laws = ROOT / "tests" / "fixtures" / "linking" / "laws"
    paras += [p for f in laws.glob("*.md") for p in f.read_text(encoding="utf-8").splitlines() if len(p) > 40]
    rng = np.random.default_rng(5)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/lsh.db")
        for i in range(0, docs, 200):
            items = [ListItem(f"http://bench/{j}", f"第{j}号文件", None) for j in range(i, min(docs, i + 200))]
            states = store.record_list("bench", {"url": f"list{i}"}, items)
            outcomes = []
            for it in items:
                body = "\n".join(paras[k] for k in rng.choice(len(paras), size=int(rng.integers(10, 40))))
                outcomes.append(Outcome(states[it.url], snapshot(Detail(url=it.url, title=it.title, body=body))))
            store.apply("bench", outcomes)
        linker = Linker(store)
        t = time.perf_counter()
        links = linker.run()
        elapsed = time.perf_counter() - t
        t = time.perf_counter()
        Linker(store)  # a restart: the memory index is rebuilt from the stored signatures
        rebuild = time.perf_counter() - t
        store.close()
    return {"docs": docs, "seconds": elapsed, "docs_per_s": docs / elapsed, "links": links, "rebuild_s": rebuild}


def _run(n: int, queries: int, storage: str) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--one", str(n), "--queries", str(queries), "--storage", storage],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode
        print(f"{n:>12} {storage:>7}  failed: {why}")
        return None
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--baseline-max", type=int, default=100_000, help="largest size run with the dict baseline")
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--ingest-docs", type=int, default=2000)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--storage", default="memory", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.queries, args.storage)))
        return
    print(
        f"{'signatures':>12}{'index':>8}{'build s':>9}{'bytes/doc':>11}{'p50 ms':>9}{'p99 ms':>9}{'cand/q':>8}"
        f"   baseline/memory: memory  build  p50  p99"
    )
    for n in [int(x) for x in args.sizes.split(",")]:
        base = _run(n, args.queries, "dict") if n <= args.baseline_max else None
        r = _run(n, args.queries, "memory")
        for row in (base, r):
            if row is None:
                continue
            line = (
                f"{row['n']:>12}{'dict' if row is base else 'memory':>8}{row['build_s']:>9.2f}"
                f"{row['bytes_per_doc']:>11.0f}{row['p50_ms']:>9.3f}{row['p99_ms']:>9.3f}"
                f"{row['candidates_per_query']:>8.1f}"
            )
            if row is r and base is not None:
                line += (
                    f"   {base['bytes_per_doc'] / r['bytes_per_doc']:>22.1f}x"
                    f" {base['build_s'] / r['build_s']:>5.1f}x"
                    f" {base['p50_ms'] / r['p50_ms']:>4.1f}x {base['p99_ms'] / r['p99_ms']:>4.1f}x"
                )
            print(line, flush=True)
    r = ingest_throughput(args.ingest_docs)
    print(
        f"\nlinking stage (fingerprint + query + verify + store) on {r['docs']} real-text documents: "
        f"{r['docs_per_s']:.0f} docs/s, {r['links']} links; memory index rebuilt from "
        f"{r['docs']} stored signatures in {r['rebuild_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
