"""The linker on instruments and versions, reposts and boilerplate, through the database: the labelled
sets, a law arriving after its measures and a version arriving late, a repost storm, a document citing
its own amending decision, one event per linking pass, the filter's state across restarts."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from notifiers.items import load_items
from storage.linksession import LinkSession
from storage.repo import Store
from tests.builders import FIXTURES, insert_notices
from watcher.evaluation.links import LoadedDoc, evaluate, ingest, load_document
from watcher.extract.model import Detail, ListItem
from watcher.i18n import use_locale
from watcher.link.linker import Linker

CORPUS, LARGE = FIXTURES / "linking", FIXTURES / "linking_large"


def _rows(store: Store) -> list[tuple[str, str | None, str]]:
    """(child path, parent path or key, relation) of every stored link."""
    with store.engine.connect() as conn:
        path = {r.id: r.url.removeprefix("file:") for r in conn.execute(text("SELECT id, url FROM notices"))}
        rows = conn.execute(text("SELECT child_id, parent_id, parent_key, relation FROM links ORDER BY id")).all()
    return [(path[r.child_id], path[r.parent_id] if r.parent_id else r.parent_key, r.relation) for r in rows]


def _doc(name: str, when: date | None = ..., path: str | None = None) -> LoadedDoc:  # type: ignore[assignment]
    d = load_document(next(CORPUS.rglob(name)), CORPUS)
    return LoadedDoc(path or d.path, d.title, d.doc_no, d.when if when is ... else when, d.body)


@pytest.mark.parametrize("folder", [CORPUS, LARGE], ids=["seeds+laws", "laws_large"])
def test_labelled_sets_meet_the_targets(tmp_path, folder):
    """The issue's targets on both sets: derived and revision P >= 0.95 and R >= 0.9, no sibling
    reported as derived, and precision >= 0.9 over every reported link (cites, siblings and links to
    documents not stored too), judged by the labels and the adjudicated CSV, none left unjudged."""
    store = Store.open(f"sqlite:///{tmp_path}/eval.db")
    report = evaluate(folder, folder / "links.csv", store, adjudicated=folder / "adjudicated.csv")
    for rel in ("derived", "revision"):
        r = report["relations"][rel]
        assert r["precision"] >= 0.95 and r["recall"] >= 0.9, (rel, r["missed"], r["wrong"])
    assert report["siblings_reported_as_derived"] == []
    every = report["all_links"]
    assert every["precision_unjudged_as_wrong"] >= 0.9, (report["false_links"], report["unjudged"])
    store.close()


# ---- chains ---------------------------------------------------------------------------------------
LAW_2012, LAW_2024 = "family_nongji__农业技术推广法(2012-08-31).md", "family_nongji__农业技术推广法(2024-04-26).md"
ZJ, CQ = "family_nongji__浙江省实施《农业技术推广法》办法(2020-09-24).md", "family_nongji__重庆*(2016-09-29).md"


def test_a_law_arriving_after_its_measures_and_an_older_version_arriving_last(fresh_db):
    linker = Linker(fresh_db)
    zj, cq = _doc(ZJ), _doc(CQ)
    ingest(fresh_db, [zj, cq], linker)
    # Not stored yet: each measure names the law it implements.
    assert {(c, r) for c, p, r in _rows(fresh_db) if p and "农业技术推广法" in p} == {
        (zj.path, "derived"),
        (cq.path, "derived"),
    }
    new = _doc(LAW_2024)
    ingest(fresh_db, [new], linker)
    # The only stored version is newer than both: the earliest stored one is the one they implement.
    assert {(c, p) for c, p, r in _rows(fresh_db) if r == "derived"} == {(zj.path, new.path), (cq.path, new.path)}
    old = _doc(LAW_2012)
    ingest(fresh_db, [old], linker)
    rows = _rows(fresh_db)
    # The 2012 version was in force at both dates: they move to it, and 2024 revises it.
    assert {(c, p) for c, p, r in rows if r == "derived"} == {(zj.path, old.path), (cq.path, old.path)}
    assert (new.path, old.path, "revision") in rows
    # One event per linking pass: the 2012 version's carries the 2024 version's revision link and the
    # two measures' links, and the notifiers show it as one item.
    events = [e for e in fresh_db.events() if e.kind == "link.new"]
    assert len(events) == 4 and len(json.loads(events[-1].payload_json)["links"]) == 3
    [item] = load_items(fresh_db, [events[-1].id])
    assert (item.relation, item.level) == ("3 份已收录文件与之关联（依据制定和修订）", "notice")
    with use_locale("en"):
        [item] = load_items(fresh_db, [events[-1].id])
    assert item.relation == "3 stored documents now linked to it (derived and revision)"


def test_a_new_version_of_the_law_takes_only_the_measures_made_under_it(fresh_db):
    linker = Linker(fresh_db)
    old, cq = _doc(LAW_2012), _doc(CQ)
    ingest(fresh_db, [old, cq], linker)
    new = _doc(LAW_2024)
    ingest(fresh_db, [new], linker)
    later = _doc(ZJ, date(2025, 3, 1), "laws/浙江省实施《农业技术推广法》办法(2025).md")
    ingest(fresh_db, [later], linker)
    derived = {(c, p) for c, p, r in _rows(fresh_db) if r == "derived"}
    assert derived == {(cq.path, old.path), (later.path, new.path)}  # 2016 keeps 2012; 2025 takes 2024
    assert (new.path, old.path, "revision") in _rows(fresh_db)


def test_a_short_law_name_resolves_in_any_quoting(sqlite_store):
    law = LoadedDoc(
        "law.txt",
        "中华人民共和国水法",
        None,
        date(2016, 7, 2),
        "第一条 为了合理开发、利用、节约和保护水资源，制定本法。",
    )
    measures = [
        LoadedDoc(
            f"m{i}.txt",
            f"某{city}节约用水办法",
            None,
            date(2018, 1, 1 + i),
            f"第一条 为了节约用水，贯彻实施{quoted}，结合本{city}实际，制定本办法。\n第二条 本办法适用于本{city}。",
        )
        for i, (city, quoted) in enumerate((("市", "《中华人民共和国水法》"), ("县", "〈水法〉"), ("区", "《水法》")))
    ]
    ingest(sqlite_store, [law, *measures], Linker(sqlite_store))
    assert sorted((c, p) for c, p, r in _rows(sqlite_store) if r == "derived") == [(m.path, law.path) for m in measures]


# ---- never a parent -------------------------------------------------------------------------------
def test_never_derived_from_itself_its_amending_decision_or_its_attachment(sqlite_store):
    decision = LoadedDoc(
        "decision.txt",
        "关于修改〈北京市审计条例〉的决定",
        None,
        date(2017, 9, 22),
        "北京市第十四届人民代表大会常务委员会第四十一次会议决定对《北京市审计条例》作如下修改：\n一、将第十条修改为……",
    )
    regulation = LoadedDoc(
        "regulation.txt",
        "北京市审计条例",
        None,
        date(2017, 9, 22),
        "2012年7月27日北京市第十三届人民代表大会常务委员会第三十四次会议通过\n"
        "根据2017年9月22日北京市第十四届人民代表大会常务委员会第四十一次会议《关于修改〈北京市审计条例〉的决定》修正\n"
        "第一条 为了实施《中华人民共和国审计法》和《北京市审计条例》，结合本市实际，制定本条例。",
    )
    plan = LoadedDoc("plan.txt", "某市绿色发展实施方案", None, date(2022, 11, 1), "一、总体要求\n加快绿色发展。" * 20)
    notice = LoadedDoc(
        "notice.txt",
        "某市人民政府关于印发某市绿色发展实施方案的通知",
        None,
        date(2022, 11, 17),
        "各县区人民政府：\n《某市绿色发展实施方案》已经市政府同意，现印发给你们，请认真贯彻执行。\n"
        "附件：某市绿色发展实施方案\n为贯彻落实《某市绿色发展实施方案》，现提出以下措施。",
    )
    ingest(sqlite_store, [decision, regulation, plan, notice], Linker(sqlite_store))
    rows = _rows(sqlite_store)
    derived = [(c, p) for c, p, r in rows if r == "derived"]
    assert ("regulation.txt", "decision.txt") not in derived and ("notice.txt", "plan.txt") not in derived
    assert all(c != p for c, p, _ in rows)
    assert ("regulation.txt", "《中华人民共和国审计法》", "derived") in rows  # what it does implement


# ---- reposts and boilerplate ------------------------------------------------------------------------
CITIES = (
    "南京 无锡 徐州 常州 苏州 南通 连云港 淮安 盐城 扬州 镇江 泰州 宿迁 江阴 宜兴 昆山 常熟 张家港 太仓 溧阳".split()
)


def _storm(n: int) -> list[LoadedDoc]:
    """One provincial text forwarded by n portals, each with its own 转发 header and footer."""
    body = load_document(next(CORPUS.rglob("000_*.txt")), CORPUS).body
    out = []
    for i in range(n):
        city = CITIES[i % len(CITIES)] + ("" if i < len(CITIES) else str(i))
        title = f"{city}市人民政府办公室关于转发省政府关于推进绿色产业发展的意见的通知"
        head = f"{title}\n各县（区）人民政府，市各委办局：\n现将《省政府关于推进绿色产业发展的意见》转发给你们，请认真贯彻执行。\n"
        foot = f"\n{city}市人民政府办公室\n2020年4月{1 + i % 28}日\n（此件公开发布）"
        out.append(LoadedDoc(f"storm/{i:02d}.txt", title, None, date(2020, 4, 1 + i % 28), head + body + foot))
    return out


def test_a_repost_storm_links_each_copy_to_the_canonical_once(sqlite_store):
    linker = Linker(sqlite_store)
    docs = _storm(50)
    ids = ingest(sqlite_store, docs, linker)
    reposts = [(c, p) for c, p, r in _rows(sqlite_store) if r == "repost"]
    canonical = min(docs, key=lambda d: (d.when, d.path)).path
    assert len(reposts) == 49 and {p for _, p in reposts} == {canonical}
    assert [r for c, _, r in _rows(sqlite_store) if c != canonical and r != "repost"] == []  # nothing else
    # The index holds the cluster once, and the filter counted the text once: no template made of it.
    assert [k for k in linker.index.lsh.keys if int(k) in ids.values()] == [str(ids[canonical])]
    assert linker.filter is not None and linker.filter.docs == 1
    events = [e for e in sqlite_store.events() if e.kind == "link.new"]
    assert len(events) == 49 and all(len(json.loads(e.payload_json)["links"]) == 1 for e in events)


def test_an_earlier_copy_arriving_late_becomes_the_canonical(sqlite_store):
    linker = Linker(sqlite_store)
    first, second, earliest = _storm(3)[1], _storm(3)[2], _storm(3)[0]
    for d in (first, second, earliest):  # arrival order, not date order
        ingest(sqlite_store, [d], linker)
    reposts = {(c, p) for c, p, r in _rows(sqlite_store) if r == "repost"}
    assert reposts == {(first.path, earliest.path), (second.path, earliest.path)}


def test_of_two_copies_dated_alike_the_one_stored_first_stays_canonical(sqlite_store):
    """Both notices are found on their list pages (ids 1 and 2), the second's text is stored first: it is the
    canonical copy, the other its repost, and no cluster is re-pointed (by notice id, it was: churn, and a
    canonical copy changing under an analyst who was told of the first)."""
    from storage.records import Outcome
    from watcher.pipeline.snapshot import snapshot

    body = load_document(next(CORPUS.rglob("000_*.txt")), CORPUS).body
    urls = ["http://a.test/1.html", "http://b.test/2.html"]
    states = {}
    for src, url in zip("ab", urls, strict=True):
        states.update(
            sqlite_store.record_list(
                src, dict(url=f"http://{src}.test/"), [ListItem(url, "省政府关于推进绿色产业发展的意见")]
            )
        )
    for src, url in reversed(list(zip("ab", urls, strict=True))):  # arrival: the second notice's text first
        d = Detail(url=url, title="省政府关于推进绿色产业发展的意见", body=body, written=date(2020, 3, 27))
        sqlite_store.apply(src, [Outcome(states[url], snapshot(d))])
    repointed = []
    real = LinkSession.repoint_cluster
    LinkSession.repoint_cluster = lambda self, old, new: (repointed.append(old), real(self, old, new))[1]
    try:
        Linker(sqlite_store).run()
    finally:
        LinkSession.repoint_cluster = real
    assert states[urls[0]].id < states[urls[1]].id
    assert [(c, p, r) for c, p, r in _rows(sqlite_store)] == [
        ("http://a.test/1.html", "http://b.test/2.html", "repost")
    ]
    assert repointed == []


def test_the_boilerplate_filter_survives_a_restart_and_a_crash(sqlite_store):
    docs = [
        LoadedDoc(
            f"n{i}.txt",
            f"关于第{i}项工作的通知",
            None,
            date(2024, 1, 1 + i),
            f"第{i}项工作的具体内容如下所述，共计{i}条。",
        )
        for i in range(6)
    ]
    linker = Linker(sqlite_store)
    ingest(sqlite_store, docs[:3], linker)
    linker.save_state()
    ingest(sqlite_store, docs[3:], linker)  # linked but not saved: a crash now loses nothing
    again = Linker(sqlite_store)
    assert again.filter is not None and linker.filter is not None
    assert again.filter.docs == linker.filter.docs == 6
    assert (again.filter.sketch.table == linker.filter.sketch.table).all()


def test_a_failed_pass_leaves_the_version_to_the_next_run(sqlite_store, monkeypatch):
    import watcher.link.linker as linker_module

    docs = [_doc("000_*.txt"), _doc("001_*.txt")]
    ingest(sqlite_store, docs[:1], Linker(sqlite_store))

    def broken(p, found):
        raise RuntimeError("crash in the middle of a pass")

    monkeypatch.setattr(linker_module, "link_reuse", broken)
    with pytest.raises(RuntimeError):
        ingest(sqlite_store, docs[1:], Linker(sqlite_store))
    assert _rows(sqlite_store) == [] and len(sqlite_store.unsigned_versions()) == 1  # nothing half-linked
    monkeypatch.undo()
    assert Linker(sqlite_store).run() == 1
    assert [(c, p, r) for c, p, r in _rows(sqlite_store)] == [(docs[1].path, docs[0].path, "derived")]


def test_the_migration_recomputes_title_keys(db_url):
    """Keys stored by the old rule (none under 4 characters, 印发 notices by their own title) become
    instrument keys, so that citations of 水法 resolve to notices stored before the upgrade."""
    from alembic import command

    from storage.db import alembic_config, make_engine

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0007_attachments")
    with engine.begin() as conn:
        rows = [
            ("中华人民共和国水法", None),
            ("关于印发《某市绿色发展实施方案》的通知", "关于印发某市绿色发展实施方案的通知"),
        ]
        insert_notices(conn, [{"title": t, "title_key": k} for t, k in rows])
    engine.dispose()
    store = Store.open(db_url)
    with store.engine.connect() as conn:
        keys = conn.execute(text("SELECT title_key FROM notices ORDER BY id")).scalars().all()
    assert keys == ["水法", "某市绿色发展实施方案"]
    store.close()


def test_a_forwarding_notice_that_carries_the_text_is_a_repost(sqlite_store):
    """A 转发 notice whose own instructions make the texts differ (Jaccard under the repost threshold)
    but which carries the forwarded text whole is a copy of it, not a revision nor a derived text."""
    original = load_document(next(CORPUS.rglob("000_*.txt")), CORPUS)
    # the city's own requirements: as long as a third of the text, in words of their own
    own = load_document(next(CORPUS.rglob("002_*.txt")), CORPUS).body[: len(original.body) // 3]
    forwarding = LoadedDoc(
        "forward.txt",
        "某市人民政府办公室关于转发省政府关于推进绿色产业发展的意见的通知",
        None,
        date(2020, 5, 1),
        "现将《省政府关于推进绿色产业发展的意见》转发给你们，并提出以下要求。\n" + own + original.body,
    )
    ingest(
        sqlite_store,
        [LoadedDoc(original.path, original.title, None, date(2020, 3, 27), original.body)],
        Linker(sqlite_store),
    )
    ingest(sqlite_store, [forwarding], Linker(sqlite_store))
    [(child, parent, relation)] = [r for r in _rows(sqlite_store) if r[0] == "forward.txt"]
    assert (parent, relation) == (original.path, "repost")
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("SELECT jaccard FROM links WHERE relation = 'repost'")).scalar() < 0.8


@pytest.mark.parametrize("old_first", [True, False], ids=["in order", "old version late"])
def test_a_revision_under_a_former_title_read_from_the_amendment_history(sqlite_store, old_first):
    purpose = "第一条 为了实施《中华人民共和国水法》，结合本省实际，制定本办法。\n第二条 本办法适用于本省行政区域。"
    old = LoadedDoc("old.txt", "河南省水法实施办法", None, date(1999, 5, 1), purpose)
    new = LoadedDoc(
        "new.txt",
        "河南省实施《中华人民共和国水法》办法",
        None,
        date(2005, 1, 1),
        "1999年5月1日河南省第九届人民代表大会常务委员会第九次会议通过\n"
        "根据2004年11月26日河南省第十届人民代表大会常务委员会第十二次会议"
        "《关于修改〈河南省水法实施办法〉的决定》修正\n" + purpose,
    )
    linker = Linker(sqlite_store)
    for d in (old, new) if old_first else (new, old):
        ingest(sqlite_store, [d], linker)
    rows = _rows(sqlite_store)
    assert ("new.txt", "old.txt", "revision") in rows
    assert ("new.txt", "old.txt", "derived") not in rows  # the decision that amended it names it: no parent


def test_a_run_reads_only_recent_versions_yet_finds_one_committed_late(sqlite_store, monkeypatch):
    """After its first run, the linker looks for unlinked versions above the highest it linked less a
    window (a run costs what is new, not a scan of every version), and at every version again every
    FULL_SCAN seconds: a version another process committed late, with a lower id, is still linked."""
    import watcher.link.linker as linker_module

    docs = [_doc("000_*.txt"), _doc("001_*.txt")]
    linker = Linker(sqlite_store)
    ingest(sqlite_store, docs, linker)
    with sqlite_store.engine.begin() as conn:  # the first version, as if its transaction committed late
        first = conn.execute(text("SELECT MIN(id) FROM versions")).scalar()
        conn.execute(text("DELETE FROM signatures WHERE version_id = :v"), dict(v=first))
        conn.execute(text("DELETE FROM links"))
    calls: list[int] = []
    real = sqlite_store.unsigned_versions
    monkeypatch.setattr(sqlite_store, "unsigned_versions", lambda after=0: calls.append(after) or real(after))
    monkeypatch.setattr(linker_module, "RESCAN_WINDOW", 0)
    assert linker.run() == 0 and calls == [linker._linked_through]  # above the window: not seen yet
    monkeypatch.setattr(linker_module, "FULL_SCAN", 0.0)
    linker.run()
    assert calls[-1] == 0 and sqlite_store.unsigned_versions() == []  # the full scan found and linked it


def test_text_reuse_gives_one_parent_the_one_holding_most_of_it(sqlite_store):
    """A text made of two stored texts (most of it from the first) derives from the first only: the
    other holds borrowed text too, and calling every such neighbour a parent multiplied links."""
    a, b = (load_document(next(CORPUS.rglob(n)), CORPUS) for n in ("000_*.txt", "003_*.txt"))
    first = LoadedDoc("a.txt", "甲省关于推进绿色产业发展的意见", None, date(2020, 3, 27), a.body)
    second = LoadedDoc("b.txt", "乙市绿色低碳循环发展实施方案", None, date(2022, 11, 17), b.body)
    mixed = LoadedDoc("c.txt", "丙市关于绿色发展的若干措施", None, date(2023, 1, 5), a.body[:6000] + b.body[:5000])
    ingest(sqlite_store, [first, second, mixed], Linker(sqlite_store))
    assert [(c, p) for c, p, r in _rows(sqlite_store) if r == "derived" and c == "c.txt"] == [("c.txt", "a.txt")]


@pytest.mark.parametrize("order", ["cab", "cba", "acb", "bca"])
def test_one_parent_by_reuse_whichever_arrives_first(sqlite_store, order):
    """The same three texts in any arrival order: the mixed text derives from the one holding most of it, once.
    A parent arriving after its child replaces the child's parent by reuse only when it holds more of it (before,
    it was linked beside it: interleaved arrival gave children ~3 parents each)."""
    a, b = (load_document(next(CORPUS.rglob(n)), CORPUS) for n in ("000_*.txt", "003_*.txt"))
    docs = {
        "a": LoadedDoc("a.txt", "甲省关于推进绿色产业发展的意见", None, date(2020, 3, 27), a.body),
        "b": LoadedDoc("b.txt", "乙市绿色低碳循环发展实施方案", None, date(2022, 11, 17), b.body),
        "c": LoadedDoc("c.txt", "丙市关于绿色发展的若干措施", None, date(2023, 1, 5), a.body[:6000] + b.body[:5000]),
    }
    linker = Linker(sqlite_store)
    for name in order:
        ingest(sqlite_store, [docs[name]], linker)
    assert [(c, p) for c, p, r in _rows(sqlite_store) if r == "derived" and c == "c.txt"] == [("c.txt", "a.txt")]


def test_a_transaction_of_several_documents_that_fails_leaves_memory_as_committed(tmp_path, monkeypatch):
    """Several documents are linked in one transaction with the memory index, each indexed as soon as it is
    linked. When the transaction fails part way, nothing of it is committed and memory forgets what it held
    of those documents (rebuilt from the database): the next run links them as a linker that never failed."""
    from watcher.evaluation.links import load_folder, store_documents

    docs = load_folder(CORPUS)[:12]
    clean = Store.open(f"sqlite:///{tmp_path / 'clean.db'}")
    store_documents(clean, docs)
    Linker(clean).run()

    store = Store.open(f"sqlite:///{tmp_path / 'failed.db'}")
    store_documents(store, docs)
    linker = Linker(store)
    real, calls = Linker._pass, []

    def failing(self, tx, found, hashes, sig):
        calls.append(found.notice.id if found.notice else None)
        if len(calls) == 5:  # the fifth document of the first transaction
            raise RuntimeError("the database went away")
        return real(self, tx, found, hashes, sig)

    monkeypatch.setattr(Linker, "_pass", failing)
    monkeypatch.setattr("watcher.link.linker.TRANSACTION_SECONDS", 60.0)  # the first five in one transaction
    with pytest.raises(RuntimeError):
        linker.run()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM signatures")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM links")).scalar() == 0
    assert linker._sigs == {} and not linker._docs  # the four linked in memory are forgotten
    monkeypatch.setattr(Linker, "_pass", real)
    linker.run()
    assert _rows(store) == _rows(clean) and _rows(clean)


def _batched_store(path, batch: int) -> tuple[list, list]:
    """Twelve notices sharing one paragraph (boilerplate after three, with this filter) and each its own text,
    linked in batches of `batch`: the signatures and links stored."""
    from watcher.evaluation.links import store_text
    from watcher.extract.model import Detail
    from watcher.link.boilerplate import BoilerplateFilter

    store = Store.open(f"sqlite:///{path}")
    try:
        shared = "各县区人民政府，市各委办局，市各直属单位：经研究同意，现将有关事项通知如下，请认真贯彻执行。"
        for i in range(12):
            own = "".join(f"第{i}项第{j}条工作要求由第{i * 7 + j}小组负责落实并按月报送进展情况。" for j in range(6))
            d = Detail(url=f"http://a.test/{i}.html", title=f"关于第{i}项工作的通知", body=shared + "\n" + own)
            store_text(store, "s", "http://a.test/list.html", d)
        linker = Linker(store)
        linker.filter = BoilerplateFilter(min_docs=3)
        linker.run(batch=batch)
        sigs = sorted((s.version_id, s.hashvalues) for s in store.signatures())
        with store.engine.connect() as conn:
            links = conn.execute(text("SELECT child_id, parent_id, relation FROM links ORDER BY 1, 2, 3")).all()
        return sigs, [tuple(r) for r in links]
    finally:
        store.close()


def test_links_do_not_depend_on_how_the_pending_versions_are_batched(tmp_path):
    """A batch is prepared before its documents are counted by the boilerplate filter: a text whose clauses
    crossed the threshold meanwhile is prepared again (Linker._current), so batches of 1 and of 12 agree."""
    one = _batched_store(tmp_path / "one.db", batch=1)
    twelve = _batched_store(tmp_path / "twelve.db", batch=12)
    assert one[0] == twelve[0]
    assert one[1] == twelve[1]
