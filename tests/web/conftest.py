"""Fixtures of the web view's tests: a seeded database (SQLite and PostgreSQL), the app in-process for the API, and a
real `watcher serve` (uvicorn) on a loopback port with Debian's chromium driving it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.web.seed import CONFIG, Seeded, seed
from watcher.web.app import create_app


@pytest.fixture
def seeded(db_url) -> Iterator[Seeded]:
    s = seed(db_url, extra_other=120)
    yield s
    s.store.close()


@pytest.fixture
def client(seeded) -> TestClient:
    return TestClient(create_app(seeded.cfg, seeded.store))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def start_server(workdir: Path, host: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """`watcher serve` as a person starts it, on a free port; returns when it answers (or fails the test)."""
    port = free_port(host)
    cmd = [sys.executable, "-m", "watcher", "-c", str(workdir / "sources.yaml"), "--db", str(workdir / "web.db")]
    proc = subprocess.Popen(
        [*cmd, "serve", "--host", host, "--port", str(port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://{host}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"watcher serve exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            httpx.get(base + "/notices", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("watcher serve did not answer within 30 s")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Seeded, Path]]:
    """A seeded SQLite database and its sources.yaml in one folder."""
    workdir = tmp_path_factory.mktemp("web")
    (workdir / "sources.yaml").write_text(CONFIG, encoding="utf-8")
    s = seed(f"sqlite:///{workdir / 'web.db'}", extra_other=120)
    yield s, workdir
    s.store.close()


@pytest.fixture(scope="module")
def live(served) -> Iterator[str]:
    """The base URL of a real `watcher serve` on 127.0.0.1 (no token needed there)."""
    proc, base = start_server(served[1], "127.0.0.1")
    yield base
    stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed at /usr/bin/chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()
