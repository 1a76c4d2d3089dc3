"""Poll benchmark: N generated portals on loopback, each on its own 127.x.y.z address.

Measures, in one run and against one server process:
  cold ingest   a poll cycle on an empty database: docs/s and CPU seconds
  warm cycle    the next cycle, nothing changed: wall and CPU seconds
  urlwatch      the same list pages, warm cycle (after one run to fill its cache)
and prints the ratios.

Cycles are timed the way each tool runs in production: Policy Watcher's inside the long-running
`watcher run` process (bench/cycle.py: config loaded, store open), urlwatch's as the command cron
starts, start-up included. The warm `watcher poll` command, start-up included, is printed too.

    pip install '.[bench]' && python bench/poll.py [--portals 500] [--items 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate
from hashlib import sha1
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page, seed_documents  # noqa: E402


def address(i: int) -> str:
    return f"127.{10 + i // 60000}.{(i // 250) % 240}.{i % 250 + 1}"


def build_pages(portals: int, items: int) -> dict[tuple[str, str], bytes]:
    """(host, path) -> body. Detail texts are slices of the seed documents, each made unique."""
    _, docs = seed_documents()
    paras = [p for _, text in docs for p in text.splitlines() if len(p.strip()) > 30]
    rnd = random.Random(7)
    pages: dict[tuple[str, str], bytes] = {}
    for i in range(portals):
        host = address(i)
        rows = []
        for k in range(items):
            path = f"/art/{k}.html"
            title = f"第{i}号门户关于做好第{k}项重点工作的通知"
            start = rnd.randrange(len(paras) - 12)
            body = [
                f"各有关单位：现将第{i}-{k}项工作通知如下。",
                *paras[start : start + rnd.randint(4, 12)],
                "测试市人民政府",
                "2024年3月1日",
            ]
            meta = dict(
                title=title,
                doc_no=f"测政发〔2024〕{i * items + k + 1}号",
                issuer="测试市人民政府",
                written="2024-03-01",
                published=f"2024-03-{k % 28 + 1:02d}",
                index_no=f"B-{i}-{k}",
            )
            pages[(host, path)] = detail_page(meta, body).encode("utf-8")
            rows.append((path, title, meta["published"]))
        pages[(host, "/list.html")] = list_page(f"门户{i} 政府文件", rows).encode("utf-8")
        pages[(host, "/robots.txt")] = b"User-agent: *\nAllow: /\n"
    return pages


def serve(pages: dict, port: int, ready) -> None:
    """A small keep-alive HTTP/1.1 server with ETag support, one listening socket per address."""
    lastmod = formatdate(time.time() - 86400, usegmt=True)
    tags = {k: '"' + sha1(v).hexdigest()[:16] + '"' for k, v in pages.items()}

    class Proto(asyncio.Protocol):
        def __init__(self, host: str):
            self.host = host
            self.buf = b""

        def connection_made(self, transport):
            self.t = transport

        def data_received(self, data):
            self.buf += data
            while b"\r\n\r\n" in self.buf:
                head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                inm = next(
                    (l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("if-none-match:")), None
                )
                key = (self.host, path)
                body = pages.get(key)
                if body is None:
                    self.t.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif inm == tags[key]:
                    self.t.write(f"HTTP/1.1 304 Not Modified\r\nETag: {tags[key]}\r\n\r\n".encode())
                else:
                    ctype = "text/plain" if path.endswith(".txt") else "text/html; charset=utf-8"
                    self.t.write(
                        f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                        f"ETag: {tags[key]}\r\nLast-Modified: {lastmod}\r\n\r\n".encode()
                        + body
                    )

    async def main():
        hosts = sorted({h for h, _ in pages})
        loop = asyncio.get_running_loop()
        for h in hosts:
            await loop.create_server(lambda h=h: Proto(h), h, port, backlog=256, reuse_address=True)
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portals", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--min-delay", type=float, default=0.05, help="per-host politeness delay for the run (s)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--skip-urlwatch", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    print(f"generating {args.portals} portals x {args.items} items …", flush=True)
    pages = build_pages(args.portals, args.items)
    port = free_port()
    ready = mp.get_context("fork").Event()
    server = mp.get_context("fork").Process(target=serve, args=(pages, port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        sys.exit("server did not start")
    urls = [f"http://{address(i)}:{port}/list.html" for i in range(args.portals)]
    sources = [
        {
            "id": f"p{i}",
            "name": f"门户{i}",
            "urls": [u],
            "list": LIST_SELECTORS,
            "detail": DETAIL_SELECTORS,
            "schedule": {"interval": "1h"},
        }
        for i, u in enumerate(urls)
    ]
    cfg = work / "sources.yaml"
    with cfg.open("w", encoding="utf-8") as fh:
        YAML().dump(
            {
                "defaults": {
                    "concurrency": args.concurrency,
                    "fetch": {"min_delay": args.min_delay, "per_host_concurrency": 2},
                },
                "sources": sources,
            },
            fh,
        )
    db = f"sqlite:///{work / 'bench.db'}"
    cycle = [sys.executable, str(Path(__file__).with_name("cycle.py")), str(cfg), db]
    cli = [sys.executable, "-m", "watcher", "-c", str(cfg), "--db", db, "poll", "--json"]
    docs = args.portals * args.items

    def run_cycle() -> tuple[float, float, list[dict]]:
        proc = subprocess.run(cycle, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        out = json.loads(proc.stdout)
        return out["wall"], out["cpu"], out["results"]

    cold_wall, cold_cpu, summary = run_cycle()
    stored = sum(r["new"] for r in summary)
    failed = sum(r["failed"] for r in summary) + sum(r["status"] == "failed" for r in summary)
    if stored != docs or failed:
        sys.exit(f"cold ingest stored {stored} of {docs} documents, {failed} failures")
    warm_wall, warm_cpu, summary = run_cycle()
    assert sum(r["new"] + r["changed"] for r in summary) == 0, "warm cycle found changes"
    assert sum(r["not_modified"] for r in summary) == args.portals
    cli_wall, cli_cpu, proc = timed(cli)
    assert proc.returncode == 0, proc.stderr[-2000:]

    print(f"\n{'':36}{'wall s':>9}{'CPU s':>9}")
    print(
        f"{'watcher cold ingest (service)':36}{cold_wall:9.2f}{cold_cpu:9.2f}   {docs / cold_wall:7.0f} docs/s "
        f"({docs / cold_cpu:.0f} docs per CPU-second)"
    )
    print(f"{'watcher warm cycle (service)':36}{warm_wall:9.2f}{warm_cpu:9.2f}")
    print(f"{'watcher poll command, warm':36}{cli_wall:9.2f}{cli_cpu:9.2f}   (start-up included)")
    if not args.skip_urlwatch:
        uw_urls = work / "urls.yaml"
        uw_urls.write_text("\n---\n".join(f"name: p{i}\nurl: {u}" for i, u in enumerate(urls)) + "\n")
        uw = [
            sys.executable,
            "-m",
            "urlwatch.cli",
            "--urls",
            str(uw_urls),
            "--config",
            str(work / "urlwatch.yaml"),
            "--cache",
            str(work / "urlwatch-cache.db"),
            "--hooks",
            str(work / "hooks.py"),
        ]
        env = dict(os.environ, HOME=str(work))
        timed(uw, env=env)  # fills urlwatch's cache: its cold run
        uw_wall, uw_cpu, proc = timed(uw, env=env)
        if proc.returncode != 0:
            print(proc.stderr[-2000:])
        print(f"{'urlwatch warm cycle (command)':36}{uw_wall:9.2f}{uw_cpu:9.2f}")
        print(
            f"\nwarm cycle, watcher service / urlwatch: wall {warm_wall / uw_wall:.2f}x (target <= 0.5), "
            f"CPU {warm_cpu / uw_cpu:.2f}x (target <= 1.0)"
        )
        print(
            f"warm cycle, watcher poll command / urlwatch: wall {cli_wall / uw_wall:.2f}x, CPU {cli_cpu / uw_cpu:.2f}x"
        )
    print(
        f"cold ingest: {docs / cold_wall:.0f} docs/s (target >= 300); per-host min_delay {args.min_delay}s, "
        f"concurrency {args.concurrency}"
    )
    server.terminate()


if __name__ == "__main__":
    main()
