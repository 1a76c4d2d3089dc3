"""Linking measured on a labelled folder of documents from outside shared/ (issue #11; by default
tests/fixtures/linking_outside, or tests/fixtures/linking_unseen, or any folder laid out the same way:
docs/, links.csv, adjudicated.csv, causes.csv): the same figures as `watcher eval links`, the targets the
lead set, and every missed or false link with the cause recorded for it in the folder's causes.csv (read
by hand from the linker's explanation and its purpose reading; a link with no recorded cause is printed
as such, to be looked at).

Targets: derived and revision precision >= 0.95 and recall >= 0.9; no sibling reported as derived;
precision over all reported links >= 0.9 (of the judged links).

    python bench/eval_outside.py [FOLDER] [--json]
    python bench/eval_outside.py tests/fixtures/linking_unseen

Prints the figures, then them as JSON on the last line with --json; exit status 0 either way (a bench
reports, the test asserts).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from storage.repo import Store  # noqa: E402
from watcher.evaluation.links import evaluate  # noqa: E402
from watcher.text.titles import fold_title  # noqa: E402

FOLDER = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "linking_outside"
TARGETS = {"precision": 0.95, "recall": 0.9, "all_links_precision": 0.9, "siblings_as_derived": 0}


def run(folder: Path = FOLDER) -> dict:
    adjudicated = folder / "adjudicated.csv"
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        try:
            return evaluate(
                folder, folder / "links.csv", store, adjudicated=adjudicated if adjudicated.exists() else None
            )
        finally:
            store.close()


def _key(parent: str) -> str:
    """A parent as the scoring names it: a document's path as it is, a 文号 or 《title》 folded."""
    return parent if parent.startswith("docs/") else fold_title(parent)


def causes(folder: Path = FOLDER) -> dict[tuple[str, str, str], dict[str, str]]:
    """causes.csv rows by (child, parent key, relation); none while the folder has no causes.csv yet."""
    if not (folder / "causes.csv").exists():
        return {}
    with (folder / "causes.csv").open(encoding="utf-8") as fh:
        return {(r["child"], _key(r["parent"]), r["relation"]): r for r in csv.DictReader(fh)}


def _cause(known: dict, child: str, parent: str, relation: str) -> str:
    row = known.get((child, _key(parent), relation))
    if row:
        return f"{row['cause']} — {row['example']}"
    return "no cause recorded: read the child and add a row to causes.csv"


def targets(report: dict) -> dict[str, bool]:
    out = {}
    for rel in ("derived", "revision"):
        r = report["relations"].get(rel, {})
        out[f"{rel} precision >= {TARGETS['precision']}"] = (r.get("precision") or 0) >= TARGETS["precision"]
        out[f"{rel} recall >= {TARGETS['recall']}"] = (r.get("recall") or 0) >= TARGETS["recall"]
    out["no sibling reported as derived"] = len(report["siblings_reported_as_derived"]) == 0
    p = report["all_links"]["precision_judged"] or 0
    out[f"all-links precision >= {TARGETS['all_links_precision']}"] = p >= TARGETS["all_links_precision"]
    return out


def problems(report: dict, known: dict) -> list[dict]:
    """Missed labelled links, false links, unjudged links, each with its cause."""
    rows = []
    for rel, r in report["relations"].items():
        for child, parent in r["missed"]:
            rows.append(dict(kind="missed", relation=rel, child=child, parent=parent))
    for f in report["false_links"]:
        rows.append(dict(kind=f"false ({f['by']})", relation=f["relation"], child=f["child"], parent=f["parent"]))
    for u in report["unjudged"]:
        rows.append(dict(kind="unjudged", relation=u["relation"], child=u["child"], parent=u["parent"]))
    for row in rows:
        row["cause"] = _cause(known, row["child"], row["parent"], row["relation"])
    return rows


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path, default=FOLDER, help="the labelled folder (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON on the last line")
    args = ap.parse_args()
    folder = args.folder.resolve()
    report = run(folder)
    a = report["all_links"]
    print(f"{report['documents']} documents ({folder})")
    for rel, r in report["relations"].items():
        print(
            f"  {rel:9} labelled {r['gold']:3}  reported {r['predicted']:3}  correct {r['tp']:3}  "
            f"P {_fmt(r['precision'])}  R {_fmt(r['recall'])}"
        )
    print(
        f"  all reported links {a['reported']}: true {a['true']}, false {a['false']}, unjudged {a['unjudged']}; "
        f"precision {_fmt(a['precision_judged'])} (judged), {_fmt(a['precision_unjudged_as_wrong'])} (unjudged wrong)"
    )
    print(f"  siblings reported as derived: {len(report['siblings_reported_as_derived'])}")
    met = targets(report)
    for name, ok in met.items():
        print(f"  target {name}: {'met' if ok else 'NOT met'}")
    found = problems(report, causes(folder))
    for p in found:
        print(f"{p['kind']} {p['relation']}: {p['child']} <- {p['parent']}\n    cause: {p['cause']}")
    if args.json:
        figures = dict(relations=report["relations"], all_links=a, targets=met, problems=found)
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
