"""`watcher eval links`: ingest a folder of documents in date order, link them, and score the links
against labels (`child,parent,relation,evidence`; a parent that is a 文号 is outside the folder)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from storage.records import Outcome
from storage.repo import Store
from watcher.extract.detail import signature
from watcher.extract.model import Detail, ListItem
from watcher.link.classify import Thresholds
from watcher.link.linker import Linker
from watcher.pipeline.snapshot import snapshot
from watcher.text.docno import find_docnos, parse_date

_MD_INFO_END = "<!-- INFO END -->"
_FILE_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")


@dataclass
class LoadedDoc:
    path: str
    title: str | None
    doc_no: str | None
    when: date | None
    body: str


def load_document(path: Path, root: Path) -> LoadedDoc:
    """A plain-text or Markdown document with what can be read of its title, 文号 and date."""
    text = path.read_text(encoding="utf-8")
    rel = path.relative_to(root).as_posix()
    m = _FILE_DATE.search(path.name)
    if path.suffix == ".md":
        head, _, body = text.partition(_MD_INFO_END)
        title = next((line[2:].strip() for line in head.splitlines() if line.startswith("# ")), None)
        dates = [d for d in map(parse_date, head.splitlines()) if d]
        when = date.fromisoformat(m.group(1)) if m else (max(dates) if dates else None)
        return LoadedDoc(rel, title, None, when, body if body.strip() else head)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ""
    title = first if len(first) <= 60 and not re.search(r"[。；;，,]", first) else None
    doc_no = None
    for line in lines[:40]:
        found = find_docnos(line)
        if found and len(line) - len(str(found[0])) <= 4:  # a 文号 alone on its line: the document's own
            doc_no = str(found[0])
            break
    _, signed = signature(lines)
    when = date.fromisoformat(m.group(1)) if m else (signed or parse_date(text[:300]))
    return LoadedDoc(rel, title, doc_no, when, text)


def ingest(store: Store, docs: list[LoadedDoc], linker: Linker) -> dict[str, int]:
    """Store each document as a notice (url file:<path>) in date order, linking as it arrives."""
    ids: dict[str, int] = {}
    for d in sorted(docs, key=lambda d: (d.when or date.max, d.path)):
        url = f"file:{d.path}"
        states = store.record_list("eval", dict(url=f"eval:{d.path}"), [ListItem(url, d.title or d.path, d.when)])
        detail = Detail(
            url=url,
            title=d.title or "",
            body=d.body,
            doc_no=d.doc_no,
            written=d.when,
            cited_docnos=[str(x) for x in find_docnos(d.body) if str(x) != d.doc_no],
        )
        from watcher.text.docno import find_titles

        detail.cited_titles = find_titles(d.body)
        store.apply("eval", [Outcome(states[url], snapshot(detail))])
        ids[d.path] = states[url].id
        linker.run()
    return ids


def evaluate(folder: Path, labels: Path, store: Store, thresholds: Thresholds = Thresholds()) -> dict:  # noqa: B008 - frozen, shared safely
    docs = [load_document(p, folder) for p in sorted(folder.rglob("*")) if p.suffix in (".txt", ".md")]
    linker = Linker(store, thresholds=thresholds)
    ids = ingest(store, docs, linker)
    path_of = {v: k for k, v in ids.items()}
    links = store.all_links()
    predicted: dict[str, set] = {}
    unscored = 0
    for ln in links:
        child = path_of.get(ln.child_id)
        parent = path_of.get(ln.parent_id) if ln.parent_id else ln.parent_key
        if ln.parent_id is None and not find_docnos(ln.parent_key):
            unscored += 1  # a cited title outside the folder: the labels cannot say
            continue
        predicted.setdefault(ln.relation, set()).add((child, parent))
    gold: dict[str, set] = {}
    with labels.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            gold.setdefault(row["relation"], set()).add((row["child"], row["parent"]))
    report = {}
    for rel in sorted(gold):  # relations the labels speak of; others are counted below
        g, p = gold.get(rel, set()), predicted.get(rel, set())
        tp = len(g & p)
        report[rel] = dict(
            gold=len(g),
            predicted=len(p),
            tp=tp,
            precision=tp / len(p) if p else None,
            recall=tp / len(g) if g else None,
            missed=sorted(g - p),
            wrong=sorted(p - g),
        )
    children_of: dict[str, set] = {}
    for child, parent in gold.get("derived", set()):
        children_of.setdefault(parent, set()).add(child)
    siblings = {frozenset((a, b)) for kids in children_of.values() for a in kids for b in kids if a != b}
    sibling_as_derived = sorted(
        tuple(sorted(pair)) for pair in {frozenset(x) for x in predicted.get("derived", set())} & siblings
    )
    others = {rel: len(p) for rel, p in predicted.items() if rel not in gold}
    return {
        "documents": len(docs),
        "relations": report,
        "siblings_reported_as_derived": sibling_as_derived,
        "other_links": others,
        "unscored_links": unscored,
    }
