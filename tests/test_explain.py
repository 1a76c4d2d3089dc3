"""Relation lines rendered from a link's structure, in the reader's language (watcher/link/explain.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from watcher.cli import main
from watcher.i18n import use_locale
from watcher.link.explain import alignment_line, changes_line, children_line, parent_name, relation_line

PARENT = parent_name("苏政发〔2020〕28号", "省政府关于推进绿色产业发展的意见")
ALIGNED = dict(parent_articles=35, reused=33, modified=6, added=2, removed=0)


@pytest.mark.parametrize(
    ("relation", "evidence", "alignment", "zh", "en"),
    [
        (
            "derived",
            {"cites": "苏政发〔2020〕28号"},
            ALIGNED,
            "依据 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》制定 · 33 条对应，6 条改写，2 条新增",
            "derived from 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》"
            " · 33 articles unchanged, 6 articles rewritten, 2 articles added",
        ),
        (
            "derived",
            {"cites": "国发〔2021〕4号", "unresolved": True},
            None,
            "依据 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》制定（未收录）",
            "derived from 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》 (not stored)",
        ),
        (
            "revision",
            {"same": "文号", "jaccard": 0.8},
            dict(reused=30, modified=1, added=0, removed=1),
            "苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》 的新版本 · 文号相同 · 30 条对应，1 条改写，1 条删除",
            "new version of 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》"
            " · same 文号 · 30 articles unchanged, 1 article rewritten, 1 article removed",
        ),
        (
            "repost",
            {"jaccard": 0.93},
            None,
            "转载 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》 · 文本重合 93%",
            "repost of 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》 · 93% of the text shared",
        ),
        (
            "cites",
            {"cites": "苏政发〔2020〕28号", "jaccard": 0.02},
            None,
            "引用 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》",
            "cites 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》",
        ),
        (
            "sibling",
            {"shared_parent": "国发〔2021〕4号", "jaccard": 0.3},
            None,
            "与 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》 同属 国发〔2021〕4号 的配套文件 · 文本重合 30%",
            "companion of 苏政发〔2020〕28号《省政府关于推进绿色产业发展的意见》, both implementing 国发〔2021〕4号"
            " · 30% of the text shared",
        ),
    ],
)
def test_each_relation_reads_in_chinese_and_in_english(relation, evidence, alignment, zh, en):
    with use_locale("zh_CN"):
        assert relation_line(relation, PARENT, evidence, alignment) == zh
    with use_locale("en"):
        assert relation_line(relation, PARENT, evidence, alignment) == en


def test_parent_names_and_counts():
    assert parent_name("国发〔2021〕4号", None) == "国发〔2021〕4号"
    assert parent_name(None, "《水法》") == "《水法》"
    assert parent_name(None, None, "#7") == "#7"
    assert parent_name("X〔2024〕1号", "长" * 80).endswith("…》") and len(parent_name("X", "长" * 80)) < 70
    with use_locale("zh_CN"):
        assert alignment_line(dict(reused=0, modified=0, added=0, removed=0)) == "无对应条款"
        assert changes_line(2) == "修订：2 处改动" and changes_line(0) == "修订：正文无改动"
        assert children_line(["derived", "derived", "cites"]) == "3 份已收录文件与之关联（依据制定和引用）"
    with use_locale("en"):
        assert changes_line(1) == "revised: 1 change" and changes_line(3) == "revised: 3 changes"
        assert children_line(["revision"]) == "1 stored document now linked to it (revision)"


def test_the_terminal_follows_the_locale_of_sources_yaml(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    lyg = next(n for n in report["notices"] if n["title"].startswith("连云港"))
    db = ["--db", report["database"]]
    en = tmp_path / "en.yaml"
    en.write_text("defaults:\n  locale: en\nsources: []\n", encoding="utf-8")
    shown = CliRunner().invoke(main, ["-c", str(en), *db, "docs", "links", str(lyg["id"])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "parents (1)" in shown.stdout and "derived from 苏政发〔2020〕28号" in shown.stdout
    assert "33 articles rewritten" in shown.stdout and "依据" not in shown.stdout
    # the next invocation without that file is in Chinese again: the locale does not stay behind
    zh = CliRunner().invoke(main, [*db, "docs", "links", str(lyg["id"])], env={"COLUMNS": "200"})
    assert "上级文件（1）" in zh.stdout and "依据 苏政发〔2020〕28号" in zh.stdout and "33 条改写" in zh.stdout
