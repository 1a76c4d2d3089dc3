"""Storage on SQLite and the live PostgreSQL: migrations, versions, outbox, diffs."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect

from storage.db import applied_revisions, migrate
from watcher.text.diff import changed_paragraphs, render_unified
from storage.models import Event, Version
from storage.records import Outcome, Snapshot
from watcher.extract.page import ListItem
from watcher.text.normalise import content_hash, normalise


def _snap(url, body, title="关于X的通知"):
    norm = normalise(body)
    return Snapshot(url=url, title=title, body=body, norm_text=norm, content_hash=content_hash(title + norm),
                    doc_no="测发〔2024〕1号", issuer="测试局", published=date(2024, 1, 2))


def test_migrations_are_recorded_and_idempotent(fresh_db):
    assert applied_revisions(fresh_db.engine) == "0007_attachments"
    assert migrate(fresh_db.engine) == []
    tables = set(inspect(fresh_db.engine).get_table_names())
    assert {"sources", "notices", "versions", "pages", "crawl_runs", "events", "robots", "alembic_version"} <= tables


def test_versions_only_on_change_and_events_in_same_batch(fresh_db):
    url = "http://p/1.html"
    states = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])
    st = states[url]
    assert st.status == "pending" and st.version_count == 0
    c1 = fresh_db.apply("s", [Outcome(st, _snap(url, "第一段。\n第二段。"))])
    assert (c1.new, c1.changed) == (1, 0)
    st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])[url]
    c2 = fresh_db.apply("s", [Outcome(st, _snap(url, "第一段。\n\n第二段。 "))])  # same normalised text
    assert (c2.new, c2.changed, c2.unchanged) == (0, 0, 1)
    st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])[url]
    c3 = fresh_db.apply("s", [Outcome(st, _snap(url, "第一段。\n第二段（修订）。\n第三段。"))])
    assert c3.changed == 1
    n = fresh_db.notice_by_url(url)
    assert n.version_count == 2 and fresh_db.count(Version) == 2
    assert [e.kind for e in fresh_db.events()] == ["notice.new", "notice.version"]
    assert fresh_db.events()[1].version_id == fresh_db.versions(n.id)[1].id
    ops = fresh_db.diff(n.id)
    assert changed_paragraphs(ops) == 2
    text = render_unified(ops)
    assert "- 第二段。" in text and "+ 第二段(修订)。" in text and "+ 第三段。" in text


def test_failed_batch_writes_nothing(fresh_db):
    url = "http://p/2.html"
    st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "t", None)])[url]
    bad = Outcome(st, _snap(url, "x"))
    bad.snapshot.title = None  # fine
    broken = Outcome(st, None)  # neither snapshot nor error nor 304: a programming error mid-batch
    with pytest.raises(ValueError, match="neither snapshot"):
        fresh_db.apply("s", [Outcome(st, _snap(url, "正文")), broken])
    assert fresh_db.count(Version) == 0 and fresh_db.count(Event) == 0
    assert fresh_db.notice_by_url(url).status == "pending"


def test_robots_cache_round_trip(fresh_db):
    assert fresh_db.robots_get("p.gov.cn") is None
    fresh_db.robots_put("p.gov.cn", 200, "User-agent: *\nDisallow: /x\n")
    fresh_db.robots_put("p.gov.cn", 404, "")
    status, body, when = fresh_db.robots_get("p.gov.cn")
    assert (status, body) == (404, "") and when.tzinfo is not None


def test_head_revision_read_from_files_matches_alembic(fresh_db):
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config, head_revision
    assert head_revision() == ScriptDirectory.from_config(alembic_config(fresh_db.engine)).get_current_head()


def test_upgrade_from_an_older_schema(db_url):
    """A database made by an older release is brought to head on open, data kept."""
    from alembic import command
    from sqlalchemy import text

    from storage.db import alembic_config, head_revision, make_engine
    from storage.repo import Store
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0001_initial")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, kind, enabled, config_json, created_at, updated_at) "
                          "VALUES ('old', 'Old', 'html', true, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    engine.dispose()
    store = Store.open(db_url)
    try:
        assert applied_revisions(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM sources WHERE id = 'old'")).scalar() == "Old"
    finally:
        store.close()
