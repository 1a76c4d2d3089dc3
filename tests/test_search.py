"""Search that finds: ranked, terms ANDed, two-character words, 文号 in any brackets, traditional characters,
matches marked; on SQLite and PostgreSQL alike, served by an index."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from storage.records import Outcome, Snapshot
from storage.repo import Store
from watcher.extract.model import ListItem
from watcher.text.normalise import content_hash, normalise
from watcher.text.search import fold, parse_query, snippet, tokens

JS = "江苏省人民政府关于推进绿色产业发展的意见"
JS_BODY = "加快推动绿色产业发展，是深入贯彻新发展理念的需要。\n鼓励发展绿色信贷，支持绿色债券。"
LYG = "连云港市人民政府关于推进绿色产业发展的实施意见"
LYG_BODY = "为贯彻落实《省政府关于推进绿色产业发展的意见》（苏政发〔2020〕28号），结合我市实际，制定本意见。"
FIN = "关于金融支持实体经济的通知"
FIN_BODY = "引导金融机构加大对小微企业的信贷投放。\n大力发展绿色金融，完善绿色金融标准体系。"
OTHER = "关于做好第28项工作的通知"
OTHER_BODY = "依据苏政发〔2020〕15号，2020年起实施，第28条另有规定。"
HK = "關於發展綠色低碳產業的通告"
HK_BODY = "推動綠色低碳發展，構建綠色金融體系。"


def snap(url: str, title: str, body: str, doc_no: str | None = None, published: date | None = None, attachment=""):
    norm = normalise(body + ("\n\n" + attachment if attachment else ""))
    return Snapshot(
        url=url,
        title=title,
        body=body,
        norm_text=norm,
        content_hash=content_hash(title + norm),
        doc_no=doc_no,
        published=published,
        attachment_text=attachment,
    )


def store_all(store: Store, snaps: list[Snapshot], source: str = "s") -> dict[str, int]:
    """Store the snapshots as notices of `source` (new or new versions); their ids by title."""
    states = store.record_list(source, {"url": f"http://{source}/list"}, [ListItem(s.url, s.title) for s in snaps])
    store.apply(source, [Outcome(states[s.url], s) for s in snaps])
    return {s.title: store.notice_by_url(s.url).id for s in snaps}  # type: ignore[union-attr]


@pytest.fixture
def corpus(fresh_db):
    ids = store_all(
        fresh_db,
        [
            snap("http://p/js", JS, JS_BODY, "苏政发〔2020〕28号", date(2020, 3, 27)),
            snap("http://p/lyg", LYG, LYG_BODY, None, date(2020, 8, 1)),
            snap("http://p/fin", FIN, FIN_BODY, "测金发〔2021〕3号", date(2021, 5, 6)),
            snap("http://p/other", OTHER, OTHER_BODY, "测政发〔2024〕2号", date(2024, 1, 2)),
            snap("http://p/hk", HK, HK_BODY, None, date(2022, 2, 2)),
        ],
    )
    return fresh_db, ids


def found(store: Store, query: str, **kw) -> list[int]:
    return [h.id for h in store.search(query, **kw)]


# ---- the text side ------------------------------------------------------------------------------
def test_fold_is_one_character_for_one():
    s = "綠色低碳發展，蘇政發（２０２０）28號 ABC"
    assert fold(s) == "绿色低碳发展,苏政发(2020)28号 abc" and len(fold(s)) == len(s)


def test_tokens_are_character_pairs_words_and_the_last_character():
    assert tokens("绿色金融 pm2.5 第3条") == ["绿色", "色金", "金融", "融", "pm2", "5", "第", "3", "条"]


def test_a_query_is_phrases_anded_and_a_docno_is_one_token():
    q = parse_query("绿色 金融 苏政发[2020]28号 色")
    assert q.fts5() == '"绿色" AND "金融" AND "文号苏政发202028号" AND "色" *'
    assert q.docno == "苏政发〔2020〕28号"
    assert parse_query("苏政发（2020）28号").terms == parse_query("蘇政發〔2020〕28號").terms == q.terms[2:3]
    assert parse_query(" ， 。 ").terms == ()


def test_snippet_marks_the_terms_in_the_original_text():
    cut = snippet("前言。\n" + HK_BODY, parse_query("绿色金融 低碳"), width=20)
    assert cut is not None
    assert [p for p, marked in cut.parts() if marked] == ["低碳", "綠色金融"]
    assert "\n" not in cut.text


def test_marks_in_html_are_escaped():
    from watcher.views.search import marked_html

    assert marked_html("<b>绿色</b>&", [(3, 5)]) == "&lt;b&gt;<mark>绿色</mark>&lt;/b&gt;&amp;"


# ---- the store ----------------------------------------------------------------------------------
def test_terms_are_anded_and_two_character_words_found(corpus):
    store, ids = corpus
    assert set(found(store, "绿色")) == {ids[JS], ids[LYG], ids[FIN], ids[HK]}
    assert set(found(store, "金融")) == {ids[FIN], ids[HK]}
    assert set(found(store, "绿色 金融")) == {ids[FIN], ids[HK]}
    assert found(store, "绿色 金融 信贷") == [ids[FIN]]
    assert found(store, "蓝色产业") == [] and found(store, "") == []


def test_a_docno_in_any_brackets_finds_the_notice_first_then_those_citing_it(corpus):
    store, ids = corpus
    for q in ("苏政发〔2020〕28号", "苏政发[2020]28号", "苏政发（2020）28号", "蘇政發(2020)28號"):
        assert found(store, q) == [ids[JS], ids[LYG]], q
    # 苏政发〔2020〕15号 and a 28 elsewhere are not 苏政发〔2020〕28号
    assert ids[OTHER] not in found(store, "苏政发[2020]28号")


def test_traditional_and_simplified_find_each_other_and_the_original_is_shown(corpus):
    store, ids = corpus
    assert found(store, "綠色低碳") == [ids[HK]] and found(store, "绿色低碳") == [ids[HK]]
    hit = next(h for h in store.search("绿色金融") if h.id == ids[HK])
    assert hit.title == HK and hit.snippet is not None
    assert [p for p, marked in hit.snippet.parts() if marked] == ["綠色金融"]


def test_title_matches_rank_first_and_matches_are_marked(corpus):
    store, ids = corpus
    hits = store.search("实体经济 金融")
    assert [h.id for h in hits] == [ids[FIN]]
    assert [FIN[s:e] for s, e in hits[0].title_marks] == ["金融", "实体经济"]
    hits = store.search("金融")  # in FIN's title and body, in HK's body only
    assert hits[0].id == ids[FIN] and hits[0].score > hits[1].score
    marked = [p for p, m in hits[0].snippet.parts() if m]  # type: ignore[union-attr]
    assert marked and set(marked) == {"金融"}


def test_filters_and_pages(corpus):
    store, ids = corpus
    assert set(found(store, "绿色", since=date(2021, 1, 1))) == {ids[FIN], ids[HK]}
    assert found(store, "绿色", source_id="elsewhere") == []
    everything = found(store, "绿色")
    assert found(store, "绿色", limit=2) + found(store, "绿色", limit=2, offset=2) == everything


def test_a_new_version_replaces_the_old_text_in_the_index(corpus):
    store, ids = corpus
    store_all(store, [snap("http://p/fin", FIN, "只谈普惠金融，不谈别的。", "测金发〔2021〕3号", date(2021, 5, 6))])
    assert ids[FIN] not in found(store, "绿色") and found(store, "普惠金融") == [ids[FIN]]
    store_all(store, [snap("http://p/fin", FIN, FIN_BODY, "测金发〔2021〕3号", date(2021, 5, 6))])
    assert ids[FIN] in found(store, "绿色") and found(store, "普惠金融") == []


def test_attachment_text_is_searched_and_shown(fresh_db):
    ids = store_all(
        fresh_db, [snap("http://p/a", "关于印发方案的通知", "现印发给你们。", attachment="推行清洁生产审核制度。")]
    )
    [hit] = fresh_db.search("清洁生产")
    assert hit.id == ids["关于印发方案的通知"] and "清洁生产" in hit.snippet.text  # type: ignore[union-attr]


def test_the_search_is_served_by_an_index(corpus):
    store, _ = corpus
    q = parse_query("绿色 金融")
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "sqlite":
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT rowid FROM search_terms WHERE search_terms MATCH :q"), {"q": q.fts5()}
            ).all()
            assert any("VIRTUAL TABLE INDEX" in r[-1] for r in plan), plan
        else:
            conn.execute(text("SET enable_seqscan = off"))  # a table this small is read whole otherwise
            plan = conn.execute(
                text("EXPLAIN SELECT notice_id FROM search_terms WHERE terms @@ CAST(:q AS tsquery)"),
                {"q": q.tsquery()},
            ).scalars()
            assert any("ix_search_terms_terms" in line for line in plan)


def test_the_migration_keeps_what_notice_search_held(db_url):
    """0009 indexes again from the text 0005's table kept (the attachments' too), on both databases."""
    from alembic import command

    from storage.db import alembic_config, migrate

    store = Store.open(db_url)
    ids = store_all(store, [snap("http://p/js", JS, JS_BODY, "苏政发〔2020〕28号")])
    with store.engine.begin() as conn:
        cfg = alembic_config(store.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008_instruments")
        conn.execute(text("UPDATE notice_search SET body = body || '附件：推行清洁生产审核制度。'"))
    migrate(store.engine)
    assert found(store, "清洁生产") == found(store, "苏政发[2020]28号") == [ids[JS]]
    store.close()


# ---- at scale: WATCHER_SEARCH_BENCH=100000 pytest tests/test_search.py -k scale -s ----------------


def test_a_common_query_ranks_only_the_newest_matches(fresh_db, monkeypatch):
    """Ranking cost is bounded: past RANK_WINDOW matches, only the newest RANK_WINDOW are scored. The best match
    (the word in its title) arrived first: it leads while the window holds every match, and drops out once the
    window is smaller than the matches, while the newest matches are still ranked among themselves."""
    import storage.search

    older = [snap("http://p/best", "绿色金融发展报告", "绿色金融。", None, date(2020, 1, 1))]
    newer = [
        snap(f"http://p/{i}", f"第{i}号通知", f"文中提到绿色金融一次，第{i}段。", None, date(2021, 1, i + 1))
        for i in range(6)
    ]
    ids = store_all(fresh_db, older + newer)
    assert fresh_db.search("绿色 金融", limit=3)[0].id == ids["绿色金融发展报告"]
    monkeypatch.setattr(storage.search, "RANK_WINDOW", 4)
    hits = fresh_db.search("绿色 金融", limit=10)
    assert sorted(h.id for h in hits) == sorted(ids[f"第{i}号通知"] for i in range(2, 6))
