"""Platform kinds on a real local server: Hanweb jpage columns, Guangdong gkmlpt, RSS/Atom, gov.cn —
detail pages are the saved real pages of tests/fixtures, read with no selectors in the source."""

from __future__ import annotations

import asyncio
import json

import pytest
from ruamel.yaml import YAML

from storage.repo import Store
from tests.builders import FIXTURES
from watcher.config.loader import parse_config
from watcher.config.settings import Source
from watcher.extract.kinds import kind_for
from watcher.pipeline.poll import poll_sources

TABLE = YAML(typ="safe").load((FIXTURES / "extraction.yaml").read_text(encoding="utf-8"))
GOVCN = [c for c in TABLE["cases"] if c["template"] == "govcn-old"]
JIANGSU = next(c for c in TABLE["cases"] if c["template"] == "jiangsu-hanweb")
FAST = {"min_delay": 0, "backoff": 0, "retries": 1, "timeout": 2}


def _src(portal, sid: str, kind: str, url: str, **over) -> Source:
    return Source.model_validate(dict(id=sid, name=sid, kind=kind, urls=[portal.url(url)], fetch=FAST, **over))


def _poll(store, *sources):
    return asyncio.run(poll_sources(list(sources), store, concurrency=4))


def _fields(store, url):
    n = store.notice_by_url(url)
    return n, store.versions(n.id)[-1] if n else None


def _record(href: str, title: str, day: str) -> str:
    return (
        f'<record><![CDATA[<li><a href="{href}" title="{title}" target="_blank">{title[:20]}…</a>'
        f'<span class="bt_time">{day}</span></li>]]></record>'
    )


def test_hanweb_column_and_dataproxy_pages(portal, tmp_path):
    page = (FIXTURES / JIANGSU["page"]).read_text(encoding="utf-8")
    exp = JIANGSU["expect"]
    # The column page embeds its first records in a datastore script, as jpage columns do.
    first = [
        _record(f"/art/2024/10/14/art_{i}.html", f"{exp['title']}{i}" if i else exp["title"], "2024-10-14")
        for i in range(3)
    ]
    portal.add(
        "/col/col84242/index.html",
        "<html><body><div id='84242'><script type='text/xml'><datastore>"
        f"<nextgroup><![CDATA[<a href='/module/web/jpage/dataproxy.jsp?page=1'></a>]]></nextgroup>"
        f"<recordset>{''.join(first)}</recordset></datastore></script></div></body></html>",
    )
    for i in range(3):
        portal.add(f"/art/2024/10/14/art_{i}.html", page)
    store = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    [r] = _poll(store, _src(portal, "js", "hanweb", "/col/col84242/index.html"))
    assert r.status == "ok" and r.counts.new == 3, r.errors
    n, v = _fields(store, portal.url("/art/2024/10/14/art_0.html"))
    assert n.title == exp["title"] and n.published.isoformat() == exp["published"]
    assert v.body.startswith(exp["body_starts"])

    # With columnid: dataproxy.jsp, paged by startrecord/endrecord until totalrecord.
    src = _src(
        portal,
        "js2",
        "hanweb",
        "/col/col84242/index.html",
        pagination={"pages": 5},
        options={"columnid": 84242, "webid": 1, "unitid": 297589, "per_request": 2},
    )
    kind = kind_for(src)
    urls = ["/" + kind._proxy(i).split("/", 3)[3] for i in range(2)]  # the paths, with their query
    portal.add(
        urls[0],
        "<datastore><totalrecord>3</totalrecord><recordset>"
        + _record("/art/p/1.html", "关于第一件事的通知", "2024-10-01")
        + _record("/art/p/2.html", "关于第二件事的通知", "2024-10-02")
        + "</recordset></datastore>",
    )
    portal.add(
        urls[1],
        "<datastore><totalrecord>3</totalrecord><recordset>"
        + _record("/art/p/3.html", "关于第三件事的通知", "2024-10-03")
        + "</recordset></datastore>",
    )
    for i in (1, 2, 3):
        portal.add(f"/art/p/{i}.html", page)
    [r] = _poll(store, src)
    assert r.status == "ok" and r.counts.new == 3 and r.pages == 2, r.errors
    # The column's fields go as a POSTed form, the record range in the query, as the jpage script does.
    assert [p for p, _ in portal.posts] == urls and "startrecord=3&endrecord=4" in urls[1]
    assert all("columnid=84242" in form and "unitid=297589" in form for _, form in portal.posts)
    get = kind_for(src.model_copy(update={"options": {**src.options, "method": "get"}}))
    assert "columnid=84242" in get._proxy(1) and get.request_form(get._proxy(1)) is None
    store.close()


def test_gkmlpt_json_api(portal, tmp_path):
    case = GOVCN[0]
    portal.add("/gkmlpt/content/0/1/post_1.html", (FIXTURES / case["page"]).read_text(encoding="utf-8"))
    api = {
        "total": 1,
        "classify": {"post_count": 1},
        "articles": [
            {
                "id": 1,
                "title": case["expect"]["title"],
                "url": portal.url("/gkmlpt/content/0/1/post_1.html"),
                "first_publish_time": 1550188800,
                "identifier": case["expect"]["doc_no"],
            }
        ],
    }
    portal.add(
        "/gkmlpt/api/all/5?page=1&sid=2",
        json.dumps(api, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    store = Store.open(f"sqlite:///{tmp_path / 'g.db'}")
    src = _src(
        portal,
        "gd",
        "gkmlpt",
        "/gkmlpt/index",
        options={"sid": 2, "category": 5},
        detail={"meta": "table.bd1", "body": "#UCAP-CONTENT"},
    )
    [r] = _poll(store, src)
    assert r.status == "ok" and r.counts.new == 1, r.errors
    n, _ = _fields(store, portal.url("/gkmlpt/content/0/1/post_1.html"))
    assert (n.title, n.doc_no, n.published.isoformat()) == (
        case["expect"]["title"],
        case["expect"]["doc_no"],
        case["expect"]["published"],
    )
    store.close()


@pytest.mark.parametrize("flavour", ["rss", "atom"])
def test_feeds(portal, tmp_path, flavour):
    cases = GOVCN[:3]
    for i, c in enumerate(cases):
        portal.add(f"/zc/{i}.htm", (FIXTURES / c["page"]).read_text(encoding="utf-8"))
    if flavour == "rss":
        items = "".join(
            f"<item><title>{c['expect']['title']}</title><link>{portal.url(f'/zc/{i}.htm')}</link>"
            f"<pubDate>Fri, 15 Feb 2019 08:00:00 +0800</pubDate></item>"
            for i, c in enumerate(cases)
        )
        feed = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>政策</title>{items}</channel></rss>'
    else:
        items = "".join(
            f'<entry><title>{c["expect"]["title"]}</title><link rel="alternate" href="/zc/{i}.htm"/>'
            f"<updated>2019-02-15T08:00:00+08:00</updated></entry>"
            for i, c in enumerate(cases)
        )
        feed = f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>政策</title>{items}</feed>'
    portal.add("/feed.xml", feed, content_type="application/xml")
    store = Store.open(f"sqlite:///{tmp_path / 'f.db'}")
    [r] = _poll(store, _src(portal, "feed", "feed", "/feed.xml"))
    assert r.status == "ok" and r.counts.new == 3, r.errors
    for i, c in enumerate(cases):
        n, v = _fields(store, portal.url(f"/zc/{i}.htm"))
        assert (n.title, n.doc_no, n.issuer) == (c["expect"]["title"], c["expect"]["doc_no"], c["expect"]["issuer"])
    store.close()


def test_govcn_kind_reads_the_60_policy_pages_without_selectors(portal, tmp_path):
    rows = "".join(
        f'<li><a href="/zhengce/{i}.htm">{c["expect"]["title"]}</a><span>{c["expect"]["published"]}</span></li>'
        for i, c in enumerate(GOVCN)
    )
    portal.add("/zhengce/zuixin/", f"<html><body><div class='news_box'><ul>{rows}</ul></div></body></html>")
    for i, c in enumerate(GOVCN):
        portal.add(f"/zhengce/{i}.htm", (FIXTURES / c["page"]).read_text(encoding="utf-8"))
    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    [r] = _poll(store, _src(portal, "gov", "govcn", "/zhengce/zuixin/", pagination={"pages": 1}))
    assert r.status == "ok" and r.counts.new == 60, r.errors
    wrong = []
    for i, c in enumerate(GOVCN):
        n, _ = _fields(store, portal.url(f"/zhengce/{i}.htm"))
        got = dict(
            title=n.title,
            doc_no=n.doc_no,
            issuer=n.issuer,
            written=n.written.isoformat(),
            published=n.published.isoformat(),
        )
        wrong += [(c["page"], k) for k, val in got.items() if val != c["expect"][k]]
    assert wrong == []
    store.close()


def test_kind_options_are_validated_with_the_config():
    cfg = parse_config(
        json.dumps(
            {
                "sources": [
                    {"id": "a", "name": "A", "kind": "gkmlpt", "urls": ["http://x.gov.cn/gkmlpt/index"]},
                    {
                        "id": "b",
                        "name": "B",
                        "kind": "hanweb",
                        "urls": ["http://x.gov.cn/col/col1/index.html"],
                        "options": {"columnid": 1, "per_requst": 3},
                    },
                    {
                        "id": "c",
                        "name": "C",
                        "kind": "hanweb",
                        "urls": ["http://x.gov.cn/col/col1/index.html"],
                        "options": {"columnid": 84242},
                    },
                ]
            }
        ),
        "sources.yaml",
    )
    assert [(e.source_id, e.field) for e in cfg.errors] == [("a", "options.sid"), ("b", "options.per_requst")]
    assert [s.id for s in cfg.sources] == ["c"] and kind_for(cfg.sources[0]).options.columnid == "84242"


# Each platform kind, with no selectors in the source, on real pages of its CMS family (labels in
# extract_labels.yaml): gov.cn's current template (国务院公报 on #UCAP-CONTENT) and the Guizhou intensive
# platform's trs_editor_view; Hanweb JCMS (#zoom); Guangdong NFCMS content/post_N.html pages (gkmlpt details).
LABELS = {
    lab["page"]: lab
    for lab in YAML(typ="safe").load((FIXTURES / "extract_labels.yaml").read_text(encoding="utf-8"))["pages"]
}
FAMILY_PAGES = [
    ("govcn", {}, "portal_pages_more/www.gov.cn_detail_1.html"),
    ("govcn", {}, "portal_pages_more/www.kaili.gov.cn_detail_1.html"),
    ("hanweb", {}, "portal_pages_more/fgw.zj.gov.cn_detail_1.html"),
    ("hanweb", {}, "portal_pages/jiangsu_gov_cn_art_news_2024_detail.html"),
    ("gkmlpt", {"sid": "757001"}, "portal_pages/foshan_gov_cn_news_2024_detail.html"),
    ("html", {}, "portal_pages_more/www.shanxi.gov.cn_detail_1.html"),
]


@pytest.mark.parametrize("kind,options,page", FAMILY_PAGES, ids=[f"{k}-{p.split('/')[-1]}" for k, _, p in FAMILY_PAGES])
def test_kinds_read_real_pages_of_their_cms_family(kind, options, page):
    from watcher.evaluation.extraction import char_f1, reference_body

    lab = LABELS[page]
    source = Source.model_validate(dict(id="k", name="k", kind=kind, urls=[lab["url"]], options=options))
    html = (FIXTURES / page).read_text(encoding="utf-8")
    d = kind_for(source).parse_detail(html, lab["url"], None)
    assert "".join(d.title.split()) == "".join(lab["title"].split())
    assert d.published is not None and d.published.isoformat() == str(lab["published"])[:10]
    assert char_f1(d.body, reference_body(html, lab))[2] >= 0.97
