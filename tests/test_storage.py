"""Storage on SQLite and the live PostgreSQL: migrations, versions, outbox, diffs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect

from storage.batch import RETRY_AT, plan
from storage.db import applied_revisions, migrate
from storage.models import Event, Version
from storage.records import Counts, FinishedRun, NoticeState, Outcome
from tests.builders import make_snapshot
from watcher.extract.model import ListItem
from watcher.text.diff import changed_paragraphs, render_unified


def test_migrations_are_recorded_and_idempotent(fresh_db):
    assert applied_revisions(fresh_db.engine) == "0013_docno_keys"
    assert migrate(fresh_db.engine) == []
    tables = set(inspect(fresh_db.engine).get_table_names())
    assert {"sources", "notices", "versions", "pages", "crawl_runs", "events", "robots", "alembic_version"} <= tables


def test_versions_only_on_change_and_events_in_same_batch(fresh_db):
    url = "http://p/1.html"
    states = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])
    st = states[url]
    assert st.status == "pending" and st.version_count == 0
    c1 = fresh_db.apply("s", [Outcome(st, make_snapshot(url, "第一段。\n第二段。"))])
    assert (c1.new, c1.changed) == (1, 0)
    st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])[url]
    c2 = fresh_db.apply("s", [Outcome(st, make_snapshot(url, "第一段。\n\n第二段。 "))])  # same normalised text
    assert (c2.new, c2.changed, c2.unchanged) == (0, 0, 1)
    st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", date(2024, 1, 2))])[url]
    c3 = fresh_db.apply("s", [Outcome(st, make_snapshot(url, "第一段。\n第二段（修订）。\n第三段。"))])
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
    broken = Outcome(st, None)  # neither snapshot nor error nor 304: a programming error mid-batch
    with pytest.raises(ValueError, match="neither snapshot"):
        fresh_db.apply("s", [Outcome(st, make_snapshot(url, "正文")), broken])
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
        conn.execute(
            text(
                "INSERT INTO sources (id, name, kind, enabled, config_json, created_at, updated_at) "
                "VALUES ('old', 'Old', 'html', true, '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    engine.dispose()
    store = Store.open(db_url)
    try:
        assert applied_revisions(store.engine) == head_revision()
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM sources WHERE id = 'old'")).scalar() == "Old"
    finally:
        store.close()


def test_interrupted_runs_are_marked_and_finished_ones_kept(fresh_db):
    runs = fresh_db.start_runs(["a", "b"])
    fresh_db.finish_runs(
        [FinishedRun(run_id=runs["a"], status="ok", counts=Counts(), pages=1, not_modified=0, errors=[], duration=0.1)]
    )
    assert fresh_db.mark_interrupted() == 1
    assert {sid: r.status for sid, r in fresh_db.last_runs().items()} == {"a": "ok", "b": "interrupted"}


def _state(version_count=0, content_hash=None, status="pending"):
    return NoticeState(
        id=7,
        url="http://p/7.html",
        status=status,
        list_title="t",
        list_date=date(2024, 1, 1),
        attempts=2,
        content_hash=content_hash,
        version_count=version_count,
        last_checked=None,
        etag="e0",
        last_modified="lm0",
    )


NOW = datetime(2024, 5, 1, tzinfo=UTC)
_SAME = make_snapshot("http://p/7.html", "正文。")


@pytest.mark.parametrize(
    "outcome, counts, rows",
    [
        # an error: attempts counted; a notice never stored stays failed, a stored one stays ok
        (Outcome(_state(), error="boom"), (0, 0, 0, 1), {"failed": dict(_attempts=3, _error="boom", _status="failed")}),
        (
            Outcome(_state(version_count=1, status="ok"), error="x" * 3000),
            (0, 0, 0, 1),
            {"failed": dict(_status="ok", _error="x" * 2000)},
        ),
        # a 304 keeps the stored validators; the same text takes the new ones
        (
            Outcome(_state(version_count=1, status="ok"), not_modified=True),
            (0, 0, 1, 0),
            {"unchanged": dict(_status="ok", _checked=NOW, _etag="e0", _lm="lm0")},
        ),
        (
            Outcome(_state(version_count=1, content_hash=_SAME.content_hash), _SAME),
            (0, 0, 1, 0),
            {"unchanged": dict(_status="ok", _etag=None)},
        ),
        # a new text: a first version is new, a later one changed; a page to retry is back-dated
        (
            Outcome(_state(), make_snapshot("http://p/7.html", "正文。")),
            (1, 0, 0, 0),
            {"changed": dict(_count=1, _checked=NOW, _published=date(2024, 1, 2)), "versions": dict(seq=1)},
        ),
        (
            Outcome(_state(version_count=2, content_hash="old"), replace(_SAME, retry=True, published=None)),
            (0, 1, 0, 0),
            {"changed": dict(_count=3, _checked=RETRY_AT, _published=date(2024, 1, 1)), "versions": dict(seq=3)},
        ),
    ],
    ids=["error-new", "error-stored", "304", "same-text", "first-version", "new-version-retry"],
)
def test_plan_sorts_outcomes_into_rows(outcome, counts, rows):
    p = plan("s", [outcome], NOW)
    assert (p.counts.new, p.counts.changed, p.counts.unchanged, p.counts.failed) == counts
    for name in ("failed", "unchanged", "changed", "versions"):
        got = getattr(p, name)
        assert len(got) == (name in rows), name
        for key, value in rows.get(name, {}).items():
            assert got[0][key] == value, (name, key)
    assert len(p.events) == len(p.versions) == len(p.search)
    if p.events:
        assert p.events[0]["kind"] == ("notice.new" if counts[0] else "notice.version")
        assert json.loads(p.events[0]["payload_json"])["seq"] == p.versions[0]["seq"]


def test_plan_refuses_an_outcome_that_says_nothing():
    with pytest.raises(ValueError, match="neither snapshot"):
        plan("s", [Outcome(_state())], NOW)
