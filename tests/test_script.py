"""Traditional script read as simplified (watcher/text/script.py): 文号 and title keys of a page printed in
traditional script are those of its simplified citations, the fold keeps every position, and migration 0012
keys the stored traditional titles again."""

from __future__ import annotations

from sqlalchemy import text

from storage.repo import Store
from tests.builders import insert_notices
from watcher.text.docno import find_docnos, normalise_docno
from watcher.text.script import simplified
from watcher.text.search import fold
from watcher.text.titles import title_key


def test_one_character_for_one():
    page = "國務院關於促進中部地區崛起“十三五”規劃的批復 國函〔2016〕204號"
    assert len(simplified(page)) == len(page)
    assert simplified(page) == "国务院关于促进中部地区崛起“十三五”规划的批复 国函〔2016〕204号"
    assert simplified("𠁞") != "𠁞"  # a traditional character outside the BMP is found too
    plain = "苏政发〔2020〕28号"
    assert simplified(plain) is plain  # nothing to change: the same object, no copy


def test_docno_and_title_key_of_a_traditional_page():
    assert normalise_docno("國函〔2016〕204號") == "国函〔2016〕204号"
    assert [str(d) for d in find_docnos("根據《國務院辦公廳關於印發…的通知》（國辦發〔2020〕12號）")] == [
        "国办发〔2020〕12号"
    ]
    assert title_key("中華人民共和國水法") == title_key("中华人民共和国水法") == "水法"


def test_search_fold_and_keys_agree():
    """The search fold is the same script table with width and case: one reading of a character."""
    s = "綠色發展條例"
    assert fold(s) == simplified(s) == "绿色发展条例"


def test_migration_keys_stored_traditional_titles_again(db_url):
    from alembic import command

    from storage.db import alembic_config, make_engine

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0011_web_indexes")
    rows = [
        ("國務院關於促進中部地區崛起“十三五”規劃的批復", "国務院关於促进中部地区崛起十三五規劃批復"),
        ("中华人民共和国水法", "水法"),
    ]
    with engine.begin() as conn:
        insert_notices(conn, [{"title": t, "title_key": k} for t, k in rows])
    engine.dispose()
    store = Store.open(db_url)
    try:
        with store.engine.connect() as conn:
            keys = conn.execute(text("SELECT title_key FROM notices ORDER BY id")).scalars().all()
    finally:
        store.close()
    assert keys == ["国务院关于促进中部地区崛起十三五规划批复", "水法"]
