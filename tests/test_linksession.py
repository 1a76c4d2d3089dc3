"""A linking session keeps every write until it ends and its reads see them: what it wrote is read back before
anything reaches the database, what it deleted is gone, another connection sees nothing meanwhile and can take
SQLite's write lock while the session reads and computes; and what another process stores in between."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from storage.conflicts import is_duplicate
from storage.linksession import LinkSession
from storage.records import CitationRow, LinkRow
from storage.repo import Store
from watcher.evaluation.links import store_text
from watcher.extract.model import Detail

TITLES = ("关于印发甲办法的通知", "关于乙事项的通知", "关于丙事项的通知")


@pytest.fixture
def two_writers(tmp_path):
    """A Store on a SQLite file, and another connection to the file (autocommit; never waits for a lock)."""
    path = tmp_path / "w.db"
    store = Store.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    yield store, other
    other.close()
    store.close()


def _notices(store: Store) -> list[tuple[int, int]]:
    """Three stored, unlinked notices: (notice id, version id) of each."""
    ids = [
        store_text(store, "s", f"http://x/list{i}", Detail(url=f"http://x/{i}", title=t, body=f"正文{i}。" * 30))
        for i, t in enumerate(TITLES)
    ]
    with store.engine.connect() as conn:
        vids = dict(conn.execute(text("SELECT notice_id, id FROM versions")).all())
    return [(n, vids[n]) for n in ids]


def _link(child: int, parent: int | None, relation: str = "derived", key: str | None = None) -> LinkRow:
    pkey = key or f"n:{parent}"
    return LinkRow(child, parent, pkey, relation, 0.5, 0.5, 0.5, {"why": relation}, None, f"{child}→{pkey}")


def _count(store: Store, table: str, where: str = "1=1") -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()


def _writes(store: Store) -> list[str]:
    """The statements other than reads that the store's connections run from now on."""
    seen: list[str] = []

    def before(_conn, _cursor, statement: str, *_args) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "PRAGMA")):
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


def _reads(tx: LinkSession, a: int, b: int, c: int) -> dict:
    """What linking reads of the three notices."""
    return {
        "texts": [(n.link_date, n.repost_of) for n in map(tx.notice_text, (a, b, c)) if n is not None],
        "grounds": [tx.grounds(n) for n in (a, b, c)],
        "waiting": tx.waiting(["某法"], "国令第707号", exclude=c),
        "chain": tx.chain(["某旧办法"]),
        "links": [tx.links_of(n, ("derived", "repost", "cites")) for n in (a, b, c)],
        "sigs": tx.signatures_of([a, b, c]),
    }


def _write(tx: LinkSession, nv: list[tuple[int, int]]) -> None:
    """A pass's writes for notice a: its date, a former title, citations, links, a signature, an event."""
    (a, va), (b, _), (c, _) = nv
    tx.add_signature(va, a, "p", 3, b"sig")
    tx.set_link_facts(a, date(2020, 1, 1))
    tx.set_aliases(a, ["某旧办法"])
    tx.clear_citations(a)
    cites = [
        CitationRow(a, "title", "某法", "《某法》", True),
        CitationRow(a, "docno", "中华人民共和国国务院令第707号", "x", False),
    ]
    tx.add_citations(cites)
    tx.add_link(_link(a, b))
    tx.add_link(_link(a, None, key="国令第1号"))
    tx.add_link(_link(c, a, "cites"))
    tx.announce(a, "s", [_link(a, b)])


def test_what_a_session_keeps_is_read_back_as_the_database_returns_it_once_written(fresh_db):
    store = fresh_db
    nv = _notices(store)
    (a, va), (b, _), (c, _) = nv
    writes = _writes(store)
    with store.link_session([a]) as tx:
        _write(tx, nv)
        before = _reads(tx, a, b, c)
        assert writes == []  # the session has only read so far: no transaction, no write lock
        assert _count(store, "links") == _count(store, "citations") == _count(store, "signatures") == 0
        assert _count(store, "title_aliases") == 0 and _count(store, "notices", "link_date IS NOT NULL") == 0
    with store.link_session() as tx:
        after = _reads(tx, a, b, c)
    assert before == after
    assert before["texts"][0] == (date(2020, 1, 1), None)
    assert before["grounds"][0].parents == {"某法"}
    assert [(w.child_id, w.when, w.citation.kind) for w in before["waiting"]] == [
        (a, date(2020, 1, 1), "title"),
        (a, date(2020, 1, 1), "docno"),
    ]
    assert [m.id for m in before["chain"]] == [a]
    assert [ln.parent_key for ln in before["links"][0]] == [f"n:{b}", "国令第1号"]
    assert [ln.parent_key for ln in before["links"][2]] == [f"n:{a}"]
    assert before["sigs"][a].version_id == va
    assert _count(store, "events", "kind = 'link.new'") == 1


def test_what_a_session_deletes_or_replaces_is_not_read_back(fresh_db):
    store = fresh_db
    nv = _notices(store)
    (a, _), (b, _), (c, _) = nv
    with store.link_session([a]) as tx:
        _write(tx, nv)
    with store.link_session([a, c]) as tx:
        tx.clear_citations(a)
        tx.set_aliases(a, ["另一旧名"])
        tx.delete_link(a, f"n:{b}", "derived")
        tx.set_link_facts(a, None, b)  # a is a repost of b now: left out of chains and waiting
        tx.delete_link(c, f"n:{a}", "cites")
        tx.add_link(_link(c, a, "cites"))  # deleted, then made again: read back once
        writes = _writes(store)
        before = _reads(tx, a, b, c)
        assert writes == []
        assert _count(store, "citations") == 2 and _count(store, "links") == 3  # nothing deleted yet
        assert not tx.link_exists(a, f"n:{b}", "derived") and tx.link_exists(a, "国令第1号", "derived")
    with store.link_session() as tx:
        after = _reads(tx, a, b, c)
    assert before == after
    assert before["grounds"][0].parents == frozenset() and before["waiting"] == []
    assert before["chain"] == [] and before["texts"][0] == (None, b)
    assert [ln.parent_key for ln in before["links"][0]] == ["国令第1号"]
    assert [ln.parent_key for ln in before["links"][2]] == [f"n:{a}"]


def test_a_cluster_repointed_in_the_session_is_read_repointed(fresh_db):
    store = fresh_db
    nv = _notices(store)
    (a, _), (b, _), (c, _) = nv
    with store.link_session([a, b]) as tx:
        tx.set_aliases(a, ["某旧办法"])
        tx.set_aliases(b, ["某旧办法"])
        tx.set_aliases(c, ["某旧办法"])
        tx.add_link(_link(b, a, "repost"))
        tx.set_link_facts(b, None, a)
        tx.add_link(_link(a, None, key="国令第1号"))
    writes = _writes(store)
    with store.link_session([c]) as tx:
        tx.add_link(_link(a, c, "repost"))
        tx.repoint_cluster(a, c)  # c, an earlier copy of a, arrived late: a and its reposts follow it
        before = _reads(tx, a, b, c)
        assert writes == []
        assert _count(store, "notices", "repost_of IS NOT NULL") == 1
    with store.link_session() as tx:
        after = _reads(tx, a, b, c)
    assert before == after
    assert [t[1] for t in before["texts"]] == [c, c, None]
    assert [m.id for m in before["chain"]] == [c]
    assert [(ln.parent_id, ln.parent_key) for ln in before["links"][1]] == [(c, f"n:{c}")]
    assert [ln.relation for ln in before["links"][0]] == ["repost"]  # a keeps no link of its own


def test_another_connection_takes_the_write_lock_while_the_session_reads_and_computes(two_writers):
    store, other = two_writers
    nv = _notices(store)
    (a, _), (b, _), (c, _) = nv
    with store.link_session([a, b, c]) as tx:
        tx.conn.exec_driver_sql("PRAGMA busy_timeout=200")  # a session that wrote would fail fast here
        other.execute("BEGIN IMMEDIATE")  # SQLite's write lock, while the session works
        _write(tx, nv)
        _reads(tx, a, b, c)
        other.execute("UPDATE notices SET title = title || '（修订）' WHERE id = ?", (c,))
        other.execute("COMMIT")
        assert other.execute("SELECT count(*) FROM links").fetchone() == (0,)
    assert other.execute("SELECT count(*) FROM links").fetchone() == (3,)
    assert other.execute("SELECT title FROM notices WHERE id = ?", (c,)).fetchone() == (TITLES[2] + "（修订）",)


def test_citations_another_process_stored_for_a_notice_the_session_found_bare_are_replaced(two_writers):
    store, other = two_writers
    nv = _notices(store)
    (a, _), _, _ = nv
    with store.link_session([a]) as tx:
        tx.set_aliases(a, [])  # a has nothing stored: its deletes are not kept
        tx.clear_citations(a)
        other.execute(
            "INSERT INTO citations (notice_id, kind, key, raw, in_purpose, basis) VALUES (?, 'title', '他法', 'x', 1, 0)",
            (a,),
        )
        other.execute("INSERT INTO title_aliases (notice_id, key) VALUES (?, '他名')", (a,))
        tx.add_citations([CitationRow(a, "title", "某法", "《某法》", True)])
    keys = other.execute("SELECT key FROM citations WHERE notice_id = ?", (a,)).fetchall()
    assert keys == [("某法",)] and other.execute("SELECT count(*) FROM title_aliases").fetchone() == (0,)


def test_a_version_another_process_signed_meanwhile_is_a_duplicate_at_the_flush(two_writers):
    store, other = two_writers
    nv = _notices(store)
    (a, va), _, _ = nv
    with pytest.raises(IntegrityError) as err, store.link_session([a]) as tx:
        _write(tx, nv)
        other.execute(
            "INSERT INTO signatures (version_id, notice_id, params, size, hashvalues, created_at)"
            " VALUES (?, ?, 'p', 3, x'00', CURRENT_TIMESTAMP)",
            (va, a),
        )
    assert is_duplicate(err.value)
    assert _count(store, "links") == 0 and _count(store, "citations") == 0  # the session rolled back whole
