"""`watcher demo`: the whole pipeline against a local portal, no network needed."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ruamel.yaml import YAML

from storage.repo import Store

from watcher.config.loader import load_config
from watcher.views.links import links_of
from watcher.link.stage import make_linker
from watcher.pipeline.cycle import run_cycle
from .portal import build_demo_site
from .server import PortalServer


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
            notices = []
            for n in sorted(store.notices(), key=lambda n: n.id):
                latest = store.versions(n.id)[-1] if n.version_count else None
                cites = json.loads(latest.citations_json)["docnos"] if latest else []
                notices.append(dict(id=n.id, source=n.source_id, url=n.url, title=n.title, doc_no=n.doc_no,
                                    issuer=n.issuer, written=n.written and n.written.isoformat(),
                                    published=n.published and n.published.isoformat(), cites=cites,
                                    versions=n.version_count, chars=len(latest.body) if latest else 0,
                                    links=[dict(relation=l["relation"], parent_id=l["parent_id"],
                                                parent_key=l["parent_key"], explanation=l["explanation"])
                                           for l in links_of(store, n.id) if l["direction"] == "parent"]))
            from datetime import date

            from notifiers.digest import render_digest
            from notifiers.items import load_items
            _, _, html = render_digest(load_items(store), date.today(), store)
            digest_path = workdir / "digest.html"
            digest_path.write_text(html, encoding="utf-8")
        finally:
            store.close()
    return {"database": str(db_path), "sources": str(sources_path), "notices": notices, "digest": str(digest_path),
            "results": [r.as_dict() for r in results]}, results

