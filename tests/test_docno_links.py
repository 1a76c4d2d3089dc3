"""One 文号 printed in two forms links (issue #15's 国令第707号 = 中华人民共和国国务院令第707号): notices store the
number's key beside its printed form, citations store the key, and migration 0013 keys what was stored before."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from storage.repo import Store
from tests.builders import insert_notices
from watcher.evaluation.links import LoadedDoc, ingest
from watcher.link.linker import Linker

ORDER = LoadedDoc(
    "order.txt",
    "中华人民共和国国务院令",
    "中华人民共和国国务院令第707号",
    date(2019, 3, 2),
    "《某某管理条例》已经国务院常务会议通过，现予公布，自公布之日起施行。\n第一条 为了规范某某管理，制定本条例。\n"
    "第二条 本条例适用于某某活动的管理。\n第三条 县级以上人民政府应当加强对某某工作的领导。",
)
MEASURE = LoadedDoc(
    "measure.txt",
    "某省人民政府关于贯彻落实某某管理工作的实施意见",
    "某政发〔2019〕12号",
    date(2019, 9, 1),
    "各市、县人民政府，省各委办厅局：\n为贯彻落实国务院令第707号，结合我省实际，提出如下实施意见。\n"
    "一、加强组织领导。各地要把某某工作摆上重要议程。\n二、落实工作责任。",
)
SHORT_FORM = LoadedDoc(
    "short.txt",
    "某市人民政府关于做好某某管理工作的通知",
    "某府发〔2019〕3号",
    date(2019, 10, 8),
    "各区人民政府：\n根据国令第707号，结合本市实际，现就做好某某管理工作通知如下。\n一、明确职责分工。\n二、加强监督检查。",
)


def _links(store: Store) -> set[tuple[str, str | None, str]]:
    with store.engine.connect() as conn:
        path = {r.id: r.url.removeprefix("file:") for r in conn.execute(text("SELECT id, url FROM notices"))}
        rows = conn.execute(text("SELECT child_id, parent_id, parent_key, relation FROM links")).all()
    return {(path[r.child_id], path[r.parent_id] if r.parent_id else r.parent_key, r.relation) for r in rows}


def test_citations_in_either_form_find_the_stored_order(fresh_db):
    ingest(fresh_db, [ORDER], Linker(fresh_db))
    ingest(fresh_db, [MEASURE, SHORT_FORM], Linker(fresh_db))
    links = _links(fresh_db)
    assert ("measure.txt", "order.txt", "derived") in links
    assert ("short.txt", "order.txt", "derived") in links


def test_the_order_arriving_after_its_citations_is_linked_to_them(fresh_db):
    ingest(fresh_db, [MEASURE, SHORT_FORM], Linker(fresh_db))
    assert {p for _, p, _ in _links(fresh_db)} <= {"国务院令第707号", "国令第707号", None}  # placeholders meanwhile
    ingest(fresh_db, [ORDER], Linker(fresh_db))
    links = _links(fresh_db)
    assert ("measure.txt", "order.txt", "derived") in links
    assert ("short.txt", "order.txt", "derived") in links


def test_migration_keys_stored_numbers_and_citations(db_url):
    from alembic import command

    from storage.db import alembic_config, make_engine

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0012_simplified_keys")
    with engine.begin() as conn:
        insert_notices(conn, [{"doc_no": d} for d in ["中华人民共和国国务院令第707号", "苏政发〔2020〕28号", None]])
        conn.execute(
            text(
                "INSERT INTO citations (notice_id, kind, key, raw, in_purpose, basis) VALUES "
                "(2, 'docno', '国令第707号', '国令第707号', true, false), "
                "(2, 'title', '某某管理条例', '某某管理条例', true, false)"
            )
        )
    engine.dispose()
    store = Store.open(db_url)
    try:
        with store.engine.connect() as conn:
            keys = conn.execute(text("SELECT doc_key FROM notices ORDER BY id")).scalars().all()
            cited = conn.execute(text("SELECT kind, key, raw FROM citations ORDER BY id")).all()
    finally:
        store.close()
    assert keys == ["国务院令第707号", "苏政发〔2020〕28号", None]
    assert [tuple(r) for r in cited] == [
        ("docno", "国务院令第707号", "国令第707号"),
        ("title", "某某管理条例", "某某管理条例"),
    ]
