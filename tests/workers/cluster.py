"""A cluster on one machine for the worker tests and the benchmark: portals on their own 127.x addresses,
sources.yaml pointing at them, and `watcher worker` processes against one PostgreSQL schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page
from watcher.demo.server import PortalServer

ROOT = Path(__file__).resolve().parents[2]


def address(i: int) -> str:
    """The i-th portal's own loopback address (127.0.0.1 is left to the receivers)."""
    return f"127.{10 + i // 60000}.{(i // 250) % 240}.{i % 250 + 1}"


def build_portal(srv: PortalServer, i: int, items: int, delay: float = 0.0) -> None:
    """One list page of `items` detail pages, each a distinct notice."""
    rows = []
    for k in range(items):
        path = f"/art/{k}.html"
        title = f"第{i}号门户关于做好第{k}项重点工作的通知"
        meta = dict(
            title=title,
            doc_no=f"测政发〔2024〕{i * items + k + 1}号",
            issuer="测试市人民政府",
            written="2024-03-01",
            published=f"2024-03-{k % 28 + 1:02d}",
            index_no=f"W-{i}-{k}",
        )
        body = [f"各有关单位：现将第{i}-{k}项工作通知如下。", f"一、做好第{i}号门户第{k}项工作。", "测试市人民政府"]
        srv.add(path, detail_page(meta, body), delay=delay)
        rows.append((path, title, meta["published"]))
    srv.add("/index.html", list_page("政府文件", rows))


def source_entry(sid: str, url: str, min_delay: float, **over) -> dict:
    entry = dict(
        id=sid,
        name=f"测试门户 {sid}",
        kind="html",
        urls=[url],
        list=dict(LIST_SELECTORS),
        detail=dict(DETAIL_SELECTORS),
        schedule={"interval": "60s", "jitter": 0},
        fetch={"min_delay": min_delay, "per_host_concurrency": 1, "retries": 2, "timeout": 10, "robots": False},
        baseline=False,  # every notice announced, the first poll's too
    )
    entry.update(over)
    return entry


def write_config(path: Path, sources: list[dict], channels: list[dict] | None = None) -> Path:
    data: dict = {"sources": sources}
    if channels:
        data["channels"] = channels
    YAML().dump(data, path)
    return path


class Workers:
    """`watcher worker` processes, each logging to its own file."""

    def __init__(self, db_url: str, config: Path, logs: Path, env: dict[str, str] | None = None):
        self.db_url, self.config, self.logs = db_url, config, logs
        self.env = {**os.environ, **(env or {})}
        self.procs: list[subprocess.Popen] = []

    def start(self, n: int, *args: str) -> list[subprocess.Popen]:
        started = []
        for _ in range(n):
            k = len(self.procs)
            log = open(self.logs / f"worker{k}.log", "wb")  # noqa: SIM115 - closed with the process
            cmd = [sys.executable, "-m", "watcher", "-v", "--db", self.db_url, "-c", str(self.config), "worker"]
            proc = subprocess.Popen([*cmd, "--name", f"w{k}", *args], stdout=log, stderr=log, env=self.env, cwd=ROOT)
            self.procs.append(proc)
            started.append(proc)
        return started

    def log(self, k: int) -> str:
        return (self.logs / f"worker{k}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def wait_for(
    what: Callable[[], bool], timeout: float, message: str | Callable[[], str], workers: Workers | None = None
) -> None:
    """Poll `what` until true; on timeout fail with the message (a function: the state then) and the workers' logs'
    ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        time.sleep(0.2)
    tails = ""
    if workers is not None:
        tails = "\n".join(f"--- worker{k}\n{workers.log(k)[-3000:]}" for k in range(len(workers.procs)))
    said = message() if callable(message) else message
    raise AssertionError(f"{said} (not within {timeout:g}s)\n{tails}")
