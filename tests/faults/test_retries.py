"""Never give up silently (issue 14, item 3): a notice whose detail page keeps failing is fetched again with
a wait that doubles up to a day, never dropped, and `watcher poll` and `watcher status` show it and exit 1
while it fails."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from storage.models import utcnow
from tests.faults.site import doc, listing, poll, source
from tests.faults.world import write_config
from watcher.cli import main
from watcher.pipeline.retry import RETRY_EVERY_RUN, retry_wait


def test_the_wait_doubles_up_to_a_day():
    waits = [retry_wait(a) for a in (0, 1, RETRY_EVERY_RUN - 1, RETRY_EVERY_RUN, RETRY_EVERY_RUN + 1)]
    assert waits == [timedelta(0)] * 3 + [timedelta(hours=1), timedelta(hours=2)]
    assert retry_wait(RETRY_EVERY_RUN + 10) == retry_wait(10**6) == timedelta(days=1)


def _age(store, url: str, hours: float) -> None:
    """The notice's last attempt `hours` earlier: time passing, without waiting for it."""
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE notices SET last_checked = :t WHERE url = :u"),
            {"t": utcnow() - timedelta(hours=hours), "u": url},
        )


def test_a_page_failing_past_the_old_limit_is_stored_when_it_comes_back(portal, fresh_db):
    flaky = doc(portal, "/art/1.html", "时好时坏的通知")
    fine = doc(portal, "/art/2.html", "正常的通知")
    portal.routes["/art/1.html"].fail_first = 10**6
    src = source(listing(portal, "/index.html", [flaky, fine]))
    for _ in range(RETRY_EVERY_RUN + 3):
        poll(fresh_db, src)
    n = fresh_db.notice_by_url(flaky)
    assert (n.status, n.attempts) == ("failed", RETRY_EVERY_RUN)  # every poll, then it waits
    [r] = poll(fresh_db, src)
    assert r.failing == 1 and r.counts.failed == 0  # waiting: not fetched, still counted as failing
    portal.routes["/art/1.html"].fail_first = 0
    _age(fresh_db, flaky, hours=0.5)
    poll(fresh_db, src)
    assert fresh_db.notice_by_url(flaky).status == "failed"  # the wait after 8 failures is an hour
    _age(fresh_db, flaky, hours=1.5)
    [r] = poll(fresh_db, src)
    assert (r.counts.new, r.failing) == (1, 0)
    assert fresh_db.notice_by_url(flaky).status == "ok"


def test_poll_and_status_exit_1_while_notices_keep_failing(portal, tmp_path):
    flaky = doc(portal, "/art/1.html", "一直失败的通知")
    fine = doc(portal, "/art/2.html", "正常的通知")
    portal.routes["/art/1.html"].fail_first = 10**6
    config = write_config(
        tmp_path / "sources.yaml",
        [
            source(listing(portal, "/index.html", [flaky, fine])).model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        ],
    )
    db = f"sqlite:///{tmp_path / 'w.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["-c", str(config), "--db", db, "poll", "--json"])
    assert first.exit_code == 1
    # Failed often enough to wait: the next poll fetches nothing and fails nothing, yet says so.
    with create_engine(db).begin() as conn:
        conn.execute(text("UPDATE notices SET attempts = :a WHERE status = 'failed'"), {"a": RETRY_EVERY_RUN})
    quiet = runner.invoke(main, ["-c", str(config), "--db", db, "poll", "--json"])
    [summary] = json.loads(quiet.stdout)
    assert (summary["status"], summary["failed"], summary["failing"]) == ("ok", 0, 1)
    assert quiet.exit_code == 1 and "1 件通知持续失败" in quiet.stderr
    status = runner.invoke(main, ["-c", str(config), "--db", db, "status", "--json"])
    assert status.exit_code == 1
    [row] = json.loads(status.stdout)["sources"]
    assert row["failing"] == 1 and row["last_status"] == "ok"
    table = runner.invoke(main, ["-c", str(config), "--db", db, "status"])
    assert table.exit_code == 1 and "1 件通知持续失败" in table.stderr
