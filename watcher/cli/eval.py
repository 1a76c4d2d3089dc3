"""`watcher eval …`: extraction and linking measured against labelled data."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from storage.repo import Store
from watcher.cli.context import Table, cli_errors, emit, err_console, json_option, out


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
@json_option("Print the report as JSON.")
@cli_errors
def eval_links(folder: str, labels: str, as_json: bool) -> None:
    """Ingest FOLDER's .txt/.md documents in date order into a scratch database, link them, and print
    precision and recall per relation.

    \b
    Example:
      watcher eval links tests/fixtures/linking --labels tests/fixtures/linking/links.csv
    """
    import tempfile

    from watcher.evaluation.links import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        report = evaluate(Path(folder), Path(labels), store)
        store.close()
    emit(report, as_json, _print_links_report)


def _print_links_report(report: dict) -> None:
    table = Table(title=f"Links on {report['documents']} documents")
    for col in ("relation", "labelled", "reported", "correct", "precision", "recall"):
        table.add_column(col, justify="right" if col != "relation" else "left")
    for rel, r in report["relations"].items():
        table.add_row(
            rel, str(r["gold"]), str(r["predicted"]), str(r["tp"]), _fmt(r["precision"], 2), _fmt(r["recall"], 2)
        )
    out.print(table)
    out.print(
        f"sibling pairs reported as derived: {len(report['siblings_reported_as_derived'])}; other links: "
        f"{report['other_links']}; links to cited titles outside the folder (not scored): "
        f"{report['unscored_links']}"
    )
    for rel, r in report["relations"].items():
        for m in r["missed"]:
            err_console.print(f"missed {rel}: {m[0]} <- {m[1]}", markup=False)
        for w in r["wrong"]:
            err_console.print(f"wrong {rel}: {w[0]} <- {w[1]}", markup=False)


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

    table = Table(title="Generic extraction, no per-site configuration")
    for col in SUMMARY_COLUMNS:
        table.add_column(col, justify="left" if col == "set" else "right")
    for row in summary_rows(report):
        table.add_row(*row)
    out.print(table)
