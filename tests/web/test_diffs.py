"""Diffs for people: changed characters marked inside paragraphs with a little context, in the web view's blocks and in
the HTML files `watcher docs diff --html` writes."""

from __future__ import annotations

from click.testing import CliRunner

from watcher.cli import main
from watcher.text.changes import Segment, inline_diff
from watcher.text.diff import paragraph_diff
from watcher.text.normalise import paragraphs
from watcher.views.diff import CONTEXT_CHARS, version_blocks, with_context


def test_long_unchanged_runs_keep_context_on_both_sides_of_a_change():
    before = "前" * 200
    after = "后" * 200
    segs = with_context(inline_diff(before + "支持10家企业" + after, before + "支持20家企业" + after))
    ops = [s.op for s in segs]
    assert ops == ["elided", "equal", "delete", "insert", "equal", "elided"]
    assert segs[1].text.endswith("支持") and len(segs[1].text) == CONTEXT_CHARS
    assert (segs[2].text, segs[3].text) == ("10家", "20家")
    assert len(segs[4].text) == CONTEXT_CHARS
    unchanged = [Segment("equal", "x" * 500)]
    assert with_context(unchanged) == unchanged  # a paragraph without changes is not cut


def test_unchanged_paragraphs_fold_away_except_next_to_a_change():
    old = "\n\n".join(f"第{i}段，内容{i}。" for i in range(1, 11))
    new = old.replace("内容5", "内容五")
    blocks = version_blocks(paragraph_diff(old, new))
    assert [b.kind for b in blocks] == ["skip", "equal", "change", "equal", "skip"]
    assert (blocks[0].skipped, blocks[-1].skipped) == (3, 4)
    assert [s.op for s in blocks[2].segments if s.op != "equal"] == ["delete", "insert"]
    added = version_blocks(paragraph_diff(old, old + "\n\n第11段，新增。"))
    assert added[-1].segments == [Segment("insert", paragraphs("第11段，新增。")[0])]  # paragraphs as normalised


def test_docs_diff_html_marks_the_changed_characters(served, tmp_path):
    s, workdir = served
    db = str(workdir / "web.db")
    out = tmp_path / "v.html"
    r = CliRunner().invoke(main, ["--db", db, "docs", "diff", str(s.pilot), "--html", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "<del>10家</del><ins>20家</ins>" in html and "本办法由市工业和信息化局负责解释" in html
    out = tmp_path / "a.html"
    r = CliRunner().invoke(main, ["--db", db, "docs", "diff", str(s.js), str(s.lyg), "--html", str(out)])
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert html.count("<tr") >= 33 + 1 and "<del>" in html and "<ins>" in html
    assert "上级文件" in html and "派生文件" in html  # Chinese first
