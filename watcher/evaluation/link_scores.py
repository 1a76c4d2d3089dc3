"""Scoring reported links, without a database: every link the linker reported is judged true or false
by the labels, by an adjudicated CSV (links read by hand), or left unjudged.

A link is named `(child, parent, relation)`: the child is a document's path in the folder; the parent
is a path too, or, for a parent that is not stored, the 文号 or 《title》 the linker named it by.

How a reported link is judged, first rule that applies:
  1. the labels list it for its relation: true;
  2. a sibling link between two documents the labels derive from one parent: true;
  3. the adjudicated CSV judges it (child, parent, relation, verdict): that verdict;
  4. its relation is labelled and its parent is one the labels could name (a document of the folder, a
     文号, or a key the labels name): false, as the labels list every such link;
  5. otherwise it is unjudged: counted apart, and against precision only in the stricter figure.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from watcher.errors import WatcherError
from watcher.text.docno import find_docnos
from watcher.text.titles import fold_title

Pair = tuple[str, str]  # (child, parent)


def ref_key(parent: str, documents: frozenset[str] | set[str]) -> str:
    """One spelling of a parent: a document's path as it is, a 文号 or title folded (《中华人民共和国水法》,
    〈水法〉 and 水法 are one key), so labels, adjudications and the linker's keys meet."""
    return parent if parent in documents else fold_title(parent)


@dataclass(frozen=True)
class Reported:
    """A link as the linker stored it, named by paths (and the parent's key when it is not stored)."""

    child: str
    parent: str
    relation: str
    stored_parent: bool
    child_date: date | None = None
    parent_date: date | None = None
    explanation: str = ""


@dataclass(frozen=True)
class Verdict:
    """One adjudicated link: read by hand and found true or false. `parent` as written in the CSV."""

    child: str
    parent: str
    relation: str
    verdict: bool
    note: str = ""

    def key(self, documents: set[str]) -> tuple[str, str, str]:
        return (self.child, ref_key(self.parent, documents), self.relation)


@dataclass
class Labels:
    """The labelled links, per relation, as (child, parent) pairs; parents keyed with `ref_key`."""

    gold: dict[str, set[Pair]] = field(default_factory=dict)

    def siblings(self) -> set[frozenset[str]]:
        """Pairs of documents labelled derived from one parent, unless one derives from the other."""
        children_of: dict[str, set[str]] = {}
        for child, parent in self.gold.get("derived", set()):
            children_of.setdefault(parent, set()).add(child)
        derived = {frozenset(p) for p in self.gold.get("derived", set())}
        return {frozenset((a, b)) for kids in children_of.values() for a in kids for b in kids if a != b} - derived

    def parents(self) -> set[str]:
        return {p for pairs in self.gold.values() for _, p in pairs}


def _rows(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV that has at least these columns, values stripped."""
    with path.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise AdjudicationError(f"{path}: no column {', '.join(missing)} (expected {','.join(columns)})")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def read_labels(path: Path, documents: set[str]) -> Labels:
    """`child,parent,relation[,evidence]` rows."""
    labels = Labels()
    for row in _rows(path, ("child", "parent", "relation")):
        labels.gold.setdefault(row["relation"], set()).add((row["child"], ref_key(row["parent"], documents)))
    return labels


class AdjudicationError(WatcherError):
    """A labels or adjudicated CSV that cannot be read."""


def read_adjudicated(path: Path) -> list[Verdict]:
    """`child,parent,relation,verdict,note` rows; verdict true or false. A row with an empty verdict is
    not judged yet (a line pasted from --list-unjudged) and is skipped."""
    out: list[Verdict] = []
    for n, row in enumerate(_rows(path, ("child", "parent", "relation", "verdict")), start=2):
        verdict = row["verdict"].lower()
        if not verdict:
            continue
        if verdict not in ("true", "false"):
            raise AdjudicationError(f"{path}:{n}: verdict must be true or false, not {verdict!r}")
        out.append(Verdict(row["child"], row["parent"], row["relation"], verdict == "true", row.get("note", "")))
    return out


@dataclass
class Judged:
    link: Reported
    verdict: bool | None  # None: unjudged
    by: str  # labels | adjudicated | unjudged


def judge(
    reported: Iterable[Reported], labels: Labels, adjudicated: Iterable[Verdict], documents: set[str]
) -> list[Judged]:
    """Each reported link with its verdict and where the verdict comes from (the rules above)."""
    verdicts = {v.key(documents): v.verdict for v in adjudicated}
    siblings = labels.siblings()
    nameable = labels.parents()
    out = []
    for ln in reported:
        parent = ref_key(ln.parent, documents)
        if (ln.child, parent) in labels.gold.get(ln.relation, set()):
            out.append(Judged(ln, True, "labels"))
        elif ln.relation == "sibling" and frozenset((ln.child, parent)) in siblings:
            out.append(Judged(ln, True, "labels"))
        elif (ln.child, parent, ln.relation) in verdicts:
            out.append(Judged(ln, verdicts[(ln.child, parent, ln.relation)], "adjudicated"))
        elif ln.relation in labels.gold and (ln.stored_parent or find_docnos(ln.parent) or parent in nameable):
            out.append(Judged(ln, False, "labels"))
        else:
            out.append(Judged(ln, None, "unjudged"))
    return out


def in_label_domain(ln: Reported, labels: Labels, documents: set[str]) -> bool:
    """What the per-relation figures score: links to stored documents, to 文号, or to keys the labels name
    (a 《title》 not stored is outside it: the labels cannot say)."""
    return ln.stored_parent or bool(find_docnos(ln.parent)) or ref_key(ln.parent, documents) in labels.parents()


def relation_scores(reported: Iterable[Reported], labels: Labels, documents: set[str]) -> dict[str, dict]:
    """Precision and recall per labelled relation, by the labels alone (as before adjudication)."""
    predicted: dict[str, set[Pair]] = {}
    for ln in reported:
        if in_label_domain(ln, labels, documents):
            predicted.setdefault(ln.relation, set()).add((ln.child, ref_key(ln.parent, documents)))
    report = {}
    for rel in sorted(labels.gold):
        g, p = labels.gold[rel], predicted.get(rel, set())
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
    return report


def siblings_as_derived(reported: Iterable[Reported], labels: Labels) -> list[Pair]:
    """Documents labelled derived from one parent that were reported as derived from each other."""
    derived = {frozenset((ln.child, ln.parent)) for ln in reported if ln.relation == "derived" and ln.stored_parent}
    found = derived & labels.siblings()
    return sorted((a, b) for a, b in (sorted(pair) for pair in found))


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def all_links_summary(judged: list[Judged]) -> dict:
    """Counts per relation (true, false, unjudged), the sources of verdicts, and precision two ways:
    over the judged links, and with every unjudged link counted as wrong."""
    per: dict[str, Counter] = {}
    for j in judged:
        key = "placeholder" if not j.link.stored_parent else "stored"
        c = per.setdefault(j.link.relation, Counter())
        c["reported"] += 1
        c[{True: "true", False: "false", None: "unjudged"}[j.verdict]] += 1
        c[f"to_{key}"] += 1
    by = Counter(f"{j.by}_{j.verdict}".lower() for j in judged if j.verdict is not None)
    true = sum(j.verdict is True for j in judged)
    false = sum(j.verdict is False for j in judged)
    placeholders = [j for j in judged if not j.link.stored_parent]
    return dict(
        reported=len(judged),
        true=true,
        false=false,
        unjudged=len(judged) - true - false,
        precision_judged=_ratio(true, true + false),
        precision_unjudged_as_wrong=_ratio(true, len(judged)),
        true_by_labels=by["labels_true"],
        true_by_adjudication=by["adjudicated_true"],
        false_by_labels=by["labels_false"],
        false_by_adjudication=by["adjudicated_false"],
        placeholders=dict(
            reported=len(placeholders),
            true=sum(j.verdict is True for j in placeholders),
            false=sum(j.verdict is False for j in placeholders),
            unjudged=sum(j.verdict is None for j in placeholders),
        ),
        by_relation={
            rel: {k: c[k] for k in ("reported", "true", "false", "unjudged")} for rel, c in sorted(per.items())
        },
    )


def date_flags(judged: list[Judged]) -> dict[str, list[dict]]:
    """Links whose parent is dated after its child, and, apart, links to a stored parent whose child has
    no date (nothing can be said of their order)."""
    after, unknown = [], []
    for j in judged:
        ln = j.link
        if not ln.stored_parent:
            continue
        row = dict(
            child=ln.child,
            parent=ln.parent,
            relation=ln.relation,
            child_date=ln.child_date.isoformat() if ln.child_date else None,
            parent_date=ln.parent_date.isoformat() if ln.parent_date else None,
            verdict=j.verdict,
        )
        if ln.child_date is None:
            unknown.append(row)
        elif ln.parent_date is not None and ln.parent_date > ln.child_date:
            after.append(row)
    return dict(parent_after_child=after, child_date_unknown=unknown)


def stale_verdicts(adjudicated: Iterable[Verdict], reported: Iterable[Reported], documents: set[str]) -> list[Verdict]:
    """Adjudicated rows that match no reported link (the linker no longer reports them)."""
    seen = {(ln.child, ref_key(ln.parent, documents), ln.relation) for ln in reported}
    return [v for v in adjudicated if v.key(documents) not in seen]


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0–100) of a list; None when it is empty."""
    if not values:
        return None
    s = sorted(values)
    rank = max(1, -(-len(s) * q // 100))  # ceil(n·q/100), at least the first
    return s[int(rank) - 1]


def timing(seconds: list[float]) -> dict:
    """The link stage's time per document, in milliseconds, and in total (seconds)."""
    ms = [s * 1000 for s in seconds]
    return dict(
        documents=len(ms),
        p50_ms=percentile(ms, 50),
        p99_ms=percentile(ms, 99),
        max_ms=max(ms) if ms else None,
        total_s=sum(seconds),
    )
