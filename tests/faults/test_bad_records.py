"""One bad record never blocks the others (issue 14, item 1): a value longer than its column is clipped, on
every bounded column of every table, and a record the database still refuses is stored as a failed attempt
of its notice, with the database's reason, while the rest of its batch is stored."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from sqlalchemy.dialects import postgresql
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - the tables
from storage.models import AttachmentText, Version
from tests.builders import make_snapshot
from tests.faults.site import doc, listing, poll, source
from watcher.extract.model import ListItem


def test_every_bounded_column_of_every_table_clips_what_is_too_long():
    dialect = postgresql.dialect()
    bounded = []
    for table in SQLModel.metadata.tables.values():
        for column in table.columns:
            m = re.fullmatch(r"VARCHAR\((\d+)\)", str(column.type.compile(dialect=dialect)))
            if m:
                bounded.append(f"{table.name}.{column.name}")
                bound = int(m.group(1))
                processor = column.type.bind_processor(dialect) or (lambda v: v)
                assert processor("字" * (bound + 40)) == "字" * bound, f"{table.name}.{column.name}"
                assert processor("ok") == "ok" and processor(None) is None
    assert {"attachment_texts.kind", "attachment_texts.media_type", "notices.doc_no", "deliveries.owner"} <= set(
        bounded
    )


def test_an_attachment_with_an_overlong_type_does_not_block_its_source(portal, fresh_db):
    """A file extension of 26 characters (the type of an unknown file) and a Content-Type of 200 overflowed
    VARCHAR(16) and VARCHAR(128) on PostgreSQL: the batch rolled back and every notice stayed pending."""
    odd = "/module/download/downfile.jsp?id=7"
    portal.add(
        odd,
        b"\x00\x01 not a known format",
        content_type="application/x-" + "y" * 200,
        headers={"Content-Disposition": 'attachment; filename="data.abcdefghijklmnopqrstuvwxyz"'},
    )
    with_file = doc(portal, "/art/1.html", "附件格式少见的通知", [(odd, "附件：数据")])
    plain = doc(portal, "/art/2.html", "普通通知")
    [r] = poll(fresh_db, source(listing(portal, "/index.html", [with_file, plain])))
    assert (r.status, r.counts.new, r.counts.failed) == ("ok", 2, 0), r.errors
    [text] = [t for t in [fresh_db.attachment_text(_sha(fresh_db, with_file))] if t]
    assert text.file_type == "abcdefghijklmnop" and len(text.media_type) == 128
    assert fresh_db.count(AttachmentText) == 1 and fresh_db.count(Version) == 2


def _sha(store, url: str) -> str:
    [a] = store.latest_snapshot(store.notice_by_url(url).id).attachments
    return a.sha256


def test_a_record_the_database_refuses_fails_alone(fresh_db):
    """A lone surrogate (what a broken PDF font map can yield) is refused by both databases' drivers: that
    notice is a failed attempt with the reason, the two others of its batch are stored with their events."""
    urls = [f"http://p/{i}.html" for i in range(3)]
    states = fresh_db.record_list(
        "s", dict(url="http://p/list"), [ListItem(u, f"通知{i}", date(2024, 1, 2)) for i, u in enumerate(urls)]
    )
    snaps = [make_snapshot(u, f"第{i}份正文。") for i, u in enumerate(urls)]
    snaps[1] = replace(snaps[1], body="正文\ud800不可存。")
    counts = fresh_db.apply("s", [*(_outcome(states[u], s) for u, s in zip(urls, snaps, strict=True))])
    assert (counts.new, counts.failed) == (2, 1)
    [err] = counts.errors
    assert err.url == urls[1] and err.message.startswith("could not be stored: ") and err.source_id == "s"
    bad = fresh_db.notice_by_url(urls[1])
    assert (bad.status, bad.attempts, bad.version_count) == ("failed", 1, 0)
    assert "could not be stored" in bad.last_error and "INSERT" not in bad.last_error  # the reason, not the SQL
    assert [fresh_db.notice_by_url(u).version_count for u in (urls[0], urls[2])] == [1, 1]
    assert sorted(e.notice_id for e in fresh_db.events()) == sorted(
        fresh_db.notice_by_url(u).id for u in (urls[0], urls[2])
    )


def test_batches_stored_together_are_stored_apart_when_one_is_refused(fresh_db):
    """`Store.apply_many`: two sources' batches in one transaction, each with its own counts; when the database
    refuses a record of one, the other source's batch is stored whole and the refused record fails alone."""
    batches = []
    for src, bad in (("a", False), ("b", True)):
        urls = [f"http://{src}/{i}.html" for i in range(2)]
        states = fresh_db.record_list(src, dict(url=f"http://{src}/list"), [ListItem(u, f"通知{u}") for u in urls])
        snaps = [make_snapshot(u, f"{src}第{i}份正文。") for i, u in enumerate(urls)]
        if bad:
            snaps[1] = replace(snaps[1], body="正文\ud800不可存。")
        batches.append(fresh_db.prepare_batch(src, [_outcome(states[u], s) for u, s in zip(urls, snaps, strict=True)]))
    a, b = fresh_db.apply_many(batches)
    assert (a.new, a.failed, a.errors) == (2, 0, [])
    assert (b.new, b.failed) == (1, 1) and [e.url for e in b.errors] == ["http://b/1.html"]
    stored = {
        u: fresh_db.notice_by_url(u).version_count for u in ("http://a/0.html", "http://a/1.html", "http://b/0.html")
    }
    assert stored == dict.fromkeys(stored, 1)


def _outcome(state, snap):
    from storage.records import Outcome

    return Outcome(state, snap)


def test_text_no_database_can_hold_is_made_storable_before_it_reaches_one(fresh_db):
    """A lone surrogate (a broken PDF font map) or a NUL in a page or a file's text would make the notice fail to
    store on every poll, for ever: the snapshot and the attachment text carry U+FFFD instead, and it stores at once."""
    from watcher.attachments.doctext import TextResult
    from watcher.attachments.reader import _file_text
    from watcher.extract.model import Detail
    from watcher.pipeline.snapshot import snapshot

    page = Detail(
        url="http://p/0.html",
        title="通知\x00",
        body="正文\ud800不可存。\n\n第二段\x00。",
        metadata={"来源\ud800": "办"},
    )
    snap = snapshot(page)
    assert (snap.title, snap.body) == ("通知", "正文\ufffd不可存。\n\n第二段。")
    assert "\ud800" not in snap.norm_text and list(snap.metadata) == ["来源\ufffd"]
    states = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(page.url, "通知", date(2024, 1, 2))])
    counts = fresh_db.apply("s", [_outcome(states[page.url], snap)])
    assert (counts.new, counts.failed) == (1, 0)
    file_text = _file_text(
        b"%PDF", "0" * 64, "a.pdf", TextResult(file_type="pdf", status="ok", text="第\ud835条\x00"), None
    )
    assert file_text.text == "第\ufffd条"
