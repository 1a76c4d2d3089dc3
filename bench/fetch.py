"""Fetcher benchmark: CPU seconds per request of `Fetcher.get` against a local keep-alive server.

Fetches every source's detail pages /art/0.html ... /art/{items-1}.html (1,000 by default: 50 portals x
20) through one Fetcher built the way a poll builds it (watcher/pipeline/poll.py: the config's
concurrency, each source's fetch settings, robots.txt honoured), all requests started at once as a
cycle's detail stage starts them. Each round is a fresh Fetcher in a fresh event loop, so robots.txt
and connections are cold, as in a cycle. Prints process_time per request per round, best and median,
and a digest of every answer (URL, status, headers, body) to compare two trees' outputs.

    python bench/fetch.py /work/prof/sources.yaml [--items 20] [--rounds 5]
    without a sources file: python bench/fetch.py --serve 50  (serves bench/poll.py's portals itself)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.poll import address, start_server, write_config  # noqa: E402
from watcher.config.loader import load_config  # noqa: E402
from watcher.crawl.fetch import Fetcher  # noqa: E402


async def one_round(config, items: int) -> tuple[int, float, float, str]:
    """(requests, CPU seconds, wall seconds, digest of the answers) of one cold round."""
    jobs = []
    for src in config.sources:
        base = src.urls[0].rsplit("/", 1)[0]
        jobs += [(f"{base}/art/{k}.html", src.fetch) for k in range(items)]
    wall, cpu = time.perf_counter(), time.process_time()
    async with Fetcher(concurrency=config.defaults.concurrency) as fetcher:
        answers = await asyncio.gather(*(fetcher.get(url, settings) for url, settings in jobs))
        made = fetcher.requests
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    digest = hashlib.sha256()
    for (url, _), r in zip(jobs, answers, strict=True):
        digest.update(f"{url} {r.url} {r.status} {sorted(r.headers.items())}".encode())
        digest.update(r.content)
    return made, cpu, wall, digest.hexdigest()[:16]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sources", nargs="?", help="sources.yaml of a running bench server")
    ap.add_argument("--serve", type=int, default=0, help="serve this many portals here instead")
    ap.add_argument("--items", type=int, default=20, help="detail pages per source")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if args.serve:
        port, _ = start_server(args.serve, args.items)
        sources = [
            {"id": f"p{i}", "name": f"p{i}", "urls": [f"http://{address(i)}:{port}/list.html"]}
            for i in range(args.serve)
        ]
        opts = SimpleNamespace(concurrency=64, min_delay=0.05)
        args.sources = str(write_config(Path(tempfile.mkdtemp()) / "sources.yaml", sources, opts))
    config = load_config(args.sources)
    rounds = []
    for _ in range(args.rounds):
        made, cpu, wall, digest = asyncio.run(one_round(config, args.items))
        rounds.append(cpu / made * 1000)
        print(f"{made} requests  cpu {cpu:.3f}s  wall {wall:.3f}s  {rounds[-1]:.3f} ms/request  {digest}", flush=True)
    print(json.dumps({"best_ms": min(rounds), "median_ms": statistics.median(rounds), "digest": digest}))


if __name__ == "__main__":
    main()
