"""Scale benchmark: N sources on loopback polled by 1, 2 and 4 `watcher worker` processes (PostgreSQL queue).

For each number of workers, on a fresh PostgreSQL schema:
  1. a deferrer (`watcher worker --schedule-only`) defers one period: one poll job per source;
  2. the workers (`--no-schedule`) start and run until the queue is empty: list pages, detail batches,
     linking (memory index), alerts (the cold round: every document new);
  3. one more poll per source is deferred and run (the warm round: nothing changed, conditional GETs: what
     an hourly poll of a quiet column costs);
and it reports, per round,
  sources/s          sources polled (list + details stored) per second of wall time
  cpu_s_per_source   CPU seconds of the worker processes per source (must not grow with the workers)
  statements/source  SQL statements the workers sent (psycopg cursors counted in each worker: SQLAlchemy's
                     and procrastinate's), per source
  queue latency      p50/p99 of the time from deferral to start, per task (procrastinate_events); for the
                     polls deferred before the workers started, from the first job's start: the backlog

Portals are served by one asyncio process, each on its own 127.x.y.z address (bench/poll.py's server), five
items a portal by default. Every figure as JSON on the last line.

    python bench/scale.py [--sources 2000] [--items 5] [--workers 1 2 4] [--concurrency 32]
    quick: python bench/scale.py --sources 200 --workers 1 2
"""

from __future__ import annotations

import argparse
import atexit
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PG = os.environ.get("WATCHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def count_statements(out: Path) -> None:
    """In a worker process: count every statement psycopg executes; written to `out` at exit."""
    import psycopg

    n = [0]
    for cls in (psycopg.Cursor, psycopg.AsyncCursor):
        for name in ("execute", "executemany"):
            orig = getattr(cls, name)
            if cls is psycopg.Cursor:

                def wrapped(self, *a, _o=orig, **k):
                    n[0] += 1
                    return _o(self, *a, **k)
            else:

                async def wrapped(self, *a, _o=orig, **k):
                    n[0] += 1
                    return await _o(self, *a, **k)

            setattr(cls, name, wrapped)

    def dump() -> None:
        out.write_text(str(n[0]))

    def every_half_second() -> None:
        while True:
            time.sleep(0.5)
            dump()

    threading.Thread(target=every_half_second, daemon=True).start()
    atexit.register(dump)


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def build_pages(sources: int, items: int) -> dict[tuple[str, str], bytes]:
    """(host, path) -> body: a list page and `items` detail pages per portal, each text its own (random
    characters of a 3,500-character pool): linking finds no neighbours, so the figures are the queue's and
    the crawl's; linking's own cost on related documents is measured by bench/lsh.py (docs/linking.md)."""
    import random

    from poll import address

    from watcher.demo.portal import detail_page, list_page

    rnd = random.Random(11)
    pool = [chr(c) for c in range(0x4E00, 0x4E00 + 3500)]
    pages: dict[tuple[str, str], bytes] = {}
    for i in range(sources):
        host, rows = address(i), []
        for k in range(items):
            title = f"第{i}号门户关于做好第{k}项重点工作的通知"
            paras = ["".join(rnd.choices(pool, k=120)) + "。" for _ in range(6)]
            meta = dict(
                title=title, issuer="测试市人民政府", written="2024-03-01", published=f"2024-03-{k % 28 + 1:02d}"
            )
            pages[(host, f"/art/{k}.html")] = detail_page(meta, ["各有关单位：", *paras, "测试市人民政府"]).encode()
            rows.append((f"/art/{k}.html", title, meta["published"]))
        pages[(host, "/list.html")] = list_page(f"门户{i} 政府文件", rows).encode("utf-8")
    return pages


def build(sources: int, items: int, port: int, min_delay: float, work: Path) -> tuple[dict, Path]:
    from poll import address

    from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS

    pages = build_pages(sources, items)
    entries = [
        dict(
            id=f"p{i}",
            name=f"门户{i}",
            kind="html",
            urls=[f"http://{address(i)}:{port}/list.html"],
            list=dict(LIST_SELECTORS),
            detail=dict(DETAIL_SELECTORS),
            schedule={"interval": "60s", "jitter": 0},
            fetch={"min_delay": min_delay, "per_host_concurrency": 2, "robots": False},
        )
        for i in range(sources)
    ]
    cfg = work / "sources.yaml"
    with cfg.open("w", encoding="utf-8") as fh:
        YAML().dump({"sources": entries}, fh)
    return pages, cfg


def fresh_schema() -> tuple[str, str]:
    schema = "bench_" + uuid.uuid4().hex[:10]
    with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return schema, f"{PG}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    with create_engine(PG, isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def worker_cmd(url: str, cfg: Path, count_to: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--as-worker",
        str(count_to),
        "--",
        "-v",
        "--db",
        url,
        "-c",
        str(cfg),
        "worker",
        *args,
    ]


def queue_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")).all())


def latencies(engine) -> dict[str, dict[str, float]]:
    # from deferral (or, for the polls deferred before the workers started, from the first start) to start
    q = text(
        "WITH ready AS (SELECT min(at) AS at FROM procrastinate_events WHERE type = 'started') "
        "SELECT j.task_name, extract(epoch FROM s.at - greatest(d.at, ready.at)) FROM ready, procrastinate_jobs j "
        "JOIN procrastinate_events d ON d.job_id = j.id AND d.type = 'deferred' "
        "JOIN procrastinate_events s ON s.job_id = j.id AND s.type = 'started'"
    )
    per: dict[str, list[float]] = {}
    with engine.connect() as conn:
        for task, lat in conn.execute(q):
            per.setdefault(task.split(":")[-1], []).append(float(lat))
    out = {}
    for task, xs in per.items():
        xs.sort()
        out[task] = dict(
            n=len(xs), p50=round(xs[len(xs) // 2], 3), p99=round(xs[min(len(xs) - 1, int(len(xs) * 0.99))], 3)
        )
    return out


def wait_idle(engine, procs: list[subprocess.Popen], work: Path) -> dict[str, int]:
    while True:
        c = queue_counts(engine)
        if not c.get("todo") and not c.get("doing"):
            return c
        if any(p.poll() is not None for p in procs):
            sys.exit(f"a worker exited: see {work}")
        time.sleep(0.5)


def statements(work: Path, n: int) -> int:
    return sum(int((work / f"w{k}.count").read_text() or 0) for k in range(n))


def defer_period(url: str, cfg: Path, sources: int, engine, work: Path) -> None:
    """The cold round's polls: one period deferred by a deferrer alone (`watcher worker --schedule-only`)."""
    defer = subprocess.Popen(worker_cmd(url, cfg, work / "defer.count", "--schedule-only"), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if queue_counts(engine).get("todo", 0) >= sources:
                break
        except Exception:  # noqa: BLE001 - the schema is not there yet
            pass
        time.sleep(0.5)
    defer.send_signal(signal.SIGTERM)
    defer.wait()


def defer_polls(url: str, cfg: Path) -> None:
    """The warm round's polls, deferred directly (the period is the cold round's, deferred already)."""
    import asyncio

    from watcher.config.loader import load_config
    from watcher.worker.app import make_app
    from watcher.worker.tasks import defer, poll_locks

    async def go() -> None:
        app = make_app(url)
        async with app.open_async():
            for s in load_config(cfg).enabled:
                await defer(app, "poll", source_id=s.id, **poll_locks(s.id))

    asyncio.run(go())


def round_figures(sources: int, wall: float, cpu: float, stmts: int) -> dict:
    return dict(
        wall_s=round(wall, 2),
        sources_per_s=round(sources / wall, 2),
        cpu_s_per_source=round(cpu / sources, 4),
        statements_per_source=round(stmts / sources, 1),
    )


def run(n_workers: int, cfg: Path, sources: int, items: int, args: argparse.Namespace, work: Path) -> dict:
    """Cold round (every document new), then warm round (nothing changed: conditional GETs), same workers."""
    schema, url = fresh_schema()
    engine = create_engine(url)
    try:
        defer_period(url, cfg, sources, engine, work)
        logs = [open(work / f"w{n_workers}-{k}.log", "wb") for k in range(n_workers)]  # noqa: SIM115
        t0 = time.perf_counter()
        cmd = ["--no-schedule", "--concurrency", str(args.concurrency)]
        procs = [
            subprocess.Popen(worker_cmd(url, cfg, work / f"w{k}.count", *cmd), stdout=logs[k], stderr=logs[k])
            for k in range(n_workers)
        ]
        cold_jobs = wait_idle(engine, procs, work)
        cold = round_figures(
            sources, time.perf_counter() - t0, sum(cpu_of(p.pid) for p in procs), statements(work, n_workers)
        )
        cold["queue_latency_s"] = latencies(engine)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM versions")).scalar() or 0
            failing = conn.execute(text("SELECT count(*) FROM notices WHERE status <> 'ok'")).scalar() or 0
        cpu0, st0, t1 = sum(cpu_of(p.pid) for p in procs), statements(work, n_workers), time.perf_counter()
        defer_polls(url, cfg)
        wait_idle(engine, procs, work)
        warm = round_figures(
            sources,
            time.perf_counter() - t1,
            sum(cpu_of(p.pid) for p in procs) - cpu0,
            statements(work, n_workers) - st0,
        )
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()
        return dict(
            workers=n_workers,
            cold=cold,
            warm=warm,
            docs=stored,
            docs_per_s=round(stored / cold["wall_s"], 1),
            not_stored=failing,
            cold_jobs=cold_jobs,
        )
    finally:
        engine.dispose()
        drop_schema(schema)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--as-worker":
        count_statements(Path(sys.argv[2]))
        from watcher.cli import main as cli

        sys.argv = ["watcher", *sys.argv[4:]]
        cli()
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=2000)
    ap.add_argument("--items", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--concurrency", type=int, default=32, help="jobs at once per worker")
    ap.add_argument("--min-delay", type=float, default=0.1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/watcher-bench-scale"))
    args = ap.parse_args()
    from poll import free_port, serve

    args.work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    pages, cfg = build(args.sources, args.items, port, args.min_delay, args.work)
    ready = mp.Event()
    server = mp.Process(target=serve, args=(pages, port, ready), daemon=True)
    server.start()
    ready.wait(120)
    figures = []
    try:
        for n in args.workers:
            fig = run(n, cfg, args.sources, args.items, args, args.work)
            c, w = fig["cold"], fig["warm"]
            print(
                f"{n} worker(s): cold {c['sources_per_s']} sources/s ({fig['docs_per_s']} docs/s), "
                f"{c['cpu_s_per_source']} CPU s/source, {c['statements_per_source']} statements/source; "
                f"warm {w['sources_per_s']} sources/s, {w['cpu_s_per_source']} CPU s/source, "
                f"{w['statements_per_source']} statements/source; latency {c['queue_latency_s']}",
                flush=True,
            )
            figures.append(fig)
    finally:
        server.terminate()
    print(json.dumps(dict(sources=args.sources, items=args.items, concurrency=args.concurrency, runs=figures)))


if __name__ == "__main__":
    main()
