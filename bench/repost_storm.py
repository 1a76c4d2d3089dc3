"""Repost storm: one provincial document reposted by --reposts portals (each with its own 转发 header,
footer, 文号 and city) among --others other notices made of real paragraphs (bench/corpus.py), stored
and linked one document at a time in arrival order. The stream is cut into --slices slices: per slice,
the link stage's time per document and the links and link events stored so far. With a bounded linker,
links grow linearly (about one per repost) and time per document stays flat; the ratios last slice /
first slice are printed last, then every figure as JSON.

The run stops after --budget seconds and reports the slices it finished.

    python bench/repost_storm.py [--reposts 500] [--others 5000] [--slices 10] [--budget 540] [--db URL]
    quick: python bench/repost_storm.py --reposts 50 --others 500 --slices 5
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.corpus import Doc, city, law_paragraphs, other_document, percentile, seed, seed_paragraphs  # noqa: E402, I001
from bench.corpus import store_document, timed_run  # noqa: E402
from storage.evaluation import link_counts  # noqa: E402
from storage.repo import Store  # noqa: E402
from watcher.link.linker import Linker  # noqa: E402

ORIGINAL = "推进绿色产业发展的意见"  # 江苏省人民政府 苏政发〔2020〕28号, a demo seed


def repost(i: int, meta: dict, text: str) -> Doc:
    """The original with one city's 转发 covering notice before it and its own footer after it."""
    place = city(i)
    when = date(2020, 4, 1) + timedelta(days=i // 3)
    head = [
        f"各县（市、区）人民政府，{place}各委办局，{place}各直属单位：",
        f"现将《{meta['title']}》（{meta['doc_no']}）转发给你们，请结合{place}实际，认真贯彻执行。",
        f"{place}人民政府办公室",
        f"{when.year}年{when.month}月{when.day}日",
    ]
    foot = ["（此件公开发布）", f"{place}人民政府办公室秘书处　{when.year}年{when.month}月{when.day}日印发"]
    foot.append(f"联系电话：0{510 + i % 400}-{80000000 + i * 7919 % 9999999}")
    title = f"{place}人民政府办公室关于转发{meta['title']}的通知"
    doc_no = f"{place[:2]}政办发〔{when.year}〕{i + 1}号"
    return Doc(title, "\n".join(head + [meta["title"], text] + foot), doc_no, f"{place}人民政府办公室", when)


def stream(args: argparse.Namespace) -> list[tuple[bool, Doc]]:
    """(is a repost, document) in arrival order: the original first, the reposts spread evenly."""
    meta, text = seed(ORIGINAL)
    rng = random.Random(11)
    pool = law_paragraphs() + seed_paragraphs(exclude=ORIGINAL)
    original = Doc(meta["title"], text, meta["doc_no"], meta["issuer"], date.fromisoformat(meta["written"]))
    others = [other_document(i, pool, rng) for i in range(args.others)]
    out: list[tuple[bool, Doc]] = [(True, original)]
    step = max(1, args.others // max(1, args.reposts))
    r = 0
    for i, d in enumerate(others):
        if i % step == 0 and r < args.reposts:
            out.append((True, repost(r, meta, text)))
            r += 1
        out.append((False, d))
    out += [(True, repost(k, meta, text)) for k in range(r, args.reposts)]
    return out


def run(args: argparse.Namespace, store: Store) -> list[dict]:
    docs = stream(args)
    size = -(-len(docs) // args.slices)
    linker = Linker(store)
    started = time.perf_counter()
    slices: list[dict] = []
    for k in range(0, len(docs), size):
        times, storm_times = [], []
        for n, (is_repost, d) in enumerate(docs[k : k + size], start=k):
            store_document(store, n, d)
            seconds, _ = timed_run(linker)
            times.append(seconds)
            if is_repost:
                storm_times.append(seconds)
        c = link_counts(store)
        before = slices[-1]["links"] if slices else 0
        slices.append(
            dict(
                slice=len(slices) + 1,
                stored=k + len(times),
                reposts=len(storm_times),
                ms_per_doc=1000 * sum(times) / len(times),
                p50_ms=1000 * percentile(times, 50),
                p99_ms=1000 * percentile(times, 99),
                ms_per_repost=1000 * sum(storm_times) / len(storm_times) if storm_times else None,
                links=c.links,
                links_added=c.links - before,
                link_events=c.link_events,
                by_relation=c.by_relation,
            )
        )
        print_slice(slices[-1])
        if time.perf_counter() - started > args.budget and k + size < len(docs):
            print(f"budget of {args.budget:.0f} s spent: stopped after {len(slices)} of {args.slices} slices")
            break
    return slices


HEADER = f"{'slice':>5}{'stored':>8}{'reposts':>8}{'ms/doc':>9}{'p50 ms':>8}{'p99 ms':>9}{'ms/repost':>10}"
HEADER += f"{'links':>9}{'added':>8}{'events':>8}  by relation"


def print_slice(s: dict) -> None:
    rp = f"{s['ms_per_repost']:10.1f}" if s["ms_per_repost"] is not None else f"{'—':>10}"
    print(
        f"{s['slice']:5}{s['stored']:8}{s['reposts']:8}{s['ms_per_doc']:9.1f}{s['p50_ms']:8.1f}{s['p99_ms']:9.1f}{rp}"
        f"{s['links']:9}{s['links_added']:8}{s['link_events']:8}  {s['by_relation']}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reposts", type=int, default=500)
    ap.add_argument("--others", type=int, default=5000)
    ap.add_argument("--slices", type=int, default=10)
    ap.add_argument("--budget", type=float, default=540, help="stop after the slice that passes this (s)")
    ap.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    args = ap.parse_args()
    print(f"{args.reposts} reposts of one text among {args.others} other documents, {args.slices} slices")
    print(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(args.db or f"sqlite:///{tmp}/storm.db")
        slices = run(args, store)
        store.close()
    first, last = slices[0], slices[-1]
    ratios = dict(
        ms_per_doc=last["ms_per_doc"] / first["ms_per_doc"],
        links_added_per_doc=(last["links_added"] / (last["stored"] - slices[-2]["stored"]))
        / (first["links_added"] / first["stored"])
        if len(slices) > 1 and first["links_added"]
        else None,
    )
    print(
        f"last slice / first slice: time per document {ratios['ms_per_doc']:.2f}x (flat: 1), links added per "
        f"document {ratios['links_added_per_doc'] or float('nan'):.2f}x (linear growth: 1); {last['links']} links, "
        f"{last['link_events']} link events for {last['stored']} documents"
    )
    print(json.dumps(dict(args=vars(args), slices=slices, ratios=ratios), ensure_ascii=False))


if __name__ == "__main__":
    main()
