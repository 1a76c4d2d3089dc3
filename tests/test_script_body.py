"""A body the page carries only in a script's data (`window._CONFIG = {…, DETAIL: {"content": "<p>…"}}` and
similar CMS blobs): read through the extractor, and end to end from a loopback portal. The page in
tests/fixtures/portal_real/built/ is built in the documented gkmlpt layout, not saved from a portal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from storage.repo import Store
from watcher.config.settings import DetailSelectors, Source
from watcher.extract.detail import parse_detail
from watcher.extract.kinds import kind_for
from watcher.extract.scriptdata import script_record
from watcher.pipeline.poll import poll_sources

BUILT = Path(__file__).parent / "fixtures" / "portal_real" / "built" / "gkmlpt_script_body.html"
PAGE = BUILT.read_text(encoding="utf-8")
URL = "http://127.0.0.1/gkmlpt/content/6/678/post_678901.html"
TITLE = "某市人民政府办公室关于做好2024年防汛备汛工作的通知"
FIRST = "各县（市、区）人民政府，市政府各部门、各直属机构："
LAST_PARAGRAPH = "四、加强值班值守。"

PARAS = [
    "各有关单位：",
    "为规范专项资金管理，提高资金使用效益，现将有关事项通知如下。",
    "一、资金申报对象为本市登记注册、具有独立法人资格的单位。",
    "二、申报单位应于规定时间内提交申报材料，逾期不予受理。",
    "某市财政局",
    "2024年5月6日",
]
HTML_BODY = "".join(f"<p>{p}</p>" for p in PARAS)


def _page(script: str, visible: str = "", title: str = "某市财政局关于申报专项资金的通知") -> str:
    return (
        f"<html><head><title>{title}_某市财政局</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/zwgk/'>政务公开</a></div>"
        f"<div class='main'><h1 class='title'></h1><div id='content'>{visible}</div></div>"
        "<div class='footer'>主办：某市财政局</div>"
        f"<script>{script}</script></body></html>"
    )


def _flat(text: str | None) -> str:
    return "".join((text or "").split())


def _detail(html: str, sel: DetailSelectors | None = None):
    return parse_detail(html, "http://127.0.0.1/art/1.html", sel or DetailSelectors())


# ---- the built gkmlpt page: empty article-content, the text in window._CONFIG.DETAIL.content ---------
@pytest.mark.parametrize("kind", ["gkmlpt", "html"])
def test_the_body_in_window_config_detail_is_read(kind):
    options = {"sid": "755000"} if kind == "gkmlpt" else {}
    source = Source.model_validate(dict(id="s", name="s", kind=kind, urls=[URL], options=options))
    d = kind_for(source).parse_detail(PAGE, URL, None)
    lines = d.body.splitlines()
    assert lines[0] == "某府办函〔2024〕21号" and lines[1] == FIRST, lines[:3]
    assert any(line.startswith(LAST_PARAGRAPH) for line in lines)
    assert lines[-2:] == ["某市人民政府办公室", "2024年3月28日"]
    assert "\\u003C" not in d.body and "<p" not in d.body and "SID" not in d.body
    assert d.provenance["body"] == "position:script"
    # The server-rendered classify table still gives the labelled fields.
    got = (d.title, d.doc_no, d.issuer, str(d.written), str(d.published))
    assert got == (TITLE, "某府办函〔2024〕21号", "某市人民政府办公室", "2024-03-28", "2024-03-29")
    # The attachment link inside the script's HTML is found, resolved against the page.
    assert [a.url for a in d.attachments] == ["http://127.0.0.1/attachment/0/12/12345/678901.pdf"]


def test_without_the_script_the_page_has_no_body():
    """The page is a case of the class: what its markup alone gives is not the text."""
    without = PAGE.replace("window._CONFIG", "window._OTHER").replace('"content":', '"nothing":')
    d = _detail(without)
    assert FIRST not in d.body and LAST_PARAGRAPH not in d.body
    assert "body" not in d.provenance


def test_the_record_keeps_its_short_fields():
    r = script_record(LexborHTMLParser(PAGE))
    assert r is not None and r.title == TITLE
    assert r.fields["document_number"] == "某府办函〔2024〕21号" and r.fields["publisher"] == "某市人民政府办公室"
    assert "content" not in r.fields


# ---- the class, in its other shapes ------------------------------------------------------------------
SHAPES = {
    "var, quoted keys": "var article = "
    + json.dumps({"title": "某市财政局关于申报专项资金的通知", "content": HTML_BODY}, ensure_ascii=False)
    + ";",
    "nested, escaped tags": 'window.__DATA__ = {page: 1, data: {"detail": '
    + json.dumps({"docTitle": "某市财政局关于申报专项资金的通知", "articleContent": HTML_BODY}).replace("<", "\\u003c")
    + "}};",
    "JSON.parse string": "var info = JSON.parse("
    + json.dumps(
        json.dumps({"Title": "某市财政局关于申报专项资金的通知", "Body": HTML_BODY}, ensure_ascii=False),
        ensure_ascii=False,
    )
    + ");",
    "call argument": 'render({"subject": "某市财政局关于申报专项资金的通知", "html": ' + json.dumps(HTML_BODY) + "});",
}


@pytest.mark.parametrize("script", SHAPES.values(), ids=SHAPES.keys())
def test_a_script_object_with_html_content_and_a_title_is_the_body(script):
    d = _detail(_page(script))
    assert d.body.splitlines() == PARAS
    assert d.title == "某市财政局关于申报专项资金的通知"
    assert d.provenance["body"] == "position:script"


def test_application_json_script():
    blob = json.dumps({"props": {"pageProps": {"title": "某市财政局关于申报专项资金的通知", "content": HTML_BODY}}})
    html = _page("").replace("</body>", f"<script type='application/json' id='state'>{blob}</script></body>")
    assert _detail(html).body.splitlines() == PARAS


def test_a_visible_body_wins_over_the_same_text_in_a_script():
    script = "var article = " + json.dumps({"title": "t题目", "content": HTML_BODY}, ensure_ascii=False) + ";"
    # The page shows the text (slightly differently): the markup is what readers see, and is kept.
    shown = "".join(f"<p>{p}</p>" for p in PARAS[:-1])
    d = _detail(_page(script, visible=shown), DetailSelectors(body="#content"))
    assert d.body.splitlines() == PARAS[:-1]
    assert "body" not in d.provenance


def test_a_visible_summary_gives_way_to_the_whole_text_in_a_script():
    script = (
        "var article = " + json.dumps({"title": "某市财政局关于申报专项资金的通知", "content": HTML_BODY * 3}) + ";"
    )
    d = _detail(_page(script, visible="<p>为规范专项资金管理。</p>"), DetailSelectors(body="#content"))
    assert d.provenance["body"] == "position:script"
    assert d.body.splitlines() == PARAS * 3


@pytest.mark.parametrize(
    "script",
    [
        # HTML but no title-like field beside it: a template, a widget, not a document.
        "var tpl = " + json.dumps({"content": HTML_BODY, "id": 3}) + ";",
        # A title but a content field of plain text (a description), not HTML.
        "var meta = " + json.dumps({"title": "某市财政局", "content": "".join(PARAS)}, ensure_ascii=False) + ";",
        # Too little text under the tags.
        "var x = " + json.dumps({"title": "某市财政局", "content": "<p>暂无</p>"}, ensure_ascii=False) + ";",
        # Script code that would run if evaluated: it is never run, only read as JSON, and it is not JSON.
        "var y = {title: '某市', content: (function(){ throw new Error('ran'); })() + '<p>" + "正文" * 20 + "</p>'};",
        # Broken JSON.
        'var z = {"title": "某市财政局", "content": "<p>' + "正文" * 20 + '</p>", };',
    ],
    ids=["no title", "no html", "too short", "code", "broken"],
)
def test_scripts_that_carry_no_document_are_left_alone(script):
    assert script_record(LexborHTMLParser(_page(script))) is None
    d = _detail(_page(script))
    assert "body" not in d.provenance and "正文正文" not in d.body


# ---- end to end: a loopback gkmlpt portal whose detail pages carry their text in a script ------------
def test_a_polled_gkmlpt_page_stores_the_text_of_its_script(portal, tmp_path):
    path = "/gkmlpt/content/6/678/post_678901.html"
    portal.add(path, PAGE)
    api = {
        "total": 1,
        "classify": {"post_count": 1},
        "articles": [{"id": 678901, "title": TITLE, "url": portal.url(path), "first_publish_time": 1711670400}],
    }
    portal.add(
        "/gkmlpt/api/all/2?page=1&sid=755000",
        json.dumps(api, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    src = Source.model_validate(
        dict(
            id="gd",
            name="gd",
            kind="gkmlpt",
            urls=[portal.url("/gkmlpt/index")],
            options={"sid": "755000", "category": "2"},
            fetch={"min_delay": 0, "backoff": 0, "retries": 1, "timeout": 2},
        )
    )
    store = Store.open(f"sqlite:///{tmp_path / 'g.db'}")
    try:
        [r] = asyncio.run(poll_sources([src], store, concurrency=2))
        assert r.status == "ok" and r.counts.new == 1, r.errors
        n = store.notice_by_url(portal.url(path))
        v = store.versions(n.id)[-1]
        assert (n.title, n.doc_no) == (TITLE, "某府办函〔2024〕21号")
        assert _flat(v.body).startswith(_flat("某府办函〔2024〕21号" + FIRST))
        assert LAST_PARAGRAPH in v.body and "\\u003C" not in v.body
    finally:
        store.close()


def test_a_page_whose_fields_are_all_in_the_script():
    """No classify table either: the title, 文号, issuer and date come from the record, said as such."""
    start, end = PAGE.index('<div class="classify">'), PAGE.index('<div class="article">')
    d = _detail(PAGE[:start] + PAGE[end:])
    got = (d.title, d.doc_no, d.issuer, str(d.published), d.metadata.get("index_no"))
    # date 1711641600 is 2024-03-29 00:00 in China (UTC+8), the day the table shows.
    assert got == (TITLE, "某府办函〔2024〕21号", "某市人民政府办公室", "2024-03-29", "000000000/2024-00021")
    where = {k: d.provenance[k] for k in ("title", "doc_no", "issuer", "published", "body")}
    assert set(where.values()) == {"position:script"}, where


def test_labels_on_the_page_win_over_the_record():
    page = PAGE.replace("<span>2024-03-29</span>", "<span>2024-04-02</span>")
    d = _detail(page)
    assert str(d.published) == "2024-04-02" and d.provenance["published"] == "label:发布日期"


def test_a_record_titled_otherwise_than_the_page_is_not_its_document():
    """A script's data about another item (a related article, a widget) is not this page's text, however
    short the page's own body."""
    other = (
        "var related = "
        + json.dumps({"title": "某县关于开展植树活动的通知", "content": HTML_BODY}, ensure_ascii=False)
        + ";"
    )
    assert script_record(LexborHTMLParser(_page(other))) is None
    d = _detail(_page(other, visible="<p>详见附件。</p>"), DetailSelectors(body="#content"))
    assert d.body == "详见附件。" and "body" not in d.provenance
