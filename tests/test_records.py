"""The typed records between the stages: attachments, citations and poll errors keep the JSON they were
stored with, and a stored version reads back as the Snapshot it was stored from."""

from __future__ import annotations

import json
from dataclasses import replace

from storage.columns import attachments_json, attachments_of, citations_json, errors_json, errors_of
from storage.records import AttachmentRecord, Citations, Counts, FileText, FinishedRun, Outcome, PollError
from tests.builders import make_snapshot
from watcher.errors import ExtractError
from watcher.extract.model import ListItem
from watcher.pipeline.poll import _error_record

# The three shapes versions.attachments_json has always held: read, not downloaded, not read.
STORED = [
    {
        "url": "http://p/f.pdf",
        "name": "附件1",
        "filename": "方案.pdf",
        "media_type": "application/pdf",
        "size": 2890,
        "sha256": "ab" * 32,
        "kind": "pdf",
        "status": "ok",
        "error": None,
        "pages": 1,
        "chars": 187,
    },
    {"url": "http://p/g.docx", "name": "附件2", "status": "fetch_error", "error": "HTTP 404"},
    {"url": "http://p/h.xlsx", "name": "附件3"},
]


def test_attachment_records_keep_the_stored_json():
    raw = json.dumps(STORED, ensure_ascii=False)
    records = attachments_of(raw)
    assert [a.status for a in records] == ["ok", "fetch_error", None]
    assert records[0].file_type == "pdf" and records[0].chars == 187 and records[2].name == "附件3"
    assert attachments_json(records) == raw


def test_citations_and_errors_keep_the_stored_json():
    cites = Citations(docnos=["国发〔2021〕4号"], titles=["实施方案"])
    assert citations_json(cites) == json.dumps({"docnos": cites.docnos, "titles": cites.titles}, ensure_ascii=False)
    exc = ExtractError("no body text found", source_id="s", url="http://p/1")
    err = _error_record(exc, "s", "http://p/1")
    assert err == PollError("ExtractError", "no body text found", "s", "http://p/1")
    assert err.as_dict() == exc.as_dict()  # `watcher poll --json` prints what it printed before
    assert errors_of(errors_json([err])) == [err]
    other = _error_record(KeyError("x"), "s", None)
    assert other.as_dict() == {"error": "KeyError", "message": "'x'", "source_id": "s", "url": None}


def test_the_latest_version_reads_back_as_its_snapshot(fresh_db):
    url = "http://p/1.html"
    states = fresh_db.record_list("s", {"url": "http://p/"}, [ListItem(url, "关于X的通知")])
    first = make_snapshot(url, "依据国发〔2021〕4号。")
    fresh_db.apply("s", [Outcome(states[url], first)])
    text = FileText("ab" * 32, 2890, "方案.pdf", "application/pdf", "pdf", "ok", None, 1, "附件的正文")
    second = replace(
        make_snapshot(url, "依据国发〔2021〕4号，第二版。"),
        metadata={"index_no": "T-1"},
        citations=Citations(docnos=["国发〔2021〕4号"], titles=["实施方案"]),
        attachments=attachments_of(json.dumps(STORED)),
        attachment_texts=[text],
        etag='"e2"',
    )
    [state] = fresh_db.record_list("s", {"url": "http://p/"}, [ListItem(url, "关于X的通知")]).values()
    fresh_db.apply("s", [Outcome(state, second)])
    stored = fresh_db.latest_snapshot(state.id)
    assert stored is not None and stored.url == url and stored.body == second.body
    assert (stored.metadata, stored.citations, stored.attachments) == (
        second.metadata,
        second.citations,
        second.attachments,
    )
    assert (stored.content_hash, stored.etag, stored.doc_no, stored.published) == (
        second.content_hash,
        '"e2"',
        second.doc_no,
        second.published,
    )
    assert fresh_db.attachment_text(text.sha256) == text
    assert fresh_db.latest_snapshot(state.id + 1) is None


def test_a_run_keeps_its_errors_as_records(fresh_db):
    from storage import reads

    runs = fresh_db.start_runs(["s"])
    err = PollError("HTTPStatusError", "HTTP 404", "s", "http://p/index.html")
    fresh_db.finish_runs([FinishedRun(runs["s"], "failed", Counts(), 1, 0, [err], 0.1)])
    assert reads.source_activity(fresh_db)["s"].last_errors == [err]


def test_an_unread_attachment_is_only_its_link():
    assert AttachmentRecord("http://p/h.xlsx", "附件3").as_dict() == STORED[2]
