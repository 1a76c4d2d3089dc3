"""`watcher eval links`: every reported link judged (labels, adjudicated CSV, unjudged), parents dated
after their child flagged, the link stage timed. The scoring is checked on small synthetic label sets;
the command end to end on the seed documents."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.builders import FIXTURES
from watcher.cli import main
from watcher.evaluation.link_scores import (
    AdjudicationError,
    Labels,
    Reported,
    Verdict,
    all_links_summary,
    date_flags,
    judge,
    percentile,
    read_adjudicated,
    read_labels,
    ref_key,
    relation_scores,
    siblings_as_derived,
    stale_verdicts,
    timing,
)
from watcher.evaluation.links import document_paths

DOCS = {"law.md", "law2.md", "a.md", "b.md", "c.md"}


def _labels() -> Labels:
    # a, b and c implement the law; c also derives from b (so b-c are not siblings); law2 revises law.
    return Labels(
        {
            "derived": {
                ("a.md", "law.md"),
                ("b.md", "law.md"),
                ("c.md", "law.md"),
                ("c.md", "b.md"),
                ("a.md", "国发〔2021〕4号"),
            },
            "revision": {("law2.md", "law.md")},
        }
    )


def _link(child: str, parent: str, relation: str, **kw) -> Reported:
    return Reported(child, parent, relation, stored_parent=parent in DOCS, **kw)


def _verdicts(judged) -> dict[tuple[str, str, str], tuple[bool | None, str]]:
    return {(j.link.child, j.link.parent, j.link.relation): (j.verdict, j.by) for j in judged}


def test_each_link_is_judged_by_labels_then_adjudication_else_unjudged():
    reported = [
        _link("a.md", "law.md", "derived"),  # labelled
        _link("a.md", "国发〔2021〕4号", "derived"),  # labelled, a placeholder by 文号
        _link("b.md", "a.md", "sibling"),  # both labelled derived from law.md
        _link("c.md", "b.md", "sibling"),  # c derives from b: not siblings, and no verdict
        _link("law2.md", "a.md", "derived"),  # labelled relation, stored parent, not labelled: false
        _link("b.md", "国办发〔2020〕1号", "derived"),  # a 文号 the labels could have named: false
        _link("b.md", "《中华人民共和国水法》", "derived"),  # adjudicated as 〈水法〉: true
        _link("c.md", "《某某规划》", "derived"),  # a title the labels cannot name, not adjudicated
        _link("a.md", "b.md", "cites"),  # relation not labelled, adjudicated false
        _link("b.md", "law.md", "repost"),  # neither
    ]
    adjudicated = [Verdict("b.md", "〈水法〉", "derived", True), Verdict("a.md", "b.md", "cites", False)]
    got = _verdicts(judge(reported, _labels(), adjudicated, DOCS))
    assert got == {
        ("a.md", "law.md", "derived"): (True, "labels"),
        ("a.md", "国发〔2021〕4号", "derived"): (True, "labels"),
        ("b.md", "a.md", "sibling"): (True, "labels"),
        ("c.md", "b.md", "sibling"): (None, "unjudged"),
        ("law2.md", "a.md", "derived"): (False, "labels"),
        ("b.md", "国办发〔2020〕1号", "derived"): (False, "labels"),
        ("b.md", "《中华人民共和国水法》", "derived"): (True, "adjudicated"),
        ("c.md", "《某某规划》", "derived"): (None, "unjudged"),
        ("a.md", "b.md", "cites"): (False, "adjudicated"),
        ("b.md", "law.md", "repost"): (None, "unjudged"),
    }


def test_an_adjudication_does_not_overrule_a_label_and_may_rescue_an_unlabelled_link():
    reported = [_link("a.md", "law.md", "derived"), _link("law2.md", "a.md", "derived")]
    adjudicated = [Verdict("a.md", "law.md", "derived", False), Verdict("law2.md", "a.md", "derived", True)]
    got = _verdicts(judge(reported, _labels(), adjudicated, DOCS))
    assert got[("a.md", "law.md", "derived")] == (True, "labels")
    assert got[("law2.md", "a.md", "derived")] == (True, "adjudicated")


def test_precision_over_all_links_is_given_over_the_judged_and_with_unjudged_counted_wrong():
    reported = [
        _link("a.md", "law.md", "derived"),
        _link("b.md", "law.md", "derived"),
        _link("law2.md", "a.md", "derived"),  # false by labels
        _link("b.md", "《水法》", "derived"),  # true by adjudication
        _link("c.md", "《某某规划》", "derived"),  # unjudged
        _link("a.md", "b.md", "cites"),  # unjudged
    ]
    s = all_links_summary(judge(reported, _labels(), [Verdict("b.md", "水法", "derived", True)], DOCS))
    assert (s["reported"], s["true"], s["false"], s["unjudged"]) == (6, 3, 1, 2)
    assert s["precision_judged"] == 3 / 4 and s["precision_unjudged_as_wrong"] == 3 / 6
    assert (s["true_by_labels"], s["true_by_adjudication"], s["false_by_labels"]) == (2, 1, 1)
    assert s["placeholders"] == dict(reported=2, true=1, false=0, unjudged=1)
    assert s["by_relation"]["cites"] == dict(reported=1, true=0, false=0, unjudged=1)
    empty = all_links_summary([])
    assert empty["precision_judged"] is None and empty["precision_unjudged_as_wrong"] is None


def test_a_parent_dated_after_its_child_is_flagged_and_an_undated_child_is_kept_apart():
    d = date.fromisoformat
    reported = [
        _link("a.md", "law.md", "derived", child_date=d("2010-01-01"), parent_date=d("2018-01-01")),  # flagged
        _link("b.md", "law.md", "derived", child_date=d("2018-01-01"), parent_date=d("2018-01-01")),  # same day
        _link("c.md", "law.md", "derived", child_date=None, parent_date=d("2018-01-01")),  # apart
        _link("law2.md", "law.md", "revision", child_date=d("2020-01-01"), parent_date=None),  # cannot say
        _link("a.md", "《水法》", "derived", child_date=d("2010-01-01")),  # not stored: no date
    ]
    flags = date_flags(judge(reported, _labels(), [], DOCS))
    assert [(r["child"], r["parent_date"], r["verdict"]) for r in flags["parent_after_child"]] == [
        ("a.md", "2018-01-01", True)
    ]
    assert [r["child"] for r in flags["child_date_unknown"]] == ["c.md"]


def test_siblings_come_from_the_labels_and_exclude_a_pair_where_one_derives_from_the_other():
    labels = _labels()
    assert labels.siblings() == {frozenset(p) for p in (("a.md", "b.md"), ("a.md", "c.md"))}
    reported = [_link("b.md", "a.md", "derived"), _link("c.md", "b.md", "derived"), _link("c.md", "law.md", "derived")]
    assert siblings_as_derived(reported, labels) == [("a.md", "b.md")]


def test_per_relation_scores_leave_titles_not_stored_to_adjudication():
    reported = [
        _link("a.md", "law.md", "derived"),
        _link("a.md", "国发〔2021〕4号", "derived"),
        _link("law2.md", "a.md", "derived"),
        _link("b.md", "《水法》", "derived"),  # outside the labels' domain
        _link("law2.md", "law.md", "revision"),
    ]
    scores = relation_scores(reported, _labels(), DOCS)
    d = scores["derived"]
    assert (d["gold"], d["predicted"], d["tp"]) == (5, 3, 2)
    assert d["wrong"] == [("law2.md", "a.md")] and len(d["missed"]) == 3
    assert scores["revision"]["precision"] == scores["revision"]["recall"] == 1.0


def test_parent_keys_fold_title_spellings_but_keep_paths():
    assert ref_key("《中华人民共和国水法》", DOCS) == ref_key("〈水法〉", DOCS) == ref_key("水法", DOCS)
    assert ref_key("law.md", DOCS) == "law.md"
    assert ref_key("国发〔2021〕4号", DOCS) == "国发〔2021〕4号"


def test_stale_adjudications_are_those_no_reported_link_matches():
    reported = [_link("b.md", "《中华人民共和国水法》", "derived")]
    kept, gone = Verdict("b.md", "水法", "derived", True), Verdict("c.md", "水法", "derived", True)
    assert stale_verdicts([kept, gone], reported, DOCS) == [gone]


def test_adjudicated_csv_rows_without_a_verdict_are_skipped_and_a_bad_verdict_names_its_line(tmp_path):
    path = tmp_path / "adjudicated.csv"
    path.write_text(
        "child,parent,relation,verdict,note\na.md,《水法》,derived,TRUE,read\nb.md,law.md,cites,,to judge\n",
        encoding="utf-8",
    )
    assert read_adjudicated(path) == [Verdict("a.md", "《水法》", "derived", True, "read")]
    path.write_text("child,parent,relation,verdict,note\na.md,law.md,derived,yes,\n", encoding="utf-8")
    with pytest.raises(AdjudicationError, match=r"adjudicated.csv:2: verdict must be true or false"):
        read_adjudicated(path)
    path.write_text("child,parent,relation\na.md,law.md,derived\n", encoding="utf-8")
    with pytest.raises(AdjudicationError, match="no column verdict"):
        read_adjudicated(path)
    labels = tmp_path / "links.csv"
    labels.write_text("child,parent,relation,evidence\na.md,《中华人民共和国水法》,derived,title\n", encoding="utf-8")
    assert read_labels(labels, DOCS).gold == {"derived": {("a.md", "水法")}}


def test_time_per_document_percentiles():
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    t = timing([0.001, 0.003, 0.002])
    assert t["documents"] == 3 and t["p50_ms"] == pytest.approx(2.0) and t["max_ms"] == pytest.approx(3.0)
    assert t["total_s"] == pytest.approx(0.006)


def test_the_loader_reads_md_and_txt_at_any_depth_but_no_readme_or_manifest(tmp_path):
    for name in ("a.md", "sub/b.txt", "sub/deeper/c.md", "README.md", "README", "sub/readme.txt", "manifest.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "manifest.md").write_text("x", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("x", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in document_paths(tmp_path)] == [
        "a.md",
        "sub/b.txt",
        "sub/deeper/c.md",
    ]


# ---- the command, end to end on the seed documents ----------------------------------------------
def _seeds(tmp_path: Path) -> Path:
    """The five seed documents under seeds/, with a README and a manifest beside them (not documents)."""
    folder = tmp_path / "corpus"
    shutil.copytree(FIXTURES / "linking" / "seeds", folder / "seeds")
    (folder / "README.md").write_text(
        "# 说明\n根据《国务院关于加快建立健全绿色低碳循环发展经济体系的指导意见》\n", encoding="utf-8"
    )
    (folder / "seeds" / "manifest.csv").write_text("file\n000.txt\n", encoding="utf-8")
    return folder


def _eval(*args: str) -> dict:
    r = CliRunner().invoke(main, ["eval", "links", *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_eval_links_command_judges_every_link_on_the_seeds(tmp_path):
    folder = _seeds(tmp_path)
    labels = tmp_path / "links.csv"
    with (FIXTURES / "linking" / "links.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["child"].startswith("seeds/")]
    with labels.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["child", "parent", "relation", "evidence"])
        w.writeheader()
        w.writerows(rows)
    report = _eval(str(folder), "--labels", str(labels))
    assert report["documents"] == 5 and report["timing"]["documents"] == 5
    assert report["timing"]["p50_ms"] is not None and report["timing"]["total_s"] > 0
    a = report["all_links"]
    assert a["reported"] == a["true"] + a["false"] + a["unjudged"] > 0
    assert a["reported"] == sum(r["reported"] for r in a["by_relation"].values())
    assert report["relations"]["derived"]["recall"] == 1.0  # 001 from 000, and three from 国发〔2021〕4号
    assert a["true_by_labels"] >= 4 and a["placeholders"]["true"] >= 3
    assert len(report["unjudged"]) == a["unjudged"] and len(report["false_links"]) == a["false"]
    assert set(report["dates"]) == {"parent_after_child", "child_date_unknown"}
    table = CliRunner().invoke(main, ["eval", "links", str(folder), "--labels", str(labels)])
    assert table.exit_code == 0 and "全部报告关联的精确率" in table.stdout
    assert "每份文档的关联耗时：p50" in table.stdout


def test_list_unjudged_prints_rows_that_judged_and_passed_back_leave_nothing_unjudged(tmp_path):
    folder = _seeds(tmp_path)
    labels = tmp_path / "links.csv"  # labels that speak of revisions only: every derived link is unjudged
    labels.write_text(
        "child,parent,relation,evidence\nseeds/003_256910a14adbd30e.txt,x.txt,revision,\n", encoding="utf-8"
    )
    before = _eval(str(folder), "--labels", str(labels))
    assert before["all_links"]["unjudged"] == before["all_links"]["reported"] > 0
    assert before["all_links"]["precision_judged"] is None and before["all_links"]["precision_unjudged_as_wrong"] == 0
    listed = CliRunner().invoke(main, ["eval", "links", str(folder), "--labels", str(labels), "--list-unjudged"])
    assert listed.exit_code == 0, listed.output
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert len(rows) == before["all_links"]["unjudged"] and all(r["verdict"] == "" for r in rows)
    for i, r in enumerate(rows):
        r["verdict"] = "false" if i == 0 else "true"
    adjudicated = tmp_path / "adjudicated.csv"
    with adjudicated.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["child", "parent", "relation", "verdict", "note"])
        w.writeheader()
        w.writerows(rows)
    after = _eval(str(folder), "--labels", str(labels), "--adjudicated", str(adjudicated))["all_links"]
    assert after["unjudged"] == 0 and after["false_by_adjudication"] == 1
    assert after["true_by_adjudication"] == len(rows) - 1
    assert after["precision_judged"] == after["precision_unjudged_as_wrong"] == (len(rows) - 1) / len(rows)


def test_eval_links_reports_an_unreadable_adjudicated_csv_without_a_traceback(tmp_path):
    folder = _seeds(tmp_path)
    bad = tmp_path / "adjudicated.csv"
    bad.write_text("child,parent,relation,verdict\na,b,derived,maybe\n", encoding="utf-8")
    r = CliRunner().invoke(
        main,
        ["eval", "links", str(folder), "--labels", str(FIXTURES / "linking" / "links.csv"), "--adjudicated", str(bad)],
    )
    assert r.exit_code == 1 and "verdict must be true or false" in r.output
