"""文号 parsing measured on real strings: tests/fixtures/docno/docnos.csv (one 文号 each, with its issuer
code, year and number) and titles.csv (titles and sentences with the 文号 a reader finds in them,
normalised, in order). Rows were labelled by reading; `source` says where each came from. Run with -s to
see the accuracy and the rows missed."""

from __future__ import annotations

import csv
from pathlib import Path

from watcher.text.docno import DocNo, docno_key, find_docnos, normalise_docno, parse_docno

TABLES = Path(__file__).parent / "fixtures" / "docno"
REQUIRED = 0.99


def _rows(name: str) -> list[dict[str, str]]:
    with (TABLES / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _report(name: str, total: int, missed: list[str]) -> float:
    accuracy = (total - len(missed)) / total
    print(f"\n{name}: {total - len(missed)}/{total} = {accuracy:.3f}")
    for line in missed:
        print("  missed:", line)
    return accuracy


def test_docno_strings_table():
    rows = _rows("docnos.csv")
    assert len(rows) >= 300
    missed = []
    for row in rows:
        expected = DocNo(row["code"], int(row["year"]) if row["year"] else None, int(row["number"]))
        got = parse_docno(row["raw"])
        if got != expected:
            missed.append(f"{row['raw']!r}: {got!r} != {expected!r} ({row['source']})")
    assert _report("docnos.csv", len(rows), missed) >= REQUIRED


def test_docno_titles_table():
    rows = _rows("titles.csv")
    assert len(rows) >= 100
    missed = []
    for row in rows:
        expected = row["expected"].split(";")
        got = [str(d) for d in find_docnos(row["text"])]
        if got != expected:
            missed.append(f"{row['text'][:60]!r}: {got} != {expected} ({row['source']})")
    assert _report("titles.csv", len(rows), missed) >= REQUIRED


def test_forms_of_one_number_share_a_key_and_print_as_written():
    """same_number.csv: pairs of real 文号 forms, with whether they name the same document. The key (used
    for matching) folds the forms of one issuer; the printed form is kept as the page wrote it."""
    rows = _rows("same_number.csv")
    missed = []
    for row in rows:
        a, b = parse_docno(row["a"]), parse_docno(row["b"])
        assert a is not None and b is not None, row
        if (a.key == b.key) != (row["same"] == "yes"):
            missed.append(f"{row['a']} / {row['b']}: {a.key} vs {b.key} ({row['note']})")
    assert _report("same_number.csv", len(rows), missed) == 1.0
    assert normalise_docno("国令第707号") == "国令第707号"
    assert normalise_docno("中华人民共和国国务院令第707号") == "中华人民共和国国务院令第707号"
    assert docno_key("国令第707号") == docno_key("中华人民共和国国务院令第707号") == "国务院令第707号"
