"""The admin CLI through click's runner: sources.yaml editing, inspection and search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from tests.portal_site import build_site, doc_body, doc_meta, source_for
from watcher.cli import main
from watcher.demo.portal import detail_page
from watcher.errors import NotFoundError

REPO = Path(__file__).parents[1]


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "sources.yaml"
    shutil.copy(REPO / "sources.yaml", path)
    return path


def test_edit_keeps_comments_and_layout_and_refuses_invalid_values(cfg):
    before = cfg.read_text(encoding="utf-8")
    r = run(
        "-c", str(cfg), "sources", "edit", "jiangsu-szfwj", "--set", "pagination.pages=3", "--set", "fetch.min_delay=2s"
    )
    assert r.exit_code == 0, r.output
    after = cfg.read_text(encoding="utf-8")
    assert "# Policy Watcher sources." in after and "verified on a jiangsu.gov.cn Hanweb article page" in after
    added = [l for l in after.splitlines() if l not in before.splitlines()]
    assert added == ["    pagination:", "      pages: 3", "    fetch:", "      min_delay: 2s"]
    bad = run("-c", str(cfg), "sources", "edit", "jiangsu-szfwj", "--set", "fetch.min_delay=soon")
    assert bad.exit_code == 1 and "fetch.min_delay" in bad.output and "保持不变" in bad.output
    assert cfg.read_text(encoding="utf-8") == after
    assert not list(cfg.parent.glob(".sources-*"))  # no temporary file left behind


def test_enable_disable_remove_validate_export_import(cfg, tmp_path):
    assert run("-c", str(cfg), "sources", "disable", "huaian-zfwj").exit_code == 0
    shown = json.loads(run("-c", str(cfg), "sources", "show", "huaian-zfwj", "--json").stdout)
    assert shown["enabled"] is False and shown["fetch"]["min_delay"] == 1.0
    assert run("-c", str(cfg), "sources", "enable", "huaian-zfwj").exit_code == 0
    exported = tmp_path / "one.yaml"
    exported.write_text(run("-c", str(cfg), "sources", "export", "huaian-zfwj").stdout, encoding="utf-8")
    assert run("-c", str(cfg), "sources", "remove", "huaian-zfwj", "--yes").exit_code == 0
    assert "huaian-zfwj" not in cfg.read_text(encoding="utf-8")
    imp = run("-c", str(cfg), "sources", "import", str(exported))
    assert imp.exit_code == 0 and "新增 1 个" in imp.output
    again = run("-c", str(cfg), "sources", "import", str(exported))
    assert "跳过 1 个" in again.output
    v = run("-c", str(cfg), "sources", "validate", "--json")
    assert v.exit_code == 0 and json.loads(v.stdout)["valid"] is True
    with cfg.open("a", encoding="utf-8") as fh:
        fh.write("  - id: broken\n    name: B\n    urls: [ftp://x]\n")
    v = run("-c", str(cfg), "sources", "validate", "--json")
    assert v.exit_code == 1 and json.loads(v.stdout)["problems"][0]["field"] == "urls"


def _portal_config(portal, tmp_path):
    build_site(portal, pages=1, per_page=3)
    path = tmp_path / "sources.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump(
            {"sources": [source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)]}, fh
        )
    return path


def test_sources_test_extracts_without_storing(portal, tmp_path):
    path = _portal_config(portal, tmp_path)
    db = tmp_path / "nothing.db"
    r = run("-c", str(path), "--db", f"sqlite:///{db}", "sources", "test", "test", "--limit", "2", "--json")
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert len(result["items"]) == 3 and len(result["details"]) == 2
    d = result["details"][0]
    assert (d["title"], d["doc_no"], d["issuer"]) == ("关于做好第3项工作的通知", "测政发〔2024〕3号", "测试市人民政府")
    assert d["cites"] == ["国发〔2021〕4号"]
    assert not db.exists()


def test_sources_add_proposes_selectors_from_the_page(portal, tmp_path):
    build_site(portal, pages=1, per_page=3)
    path = tmp_path / "sources.yaml"
    path.write_text("# my sources\nsources: []\n", encoding="utf-8")
    r = run("-c", str(path), "sources", "add", portal.url("/col/index.html"), "--id", "found", "--yes", "--json")
    assert r.exit_code == 0, r.output
    proposal = json.loads(r.stdout)
    assert proposal["source"]["list"]["item"].endswith("li")
    assert proposal["preview"]["item_count"] == 3
    assert proposal["preview"]["detail"]["doc_no"] == "测政发〔2024〕3号"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my sources") and "id: found" in text
    assert run("-c", str(path), "sources", "validate").exit_code == 0
    refused = run("-c", str(path), "sources", "add", portal.url("/col/index.html"), "--id", "found", "--yes")
    assert refused.exit_code == 1 and "exists already" in refused.output


def test_docs_commands_search_and_status(portal, tmp_path):
    path = _portal_config(portal, tmp_path)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert run("-c", str(path), "--db", db, "poll", "--json").exit_code == 0
    rows = json.loads(run("-c", str(path), "--db", db, "docs", "list", "--json").stdout)
    assert len(rows) == 3 and {r["doc_no"] for r in rows} == {f"测政发〔2024〕{i}号" for i in (1, 2, 3)}
    nid = next(r["id"] for r in rows if r["doc_no"] == "测政发〔2024〕2号")
    portal.routes["/col/art/2.html"].set_body(detail_page(doc_meta(2), doc_body(2, extra="新增一句。")))
    portal.routes["/col/index.html"].set_body(
        portal.routes["/col/index.html"].body.replace(
            "关于做好第2项工作的通知".encode(), "关于做好第2项工作的通知（修订）".encode()
        )
    )
    assert run("-c", str(path), "--db", db, "poll", "--json").exit_code == 0
    hist = json.loads(run("-c", str(path), "--db", db, "docs", "history", str(nid), "--json").stdout)
    assert [h["seq"] for h in hist] == [1, 2] and hist[1]["paragraphs_changed"] == 1
    diff = run("-c", str(path), "--db", db, "docs", "diff", str(nid))
    # the changed phrase marked inside its paragraph, the unchanged paragraphs folded to a count
    assert "工作,依据国发〔2021〕4号文件精神。{+新增一句。+}" in diff.output and "1 段有改动" in diff.output
    assert "（3 段未改动）" in diff.output
    shown = json.loads(run("-c", str(path), "--db", db, "docs", "show", str(nid), "--json").stdout)
    assert shown["versions"] == 2 and shown["metadata"]["index_no"] == "T-2"
    found = json.loads(run("-c", str(path), "--db", db, "search", "新增一句", "--json").stdout)
    assert [f["id"] for f in found] == [nid]
    assert run("-c", str(path), "--db", db, "search", "不存在的词语").exit_code == 1
    st = run("-c", str(path), "--db", db, "status", "--json")
    assert st.exit_code == 0 and json.loads(st.stdout)["sources"][0]["last_status"] == "ok"


def test_search_on_postgres(fresh_db):
    from storage.records import Outcome
    from watcher.extract.model import Detail, ListItem
    from watcher.pipeline.snapshot import snapshot

    states = fresh_db.record_list("s", {"url": "l"}, [ListItem("http://p/1", "关于推进绿色产业发展的意见", None)])
    fresh_db.apply(
        "s",
        [
            Outcome(
                states["http://p/1"],
                snapshot(
                    Detail(
                        url="http://p/1",
                        title="关于推进绿色产业发展的意见",
                        body="加快推动绿色产业发展，是深入贯彻的需要。",
                    )
                ),
            )
        ],
    )
    assert [r.title for r in fresh_db.search("绿色产业")] == ["关于推进绿色产业发展的意见"]
    assert fresh_db.search("绿色") and fresh_db.search("蓝色产业") == []


def test_read_model_returns_records_with_json_decoded(fresh_db):
    from storage import reads
    from storage.records import Outcome
    from watcher.extract.model import Detail, ListItem
    from watcher.pipeline.snapshot import snapshot

    states = fresh_db.record_list("s", {"url": "l"}, [ListItem("http://p/1", "关于推进绿色产业发展的意见", None)])
    fresh_db.apply(
        "s",
        [
            Outcome(
                states["http://p/1"],
                snapshot(
                    Detail(
                        url="http://p/1",
                        title="关于推进绿色产业发展的意见",
                        body="依据国发〔2021〕4号，加快推动绿色产业发展。",
                        metadata={"index_no": "T-1"},
                        cited_docnos=["国发〔2021〕4号"],
                    )
                ),
            )
        ],
    )
    [row] = reads.list_notices(fresh_db)
    assert isinstance(row, reads.NoticeSummary) and row.source_id == "s" and row.versions == 1
    d = reads.notice_detail(fresh_db, row.id)
    assert d.metadata == {"index_no": "T-1"} and d.citations is not None and d.citations.docnos == ["国发〔2021〕4号"]
    assert reads.links_of(fresh_db, row.id) == [] and reads.recent_failures(fresh_db) == []
    assert reads.source_activity(fresh_db)["s"].notices == 1
    with pytest.raises(NotFoundError):
        reads.notice_detail(fresh_db, row.id + 1)
    with pytest.raises(NotFoundError, match="has no version 2"):
        reads.version_diff(fresh_db, row.id, 1, 2)
