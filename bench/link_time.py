"""Per-document link time against a growing store: p50 and p99 of the link stage for one new document
(fingerprint + candidates + verification + store) with 10k and 100k documents stored.

The stored documents are notices made of real paragraphs (bench/corpus.py), stored through the Store
and given their signatures in bulk with the linker's own fingerprint (storage/evaluation.py): to the
linker they are documents it has already linked, without the hours it would take to link 100k one by
one first. At each size a fresh `Linker(store)` is built (a restart: the index is rebuilt from the
stored signatures, timed), then --probes new documents are stored and linked one at a time: 70 % new
notices, 20 % derived from a stored one (half its paragraphs kept), 10 % reposts of a stored one under
a new header. Probing stops after --budget seconds per size; the number linked is printed.

    python bench/link_time.py [--sizes 10000,100000] [--probes 300] [--budget 120] [--db URL]
    quick: python bench/link_time.py --sizes 2000,10000 --probes 100
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.corpus import Doc, law_paragraphs, other_document, percentile, seed_paragraphs  # noqa: E402, I001
from bench.corpus import store_document, timed_run  # noqa: E402
from storage.evaluation import SignatureFill, add_signatures, link_counts, unsigned_texts  # noqa: E402
from storage.records import Outcome  # noqa: E402
from storage.repo import Store  # noqa: E402
from watcher.extract.model import Detail, ListItem  # noqa: E402
from watcher.link.fingerprint import shingle_hashes, signatures_bulk  # noqa: E402
from watcher.link.linker import Linker  # noqa: E402
from watcher.pipeline.snapshot import snapshot  # noqa: E402

BATCH = 1000


def fill(store: Store, start: int, stop: int, pool: list[str], rng: random.Random, params) -> list[Doc]:
    """Store documents start..stop-1 in batches, then sign them in bulk; the documents, for the probes."""
    docs = []
    for i in range(start, stop, BATCH):
        batch = [other_document(n, pool, rng) for n in range(i, min(stop, i + BATCH))]
        items = [ListItem(f"http://bench/{n}", d.title, d.written) for n, d in enumerate(batch, start=i)]
        states = store.record_list("bench", {"url": f"http://bench/list/{i}"}, items)
        outcomes = [
            Outcome(
                states[it.url],
                snapshot(
                    Detail(
                        url=it.url,
                        title=d.title,
                        body=d.body,
                        doc_no=d.doc_no,
                        issuer=d.issuer,
                        written=d.written,
                        published=d.written,
                    )
                ),
            )
            for it, d in zip(items, batch, strict=True)
        ]
        store.apply("bench", outcomes)
        docs += batch
    while rows := unsigned_texts(store, BATCH):
        sigs = signatures_bulk([shingle_hashes(r.norm_text, params.k) for r in rows], params)
        add_signatures(
            store,
            [
                SignatureFill(r.version_id, r.notice_id, params.key(), s.size, s.to_bytes())
                for r, s in zip(rows, sigs, strict=True)
            ],
        )
    return docs


def probe_document(i: int, stored: list[Doc], pool: list[str], rng: random.Random) -> tuple[str, Doc]:
    kind = rng.choices(("new", "derived", "repost"), (70, 20, 10))[0]
    new = other_document(10_000_000 + i, pool, rng)
    if kind == "new":
        return kind, new
    base = rng.choice(stored)
    paras = base.body.splitlines()
    if kind == "derived":
        kept = paras[2:-2][: max(1, (len(paras) - 4) // 2)]
        body = new.body.splitlines()
        return kind, Doc(
            new.title, "\n".join(body[:2] + kept + body[2:8] + body[-2:]), new.doc_no, new.issuer, new.written
        )
    head = [
        f"现将《{base.title}》转发给你们，请认真贯彻执行。",
        new.issuer,
        f"{new.written.year}年{new.written.month}月{new.written.day}日",
    ]
    return kind, Doc(
        f"{new.issuer}关于转发{base.title}的通知", "\n".join(head + paras), new.doc_no, new.issuer, new.written
    )


def measure(store: Store, size: int, stored: list[Doc], pool: list[str], rng: random.Random, args) -> dict:
    t = time.perf_counter()
    linker = Linker(store)
    rebuild = time.perf_counter() - t
    before = link_counts(store).links
    times: dict[str, list[float]] = {"new": [], "derived": [], "repost": []}
    started = time.perf_counter()
    for i in range(args.probes):
        kind, doc = probe_document(size * 10 + i, stored, pool, rng)
        store_document(store, size * 10 + i, doc)
        times[kind].append(timed_run(linker)[0])
        if time.perf_counter() - started > args.budget:
            break
    every = [x for v in times.values() for x in v]
    return dict(
        stored=size,
        index_rebuild_s=rebuild,
        probes=len(every),
        p50_ms=1000 * percentile(every, 50),
        p99_ms=1000 * percentile(every, 99),
        mean_ms=1000 * sum(every) / len(every),
        by_kind={
            k: dict(n=len(v), p50_ms=1000 * percentile(v, 50), p99_ms=1000 * percentile(v, 99))
            for k, v in times.items()
            if v
        },
        links_made=link_counts(store).links - before,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--probes", type=int, default=300)
    ap.add_argument("--budget", type=float, default=120, help="seconds of probing per size at most")
    ap.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = ap.parse_args()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    rng = random.Random(13)
    pool = law_paragraphs() + seed_paragraphs()
    rows = []
    print(f"{'stored':>8}{'fill s':>8}{'rebuild s':>10}{'probes':>8}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}", end="")
    print(f"{'links':>7}  p50/p99 ms by kind")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.db or f"sqlite:///{tmp}/link_time.db")
        params = Linker(store).params
        stored: list[Doc] = []
        filled = 0
        for size in sizes:
            t = time.perf_counter()
            stored += fill(store, filled, size, pool, rng, params)
            fill_s = time.perf_counter() - t
            filled = size
            r = measure(store, size, stored, pool, rng, args) | {"fill_s": fill_s}
            rows.append(r)
            kinds = "  ".join(f"{k} {v['p50_ms']:.0f}/{v['p99_ms']:.0f}" for k, v in r["by_kind"].items())
            print(
                f"{size:8}{r['fill_s']:8.0f}{r['index_rebuild_s']:10.2f}{r['probes']:8}{r['p50_ms']:9.1f}"
                f"{r['p99_ms']:9.1f}{r['mean_ms']:9.1f}{r['links_made']:7}  {kinds}",
                flush=True,
            )
        store.close()
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(
            f"{b['stored']} / {a['stored']} stored: p50 {b['p50_ms'] / a['p50_ms']:.2f}x, "
            f"p99 {b['p99_ms'] / a['p99_ms']:.2f}x (flat: 1)"
        )
    print(json.dumps(dict(args=vars(args), sizes=rows)))


if __name__ == "__main__":
    main()
