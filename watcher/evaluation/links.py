"""`watcher eval links`: ingest a folder of documents in date order, link each as it arrives, and judge
every reported link against labels (`child,parent,relation,evidence`; a parent that is a 文号 or a
《title》 is outside the folder) and an optional CSV of links adjudicated by reading them.

The scoring rules are in watcher/evaluation/link_scores.py; this module reads the folder, runs the
linker through its public entry point (`Linker(store).run()`), times it per document and reads back
what it stored (storage/evaluation.py).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from storage.evaluation import StoredLink, stored_links
from storage.records import Outcome
from storage.repo import Store
from watcher.evaluation.link_scores import (
    Reported,
    Verdict,
    all_links_summary,
    date_flags,
    in_label_domain,
    judge,
    read_adjudicated,
    read_labels,
    relation_scores,
    siblings_as_derived,
    stale_verdicts,
    timing,
)
from watcher.extract.detail import signature
from watcher.extract.model import Detail, ListItem
from watcher.link.classify import Thresholds
from watcher.link.linker import Linker
from watcher.pipeline.snapshot import snapshot
from watcher.text.docno import find_docnos, find_titles, parse_date

_MD_INFO_END = "<!-- INFO END -->"
_FILE_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")
_NOT_DOCUMENTS = ("readme", "manifest")  # a corpus's own description and file list


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


def document_paths(folder: Path) -> list[Path]:
    """The .md and .txt files under `folder`, at any depth, but not its README or manifest."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.suffix in (".txt", ".md") and p.is_file() and not p.name.lower().startswith(_NOT_DOCUMENTS)
    ]


def load_folder(folder: Path) -> list[LoadedDoc]:
    return [load_document(p, folder) for p in document_paths(folder)]


def store_text(store: Store, source_id: str, list_url: str, detail: Detail, list_title: str | None = None) -> int:
    """Store a text as a new notice, as a poll stores a detail page (what it cites read from its body, by
    `detail.url`, listed on `list_url` as `list_title`, default its title); its notice id. Nothing is linked."""
    item = ListItem(detail.url, list_title or detail.title, detail.written)
    states = store.record_list(source_id, dict(url=list_url), [item])
    detail.cited_docnos = [str(x) for x in find_docnos(detail.body) if str(x) != detail.doc_no]
    detail.cited_titles = find_titles(detail.body)
    store.apply(source_id, [Outcome(states[detail.url], snapshot(detail))])
    return states[detail.url].id


def _store_one(store: Store, d: LoadedDoc) -> int:
    """Store one document as a notice (url file:<path>); its notice id."""
    detail = Detail(url=f"file:{d.path}", title=d.title or "", body=d.body, doc_no=d.doc_no, written=d.when)
    return store_text(store, "eval", f"eval:{d.path}", detail, d.title or d.path)


def _in_date_order(docs: list[LoadedDoc]) -> list[LoadedDoc]:
    return sorted(docs, key=lambda d: (d.when or date.max, d.path))


def store_documents(store: Store, docs: list[LoadedDoc]) -> dict[str, int]:
    """Store the documents in date order without linking them; the notice ids by path."""
    return {d.path: _store_one(store, d) for d in _in_date_order(docs)}


def ingest_timed(store: Store, docs: list[LoadedDoc], linker: Linker) -> tuple[dict[str, int], list[float]]:
    """Store each document as a notice (url file:<path>) in date order, running the link stage after
    each; returns the notice ids by path and the link stage's seconds per document."""
    ids: dict[str, int] = {}
    seconds: list[float] = []
    for d in _in_date_order(docs):
        ids[d.path] = _store_one(store, d)
        t = time.perf_counter()
        linker.run()
        seconds.append(time.perf_counter() - t)
    return ids, seconds


def ingest(store: Store, docs: list[LoadedDoc], linker: Linker) -> dict[str, int]:
    """Store and link each document in date order; the notice ids by path."""
    return ingest_timed(store, docs, linker)[0]


def _reported(link: StoredLink) -> Reported:
    child = link.child_url.removeprefix("file:")
    stored = link.parent_url is not None
    parent = link.parent_url.removeprefix("file:") if link.parent_url is not None else link.parent_key
    return Reported(child, parent, link.relation, stored, link.child_date, link.parent_date, link.explanation)


def evaluate(
    folder: Path,
    labels: Path,
    store: Store,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - frozen, shared safely
    adjudicated: Path | None = None,
) -> dict:
    """Ingest and link `folder` into `store` (an empty database) and judge every link it reported."""
    docs = load_folder(folder)
    paths = {d.path for d in docs}
    gold = read_labels(labels, paths)
    verdicts: list[Verdict] = read_adjudicated(adjudicated) if adjudicated else []
    _, seconds = ingest_timed(store, docs, Linker(store, thresholds=thresholds))
    reported = [_reported(ln) for ln in stored_links(store)]
    judged = judge(reported, gold, verdicts, paths)
    relations = relation_scores(reported, gold, paths)
    return {
        "documents": len(docs),
        "relations": relations,
        "siblings_reported_as_derived": siblings_as_derived(reported, gold),
        "other_links": dict(Counter(ln.relation for ln in reported if ln.relation not in gold.gold)),
        # links the per-relation figures leave out (a 《title》 not stored): judged below, with the rest
        "unscored_links": sum(not in_label_domain(ln, gold, paths) for ln in reported),
        "all_links": all_links_summary(judged),
        "false_links": [_row(j.link, j.by) for j in judged if j.verdict is False],
        "unjudged": [_row(j.link, j.by) for j in judged if j.verdict is None],
        "dates": date_flags(judged),
        "stale_adjudications": [
            dict(child=v.child, parent=v.parent, relation=v.relation) for v in stale_verdicts(verdicts, reported, paths)
        ],
        "timing": timing(seconds),
    }


def _row(ln: Reported, by: str) -> dict:
    return dict(child=ln.child, parent=ln.parent, relation=ln.relation, by=by, explanation=ln.explanation)
