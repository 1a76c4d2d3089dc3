"""Where a stored field came from: a real poll of a loopback portal, then `docs show` and `--json`."""

from __future__ import annotations

import json

from click.testing import CliRunner
from ruamel.yaml import YAML

from tests.portal_site import doc_body, doc_meta, source_for
from watcher.cli import main
from watcher.demo.portal import detail_page, list_page

PUBDATE = '<meta name="PubDate" content="2024-02-01 08:00">'


def _page(i: int, published: str) -> str:
    """A detail page whose <meta> PubDate (2024-02-01) differs from the date its table labels, if any."""
    html = detail_page(doc_meta(i, published=published), doc_body(i))
    return html.replace("<head>", "<head>" + PUBDATE, 1)


def _poll(portal, tmp_path, db_url: str) -> list[str]:
    """Two notices, the list page giving no dates: 1 labels 发布日期, 2 labels none."""
    portal.add("/col/art/1.html", _page(1, "2024-03-05"))
    portal.add("/col/art/2.html", _page(2, ""))
    items = [("/col/art/1.html", "关于做好第1项工作的通知", None), ("/col/art/2.html", "关于做好第2项工作的通知", None)]
    portal.add("/col/index.html", list_page("政府文件", items))
    cfg = tmp_path / "sources.yaml"
    src = source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    with open(cfg, "w", encoding="utf-8") as fh:
        YAML().dump({"sources": [src]}, fh)
    args = ["-c", str(cfg), "--db", db_url]
    r = CliRunner().invoke(main, [*args, "poll", "--json"])
    assert r.exit_code == 0, r.output
    return args


def _field_line(text: str, label: str) -> str:
    """The field's row of `docs show` (`发布日期：2024-03-05  出处：…`): the first row naming it (the page's metadata
    rows follow)."""
    return next(ln for ln in text.splitlines() if ln.strip().startswith(label + "："))


def test_docs_show_says_where_the_date_came_from(portal, tmp_path, db_url):
    args = _poll(portal, tmp_path, db_url)
    rows = json.loads(CliRunner().invoke(main, [*args, "docs", "list", "--json"]).stdout)
    by_title = {r["title"]: str(r["id"]) for r in rows}
    labelled = by_title["关于做好第1项工作的通知"]
    shown = json.loads(CliRunner().invoke(main, [*args, "docs", "show", labelled, "--json"]).stdout)
    # The label wins over the <meta> tag, and the stored record says so.
    assert shown["published"] == "2024-03-05"
    assert shown["provenance"]["published"] == "label:发布日期"
    assert shown["provenance"]["doc_no"] == "label:发文字号"
    text = CliRunner().invoke(main, [*args, "docs", "show", labelled]).stdout
    line = _field_line(text, "发布日期")
    assert line.split()[0] == "发布日期：2024-03-05"
    assert "出处：标签“发布日期”" in line

    unlabelled = by_title["关于做好第2项工作的通知"]
    shown = json.loads(CliRunner().invoke(main, [*args, "docs", "show", unlabelled, "--json"]).stdout)
    assert shown["published"] == "2024-02-01"
    assert shown["provenance"]["published"] == "meta:PubDate"
    text = CliRunner().invoke(main, [*args, "docs", "show", unlabelled]).stdout
    line = _field_line(text, "发布日期")
    assert line.split()[0] == "发布日期：2024-02-01"
    assert "出处：<meta>“PubDate”" in line


def test_versions_stored_before_provenance_read_as_unknown(db_url):
    """A version written by the 0009 schema is kept by the upgrade and reads with no origins."""
    from alembic import command
    from sqlalchemy import text

    from storage import reads
    from storage.db import alembic_config, make_engine
    from storage.repo import Store

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0009_search_ranked")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notices (id, source_id, url, status, attempts, version_count, first_seen, last_seen) "
                "VALUES (1, 'old', 'http://old/1.html', 'ok', 0, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO versions (notice_id, seq, title, body, norm_text, content_hash, metadata_json, "
                "citations_json, attachments_json, fetched_at) VALUES (1, 1, '旧', '正文', '正文', 'h', "
                "'{\"published\": \"2020-01-02\"}', '{}', '[]', CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    store = Store.open(db_url)
    try:
        detail = reads.notice_detail(store, 1)
        assert detail.metadata == {"published": "2020-01-02"}
        assert detail.provenance == {}
    finally:
        store.close()


def test_every_position_the_extractors_write_is_shown_in_words():
    """`docs show` names a position in the reader's language: every `position:…` origin written in
    watcher/extract has words (出处：位置“标题下方”, not “under-headline”)."""
    import re
    from pathlib import Path

    from watcher.cli.docs import _origin, _positions

    root = Path(__file__).resolve().parents[1] / "watcher" / "extract"
    written = {m for f in root.rglob("*.py") for m in re.findall(r'"position:([a-z0-9-]+)"', f.read_text("utf-8"))}
    written |= {"h1", "h2"}  # f"position:{sel}" over the headline selectors
    assert written and written <= set(_positions()), written - set(_positions())
    assert "出处：位置“标题下方”" in _origin("position:under-headline")
    assert "出处：位置“页面脚本数据”" in _origin("position:script")
