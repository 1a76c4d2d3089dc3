"""Fixtures of the notifier tests: the demo portal polled once, and real receivers on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from storage.repo import Store
from tests.receivers import HookReceiver, SMTPReceiver
from watcher.config.loader import load_config
from watcher.demo.portal import build_demo_site
from watcher.demo.server import PortalServer
from watcher.link.stage import make_linker
from watcher.pipeline.poll import poll_sources


@pytest.fixture(scope="package")
def demo_db(tmp_path_factory) -> tuple[Path, list[dict]]:
    """The demo portal polled once into a SQLite file (5 notices, their links); tests copy it."""
    work = tmp_path_factory.mktemp("demo")
    with PortalServer() as server:
        entries = build_demo_site(server)
        for e in entries:
            e["tags"] = ["江苏"] if e["id"] in ("demo-jiangsu", "demo-lianyungang", "demo-huaian") else ["other"]
            e["baseline"] = (
                False  # these tests are about announcing the first poll (tests/notify/test_alerts_baseline.py: the default)
            )
        path = work / "sources.yaml"
        YAML().dump({"sources": entries}, path)
        cfg = load_config(path)
        store = Store.open(f"sqlite:///{work / 'demo.db'}")
        asyncio.run(poll_sources(cfg.enabled, store, concurrency=8, linker=make_linker(cfg, store)))
        store.close()
    return work / "demo.db", entries


@pytest.fixture
def hooks():
    recv = HookReceiver()
    yield recv
    recv.close()


@pytest.fixture
def smtp(tmp_path):
    recv = SMTPReceiver(tmp_path)
    yield recv
    recv.close()
