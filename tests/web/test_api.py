"""The JSON API and the pages beside it, in-process (Starlette's TestClient) on SQLite and PostgreSQL: filters,
keyset pages, ranked search, a notice's links and changes, diffs and alignments."""

from __future__ import annotations

import re

from storage import reads


def ids(rows: list[dict]) -> list[int]:
    return [r["id"] for r in rows]


def page_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li data-id="(\d+)"', html)]


def test_pages_walk_every_notice_once_newest_first(client, seeded):
    seen, after, pages = [], "", 0
    while True:
        data = client.get("/api/notices", params={"after": after} if after else {}).json()
        seen += data["notices"]
        pages += 1
        if not data["next"]:
            break
        after = data["next"]
    stored = reads.list_notices(seeded.store, limit=10_000)
    assert pages == 3 and len(seen) == len(stored) == 124
    assert sorted(ids(seen)) == sorted(n.id for n in stored)
    dated = [r["published"] for r in seen if r["published"]]
    assert dated == sorted(dated, reverse=True)
    first_undated = next(i for i, r in enumerate(seen) if not r["published"])
    assert all(not r["published"] for r in seen[first_undated:])  # undated ones last


def test_filters_by_source_tag_issuer_dates_and_relation(client, seeded):
    def listed(**params) -> list[int]:
        return ids(client.get("/api/notices", params=params).json()["notices"])

    assert listed(source="lyg") == [seeded.lyg]
    assert listed(tag="省级") == [seeded.js]
    assert set(listed(tag="江苏")) == {seeded.js, seeded.lyg}
    assert listed(relation="derived") == [seeded.lyg]
    assert listed(issuer="测试市金融") == [seeded.finance]
    assert listed(since="2023-01-01", until="2024-12-31") == [seeded.pilot, seeded.finance]
    assert listed(source="js", tag="市级") == []
    r = client.get("/api/notices", params={"since": "2023-13-01"})
    assert r.status_code == 400 and "2023-13-01" in r.json()["error"]


def test_the_page_lists_what_the_api_returns(client, seeded):
    for params in ({}, {"source": "other"}, {"q": "绿色 金融"}, {"relation": "derived"}):
        api = client.get("/api/notices", params=params).json()
        page = client.get("/notices", params=params)
        assert page.status_code == 200
        assert page_ids(page.text) == ids(api["hits"] or api["notices"]), params
    hits = client.get("/api/notices", params={"q": "绿色 金融"}).json()["hits"]
    assert hits[0]["id"] == seeded.finance and {seeded.js, seeded.lyg} <= set(ids(hits))
    assert "<mark>绿色</mark>" in client.get("/notices", params={"q": "绿色 金融"}).text


def test_search_keeps_the_filters_the_ranking_cannot_apply(client, seeded):
    hits = client.get("/api/notices", params={"q": "绿色", "relation": "derived"}).json()["hits"]
    assert ids(hits) == [seeded.lyg]
    hits = client.get("/api/notices", params={"q": "绿色", "tag": "市级", "until": "2020-12-31"}).json()["hits"]
    assert ids(hits) == [seeded.lyg]


def test_a_notice_shows_its_parent_children_and_changes(client, seeded):
    lyg = client.get(f"/api/notices/{seeded.lyg}").json()
    [parent] = lyg["parents"]
    assert parent["other"]["id"] == seeded.js and parent["other_ref"] == "苏政发〔2020〕28号"
    assert parent["link"]["relation"] == "derived" and lyg["children"] == []
    js = client.get(f"/api/notices/{seeded.js}").json()
    assert [c["other"]["id"] for c in js["children"]] == [seeded.lyg]
    pilot = client.get(f"/api/notices/{seeded.pilot}").json()
    assert [v["seq"] for v in pilot["versions"]] == [1, 2]
    segments = [s for b in pilot["changes"] for s in b["segments"] if s["op"] != "equal"]
    assert [(s["op"], s["text"]) for s in segments] == [("delete", "10家"), ("insert", "20家")]
    html = client.get(f"/notices/{seeded.lyg}").text
    assert f'href="/notices/{seeded.js}"' in html and f'href="/align/{seeded.js}/{seeded.lyg}"' in html
    assert "<del>10家</del><ins>20家</ins>" in client.get(f"/notices/{seeded.pilot}").text


def test_version_diff_and_alignment(client, seeded):
    d = client.get(f"/api/notices/{seeded.pilot}/diff", params={"old": 1, "new": 2}).json()
    assert d["notice"]["id"] == seeded.pilot
    kinds = [b["kind"] for b in d["blocks"]]
    assert kinds == ["equal", "change", "equal", "skip"]  # one paragraph of context on each side, the rest folded
    assert d["blocks"][-1]["skipped"] == 1
    assert client.get(f"/notices/{seeded.pilot}/diff?old=1&new=3").status_code == 404
    a = client.get(f"/api/align/{seeded.js}/{seeded.lyg}").json()
    assert a["summary"]["parent_articles"] == 33 and len(a["rows"]) >= 33
    modified = [r for r in a["rows"] if r["status"] == "modified"]
    marked = [
        any(s["op"] == "delete" for s in r["parent"]) or any(s["op"] == "insert" for s in r["child"]) for r in modified
    ]
    assert modified and all(marked)
    assert all(not any(s["op"] == "delete" for s in r["child"]) for r in a["rows"])
    page = client.get(f"/align/{seeded.js}/{seeded.lyg}")
    assert page.status_code == 200 and page.text.count("<del>") + page.text.count("<ins>") >= len(modified)


def test_sources_channels_and_missing_things(client, seeded):
    src = client.get("/api/sources").json()
    assert [r["id"] for r in src["sources"]] == ["js", "lyg", "other"]
    assert {r["id"]: r["notices"] for r in src["sources"]}["other"] == 122
    assert client.get("/api/channels").json() == []
    assert "js" in client.get("/sources").text
    r = client.get("/api/notices/999999")
    assert r.status_code == 404 and "999999" in r.json()["error"]
    page = client.get("/notices/999999")
    assert page.status_code == 404 and "未找到" in page.text  # Chinese first


def test_text_from_a_portal_is_shown_as_text_never_as_markup(client, seeded):
    from tests.web.seed import _snap, _store

    [nid] = _store(
        seeded.store,
        "other",
        [_snap("http://other.test/x", "<script>alert(1)</script>通知", "正文<b>加粗</b>。", None, "<i>局</i>", None)],
    )
    html = client.get(f"/notices/{nid}").text
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;通知" in html
    assert "<b>加粗" not in html and "&lt;i&gt;局&lt;/i&gt;" in html
    listing = client.get("/notices", params={"source": "other", "issuer": "<i>"}).text
    assert "<script>alert(1)" not in listing and "&lt;script&gt;" in listing


def test_search_pages_follow_one_another(client):
    first = client.get("/api/notices", params={"q": "测试通知"}).json()
    assert len(first["hits"]) == 20 and first["next_page"] == 2
    second = client.get("/api/notices", params={"q": "测试通知", "page": 2}).json()
    assert len(second["hits"]) == 20 and not set(ids(first["hits"])) & set(ids(second["hits"]))
    html = client.get("/notices", params={"q": "测试通知", "page": 2}).text
    assert page_ids(html) == ids(second["hits"]) and "page=3" in html
