"""`watcher eval …`: extraction and linking measured against labelled data."""

from __future__ import annotations

import csv
import functools
import sys
from pathlib import Path

import click

from storage.repo import Store
from watcher.cli.context import Table, cli_errors, emit, err_console, json_option, out
from watcher.i18n import _


def _fmt(x: float | None, digits: int) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


@click.group("eval")
def eval_group() -> None:
    """Measure extraction and linking against labelled data.

    \b
    Example:
      watcher eval links corpus/ --labels corpus/links.csv
    """


@eval_group.command("links")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--labels",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CSV with child,parent,relation,evidence (paths relative to FOLDER).",
)
@click.option(
    "--adjudicated",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV with child,parent,relation,verdict,note: extra links judged true or false by reading them.",
)
@click.option(
    "--list-unjudged",
    is_flag=True,
    help="Print the links neither labelled nor adjudicated as CSV rows to judge (verdict left empty).",
)
@json_option("Print the report as JSON.")
@cli_errors
def eval_links(folder: str, labels: str, adjudicated: str | None, list_unjudged: bool, as_json: bool) -> None:
    """Ingest FOLDER's .txt/.md documents (README* and manifest* aside) in date order into a scratch
    database, linking each as it arrives, and judge every reported link: by the labels, by the
    adjudicated CSV, or unjudged. Prints precision and recall per labelled relation, precision over all
    reported links (unjudged links left out, and counted as wrong), links whose parent is dated after
    their child, and the link stage's time per document.

    \b
    Example:
      watcher eval links tests/fixtures/linking --labels tests/fixtures/linking/links.csv \\
        --adjudicated tests/fixtures/linking/adjudicated.csv
    """
    import tempfile

    from watcher.evaluation.links import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        try:
            report = evaluate(Path(folder), Path(labels), store, adjudicated=Path(adjudicated) if adjudicated else None)
        finally:
            store.close()
    if list_unjudged:
        _print_unjudged(report["unjudged"])
        return
    emit(report, as_json, _print_links_report)


def _print_unjudged(rows: list[dict]) -> None:
    """CSV rows in the adjudicated file's columns, ready to be judged and appended to it."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["child", "parent", "relation", "verdict", "note"])
    for r in rows:
        writer.writerow([r["child"], r["parent"], r["relation"], "", r["explanation"]])


def _print_links_report(report: dict) -> None:
    table = Table(title=_("Links on {n} documents, by the labels").format(n=report["documents"]))
    table.add_column(_("relation"))
    for col in (_("labelled"), _("reported"), _("correct"), _("precision"), _("recall")):
        table.add_column(col, justify="right")
    for rel, r in report["relations"].items():
        table.add_row(
            rel, str(r["gold"]), str(r["predicted"]), str(r["tp"]), _fmt(r["precision"], 2), _fmt(r["recall"], 2)
        )
    out.print(table)
    _print_all_links(report["all_links"])
    dates = report["dates"]
    t = report["timing"]
    line = _(
        "sibling pairs reported as derived: {siblings}; parent dated after its child: {after} ({true} of them judged "
        "true); child date unknown: {unknown}"
    ).format(
        siblings=len(report["siblings_reported_as_derived"]),
        after=len(dates["parent_after_child"]),
        true=sum(r["verdict"] is True for r in dates["parent_after_child"]),
        unknown=len(dates["child_date_unknown"]),
    )
    out.print(line, soft_wrap=True, markup=False)
    line = _(
        "link stage per document: p50 {p50} ms, p99 {p99} ms, max {max} ms; total {total:.2f} s for {n} documents"
    ).format(
        p50=_fmt(t["p50_ms"], 1),
        p99=_fmt(t["p99_ms"], 1),
        max=_fmt(t["max_ms"], 1),
        total=t["total_s"],
        n=t["documents"],
    )
    out.print(line, soft_wrap=True, markup=False)
    _print_details(report)


def _print_all_links(a: dict) -> None:
    table = Table(title=_("All reported links (labels, then adjudication)"))
    table.add_column(_("relation"))
    for col in (_("reported"), _("true"), _("false"), _("unjudged")):
        table.add_column(col, justify="right")
    for rel, c in a["by_relation"].items():
        table.add_row(rel, *(str(c[k]) for k in ("reported", "true", "false", "unjudged")))
    table.add_row(_("all"), *(str(a[k]) for k in ("reported", "true", "false", "unjudged")), style="bold")
    out.print(table)
    p = a["placeholders"]
    line = _(
        "precision over all reported links: {judged} of the judged, {as_wrong} counting the {unjudged} unjudged as "
        "wrong; true by labels {true_labels}, by adjudication {true_adjudication}; false by labels {false_labels}, "
        "by adjudication {false_adjudication}; links to documents not stored: {p_reported} ({p_true} true, "
        "{p_false} false, {p_unjudged} unjudged)"
    ).format(
        judged=_fmt(a["precision_judged"], 2),
        as_wrong=_fmt(a["precision_unjudged_as_wrong"], 2),
        unjudged=a["unjudged"],
        true_labels=a["true_by_labels"],
        true_adjudication=a["true_by_adjudication"],
        false_labels=a["false_by_labels"],
        false_adjudication=a["false_by_adjudication"],
        p_reported=p["reported"],
        p_true=p["true"],
        p_false=p["false"],
        p_unjudged=p["unjudged"],
    )
    out.print(line, soft_wrap=True, markup=False)


def _print_details(report: dict) -> None:
    """What a person acts on, on stderr: labelled links missed, links judged false, unjudged links,
    parents dated after their child, adjudications that match nothing reported any more."""
    say = functools.partial(err_console.print, soft_wrap=True, markup=False, highlight=False)
    for rel, r in report["relations"].items():
        for m in r["missed"]:
            say(f"missed {rel}: {m[0]} <- {m[1]}")
    for f in report["false_links"]:
        say(f"false {f['relation']} ({f['by']}): {f['child']} <- {f['parent']}")
    for u in report["unjudged"]:
        say(f"unjudged {u['relation']}: {u['child']} <- {u['parent']}  ({u['explanation']})")
    for d in report["dates"]["parent_after_child"]:
        verdict = {True: "true", False: "false", None: "unjudged"}[d["verdict"]]
        say(
            f"parent after child, {d['relation']} ({verdict}): {d['child']} ({d['child_date']}) <- "
            f"{d['parent']} ({d['parent_date']})"
        )
    for s in report["stale_adjudications"]:
        say(f"adjudicated but not reported: {s['relation']}: {s['child']} <- {s['parent']}")


@eval_group.command("extract")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@json_option("Per-page results and summaries as JSON.")
@cli_errors
def eval_extract(labels: str, as_json: bool) -> None:
    """Read every labelled page with no selectors (the generic extractor) and print title and date
    accuracy and body F1 (characters, against the text of the page's main content element); for list
    pages, the share of labelled items found (URL) with their date, and whether the item count is right.
    Exit status 1 when any page is wrong.

    \b
    Example:
      watcher eval extract tests/fixtures/extract_labels.yaml
    """
    from watcher.evaluation.extraction import evaluate_extraction, failures

    report = evaluate_extraction(Path(labels))
    emit(report, as_json, _print_extraction_report)
    bad = failures(report)
    if not as_json:
        for line in bad:
            err_console.print(line, markup=False)
    if bad:
        sys.exit(1)


def _print_extraction_report(report: dict) -> None:
    from watcher.evaluation.extraction import SUMMARY_COLUMNS, summary_rows

    table = Table(title=_("Generic extraction, no per-site configuration"))
    for col in SUMMARY_COLUMNS:
        table.add_column(col, justify="left" if col == "set" else "right")
    for row in summary_rows(report):
        table.add_row(*row)
    out.print(table)
