"""What the tests of a labelled linking set outside shared/ share: `watcher eval links` on the folder with its
labels and adjudications, and the check that the manifest and the labels name only the files present."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from watcher.cli import main


def eval_report(folder: Path) -> dict:
    """`watcher eval links FOLDER --labels … --adjudicated … --json`, read."""
    args = ["eval", "links", str(folder), "--labels", str(folder / "links.csv")]
    r = CliRunner().invoke(main, [*args, "--adjudicated", str(folder / "adjudicated.csv"), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def check_manifest(folder: Path, at_least: int) -> None:
    """Every document is in the manifest with its source, and every labelled path is a document."""
    with (folder / "docs" / "manifest.csv").open(encoding="utf-8") as fh:
        manifest = {row["file"]: row for row in csv.DictReader(fh)}
    on_disk = {p.name for p in (folder / "docs").iterdir() if p.suffix in (".md", ".txt")}
    assert set(manifest) == on_disk and len(on_disk) >= at_least
    assert all(row["source"] for row in manifest.values())
    with (folder / "links.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for ref in (row["child"], row["parent"]):
                if ref.startswith("docs/"):
                    assert ref.removeprefix("docs/") in on_disk, ref


def check_relation(report: dict, relation: str) -> None:
    """The issue's targets for one relation: precision >= 0.95, recall >= 0.9."""
    r = report["relations"][relation]
    assert r["gold"] > 0
    assert r["precision"] >= 0.95, r["wrong"]
    assert r["recall"] >= 0.9, r["missed"]


def check_all_links(report: dict) -> None:
    """No sibling reported as derived; every reported link judged, precision >= 0.9; no stale adjudication."""
    assert report["siblings_reported_as_derived"] == []
    a = report["all_links"]
    assert a["unjudged"] == 0, report["unjudged"]
    assert a["precision_judged"] >= 0.9, report["false_links"]
    assert report["stale_adjudications"] == []
