"""A batch's search entries and rows prepared before the write lock: the fast fold and token string are the
definitions' own results, a prepared batch stores what `apply` stores, what was prepared for a text the locked plan
finds unchanged is not used, and a poll's storage call prepares before the turnstile."""

from __future__ import annotations

import asyncio
import random
import threading

import pytest
from sqlalchemy import text

from storage.records import Outcome, Snapshot
from storage.repo import Store
from storage.turnstile import turnstile
from watcher.extract.model import ListItem
from watcher.pipeline.db import DB
from watcher.text.normalise import content_hash, normalise
from watcher.text.search import _fold_table, fold, token_text, tokens

# Every sort of character the tokens and the fold tell apart: Han (with extension A, compatibility ideographs, 〇),
# kana with its punctuation (・ー゠ are in the Han class, not words), words (Latin, accented, Greek, Cyrillic,
# digits of other scripts, ², _), full-width forms and upper case (folded), traditional characters, punctuation,
# white space, a combining mark, private use, a lone surrogate, and characters outside the BMP (𠀀 is Han there).
_ALPHABET = (
    list("绿色金融发展国务院办公厅关于印发通知苏政发第号条")
    + ["\u3400", "\u4dbf", "\uf900", "\ufa6d", "〇", "あ", "カ", "・", "ー", "゠"]
    + list("abcXYZ019_éßΣσжЖ٣²")
    + list("ＡＢｃ０９（），：；　")
    + list("綠發國體號")
    + list("，。、《》〔〕()[]-/. \n\t")
    + ["\u0301", "\ue000", "\ud800"]
)
_ASTRAL = ["\U00020000", "\U0002a6d6", "\U0001f600"]


def _texts(seed: int, count: int, astral: bool = False) -> list[str]:
    rnd = random.Random(seed)
    alphabet = _ALPHABET + (_ASTRAL if astral else [])
    out = []
    for _ in range(count):
        n = rnd.choice([0, 1, 2, 5, 63, 64, 65, 200, 1000])
        # runs of one sort of character, as real text has, and single characters between them
        out.append("".join(rnd.choice(alphabet) * rnd.choice([1, 1, 2, 7]) for _ in range(n))[: n or None])
    return out


def test_the_token_string_is_the_tokens_joined():
    texts = _texts(1, 600) + _texts(2, 100, astral=True) + [" " * 100, "绿" * 100, "a" * 100, "绿a" * 50]
    for t in texts + [fold(t) for t in texts]:
        assert token_text(t) == " ".join(tokens(t)), repr(t[:80])


def test_the_fold_is_the_tables_translation():
    table = _fold_table()
    for t in _texts(3, 400) + _texts(4, 100, astral=True) + ["\U0002f800" * 3 + "綠"]:  # an astral key
        assert fold(t) == t.translate(table), repr(t[:80])


def _snap(url: str, title: str, body: str, doc_no: str | None = None) -> Snapshot:
    norm = normalise(body)
    return Snapshot(
        url=url, title=title, body=body, norm_text=norm, content_hash=content_hash(title + norm), doc_no=doc_no
    )


def _indexed(store: Store) -> dict[str, tuple]:
    """What the SQLite index holds, by URL: search_docs' row and the FTS5 tokens of the notice."""
    with store.engine.begin() as conn:
        conn.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v USING fts5vocab(main, search_terms, 'instance')"))
        url = dict(conn.execute(text("SELECT id, url FROM notices")).all())
        docs = {url[r[0]]: tuple(r[1:]) for r in conn.execute(text("SELECT * FROM search_docs"))}
        terms: dict[str, list] = {}
        for term, doc, col, off in conn.execute(text("SELECT term, doc, col, offset FROM temp.v ORDER BY 2, 3, 4")):
            terms.setdefault(url[doc], []).append((term, col, off))
    return {u: (docs[u], tuple(terms.get(u, ()))) for u in docs}


_DOCS = [
    ("http://p/1", "關於發展綠色金融的通知", "推動綠色金融發展，依據苏政发〔2020〕28号。" * 20, "苏政发〔2020〕28号"),
    ("http://p/2", "关于印发办法的通知", "第一条 为了规范管理，制定本办法。PM2.5 指标" * 30, None),
]


def test_a_prepared_batch_stores_what_apply_stores(tmp_path):
    stores = [Store.open(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db")]
    try:
        for i, store in enumerate(stores):
            states = store.record_list("s", None, [ListItem(u, t) for u, t, _, _ in _DOCS])
            outcomes = [Outcome(states[u], _snap(u, t, b, d)) for u, t, b, d in _DOCS]
            if i == 0:
                store.apply("s", outcomes)
            else:
                store.apply("s", outcomes, store.prepare_batch("s", outcomes))
        assert _indexed(stores[0]) == _indexed(stores[1]) != {}
        assert [h.title for h in stores[1].search("苏政发[2020]28号")] == ["關於發展綠色金融的通知"]
    finally:
        for s in stores:
            s.close()


def test_what_is_prepared_for_a_text_the_locked_plan_finds_unchanged_is_not_used(sqlite_store):
    url, title, body, doc_no = _DOCS[0]
    states = sqlite_store.record_list("s", None, [ListItem(url, title)])
    first = _snap(url, title, body, doc_no)
    prepared = sqlite_store.prepare_batch("s", [Outcome(states[url], first)])  # new against the state read
    assert len(prepared.ready) == 1
    sqlite_store.apply("s", [Outcome(states[url], _snap(url, title, body, doc_no))])  # another poll stores it first
    counts = sqlite_store.apply("s", prepared.outcomes, prepared)
    assert (counts.new, counts.changed, counts.unchanged) == (0, 0, 1)
    assert len(sqlite_store.versions(sqlite_store.notice_by_url(url).id)) == 1  # type: ignore[union-attr]
    assert len(_indexed(sqlite_store)) == 1


def test_a_text_new_only_against_the_locked_rows_is_indexed_without_preparation(sqlite_store):
    """Prepared when it looked unchanged (nothing made for it), then another process stored an other text: the
    plan finds the snapshot new and makes its entry under the lock."""
    url, title, body, doc_no = _DOCS[1]
    states = sqlite_store.record_list("s", None, [ListItem(url, title)])
    sqlite_store.apply("s", [Outcome(states[url], _snap(url, title, body, doc_no))])
    (stored,) = sqlite_store.record_list("s", None, [ListItem(url, title)]).values()
    same = _snap(url, title, body, doc_no)
    prepared = sqlite_store.prepare_batch("s", [Outcome(stored, same)])
    assert prepared.ready == {}
    sqlite_store.apply("s", [Outcome(stored, _snap(url, title, "另一个文本，绿色低碳。"))])  # meanwhile, elsewhere
    counts = sqlite_store.apply("s", prepared.outcomes, prepared)
    assert counts.changed == 1
    assert [h.title for h in sqlite_store.search("规范管理")] == [title]
    assert sqlite_store.search("绿色低碳") == []


def test_a_polls_storage_call_prepares_before_the_turnstile(sqlite_store):
    """While a link process is in a transaction, an outcome that says nothing is refused at once (it was found
    out inside the turnstile), and a batch is stored once the linker's transaction ends."""
    url, title, body, doc_no = _DOCS[0]
    states = sqlite_store.record_list("s", None, [ListItem(url, title)])
    linker = turnstile(sqlite_store.engine)
    assert linker is not None
    linker.enter()
    stored = threading.Event()

    async def poll() -> None:
        db = DB(sqlite_store)
        try:
            with pytest.raises(ValueError, match="neither snapshot"):
                await asyncio.wait_for(db.write([("s", [Outcome(states[url])])]), 5)
            call = asyncio.ensure_future(db.write([("s", [Outcome(states[url], _snap(url, title, body))])]))
            await asyncio.sleep(0.3)
            assert not call.done()  # the transaction waits for the linker's
            threading.Timer(0, lambda: (linker.leave(), stored.set())).start()
            assert (await asyncio.wait_for(call, 10))[0].new == 1
        finally:
            linker.reset()
            db.close()

    asyncio.run(poll())
    assert stored.is_set()
    assert [h.title for h in sqlite_store.search("绿色金融")] == [title]


def test_postgres_index_rows_are_made_before_the_transaction(fresh_db):
    """On PostgreSQL a batch's tsvector literals are made by `prepare_batch`, outside the transaction and its row
    locks; SQLite never needs them."""
    url, title, body, doc_no = _DOCS[0]
    states = fresh_db.record_list("s", None, [ListItem(url, title)])
    prepared = fresh_db.prepare_batch("s", [Outcome(states[url], _snap(url, title, body, doc_no))])
    [ready] = prepared.ready.values()
    assert ("postgres_row" in vars(ready.search)) == (fresh_db.engine.dialect.name == "postgresql")
    assert fresh_db.apply("s", prepared.outcomes, prepared).new == 1
    assert [h.title for h in fresh_db.search("绿色金融")] == [title]
