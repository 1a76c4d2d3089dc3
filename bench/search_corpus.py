"""Notices for measuring search at scale: sentences of the real documents the tests ship (the demo's seeds
and the linking corpus), shuffled into notices of 3,000 to 6,000 characters with 文号 and dates."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from storage.records import Snapshot
from watcher.text.normalise import content_hash, normalise

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "watcher" / "demo" / "seeds", ROOT / "tests" / "fixtures" / "linking"]
CODES = ["苏政发", "苏政办发", "国发", "国办发", "粤府", "浙政发", "赣府发", "连政发", "淮政发", "汕府"]


def _sentences() -> tuple[list[str], list[str]]:
    sentences, titles = [], []
    for folder in SOURCES:
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".txt", ".md"):
                continue
            titles.append(re.sub(r"^[\w]+__|\(.*\)$", "", path.stem))
            text = path.read_text(encoding="utf-8")
            sentences += [s for s in re.split(r"(?<=[。；！？\n])", text) if len(s.strip()) >= 8]
    return sentences, titles


def notices(n: int, batch: int, seed: int = 13) -> Iterator[list[Snapshot]]:
    rnd = random.Random(seed)
    sentences, titles = _sentences()
    out: list[Snapshot] = []
    for i in range(n):
        body = "".join(rnd.choices(sentences, k=rnd.randint(30, 60)))
        doc_no = f"{rnd.choice(CODES)}〔{rnd.randint(2015, 2024)}〕{rnd.randint(1, 120)}号"
        if i % 100 == 0:  # one in a hundred cites the 文号 the benchmark asks for
            body = f"根据苏政发〔2020〕28号，{body}"
        title = f"{rnd.choice(titles)}（第{i}号）"
        norm = normalise(body)
        out.append(
            Snapshot(
                url=f"http://bench/{i}",
                title=title,
                body=body,
                norm_text=norm,
                content_hash=content_hash(title + norm),
                doc_no=doc_no,
                published=date(2015, 1, 1) + timedelta(days=rnd.randint(0, 3650)),
            )
        )
        if len(out) == batch:
            yield out
            out = []
    if out:
        yield out
