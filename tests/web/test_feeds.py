"""Feeds: Atom documents that hold RFC 4287's required elements, JSON Feed 1.1 objects, per source, tag and saved
filter (a channel's filter, judged by the notifiers' rule), linking to the web view when its public URL is set."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime

import pytest
from click.testing import CliRunner

from tests.web.seed import CONFIG
from watcher.cli import main
from watcher.web.app import create_app

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def check_atom(body: bytes) -> ET.Element:
    """RFC 4287 §4.1: the feed and each entry have id, title and updated (RFC 3339 dates), an author in the feed or
    in every entry, every entry a link rel=alternate; all in the Atom namespace."""
    root = ET.fromstring(body)
    assert root.tag == f"{A}feed"
    for el in [root, *root.findall(f"{A}entry")]:
        for name in ("id", "title", "updated"):
            found = el.findall(f"{A}{name}")
            assert len(found) == 1 and (found[0].text or "").strip(), (el.tag, name)
        assert RFC3339.match(el.findtext(f"{A}updated") or ""), el.findtext(f"{A}updated")
        datetime.fromisoformat(el.findtext(f"{A}updated") or "")
        assert re.match(r"^[a-z][a-z0-9+.-]*:", el.findtext(f"{A}id") or ""), "an id is an absolute IRI"
    feed_author = root.find(f"{A}author/{A}name") is not None
    for entry in root.findall(f"{A}entry"):
        assert feed_author or entry.find(f"{A}author/{A}name") is not None
        alternate = [ln for ln in entry.findall(f"{A}link") if ln.get("rel", "alternate") == "alternate"]
        assert len(alternate) == 1 and alternate[0].get("href", "").startswith("http")
    return root


def check_json_feed(data: dict) -> list[dict]:
    assert data["version"] == "https://jsonfeed.org/version/1.1" and data["title"]
    for item in data["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_text") or item.get("content_html")
        assert RFC3339.match(item["date_published"])
    return data["items"]


def entry_links(root: ET.Element) -> list[str]:
    return [e.find(f"{A}link").get("href") for e in root.findall(f"{A}entry")]  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["source/lyg", "source/other", "tag/江苏", "saved/derived-sz", "saved/derived-guofa"])
def test_every_feed_is_valid_atom_and_json_feed(client, path):
    atom = client.get(f"/feeds/{path}.atom")
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    root = check_atom(atom.content)
    items = check_json_feed(client.get(f"/feeds/{path}.json").json())
    assert [i["id"] for i in items] == [e.findtext(f"{A}id") for e in root.findall(f"{A}entry")]


def test_a_saved_filter_keeps_what_a_channel_with_it_would_be_sent(client, seeded):
    sz = check_atom(client.get("/feeds/saved/derived-sz.atom").content)
    entries = sz.findall(f"{A}entry")
    assert entries and all(e.findtext(f"{A}title") == "连云港市人民政府关于推进绿色产业发展的实施意见" for e in entries)
    assert sz.findtext(f"{A}title") == "派生自苏政发的文件"
    guofa = check_atom(client.get("/feeds/saved/derived-guofa.atom").content)
    assert guofa.findall(f"{A}entry") == []  # the parent is a 苏政发 document, not a 国发 one
    tag = check_atom(client.get("/feeds/tag/省级.atom").content)
    assert set(entry_links(tag)) == {"http://js.test/a/1"}  # no web_url: the portal's page
    assert client.get("/feeds/saved/nothing.atom").status_code == 404
    assert client.get("/feeds/source/lyg.rss").status_code == 404


def test_entries_link_to_the_web_view_when_its_url_is_set(seeded):
    from starlette.testclient import TestClient

    cfg = replace(seeded.cfg, defaults=seeded.cfg.defaults.model_copy(update={"web_url": "https://watch.example.org/"}))
    client = TestClient(create_app(cfg, seeded.store))
    root = check_atom(client.get("/feeds/source/lyg.atom").content)
    assert set(entry_links(root)) == {f"https://watch.example.org/notices/{seeded.lyg}"}
    assert root.find(f"{A}link[@rel='self']").get("href") == "https://watch.example.org/feeds/source/lyg.atom"  # type: ignore[union-attr]
    assert client.get("/feeds/source/lyg.json").json()["feed_url"] == "https://watch.example.org/feeds/source/lyg.json"


def test_feeds_write_puts_every_feed_in_files(served, tmp_path):
    s, workdir = served
    out = tmp_path / "feeds"
    args = ["-c", str(workdir / "sources.yaml"), "--db", str(workdir / "web.db"), "feeds", "write", str(out), "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    written = {w["feed"]: w["entries"] for w in json.loads(r.stdout)}
    assert set(written) == {
        "source/js",
        "source/lyg",
        "source/other",
        "tag/江苏",
        "tag/省级",
        "tag/市级",
        "saved/derived-sz",
        "saved/derived-guofa",
    }
    for key, n in written.items():
        root = check_atom((out / f"{key}.atom").read_bytes())
        assert len(root.findall(f"{A}entry")) == n
        assert len(check_json_feed(json.loads((out / f"{key}.json").read_text(encoding="utf-8")))) == n
    assert written["source/other"] == 50 and written["saved/derived-guofa"] == 0
    assert "feeds:" in CONFIG
