"""Poll benchmark: N generated portals on loopback, each on its own 127.x.y.z address.

Measures, in one run and against one server process:
  cold ingest   a poll cycle on an empty database: docs/s and CPU seconds
  warm cycle    the next cycle, nothing changed: wall and CPU seconds
  urlwatch      the same list pages, warm cycle (after one run to fill its cache)
  linking ON    a cold ingest of the first --link-portals portals with the linking stage on
                (fetch + extract + fingerprint + link + store; target >= 300 docs/s), beside the
                same portals' cold ingest with linking off, each on an empty database
and prints the ratios, then every figure as JSON on the last line.

The documents are cut from the seed documents' paragraphs (a few hundred, shared by all of them):
many pairs reuse text, which is what makes linking expensive. The linked run is stopped after
--link-timeout seconds and reported as unfinished.

Cycles are timed the way each tool runs in production: Policy Watcher's inside the long-running
`watcher run` process (bench/cycle.py: config loaded, store open), urlwatch's as the command cron
starts, start-up included. The warm `watcher poll` command, start-up included, is printed too.

    pip install '.[bench]' && python bench/poll.py [--portals 500] [--items 20] [--link-portals 50]
    quick: python bench/poll.py --portals 50 --link-portals 10 --skip-urlwatch
    linking only, 3 rounds: python bench/poll.py --link-only --rounds 3

--link-only measures only the linking off / ON runs (--rounds times, alternating, each on empty
databases), for comparing two trees on a machine shared with other work: run each tree's
bench/poll.py in turn and compare the best round of each.
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


def start_server(portals: int, items: int) -> tuple[int, mp.process.BaseProcess]:
    """build_pages served by serve() in a forked process on a free port, once it listens: (port, process)."""
    pages = build_pages(portals, items)
    port = free_port()
    ready = mp.get_context("fork").Event()
    server = mp.get_context("fork").Process(target=serve, args=(pages, port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        sys.exit("server did not start")
    return port, server


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


def write_config(path: Path, sources: list[dict], args: argparse.Namespace) -> Path:
    with path.open("w", encoding="utf-8") as fh:
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
    return path


def run_cycle(
    cfg: Path, db: str, link: bool = False, timeout: float | None = None, in_process: bool = False
) -> dict | None:
    """One cycle in a fresh process (bench/cycle.py); None when it did not finish within `timeout`."""
    cmd = [sys.executable, str(Path(__file__).with_name("cycle.py")), str(cfg), db] + (["--link"] if link else [])
    cmd += ["--in-process"] if in_process else []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout)


def check_cold(out: dict, docs: int) -> None:
    stored = sum(r["new"] for r in out["results"])
    failed = sum(r["failed"] for r in out["results"]) + sum(r["status"] == "failed" for r in out["results"])
    if stored != docs or failed:
        sys.exit(f"cold ingest stored {stored} of {docs} documents, {failed} failures")


def linking_on(work: Path, sources: list[dict], args: argparse.Namespace) -> dict:
    """Cold ingest of the first --link-portals portals, each on an empty database: linking off, linking ON as
    `watcher run` links (a process beside the poll), and (unless --no-in-process) linking ON in the poll's
    process after the poll, as before the link process."""
    k = min(args.link_portals, len(sources))
    docs = k * args.items
    cfg = write_config(work / "sources-link.yaml", sources[:k], args)
    off = run_cycle(cfg, f"sqlite:///{work / 'link-off.db'}")
    assert off is not None
    check_cold(off, docs)
    fig: dict = {"docs": docs, "off_wall": off["wall"], "off_cpu": off["cpu"], "off_docs_per_s": docs / off["wall"]}
    modes = [("", False)] + ([] if args.no_in_process else [("inproc_", True)])
    for prefix, in_process in modes:
        db = f"sqlite:///{work / f'link-on-{prefix}.db'}"
        on = run_cycle(cfg, db, link=True, timeout=args.link_timeout, in_process=in_process)
        if on is None:
            fig.update({f"{prefix}finished": False, "timeout_s": args.link_timeout})
            continue
        check_cold(on, docs)
        fig.update(
            {
                f"{prefix}finished": True,
                f"{prefix}on_wall": on["wall"],
                f"{prefix}on_cpu": on["cpu"],  # beside: the poll's process and the link process together
                f"{prefix}on_docs_per_s": docs / on["wall"],
                f"{prefix}link_cpu": on["link_cpu"],
                f"{prefix}links": on["links"],
            }
        )
    return fig


def urlwatch_warm(work: Path, urls: list[str]) -> tuple[float, float]:
    uw_urls = work / "urls.yaml"
    uw_urls.write_text("\n---\n".join(f"name: p{i}\nurl: {u}" for i, u in enumerate(urls)) + "\n")
    uw = [sys.executable, "-m", "urlwatch.cli", "--urls", str(uw_urls), "--config", str(work / "urlwatch.yaml")]
    uw += ["--cache", str(work / "urlwatch-cache.db"), "--hooks", str(work / "hooks.py")]
    env = dict(os.environ, HOME=str(work))
    timed(uw, env=env)  # fills urlwatch's cache: its cold run
    uw_wall, uw_cpu, proc = timed(uw, env=env)
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    return uw_wall, uw_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portals", type=int, default=500)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--min-delay", type=float, default=0.05, help="per-host politeness delay for the run (s)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--skip-urlwatch", action="store_true")
    ap.add_argument("--link-portals", type=int, default=50, help="portals in the linking-ON cold ingest")
    ap.add_argument("--link-timeout", type=float, default=420, help="stop the linking-ON run after this (s)")
    ap.add_argument("--link-only", action="store_true", help="only the linking ON / off cold ingests")
    ap.add_argument("--rounds", type=int, default=1, help="with --link-only: rounds of the pair")
    ap.add_argument("--no-in-process", action="store_true", help="skip the linking-ON run in the poll's process")
    args = ap.parse_args()
    if args.link_only:
        args.portals = min(args.portals, args.link_portals)

    work = Path(tempfile.mkdtemp(prefix="watcher-bench-"))
    print(f"generating {args.portals} portals x {args.items} items …", flush=True)
    port, server = start_server(args.portals, args.items)
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
    if args.link_only:
        link_only(work, sources, args)
        server.terminate()
        return
    cfg = write_config(work / "sources.yaml", sources, args)
    db = f"sqlite:///{work / 'bench.db'}"
    docs = args.portals * args.items
    cold = run_cycle(cfg, db)
    assert cold is not None
    check_cold(cold, docs)
    warm = run_cycle(cfg, db)
    assert warm is not None
    assert sum(r["new"] + r["changed"] for r in warm["results"]) == 0, "warm cycle found changes"
    assert sum(r["not_modified"] for r in warm["results"]) == args.portals
    # --no-link: the cycles above stored without linking, and a poll links what waits to be linked (that
    # backlog of the whole cold ingest would be timed here, not a warm cycle).
    cli = [sys.executable, "-m", "watcher", "-c", str(cfg), "--db", db, "poll", "--json", "--no-link"]
    cli_wall, cli_cpu, proc = timed(cli)
    assert proc.returncode == 0, proc.stderr[-2000:]
    fig: dict = {
        "docs": docs,
        "cold": {"wall": cold["wall"], "cpu": cold["cpu"], "docs_per_s": docs / cold["wall"]},
        "warm": {"wall": warm["wall"], "cpu": warm["cpu"]},
        "poll_command_warm": {"wall": cli_wall, "cpu": cli_cpu},
    }
    if not args.skip_urlwatch:
        uw_wall, uw_cpu = urlwatch_warm(work, urls)
        fig["urlwatch_warm"] = {"wall": uw_wall, "cpu": uw_cpu}
    print(f"cold ingest with linking ON ({min(args.link_portals, args.portals)} portals) …", flush=True)
    fig["linking_on"] = linking_on(work, sources, args)
    server.terminate()
    report(fig, args)


def _on(fig: dict, prefix: str) -> str:
    if not fig.get(f"{prefix}finished"):
        return "unfinished" if f"{prefix}finished" in fig else "not run"
    return (
        f"{fig[f'{prefix}on_docs_per_s']:.1f} docs/s, CPU {fig[f'{prefix}on_cpu']:.2f} s "
        f"(link stage CPU {fig[f'{prefix}link_cpu']:.2f} s), {fig[f'{prefix}links']} links"
    )


def link_only(work: Path, sources: list[dict], args: argparse.Namespace) -> None:
    """The linking off / ON pair (and ON in the poll's process), --rounds times; each round, then the best."""
    rounds = []
    for i in range(args.rounds):
        for f in work.glob("link-*.db*"):
            f.unlink()
        fig = linking_on(work, sources, args)
        rounds.append(fig)
        print(
            f"round {i + 1}: linking off {fig['off_docs_per_s']:.1f} docs/s, CPU {fig['off_cpu']:.2f} s; "
            f"linking ON beside the poll {_on(fig, '')}; ON in the poll's process {_on(fig, 'inproc_')}",
            flush=True,
        )
    best: dict = {"docs": rounds[0]["docs"], "off_docs_per_s": max(r["off_docs_per_s"] for r in rounds)}
    for prefix in ("", "inproc_"):
        done = [r for r in rounds if r.get(f"{prefix}finished")]
        best[f"{prefix}on_docs_per_s"] = max((r[f"{prefix}on_docs_per_s"] for r in done), default=None)
        best[f"{prefix}on_cpu"] = min((r[f"{prefix}on_cpu"] for r in done), default=None)
        best[f"{prefix}link_cpu"] = min((r[f"{prefix}link_cpu"] for r in done), default=None)
    print(json.dumps({"rounds": rounds, "best": best}))


def row(label: str, docs: int | None, wall: float, cpu: float | None, rate: float | None) -> None:
    cells = [f"{docs:7}" if docs else f"{'':7}", f"{wall:9.2f}", f"{cpu:9.2f}" if cpu is not None else f"{'':9}"]
    cells.append(f"{rate:9.1f}" if rate is not None else "")
    print(f"{label:44}" + "".join(cells))


def report(fig: dict, args: argparse.Namespace) -> None:
    docs, cold, warm, cli, lk = fig["docs"], fig["cold"], fig["warm"], fig["poll_command_warm"], fig["linking_on"]
    uw = fig.get("urlwatch_warm")
    print(f"\n{'':44}{'docs':>7}{'wall s':>9}{'CPU s':>9}{'docs/s':>9}")
    row("watcher cold ingest (service)", docs, cold["wall"], cold["cpu"], cold["docs_per_s"])
    row("watcher warm cycle (service)", None, warm["wall"], warm["cpu"], None)
    row("watcher poll command, warm (start-up incl.)", None, cli["wall"], cli["cpu"], None)
    if uw:
        row("urlwatch warm cycle (command)", None, uw["wall"], uw["cpu"], None)
    row("cold ingest, linking off", lk["docs"], lk["off_wall"], lk["off_cpu"], lk["off_docs_per_s"])
    modes = (("", "cold ingest, linking ON (beside the poll)"), ("inproc_", "  linking ON in the poll's process"))
    for prefix, label in modes:
        if lk.get(f"{prefix}finished"):
            on = [lk[f"{prefix}on_wall"], lk[f"{prefix}on_cpu"], lk[f"{prefix}on_docs_per_s"]]
            row(label, lk["docs"], *on)
        elif f"{prefix}finished" in lk:
            print(f"{label:44}{lk['docs']:7}  did not finish in {lk['timeout_s']:.0f} s")
    if uw:
        print(
            f"\nwarm cycle, watcher service / urlwatch: wall {warm['wall'] / uw['wall']:.2f}x (target <= 0.5), "
            f"CPU {warm['cpu'] / uw['cpu']:.2f}x (target <= 1.0)"
        )
        print(
            f"warm cycle, watcher poll command / urlwatch: wall {cli['wall'] / uw['wall']:.2f}x, "
            f"CPU {cli['cpu'] / uw['cpu']:.2f}x"
        )
    print(
        f"cold ingest: {cold['docs_per_s']:.0f} docs/s (target >= 300); per-host min_delay {args.min_delay}s, "
        f"concurrency {args.concurrency}"
    )
    if lk.get("finished"):
        print(
            f"cold ingest with linking ON: {lk['on_docs_per_s']:.1f} docs/s (target >= 300), "
            f"{lk['on_docs_per_s'] / lk['off_docs_per_s']:.3f}x the same portals with linking off; {lk['links']} links"
        )
    print(json.dumps(fig))


if __name__ == "__main__":
    main()
