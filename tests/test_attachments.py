"""Attachments: detection, download through the poll (real server), file names, text from real
PDF/DOCX/XLSX/OFD/zip files, hostile files contained, and linking through an attachment's text."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from storage.repo import Store
from watcher.attachments.doctext import Limits, extract
from watcher.attachments.reader import filename_from_disposition
from watcher.attachments.sandbox import extract_isolated
from watcher.config.settings import AttachmentSettings, Source
from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page
from watcher.extract.links import find_attachments
from watcher.link.stage import make_linker
from watcher.pipeline.poll import poll_sources

from . import files

PLAN = [
    "连云港市绿色产业发展三年行动实施方案",
    "一、总体要求",
    "深入贯彻落实苏政发〔2020〕28号文件精神，推进绿色产业发展。",
    "二、主要任务",
    "（一）培育壮大节能环保产业，打造绿色低碳循环发展的产业体系。",
    "（二）加快发展清洁生产产业，全面推行清洁生产审核制度。",
    "（三）大力发展清洁能源产业，推进光伏风电项目建设。",
    "三、保障措施",
    "加强组织领导，完善政策支持，强化考核评估，营造良好氛围。",
]


# ---- text from files ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "file_type, make, name",
    [
        ("pdf", lambda: files.pdf(PLAN), "方案.pdf"),
        ("docx", lambda: files.docx(PLAN), "方案.docx"),
        ("ofd", lambda: files.ofd(PLAN), "方案.ofd"),
        ("zip", lambda: files.zip_of({"方案.docx": files.docx(PLAN)}, gbk_names=True), "附件.zip"),
        ("docx", lambda: files.docx(PLAN), "方案.pdf"),  # wrong extension: the bytes decide
    ],
)
def test_text_from_real_files(file_type, make, name):
    res = extract(make(), name)
    assert (res.file_type, res.status) == (file_type, "ok"), res.error
    lines = [line.strip() for line in res.text.splitlines() if line.strip()]
    assert lines[:3] == PLAN[:3] and "苏政发〔2020〕28号" in res.text
    if file_type == "zip":
        assert res.parts == ["方案.docx"]  # the GBK member name, read as GBK


def test_spreadsheet_rows_become_lines():
    res = extract(files.xlsx([["项目名称", "责任单位", "投资（亿元）"], ["光伏电站", "市发改委", 12.5]]), "表.xlsx")
    assert res.status == "ok"
    assert res.text.splitlines() == ["项目名称\t责任单位\t投资（亿元）", "光伏电站\t市发改委\t12.5"]


@pytest.mark.parametrize(
    "data, name, status, message",
    [
        (lambda: files.pdf(PLAN)[:400], "t.pdf", "error", "broken PDF"),
        (lambda: files.pdf(PLAN, password="secret"), "e.pdf", "error", "encrypted PDF"),
        (lambda: files.zip_bomb(), "bomb.docx", "error", "zip bomb"),
        (lambda: files.docx(PLAN)[:2000], "cut.docx", "error", "zip"),
        (lambda: "<!DOCTYPE html><html><body>文件不存在</body></html>".encode(), "x.pdf", "error", "HTML page"),
        (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.wps", "no_text", "no converter"),
        (lambda: b"Rar!\x1a\x07\x00" + bytes(100), "a.rar", "no_text", "no text extraction for .rar"),
    ],
)
def test_broken_and_hostile_files_get_a_clear_status(data, name, status, message):
    res = extract(data(), name, converters={})
    assert res.status == status and message in res.error and res.text == ""


def test_legacy_formats_go_through_an_installed_converter(tmp_path):
    script = tmp_path / "fake_catdoc.py"  # a real process standing in for catdoc
    script.write_text("import sys; print(open(sys.argv[1], 'rb').read()[8:].decode('gbk'))", encoding="utf-8")
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "旧格式文件的正文".encode("gbk")
    converters = {"doc": [["no-such-converter", "{path}"], [sys.executable, str(script), "{path}"]]}
    res = extract(data, "a.doc", converters=converters)
    assert (res.file_type, res.status, res.text.strip()) == ("doc", "ok", "旧格式文件的正文")


def test_the_sandbox_stops_a_slow_reader_and_returns_results():
    big = files.pdf(PLAN * 40, pages=60)
    slow = extract_isolated(big, "big.pdf", AttachmentSettings(timeout=0.05))
    assert slow.status == "error" and "took over 0.05 s" in slow.error
    ok = extract_isolated(files.docx(PLAN), "a.docx", AttachmentSettings())
    assert ok.status == "ok" and ok.text.startswith(PLAN[0])


def test_pages_beyond_the_limit_are_not_read():
    res = extract(files.pdf(["第一页内容"], pages=5), "a.pdf", Limits(max_pages=2))
    assert res.pages == 5 and res.text.count("第一页内容") == 2


# ---- names and links --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header, name",
    [
        ("attachment; filename*=UTF-8''%E5%AE%9E%E6%96%BD%E6%96%B9%E6%A1%88.pdf", "实施方案.pdf"),
        ('attachment; filename="' + "实施方案.pdf".encode("gbk").decode("latin-1") + '"', "实施方案.pdf"),
        ('attachment; filename="' + "实施方案.pdf".encode().decode("latin-1") + '"', "实施方案.pdf"),
        ("attachment; filename=%CA%B5%CA%A9%B7%BD%B0%B8.pdf", "实施方案.pdf"),  # percent-encoded GBK
        ("attachment; filename=%E5%AE%9E%E6%96%BD%E6%96%B9%E6%A1%88.pdf", "实施方案.pdf"),  # percent-encoded UTF-8
        ("attachment; filename*=GBK''%CA%B5%CA%A9%B7%BD%B0%B8.pdf; filename=x.pdf", "实施方案.pdf"),
        ("inline", None),
    ],
)
def test_file_names_from_content_disposition(header, name):
    assert filename_from_disposition(header) == name


def test_attachment_links_are_found_in_and_under_the_body():
    from selectolax.lexbor import LexborHTMLParser

    html = """<html><body><div id="zoom"><p>现将《实施方案》印发给你们。</p>
      <p><a href="/module/download/downfile.jsp?classid=0&filename=abc">附件1：实施方案</a></p>
      <p><a href="/art/other.html">相关新闻</a></p></div>
      <div class="fj">附件：<a href="/uploads/2024/表格.xlsx">项目表</a>
        <a href="/getFile.do?id=9">实施细则.docx</a></div>
      <div class="footer"><a href="/about.html">关于我们</a></div></body></html>"""
    tree = LexborHTMLParser(html)
    found = find_attachments(tree.css_first("#zoom"), "http://p.gov.cn/art/1.html", tree)
    assert [a.url for a in found] == [
        "http://p.gov.cn/module/download/downfile.jsp?classid=0&filename=abc",
        "http://p.gov.cn/uploads/2024/表格.xlsx",
        "http://p.gov.cn/getFile.do?id=9",
    ]


# ---- through the poll ---------------------------------------------------------------------------------
def _source(portal, sid="att", prefix="/att", **over) -> Source:
    data = dict(
        id=sid,
        name="附件门户",
        kind="html",
        urls=[portal.url(f"{prefix}/index.html")],
        list=LIST_SELECTORS,
        detail=DETAIL_SELECTORS,
        pagination={"pages": 1},
        recheck_after="0s",
        fetch={"min_delay": 0, "backoff": 0, "retries": 1, "timeout": 2},
    )
    data.update(over)
    return Source.model_validate(data)


def _site(portal, prefix, docs):
    """docs: [(i, title, paragraphs, [(href, link text)])]"""
    items = []
    for i, title, paras, atts in docs:
        path = f"{prefix}/art/{i}.html"
        meta = dict(title=title, issuer="连云港市人民政府", written="2021-03-01", published="2021-03-02")
        portal.add(path, detail_page(meta, paras, atts))
        items.append((path, title, "2021-03-02"))
    portal.add(f"{prefix}/index.html", list_page("文件", items))


def _poll(sources, store, linker=None):
    return asyncio.run(poll_sources(sources, store, concurrency=4, linker=linker))


def test_a_one_line_notice_is_read_and_linked_through_its_attachment(portal, tmp_path):
    gbk_name = "连云港市实施方案.pdf".encode("gbk").decode("latin-1")
    script = "/att/module/download/downfile.jsp?classid=0&filename=6f2a1c.pdf"
    portal.add(
        script,
        files.pdf(PLAN),
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{gbk_name}"'},
    )
    _site(
        portal,
        "/att",
        [
            (
                1,
                "关于印发连云港市绿色产业发展三年行动实施方案的通知",
                ["各县区人民政府：", "现将《连云港市绿色产业发展三年行动实施方案》印发给你们，请认真贯彻执行。"],
                [(script, "连云港市绿色产业发展三年行动实施方案")],
            )
        ],
    )
    # The same plan reposted elsewhere as a web page.
    _site(portal, "/repost", [(2, "连云港市绿色产业发展三年行动实施方案", PLAN, [])])
    store = Store.open(f"sqlite:///{tmp_path / 'a.db'}")
    cfg_sources = [_source(portal), _source(portal, sid="repost", prefix="/repost")]
    from watcher.config.loader import parse_config

    linker = make_linker(parse_config("sources: []"), store)
    results = _poll(cfg_sources, store, linker)
    assert all(r.status == "ok" for r in results), [r.errors for r in results]
    notice = store.notice_by_url(portal.url("/att/art/1.html"))
    [v] = store.versions(notice.id)
    [att] = json.loads(v.attachments_json)
    assert att["filename"] == "连云港市实施方案.pdf" and att["kind"] == "pdf" and att["status"] == "ok"
    assert att["media_type"] == "application/pdf" and att["size"] > 1000 and len(att["sha256"]) == 64
    assert att["chars"] > 100 and "清洁生产审核制度" in v.norm_text and "清洁生产审核制度" not in v.body
    assert "苏政发〔2020〕28号" in json.loads(v.citations_json)["docnos"]  # cited in the attachment
    assert notice.id in [h.id for h in store.search("清洁生产审核")]
    from watcher.views.links import links_of

    rels = {(link["relation"], link["direction"]) for link in links_of(store, notice.id)}
    assert rels & {("repost", "parent"), ("repost", "child"), ("derived", "parent"), ("derived", "child")}, rels

    # Next visit, page unchanged: conditional GETs of the page and of its attachment, both 304.
    portal.requests.clear()
    results = _poll(cfg_sources[:1], store)
    assert results[0].counts.unchanged == 1
    assert ["If-None-Match" in h for p, h, _ in portal.requests if p == script] == [True]
    # The page is edited: it is read again, the attachment answers 304 and its stored text is reused.
    _site(
        portal,
        "/att",
        [
            (
                1,
                "关于印发连云港市绿色产业发展三年行动实施方案的通知",
                ["各县区人民政府：", "现将《连云港市绿色产业发展三年行动实施方案》印发给你们，请遵照执行。"],
                [(script, "连云港市绿色产业发展三年行动实施方案")],
            )
        ],
    )
    portal.requests.clear()
    results = _poll(cfg_sources[:1], store)
    assert results[0].counts.changed == 1
    att_requests = [(h, p) for p, h, _ in portal.requests if p == script]
    assert len(att_requests) == 1 and "If-None-Match" in att_requests[0][0]
    latest = store.versions(notice.id)[-1]
    assert latest.seq == 2 and "清洁生产审核制度" in latest.norm_text
    assert json.loads(latest.attachments_json)[0]["filename"] == "连云港市实施方案.pdf"
    store.close()


def test_a_broken_attachment_is_recorded_and_the_notice_kept(portal, tmp_path):
    portal.add("/b/files/a.pdf", files.pdf(PLAN)[:500], content_type="application/pdf")
    portal.add("/b/files/bomb.zip", files.zip_bomb(), content_type="application/zip")
    _site(
        portal,
        "/b",
        [
            (
                1,
                "关于X的通知",
                ["正文第一段。", "正文第二段。"],
                [
                    ("/b/files/a.pdf", "附件1.pdf"),
                    ("/b/files/bomb.zip", "附件2.zip"),
                    ("/b/files/missing.docx", "附件3.docx"),
                ],
            )
        ],
    )
    store = Store.open(f"sqlite:///{tmp_path / 'b.db'}")
    [r] = _poll([_source(portal, sid="b", prefix="/b")], store)
    assert r.counts.new == 1 and r.status == "ok"
    n = store.notice_by_url(portal.url("/b/art/1.html"))
    atts = {a["name"]: a for a in json.loads(store.versions(n.id)[0].attachments_json)}
    assert atts["附件1.pdf"]["status"] == "error" and "broken PDF" in atts["附件1.pdf"]["error"]
    assert atts["附件2.zip"]["status"] == "error" and "zip bomb" in atts["附件2.zip"]["error"]
    assert atts["附件3.docx"]["status"] == "fetch_error" and "404" in atts["附件3.docx"]["error"]
    assert store.versions(n.id)[0].body.startswith("正文第一段")
    store.close()


def test_an_attachment_that_failed_for_now_is_tried_again(portal, tmp_path):
    route = portal.add(
        "/c/files/plan.docx",
        files.docx(PLAN),
        fail_first=10,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    _site(portal, "/c", [(1, "关于印发方案的通知", ["现将方案印发给你们。"], [("/c/files/plan.docx", "方案")])])
    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    src = _source(portal, sid="c", prefix="/c", recheck_after="1d")  # retried on the next run, not in a day
    _poll([src], store)
    n = store.notice_by_url(portal.url("/c/art/1.html"))
    assert json.loads(store.versions(n.id)[0].attachments_json)[0]["status"] == "fetch_error"
    route.fail_first = 0
    portal.hits.clear()
    [r] = _poll([src], store)
    versions = store.versions(n.id)
    assert r.counts.changed == 1 and json.loads(versions[-1].attachments_json)[0]["status"] == "ok"
    assert "清洁生产" in versions[-1].norm_text
    store.close()


def test_an_attachment_answering_408_is_tried_again_on_the_next_run(portal, tmp_path):
    """408 is retryable by the one rule (watcher.crawl.retry), so the attachment is transient too."""
    route = portal.add(
        "/c408/files/plan.docx",
        files.docx(PLAN),
        status=408,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    _site(portal, "/c408", [(1, "关于印发方案的通知", ["现将方案印发给你们。"], [("/c408/files/plan.docx", "方案")])])
    store = Store.open(f"sqlite:///{tmp_path / 'c408.db'}")
    src = _source(portal, sid="c408", prefix="/c408", recheck_after="1d")
    _poll([src], store)
    n = store.notice_by_url(portal.url("/c408/art/1.html"))
    [att] = json.loads(store.versions(n.id)[0].attachments_json)
    assert att["status"] == "fetch_error" and "408" in att["error"]
    assert portal.hits["/c408/files/plan.docx"] == 2  # retried once in the run (retries: 1)
    route.status = 200
    [r] = _poll([src], store)
    assert r.counts.changed == 1 and json.loads(store.versions(n.id)[-1].attachments_json)[0]["status"] == "ok"
    store.close()


def test_the_sandbox_preloads_a_module_that_exists():
    import importlib

    from watcher.attachments import sandbox

    assert importlib.import_module(sandbox.PRELOAD).extract is extract


def test_an_attachment_over_the_size_limit_is_not_downloaded(portal, tmp_path):
    portal.add("/d/files/huge.pdf", files.pdf(PLAN * 30, pages=20), content_type="application/pdf")
    _site(portal, "/d", [(1, "关于Y的通知", ["正文。"], [("/d/files/huge.pdf", "附件.pdf")])])
    store = Store.open(f"sqlite:///{tmp_path / 'd.db'}")
    [r] = _poll([_source(portal, sid="d", prefix="/d", attachments={"max_bytes": 5000})], store)
    n = store.notice_by_url(portal.url("/d/art/1.html"))
    [att] = json.loads(store.versions(n.id)[0].attachments_json)
    assert r.counts.new == 1 and att["status"] == "fetch_error" and "exceeds the limit of 5000" in att["error"]
    store.close()


@pytest.mark.parametrize(
    "url, text, name",
    [
        ("http://x.gov.cn/P020240102123.pdf", "实施方案.pdf", "实施方案.pdf"),  # the link names the file
        ("http://x.gov.cn/P020240102123.pdf", "实施方案", "P020240102123.pdf"),
        ("http://x.gov.cn/down.jsp?filename=%E6%96%B9%E6%A1%88.docx", "附件1", "方案.docx"),
        ("http://x.gov.cn/down.jsp?id=1", "附件1", "附件1"),
    ],
)
def test_file_names_without_content_disposition(url, text, name):
    import httpx

    from watcher.attachments.reader import filename_for

    assert filename_for(url, httpx.Headers({}), text) == name


def test_attachment_text_with_control_characters_is_stored_on_both_databases(portal, db_url):
    """PDF text from broken fonts can hold NUL, which PostgreSQL refuses: it must never cost the notice."""
    portal.add("/e/files/ctl.pdf", files.pdf(["第一条\x00 控制字符\x07之后的正文。"]), content_type="application/pdf")
    _site(portal, "/e", [(1, "关于Z的通知", ["正文。"], [("/e/files/ctl.pdf", "附件.pdf")])])
    store = Store.open(db_url)
    [r] = _poll([_source(portal, sid="e", prefix="/e")], store)
    assert r.counts.new == 1 and r.status == "ok", r.errors
    v = store.versions(store.notice_by_url(portal.url("/e/art/1.html")).id)[0]
    assert "控制字符之后的正文" in v.norm_text and "\x00" not in v.norm_text
    store.close()


def test_an_attachment_replaced_behind_an_unchanged_page_makes_a_new_version(portal, tmp_path):
    route = portal.add("/g/files/plan.pdf", files.pdf(PLAN), content_type="application/pdf")
    _site(portal, "/g", [(1, "关于印发方案的通知", ["现将方案印发给你们。"], [("/g/files/plan.pdf", "方案.pdf")])])
    store = Store.open(f"sqlite:///{tmp_path / 'g.db'}")
    src = _source(portal, sid="g", prefix="/g")  # recheck_after 0s: every run re-checks
    _poll([src], store)
    n = store.notice_by_url(portal.url("/g/art/1.html"))
    [r] = _poll([src], store)  # page 304, attachment 304: nothing new
    assert (r.counts.unchanged, r.counts.changed) == (1, 0) and len(store.versions(n.id)) == 1
    route.set_body(files.pdf(PLAN[:3] + ["（四）新增：建立绿色金融支持机制。"]))  # the file is replaced
    route.fail_first = 0
    [r] = _poll([src], store)
    versions = store.versions(n.id)
    assert r.counts.changed == 1 and len(versions) == 2
    assert "建立绿色金融支持机制" in versions[-1].norm_text and versions[-1].body == versions[0].body
    route.status = 503  # the host fails: no version without the file
    [r] = _poll([src], store)
    assert r.counts.changed == 0 and len(store.versions(n.id)) == 2
    store.close()
