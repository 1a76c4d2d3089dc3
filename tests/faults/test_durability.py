"""Durable progress (issue 14, item 10): what a long poll fetched is stored every few seconds, so a kill late
in it keeps it; a list walk cut short is walked again; the attachment readers die with their poll; runs a
killed poll left `running` are closed by the next start, another live poll's are not; a PDF that inflates
to gigabytes ends as "limit exceeded"."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from storage.models import CrawlRun, Version, utcnow
from storage.repo import Store
from tests.faults.pdfs import pdf_bomb, slow_pdf
from tests.faults.site import doc, listing, poll, source
from tests.faults.world import ChangingPortal, kill_after, start, wait_for, write_config
from watcher.config.settings import Source
from watcher.pipeline.poll import RUN_LEASE, poll_sources


def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    except Exception:  # noqa: BLE001 - the poll has not made its tables yet
        return 0
    finally:
        engine.dispose()


def test_a_kill_late_in_a_long_poll_keeps_what_it_fetched(portal, db_url, tmp_path):
    fast = [doc(portal, f"/art/{i}.html", f"第{i}号通知") for i in range(8)]
    stalled = doc(portal, "/art/slow.html", "迟迟不来的通知", delay=60)  # holds the poll open for a minute
    src = source(listing(portal, "/index.html", [*fast, stalled]), fetch={"timeout": 90, "deadline": 120})
    config = write_config(tmp_path / "sources.yaml", [src.model_dump(mode="json", by_alias=True, exclude_none=True)])
    proc = start(config, db_url, "poll", "--json")
    stored = wait_for(lambda: _count(db_url, "SELECT count(*) FROM versions") >= 8, timeout=20)
    assert kill_after(proc, 0), "the poll ended before it was killed"
    assert stored, "nothing was stored before the kill"
    # The killed poll's run is left `running`; once its heartbeat is older than the lease it is closed by the
    # next poll, whose own run ends ok.
    with create_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE crawl_runs SET started_at = :t"), {"t": utcnow() - RUN_LEASE - timedelta(minutes=1)})
    portal.routes["/art/slow.html"].delay = 0
    store = Store.open(db_url)
    [r] = asyncio.run(poll_sources([src], store))
    assert r.status == "ok" and store.count(Version) == 9
    assert sorted(run.status for run in _runs(store)) == ["interrupted", "ok"]
    store.close()


def _runs(store: Store) -> list[CrawlRun]:
    from sqlmodel import select

    with store.session() as s:
        return list(s.exec(select(CrawlRun)))


def test_a_poll_and_a_scheduler_leave_another_live_polls_run_alone(portal, db_url, tmp_path):
    slow = source(listing(portal, "/a/index.html", [doc(portal, "/a/1.html", "慢", delay=30)]), "slow")
    quick = source(listing(portal, "/b/index.html", [doc(portal, "/b/1.html", "快")]), "quick")
    slow = Source.model_validate(slow.model_dump(by_alias=True) | {"fetch": {"timeout": 60, "deadline": 90}})
    config = write_config(
        tmp_path / "sources.yaml", [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in (slow, quick)]
    )
    proc = start(config, db_url, "poll", "slow")
    assert wait_for(lambda: _count(db_url, "SELECT count(*) FROM crawl_runs WHERE status = 'running'") == 1)
    store = Store.open(db_url)
    [r] = asyncio.run(poll_sources([quick], store))
    assert r.status == "ok"
    asyncio.run(_start_and_stop_a_scheduler(config, store))
    assert {run.source_id: run.status for run in _runs(store)} == {"slow": "running", "quick": "ok"}
    kill_after(proc, 0)
    store.close()


async def _start_and_stop_a_scheduler(config: Path, store: Store) -> None:
    from watcher.scheduler.service import Service

    service = Service(config, store, first_run_delay=3600)
    asyncio.get_running_loop().call_later(0.5, service.stop)
    await service.run(install_signals=False)


def test_a_list_walk_cut_short_is_walked_again(portal, fresh_db):
    site = ChangingPortal(portal, per_page=5)
    site.publish(new=15)
    src = Source.model_validate(site.source())
    portal.routes["/chaos/index_2.html"].fail_first = 10**6  # the third list page fails
    [r] = asyncio.run(poll_sources([src], fresh_db))
    assert r.status == "failed" and r.counts.new == 10  # the list failed; what it brought is stored
    portal.routes["/chaos/index_2.html"].fail_first = 0
    [r] = asyncio.run(poll_sources([src], fresh_db))
    assert r.counts.new == 5 and fresh_db.count(Version) == 15


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_attachment_readers_die_with_their_poll(portal, tmp_path):
    portal.add("/files/heavy.pdf", slow_pdf(), content_type="application/pdf")
    page = doc(portal, "/art/1.html", "附件很重的通知", [("/files/heavy.pdf", "附件.pdf")])
    src = source(listing(portal, "/index.html", [page]))
    config = write_config(tmp_path / "sources.yaml", [src.model_dump(mode="json", by_alias=True, exclude_none=True)])
    proc = start(config, f"sqlite:///{tmp_path / 'w.db'}", "poll")
    # The poll, its forkserver, and the reader the forkserver forked: a grandchild at least.
    assert wait_for(lambda: any(_descendants(c) for c in _descendants(proc.pid)), timeout=30)
    family = _descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert wait_for(lambda: not any(_running(p) for p in family), timeout=3), [p for p in family if _running(p)]


def test_a_pdf_inflating_to_gigabytes_ends_as_limit_exceeded(portal, fresh_db):
    portal.add("/files/bomb.pdf", pdf_bomb(), content_type="application/pdf")
    page = doc(portal, "/art/1.html", "附件是炸弹的通知", [("/files/bomb.pdf", "附件.pdf")])
    [r] = poll(fresh_db, source(listing(portal, "/index.html", [page])))
    assert r.status == "ok" and r.counts.new == 1
    [att] = fresh_db.latest_snapshot(fresh_db.notice_by_url(page).id).attachments
    assert att.status == "error" and att.error.startswith("limit exceeded"), att.error


def test_a_first_start_cut_short_in_its_migrations_starts_again(tmp_path):
    """SQLite ran each DDL statement in autocommit: a kill in the middle of a migration left its first
    statements applied and its revision unrecorded, and every later start failed on "duplicate column"."""
    from sqlalchemy import event

    from storage.db import applied_revisions, head_revision, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")

    def cut(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("CREATE TABLE SIGNATURES"):
            raise KeyboardInterrupt  # the process dies here (a BaseException: nothing catches it on the way)

    event.listen(engine, "before_cursor_execute", cut)
    try:
        migrate(engine)
    except KeyboardInterrupt:
        pass
    event.remove(engine, "before_cursor_execute", cut)
    engine.dispose()
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    migrate(engine)
    assert applied_revisions(engine) == head_revision()
    engine.dispose()
