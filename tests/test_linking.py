"""Fingerprints, the LSH index (memory and the live Redis), citations, relations and alignment."""

from __future__ import annotations

import json
import uuid
from datetime import date

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from storage.core import table_of
from storage.models import Link
from storage.records import CitationRow, Citations
from storage.repo import Store
from tests.builders import FIXTURES
from watcher.evaluation.links import LoadedDoc, evaluate, ingest, load_document
from watcher.link.align import align, split_articles
from watcher.link.classify import Doc, Pair, Scores, Thresholds, citations_of, classify
from watcher.link.fingerprint import (
    Params,
    ParamsMismatch,
    Signature,
    exact_scores,
    hash_shingle,
    shingle_hashes,
    shingles,
    signature,
)
from watcher.link.linker import Linker
from watcher.text.normalise import normalise

CORPUS = FIXTURES / "linking"


def _seed(prefix: str) -> str:
    path = next((CORPUS / "seeds").glob(prefix + "_*.txt"))
    return normalise(path.read_text(encoding="utf-8"))


def test_fast_signature_is_the_datasketch_minhash_of_the_same_shingles():
    text = _seed("000")
    sig = signature(text)
    ref = MinHash(num_perm=128, seed=1, hashfunc=hash_shingle)
    ref.update_batch(shingles(text))
    assert np.array_equal(sig.hashvalues, ref.hashvalues)
    assert sig.size == len(shingles(text))
    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    lsh.insert("000", sig.minhash())
    assert lsh.query(ref) == ["000"]


def test_estimates_track_exact_jaccard():
    a, b = _seed("000"), _seed("001")
    j, c_ab, c_ba = exact_scores(shingle_hashes(a), shingle_hashes(b))
    assert 0.4 < j < 0.6  # the corpus README: about 0.49
    assert abs(signature(a).jaccard(signature(b)) - j) < 0.1


def test_mismatched_parameters_are_refused():
    a = signature("甲乙丙丁戊己庚辛壬癸" * 3)
    b = signature("甲乙丙丁戊己庚辛壬癸" * 3, Params(k=4))
    with pytest.raises(ParamsMismatch, match='"k": 4'):
        a.jaccard(b)
    data = a.to_bytes()
    assert np.array_equal(Signature.from_bytes(a.params, data, a.size).hashvalues, a.hashvalues)
    with pytest.raises(ParamsMismatch):
        Signature.from_bytes(Params(num_perm=64), data, a.size)


def test_seed_001_aligns_article_by_article_with_000():
    al = align(_seed("000"), _seed("001"))
    assert (al["parent_articles"], al["child_articles"]) == (33, 33)
    pairs = [p for p in al["pairs"] if p["status"] in ("reused", "modified")]
    assert len(pairs) == 33 and all(p["child"] == p["parent"] for p in pairs)
    changed = [p for p in pairs if p["status"] == "modified"]
    assert changed and all(p["diff"] for p in changed)  # each names what changed, character by character


def test_article_splitting_prefers_the_most_frequent_numbering():
    text = "总则\n第一条 为了规范。\n第二条 本办法适用。\n一、不是条\n第三条 附则。"
    assert [a.label for a in split_articles(text)] == ["第一条", "第二条", "第三条"]


def test_labelled_corpus_precision_recall_and_no_sibling_as_derived(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path}/eval.db")
    report = evaluate(CORPUS, CORPUS / "links.csv", store)
    for rel in ("derived", "revision"):
        r = report["relations"][rel]
        assert r["recall"] >= 0.9 and r["precision"] >= 0.95, (rel, r["missed"], r["wrong"])
    assert report["siblings_reported_as_derived"] == []
    assert report["other_links"].get("sibling", 0) > 0  # provincial measures are recognised as siblings
    # Every link was announced in the outbox (placeholders replaced later were announced too), one
    # event per linking pass carrying its links.
    events = [e for e in store.events() if e.kind == "link.new"]
    announced = {
        (ln["child_id"], ln["parent_key"], ln["relation"]) for e in events for ln in json.loads(e.payload_json)["links"]
    }
    links = {(ln.child_id, ln.parent_key, ln.relation) for ln in _links(store)}
    assert links and links <= announced
    assert len({e.notice_id for e in events}) == len(events)  # no notice announced twice in one ingest
    store.close()


def _docs(*names):
    return [load_document(next(CORPUS.rglob(n)), CORPUS) for n in names]


def test_citation_of_a_document_not_stored_yet_is_resolved_when_it_arrives(fresh_db):
    child, parent = _docs("family_guiqiao__上海市*.md", "family_guiqiao__归侨侨眷权益保护法(2009-08-27).md")
    linker = Linker(fresh_db)
    # The child arrives first: a placeholder link to the cited title.
    ids = ingest(fresh_db, [child], linker)
    [placeholder] = _links(fresh_db)
    assert placeholder.parent_id is None and placeholder.relation == "derived"
    assert "归侨侨眷权益保护法" in placeholder.parent_key
    ids.update(ingest(fresh_db, [LoadedDoc(parent.path, parent.title, None, child.when, parent.body)], linker))
    links = _links(fresh_db)
    assert [(ln.relation, ln.child_id, ln.parent_id) for ln in links] == [
        ("derived", ids[child.path], ids[parent.path])
    ]
    assert "articles reused" in links[0].explanation and json.loads(links[0].alignment_json)["parent_articles"] == 30


def _links(store):
    """The stored link rows as they are, JSON columns undecoded."""
    from sqlalchemy import select

    links = table_of(Link)
    with store.engine.connect() as conn:
        return conn.execute(select(links).order_by(links.c.id)).all()


def test_memory_index_is_rebuilt_from_stored_signatures(sqlite_store):
    a, b = _docs("000_*.txt", "001_*.txt")
    ingest(sqlite_store, [a], Linker(sqlite_store))
    # A new process: the index comes back from the signatures table, so 001 still finds 000.
    ingest(sqlite_store, [b], Linker(sqlite_store))
    [link] = [ln for ln in _links(sqlite_store) if ln.parent_id]
    assert link.relation == "derived" and link.jaccard > 0.4


def test_redis_index_links_and_refuses_other_parameters(sqlite_store):
    import redis

    base = "test-" + uuid.uuid4().hex[:8]
    r = redis.Redis()
    try:
        a, b = _docs("000_*.txt", "001_*.txt")
        ingest(sqlite_store, [a], Linker(sqlite_store, storage="redis", redis_basename=base))
        assert r.keys(f"{base}*")  # the index really lives in Redis
        ingest(sqlite_store, [b], Linker(sqlite_store, storage="redis", redis_basename=base))
        assert [ln.relation for ln in _links(sqlite_store) if ln.parent_id] == ["derived"]
        with pytest.raises(ParamsMismatch):
            Linker(sqlite_store, params=Params(num_perm=128, seed=7), storage="redis", redis_basename=base)
    finally:
        for key in r.scan_iter(f"{base}*"):
            r.delete(key)


def test_compact_index_answers_exactly_as_datasketch_dict_storage():
    """The memory index (numpy tables inside MinHashLSH) against datasketch's own dict storage:
    bulk load, single inserts past a merge, re-insertion of a key and removal."""
    from watcher.link.classify import Thresholds
    from watcher.link.index import Index
    from watcher.link.lshstore import MERGE_AT, bucket_key, bucket_keys

    rng = np.random.default_rng(0)
    topics = rng.integers(0, 2**32, size=(20, 128), dtype=np.uint32)
    n = 3000 + MERGE_AT // 64 + 10
    sigs = rng.integers(0, 2**32, size=(n, 128), dtype=np.uint32)
    take = rng.random(sigs.shape) < 0.3  # shared values, so buckets really collide
    sigs[take] = topics[rng.integers(0, 20, size=n)][take]
    params = Params()
    items = [(str(i), Signature(params, sigs[i], 0)) for i in range(n)]
    compact, ref = Index(params, Thresholds(), "memory"), Index(params, Thresholds(), "dict")
    for index in (compact, ref):
        index.load(items[:3000])
        for key, sig in items[3000:] + items[:20]:
            index.put(key, sig)
        index.lsh.remove("7")
    answers = [(sorted(compact.query(s)), sorted(ref.query(s))) for _, s in items[:300]]
    assert all(a == b for a, b in answers)
    assert sum(len(b) for _, b in answers) > 600  # more than each key finding itself
    assert "7" not in compact.lsh.keys and len(compact.lsh.keys) == n - 1
    band = sigs[5, :2]
    assert bucket_keys(sigs[5:6], 2, 64)[0, 0] == bucket_key(bytes(band.byteswap().data))


def _cit(in_purpose: bool, raw: str = "国发〔2021〕4号") -> CitationRow:
    return CitationRow(notice_id=0, kind="docno", key=raw, raw=raw, in_purpose=in_purpose)


PURPOSE, PASSING = [_cit(True)], [_cit(False)]
OLD, NEW = date(2023, 1, 1), date(2024, 1, 1)


@pytest.mark.parametrize(
    "scores, doc_cites, other_cites, same_name, issuers, shared_parent, when, expected",
    [
        # same title or 文号 and the same issuer: a revision, even after a large rewrite
        ((0.5, 0.6, 0.6), (), (), True, ("省政府", "省政府"), False, NEW, ("revision", "doc")),
        ((0.05, 0.35, 0.1), (), (), True, ("省政府", None), False, NEW, ("revision", "doc")),
        ((0.05, 0.1, 0.1), (), (), True, ("省政府", "省政府"), False, NEW, None),
        ((0.5, 0.6, 0.6), (), (), True, ("省政府", "市政府"), False, NEW, ("derived", "doc")),
        ((0.5, 0.6, 0.6), (), (), True, ("省政府", "省政府"), False, date(2022, 1, 1), ("revision", "other")),
        # the same text: a repost of the older one
        ((0.85, 0.9, 0.9), (), (), False, (None, None), False, NEW, ("repost", "doc")),
        ((0.85, 0.9, 0.9), (), (), False, (None, None), False, date(2022, 1, 1), ("repost", "other")),
        # a citation: derived when cited as what it implements or copied heavily, else cites
        ((0.02, 0.05, 0.01), PURPOSE, (), False, (None, None), False, NEW, ("derived", "doc")),
        ((0.02, 0.05, 0.01), PASSING, (), False, (None, None), False, NEW, ("cites", "doc")),
        ((0.3, 0.5, 0.2), PASSING, (), False, (None, None), False, NEW, ("derived", "doc")),
        ((0.3, 0.2, 0.5), (), PASSING, False, (None, None), False, NEW, ("derived", "other")),
        ((0.3, 0.5, 0.2), (), PASSING, False, (None, None), False, NEW, ("cites", "other")),
        # implementing the same parent: siblings when they share some text, never parent and child
        ((0.06, 0.5, 0.5), (), (), False, (None, None), True, NEW, ("sibling", "doc")),
        ((0.04, 0.5, 0.5), (), (), False, (None, None), True, NEW, None),
        # text reuse alone
        ((0.3, 0.3, 0.3), (), (), False, (None, None), False, NEW, ("derived", "doc")),
        ((0.1, 0.1, 0.45), (), (), False, (None, None), False, NEW, ("derived", "doc")),
        ((0.1, 0.1, 0.1), (), (), False, (None, None), False, NEW, None),
    ],
)
def test_classification_table(scores, doc_cites, other_cites, same_name, issuers, shared_parent, when, expected):
    """The new document `doc` against a stored one (`other`, dated 2023-01-01): relation and child."""

    def make(id_: int, issuer: str | None, day: date) -> Doc:
        return Doc(
            id_,
            "关于X的意见",
            "关于X的意见",
            None,
            issuer,
            day,
            "正文",
            id_,
            np.empty(0, np.uint64),
            {"国发〔2021〕4号"} if shared_parent else set(),
        )

    doc, other = make(2, issuers[0], when), make(1, issuers[1], OLD)
    rel = classify(doc, other, Pair(Scores(*scores), doc_cites, other_cites, same_name), Thresholds())
    got = None if rel is None else (rel.relation, "doc" if rel.child is doc else "other")
    assert got == expected
    if rel is not None:
        assert rel.parent is (other if rel.child is doc else doc)
        assert rel.evidence["jaccard"] == round(scores[0], 3)
        if doc_cites or other_cites:
            assert rel.evidence["cites"] == "国发〔2021〕4号"


def test_citations_name_their_purpose_and_pair_a_title_with_its_docno():
    parent = "关于加快建立健全绿色低碳循环发展经济体系的指导意见"
    text = (
        f"为贯彻落实《{parent}》（国发〔2021〕4号），结合本省实际，制定本措施。"
        + "其他内容。" * 400
        + "参照《某某管理办法》执行。"
    )
    doc = Doc(1, "江西省若干措施", "江西省若干措施", None, None, None, text, 1, np.empty(0, np.uint64))
    cited = Citations(docnos=["国发〔2021〕4号"], titles=[parent, "某某管理办法"])
    rows = {c.raw: c for c in citations_of(doc, cited, Thresholds())}
    assert [(c.kind, c.in_purpose) for c in rows.values()] == [("docno", True), ("title", True), ("title", False)]
    assert rows["国发〔2021〕4号"].title == parent and rows[parent].paired == "国发〔2021〕4号"
    # A title saying what it implements decides alone: 上海市实施《X》办法 derives from X.
    law = Doc(2, "上海市实施《归侨侨眷权益保护法》办法", None, None, None, None, text, 2, np.empty(0, np.uint64))
    implemented = [c for c in citations_of(law, cited, Thresholds()) if c.in_purpose]
    assert [c.key for c in implemented] == ["归侨侨眷权益保护法"]


def test_a_news_report_quoting_a_document_is_not_derived_from_it_by_text_reuse():
    def make(id_: int, day: date, text: str) -> Doc:
        return Doc(id_, "关于X的意见", "关于X的意见", None, None, day, text, id_, np.empty(0, np.uint64))

    body = "为推动高质量发展，现提出如下意见。一、总体要求。"
    report = "国务院印发《关于X的意见》新华社北京10月16日电 日前，国务院印发《关于X的意见》。" + body
    notice = "各省、自治区、直辖市人民政府：" + body
    pair = Pair(Scores(0.37, 0.54, 0.53))
    assert classify(make(2, NEW, report), make(1, OLD, notice), pair, Thresholds()) is None
    rel = classify(make(2, NEW, notice), make(1, OLD, notice), pair, Thresholds())
    assert rel is not None and rel.relation == "derived"
