"""`watcher demo`: the whole pipeline against a local portal, no network needed."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

from ruamel.yaml import YAML

from storage import reads
from storage.repo import Store
from watcher.config.loader import load_config
from watcher.link.explain import links_read, render
from watcher.link.stage import make_linker
from watcher.pipeline.cycle import run_cycle

from .portal import build_demo_site
from .server import PortalServer


def _notice_report(store: Store, notice_id: int) -> dict:
    """One stored notice as the demo prints it: its fields, what it cites and its links to parents."""
    d = reads.notice_detail(store, notice_id)
    return dict(
        id=d.id,
        source=d.source_id,
        url=d.url,
        title=d.title,
        doc_no=d.doc_no,
        issuer=d.issuer,
        written=d.written and d.written.isoformat(),
        published=d.published and d.published.isoformat(),
        cites=d.citations.docnos if d.citations else [],
        versions=d.versions,
        chars=len(d.body),
        links=[
            dict(relation=rec.relation, parent_id=rec.parent_id, parent_key=rec.parent_key, explanation=render(facts))
            for rec, facts in links_read(store, notice_id)
            if rec.child_id == notice_id
        ],
    )


def run_demo(workdir: Path) -> tuple[dict, list]:
    """Returns a JSON-able report and the RunResults."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(db_path) + suffix)
        if p.exists():
            p.unlink()
    sources_path = workdir / "sources.yaml"
    with PortalServer() as server:
        entries = build_demo_site(server)
        yaml = YAML()
        yaml.default_flow_style = False
        with sources_path.open("w", encoding="utf-8") as fh:
            fh.write("# Written by `watcher demo`: sources pointing at the demo portal on loopback.\n")
            yaml.dump({"defaults": {"concurrency": 8}, "sources": entries}, fh)
        config = load_config(sources_path)
        store = Store.open(f"sqlite:///{db_path}")
        try:
            results = asyncio.run(run_cycle(config, store, linker=make_linker(config, store))).results
            notices = [
                _notice_report(store, n.id) for n in sorted(reads.list_notices(store, limit=10_000), key=lambda n: n.id)
            ]
            from datetime import date

            from notifiers.digest import render_digest
            from notifiers.items import load_items

            _, _, html = render_digest(load_items(store), date.today(), store)
            digest_path = workdir / "digest.html"
            digest_path.write_text(html, encoding="utf-8")
        finally:
            store.close()
    return {
        "database": str(db_path),
        # What to type next: the database by its path, as given (relative to where the demo ran).
        "next": f"watcher --db {shlex.quote(str(db_path))} docs list",
        "sources": str(sources_path),
        "notices": notices,
        "digest": str(digest_path),
        "results": [r.as_dict() for r in results],
    }, results
