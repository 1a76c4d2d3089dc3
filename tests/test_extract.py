"""Extraction on saved real pages, driven by tests/fixtures/extraction.yaml."""
from __future__ import annotations

from datetime import date

import pytest
from ruamel.yaml import YAML

from watcher.config.settings import DetailSelectors, ListSelectors, Pagination
from watcher.extract.detail import parse_detail
from watcher.extract.listing import parse_list
from watcher.extract.metadata import metadata_from_segments

from tests.builders import FIXTURES

TABLE = YAML(typ="safe").load((FIXTURES / "extraction.yaml").read_text(encoding="utf-8"))
CASES = TABLE["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["page"].split("/")[-1] for c in CASES])
def test_detail_page_gives_expected_fields(case):
    html = (FIXTURES / case["page"]).read_text(encoding="utf-8")
    sel = DetailSelectors(**TABLE["templates"][case["template"]])
    d = parse_detail(html, case["url"], sel)
    exp = case["expect"]
    got = {"title": d.title, "doc_no": d.doc_no, "issuer": d.issuer,
           "written": d.written.isoformat() if d.written else None,
           "published": d.published.isoformat() if d.published else None,
           "index_no": d.metadata.get("index_no"), "topic": d.metadata.get("topic")}
    for key in ("title", "doc_no", "issuer", "written", "published", "index_no", "topic"):
        if key in exp:
            assert got[key] == exp[key], f"{key} of {case['page']}"
    if "body_starts" in exp:
        assert d.body.startswith(exp["body_starts"])
        assert d.body.rstrip().endswith(exp["body_ends"])


def test_govcn_table_covers_all_60_pages():
    assert sum(c["template"] == "govcn-old" for c in CASES) == 60


def test_govcn_body_keeps_paragraphs_and_matches_reference_text():
    html = (FIXTURES / "govcn/gov_cn_content_5347765.html").read_text(encoding="utf-8")
    d = parse_detail(html, "http://www.gov.cn/x.htm", DetailSelectors(meta="table.bd1", body="#UCAP-CONTENT"))
    lines = d.body.splitlines()
    assert lines[0] == "国务院办公厅关于国家综合性消防救援车辆"
    assert lines[2] == "国办发〔2018〕114号"
    assert len(lines) > 10
    # The page cites other documents by title; its own 文号 is not a citation.
    assert "国办发〔2018〕114号" not in d.cited_docnos
    assert any("组建国家综合性消防救援队伍框架方案" in t for t in d.cited_titles)


@pytest.mark.parametrize("segs,expected", [
    (["索 引 号：", "000014349/2018-00215", "主题分类：", "综合政务"], {"index_no": "000014349/2018-00215", "topic": "综合政务"}),
    (["标　　题：", "关于X的通知", "发文字号：", "国办发〔2018〕114号"], {"title": "关于X的通知", "doc_no": "国办发〔2018〕114号"}),
    (["发布机构：邯郸市教育局", "文号：无"], {"issuer": "邯郸市教育局"}),
    (["主 题 词：", "发文机关：", "国务院"], {"issuer": "国务院"}),
    (["时间：2024-10-14 10:17 来源：省厅 字号：默认 小 大"], {"published": "2024-10-14 10:17 来源：省厅 字号：默认 小 大"}),
    (["成文日期: 2021年7月8日"], {"written": "2021年7月8日"}),
])
def test_metadata_labels_are_matched_robustly(segs, expected):
    assert metadata_from_segments(segs) == expected


def test_list_page_with_selectors_and_next_page():
    html = (FIXTURES / "portal_pages/hd_gov_cn_zfxxgk_list.html").read_text(encoding="utf-8")
    sel = ListSelectors(item="div.szbmtclb tr", link="a", date="td:nth-child(4)")
    page = parse_list(html, "http://hdzfxxgk.hd.gov.cn/zfwj/jinqixxgk/index.html", sel, Pagination(pages=3))
    assert len(page.items) == 1
    item = page.items[0]
    assert item.url == "http://hdzfxxgk.hd.gov.cn/gszbm/auto23716/202008/t20200805_1353179.html"
    assert item.title == "邯郸市教育局关于印发《邯郸市学校安全工作目标管理考核办法》的通知"
    assert item.date == date(2020, 8, 5)
    assert page.next_urls == ["http://hdzfxxgk.hd.gov.cn/zfwj/jinqixxgk/index_1.html"]


def test_list_page_without_item_selector_finds_dated_links():
    html = (FIXTURES / "portal_pages/hd_gov_cn_zfxxgk_list.html").read_text(encoding="utf-8")
    page = parse_list(html, "http://hdzfxxgk.hd.gov.cn/zfwj/jinqixxgk/index.html", ListSelectors(), Pagination())
    assert [i.date for i in page.items] == [date(2020, 8, 5)]
    assert page.next_urls == []  # one page configured


def test_list_template_pagination_and_relative_links():
    html = '<ul class="l"><li><a href="../a/1.html">一</a><span>2024-01-02</span></li>' \
           '<li><a href="javascript:void(0)">x</a></li><li><a href="2.html#top">二</a> 2024年1月3日</li></ul>'
    page = parse_list(html, "http://p.gov.cn/col/list/index.html", ListSelectors(item="ul.l li"),
                      Pagination(pages=3, template="index_{n}.html"), page_index=0)
    assert [(i.url, i.title, i.date) for i in page.items] == [
        ("http://p.gov.cn/col/a/1.html", "一", date(2024, 1, 2)),
        ("http://p.gov.cn/col/list/2.html", "二", date(2024, 1, 3))]
    assert page.next_urls == ["http://p.gov.cn/col/list/index_1.html"]


def test_signature_gives_issuer_and_written_date_when_no_metadata():
    html = "<div id=zoom><p>关于X的通知</p><p>苏政发〔2020〕28号</p><p>正文。</p><p>江苏省人民政府</p><p>2020年3月27日</p></div>"
    d = parse_detail(html, "http://x/", DetailSelectors(body="#zoom"))
    assert (d.issuer, d.written, d.doc_no) == ("江苏省人民政府", date(2020, 3, 27), "苏政发〔2020〕28号")


def test_malformed_html_still_extracts():
    html = "<html><body><div id=zoom><p>第一段<p>第二段<table><tr><td>未闭合</div></body>"
    d = parse_detail(html, "http://x/", DetailSelectors(body="#zoom"))
    assert d.body.splitlines()[:2] == ["第一段", "第二段"]


def test_generic_extraction_on_every_labelled_page():
    """No selectors at all: the 60 gov.cn pages and the portal pages of other CMSs."""
    from pathlib import Path

    from watcher.evaluation.extraction import evaluate_extraction
    report = evaluate_extraction(Path(FIXTURES / "extract_labels.yaml"))
    s = report["summary"]
    assert s["govcn"]["pages"] == 60 and s["portal"]["pages"] == 8
    assert s["all"]["title"] == 1.0 and s["all"]["date"] == 1.0, [p for p in report["pages"] if not p["date_ok"]]
    assert s["all"]["body_f1_min"] >= 0.95, [(p["page"], p["body_f1"]) for p in report["pages"]]


def test_generic_body_skips_links_hidden_summaries_and_chrome():
    article = ["为进一步优化营商环境，现就有关事项通知如下。", "一、加强组织领导，明确责任分工，确保各项措施落到实处。",
               "二、强化督促检查，定期通报进展情况，及时研究解决工作中遇到的问题。"]
    related = "".join(f'<li><a href="/art/{i}.html">关于做好第{i}项重点工作的通知及其配套实施细则的解读</a></li>' for i in range(30))
    html = f"""<html><head><title>关于优化营商环境的通知_某市人民政府</title></head><body>
      <div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a></div>
      <h1>关于优化营商环境的通知</h1>
      <div class="info">2024年05月06日 10时20分 来源：市政府办公室 【字体：大 中 小】</div>
      <div class="share-summary" style="display:none">{"为进一步优化营商环境，现就有关事项通知如下" * 6}</div>
      <div id="art"><cmscontent>{"".join(f"<p>{p}</p>" for p in article)}</cmscontent></div>
      <div class="tools"><p>打印本页</p><p>关闭窗口</p></div>
      <div class="related"><h3>相关链接</h3><ul>{related}</ul></div>
      <div class="footer"><p>主办单位：某市人民政府办公室 网站标识码：1234567890 ICP备案号：京ICP备000000号</p></div>
    </body></html>"""
    d = parse_detail(html, "http://p.gov.cn/art/1.html", DetailSelectors())
    assert d.body.splitlines() == article
    assert d.title == "关于优化营商环境的通知" and d.published == date(2024, 5, 6)


def test_eval_extract_command():
    from click.testing import CliRunner

    from watcher.cli import main
    r = CliRunner().invoke(main, ["eval", "extract", str(FIXTURES / "extract_labels.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    import json
    assert json.loads(r.stdout)["summary"]["govcn"]["body_f1_mean"] == 1.0


def test_generic_body_inside_an_aspnet_form():
    html = """<html><body><form id="form1" method="post" action="./view.aspx?id=3">
      <input type="hidden" name="__VIEWSTATE" value="abc"/>
      <div class="nav"><a href="/">首页</a></div>
      <div class="article"><p>第一条 为了规范行政规范性文件管理，制定本办法。</p><p>第二条 本办法适用于本市各级行政机关。</p></div>
    </form></body></html>"""
    d = parse_detail(html, "http://p.gov.cn/view.aspx?id=3", DetailSelectors())
    assert d.body.splitlines() == ["第一条 为了规范行政规范性文件管理，制定本办法。", "第二条 本办法适用于本市各级行政机关。"]
