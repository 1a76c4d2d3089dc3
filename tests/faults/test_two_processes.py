"""Two processes on one database (issue 14, item 9): two `watcher poll`, or two `watcher run`, at once against
one loopback portal, on SQLite and the live PostgreSQL. Neither shows the user a traceback (the same detail
page stored by both: the second finds the version there; SQLite's lock waited for), and the database is
exact afterwards."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import storage.conflicts
import storage.db
from storage.repo import Store
from tests.faults.site import poll, source
from tests.faults.world import ChangingPortal, check, poll_json, run, start, write_config


def _both(procs, timeout: float = 120) -> list[tuple[int, str, str]]:
    outs = [p.communicate(timeout=timeout) for p in procs]
    return [(p.returncode, o.decode(), e.decode()) for p, (o, e) in zip(procs, outs, strict=True)]


def test_two_polls_at_once(portal, db_url, tmp_path):
    site = ChangingPortal(portal, per_page=20)
    site.publish(new=60)
    config = write_config(tmp_path / "sources.yaml", [site.source()])
    for round_ in range(2):
        results = _both([start(config, db_url, "poll", "--json") for _ in range(2)])
        for status, out, err in results:
            assert status == 0 and "Traceback" not in err, (round_, err[-3000:])
            [summary] = poll_json(out)
            assert summary["status"] == "ok" and summary["failed"] == 0, (round_, summary["errors"][:3])
        site.publish(new=5, revise=5)
    status, _, err = run(config, db_url, "poll", "--json")
    assert status == 0, err
    findings = check(db_url, site)
    assert findings.exact, findings


def test_two_schedulers_at_once(portal, db_url, tmp_path):
    site = ChangingPortal(portal, per_page=20)
    site.publish(new=60)
    src = site.source(schedule={"interval": "1h", "jitter": 0})
    config = write_config(tmp_path / "sources.yaml", [src])
    logs = [tmp_path / f"run{i}.log" for i in range(2)]
    procs = [start(config, db_url, "-v", "run", log=log) for log in logs]

    # Both start, register the source and its channels, and poll once: each says so in its log. Waiting for that,
    # not for a fixed time, keeps SIGTERM from arriving before a slow start (a loaded CI machine) installs its handler.
    def said(log: Path) -> str:
        return log.read_text(errors="replace") if log.exists() else ""

    deadline = time.monotonic() + 120
    while not all(f"{src['id']}: " in said(log) for log in logs):
        assert time.monotonic() < deadline, [said(log)[-2000:] for log in logs]
        assert all(p.poll() is None for p in procs), [said(log)[-3000:] for log in logs]
        time.sleep(0.2)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p, log in zip(procs, logs, strict=True):
        p.wait(timeout=120)
        err = said(log)
        assert p.returncode == 0 and "Traceback" not in err and " ERROR " not in err, err[-3000:]
    status, _, err = run(config, db_url, "poll", "--json")
    assert status == 0, err
    assert check(db_url, site).exact


def test_sqlite_locked_past_its_busy_timeout_is_waited_for(portal, tmp_path, monkeypatch):
    """Another process holds SQLite's write lock longer than busy_timeout (a long transaction): the poll's
    statements turned away as "database is locked" are run again, within a lock wait more."""
    pragmas = storage.db._sqlite_pragmas

    def short_busy_timeout(dbapi_conn, record) -> None:
        pragmas(dbapi_conn, record)
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    monkeypatch.setattr(storage.db, "_sqlite_pragmas", short_busy_timeout)
    monkeypatch.setattr(storage.conflicts, "LOCK_WAIT", 10.0)
    path = tmp_path / "w.db"
    store = Store.open(f"sqlite:///{path}")
    site = ChangingPortal(portal, per_page=50)
    site.publish(new=5)
    holder = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(1.5, holder.execute, ["COMMIT"])
    release.start()
    [r] = poll(store, source(site.source()["urls"][0]))
    release.join()
    holder.close()
    assert (r.status, r.counts.new) == ("ok", 5), r.errors
    store.close()
