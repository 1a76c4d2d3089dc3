"""The web view at scale: N notices (default 100,000) in ten sources, with revisions and derived links, served by a
real `watcher serve` (uvicorn); each page type requested R times in turn, p50 and p95 printed per page. The database
is kept in DIR and reused by the next run (building 100k notices with their search index takes minutes).

    python bench/web.py [N] [--dir DIR] [--rounds R]

A measurement, not a test: the client is httpx on the same machine, so the figures include HTTP on loopback.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bench.corpus import percentile  # noqa: E402
from bench.search_corpus import notices  # noqa: E402
from storage.records import Outcome  # noqa: E402
from storage.repo import Store  # noqa: E402
from watcher.config.loader import load_config  # noqa: E402
from watcher.extract.model import ListItem  # noqa: E402

SOURCES = 10
ISSUERS = ["江苏省人民政府", "江苏省发展和改革委员会", "连云港市人民政府", "广东省人民政府", "汕头市人民政府"]
REVISED_EVERY = 100  # one notice in a hundred gets a second version
DERIVED_EVERY = 20  # one in twenty derives from an earlier notice


def sources_yaml(path: Path) -> None:
    lines = ["defaults: {timezone: Asia/Shanghai}", "sources:"]
    for i in range(SOURCES):
        tags = ["江苏" if i < 5 else "广东", "省级" if i % 2 else "市级"]
        lines.append(
            f"  - {{id: bench-{i}, name: 测试源{i}, urls: ['http://bench{i}.test/'], tags: [{', '.join(tags)}]}}"
        )
    lines += ["feeds:", "  - {id: derived, filter: {relations: [derived]}}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def build(db: Path, n: int) -> None:
    """Store n notices round-robin over the sources, revise one in a hundred, link one in twenty as derived."""
    store = Store.open(f"sqlite:///{db}")
    store.sync_sources(load_config(db.parent / "sources.yaml").sources)
    t0, stored = time.perf_counter(), 0
    for b, batch in enumerate(notices(n, 500)):
        source = f"bench-{b % SOURCES}"
        batch = [replace(s, issuer=ISSUERS[(stored + i) % len(ISSUERS)]) for i, s in enumerate(batch)]
        states = store.record_list(source, {"url": f"http://{source}/list"}, [ListItem(s.url, s.title) for s in batch])
        store.apply(source, [Outcome(states[s.url], s) for s in batch])
        revised = [
            replace(s, body=s.body.replace("，", "，并", 1), content_hash=s.content_hash[::-1])
            for s in batch[::REVISED_EVERY]
        ]
        states = store.record_list(
            source, {"url": f"http://{source}/list"}, [ListItem(s.url, s.title) for s in revised]
        )
        store.apply(source, [Outcome(states[s.url], s) for s in revised])
        stored += len(batch)
        if b % 20 == 0:
            print(f"  {stored} notices stored ({time.perf_counter() - t0:.0f} s)", flush=True)
    rnd = random.Random(7)
    with store.engine.begin() as conn:  # links as the linking stage would store them (running it is bench/lsh.py's job)
        rows = [
            dict(child=c, parent=p, key=f"n:{p}", expl=f"derived from #{p}", now=datetime.now(UTC))
            for c in range(2 * DERIVED_EVERY, n + 1, DERIVED_EVERY)
            for p in [rnd.randint(1, c - 1)]
        ]
        conn.execute(
            text(
                "INSERT INTO links (child_id, parent_id, parent_key, relation, jaccard, contain_child, contain_parent, "
                "evidence_json, alignment_json, explanation, created_at) "
                "VALUES (:child, :parent, :key, 'derived', 0.5, 0.6, 0.5, '{}', NULL, :expl, :now)"
            ),
            rows,
        )
        conn.execute(text("ANALYZE"))
    print(f"built {n} notices, {len(rows)} links in {time.perf_counter() - t0:.0f} s", flush=True)
    store.close()


def serve(workdir: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "watcher", "-c", str(workdir / "sources.yaml"), "--db", str(workdir / "web.db")]
    proc = subprocess.Popen([*cmd, "serve", "--port", str(port)], stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(base + "/sources", timeout=5)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("watcher serve did not start")


def pages(base: str, n: int) -> dict[str, list[str]]:
    """Per page type, the addresses to request in turn (several notices, so no page is measured from one row)."""
    rnd = random.Random(3)
    api = httpx.get(base + "/api/notices", params={"source": "bench-3"}).json()
    cursor = api["next"]
    ids = [rnd.randint(1, n) for _ in range(20)]
    revised = list(range(1, n, 500))[:20]
    derived = [c for c in range(2 * DERIVED_EVERY, n + 1, DERIVED_EVERY)][:20]
    return {
        "list": ["/notices"],
        "list ?source": [f"/notices?source=bench-{i}" for i in range(SOURCES)],
        "list ?tag": ["/notices?tag=广东", "/notices?tag=省级"],
        "list ?issuer": ["/notices?issuer=汕头市", "/notices?issuer=江苏省发展"],
        "list ?since&until": ["/notices?since=2018-01-01&until=2018-03-31", "/notices?since=2024-06-01"],
        "list ?relation": ["/notices?relation=derived"],
        "list next page": [f"/notices?source=bench-3&after={cursor}"],
        "search 绿色 金融": ["/notices?q=绿色 金融"],  # in nearly every notice of this corpus: ranks ~100k matches
        "search 碳达峰 碳中和": ["/notices?q=碳达峰 碳中和"],
        "search 文号": ["/notices?q=苏政发[2020]28号"],  # cited by one notice in a hundred
        "notice": [f"/notices/{i}" for i in ids],
        "notice (revised)": [f"/notices/{i}" for i in revised],
        "notice (derived)": [f"/notices/{i}" for i in derived],
        "diff": [f"/notices/{i}/diff" for i in revised],
        "sources": ["/sources"],
        "channels": ["/channels"],
        "api notices": ["/api/notices?source=bench-5"],
        "api notice": [f"/api/notices/{i}" for i in ids],
        "feed source": ["/feeds/source/bench-2.atom"],
        "feed saved": ["/feeds/saved/derived.json"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--rounds", type=int, default=40)
    args = ap.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp())
    workdir.mkdir(parents=True, exist_ok=True)
    sources_yaml(workdir / "sources.yaml")
    if not (workdir / "web.db").exists():
        build(workdir / "web.db", args.n)
    proc, base = serve(workdir)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            print(f"{'page':22} {'p50 ms':>8} {'p95 ms':>8}  requests")
            for name, paths in pages(base, args.n).items():
                for p in paths:  # warm: the first request of a page type compiles its template
                    assert client.get(p).status_code == 200, p
                times = []
                for r in range(args.rounds):
                    t = time.perf_counter()
                    resp = client.get(paths[r % len(paths)])
                    times.append((time.perf_counter() - t) * 1000)
                    assert resp.status_code == 200, (paths[r % len(paths)], resp.status_code)
                print(f"{name:22} {percentile(times, 50):8.1f} {percentile(times, 95):8.1f}  {len(times)}")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
