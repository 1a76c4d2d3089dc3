"""Full-text search, ranked: several terms ANDed, two-character words, a 文号 in any brackets, traditional
characters folded (the text side, tokens and snippets, is watcher/text/search.py).

SQLite: `search_docs` keeps each notice's newest title and text folded, with the 文号 tokens found in
them; `search_terms` is a contentless FTS5 table of their tokens, ranked by bm25 (title ten times the
body). A contentless table forgets what it indexed (and SQLite before 3.43 has no contentless_delete):
a notice's old entry is deleted by giving its tokens again, recomputed from `search_docs`, which is why
the 文号 tokens are stored rather than found again by a later docno.py.
PostgreSQL: `search_terms` holds per notice a tsvector of its distinct tokens under a GIN index, the
text as runs between spaces (`canon`) under a trigram index, where a term of several tokens must be
found as a phrase (LIKE; tsvector positions stop at 16383), and a small tsvector of the title and the
text's first words for ts_rank (title A, text B), then the newest first. Reading every match's whole
tsvector to rank it would take seconds for a common word at 100k notices. The tsvectors are written as
literals: no text-search parser or locale decides the tokens.

On both, a notice whose own 文号 the query names comes first; titles and snippets are the original
text of the newest version, with the matches marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from storage.core import Repo, chunks
from watcher.text.docno import normalise_docno
from watcher.text.search import (
    Query,
    Snippet,
    Span,
    canon,
    docno_token,
    docno_tokens,
    fold,
    marks,
    parse_query,
    snippet,
    token_text,
)

_TITLE_WEIGHT = 10.0  # bm25 weight of the title column against the body's 1
_LEAD_TOKENS = 60  # of the text, ranked with the title on PostgreSQL: where a notice says what it is about
_MAX_LEXEMES = 90_000  # a tsvector holds at most 1 MB; a text this varied is hundreds of pages long


@dataclass(frozen=True)
class Indexed:
    """What the index holds for a notice: folded text and the 文号 tokens found at indexing time, and the token
    strings FTS5 is given (made with the entry: one made before the write lock brings them along)."""

    title: str
    body: str
    title_docnos: str  # space-separated 文号 tokens: the notice's own 文号
    body_docnos: str  # those its text cites
    title_terms: str = field(init=False, repr=False, compare=False)  # every token of the title, space-separated
    body_terms: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title_terms", _joined(token_text(self.title), self.title_docnos))
        object.__setattr__(self, "body_terms", _joined(token_text(self.body), self.body_docnos))

    @classmethod
    def of(cls, title: str, doc_no: str | None, body: str) -> Indexed:
        folded_title, folded_body = fold(title), fold(body)
        own = normalise_docno(fold(doc_no)) if doc_no else None
        return cls(folded_title, folded_body, docno_token(own) if own else "", " ".join(docno_tokens(folded_body)))

    def title_tokens(self) -> list[str]:
        return self.title_terms.split()

    def body_tokens(self, limit: int = -1) -> list[str]:
        """The text's tokens, the first `limit` of them when given."""
        return self.body_terms.split(maxsplit=limit)[:limit] if limit >= 0 else self.body_terms.split()

    def canon(self) -> str:
        """Title and text as PostgreSQL's phrase check reads them (a line break between: no phrase spans)."""
        return canon(self.title) + "\n" + canon(self.body)

    @cached_property
    def postgres_row(self) -> tuple[str, str, str]:
        """What PostgreSQL's index is given (terms, lead, canon), made once: a poll's batch makes it before its
        transaction (`Store.prepare_batch`), so its notices' rows stay locked only for the writes."""
        return terms_literal(self), lead_literal(self), self.canon()


def _joined(words: str, docnos: str) -> str:
    """The text's tokens and then its 文号 tokens, one space between each."""
    docnos = " ".join(docnos.split())
    return f"{words} {docnos}" if words and docnos else words or docnos


def terms_literal(doc: Indexed) -> str:
    """Every distinct token of a notice as a tsvector literal without positions: what the GIN index
    finds notices by. No positions keeps it a third smaller; ranking reads `lead_literal`."""
    seen = dict.fromkeys(doc.title_tokens() + doc.body_tokens())
    return " ".join(f"'{tok}'" for tok in list(seen)[:_MAX_LEXEMES])


def lead_literal(doc: Indexed) -> str:
    """The title (weight A) and the first tokens of the text (B) with positions, for ts_rank: small
    enough to stay in the row, so ranking thousands of matches reads no TOAST."""
    pos: dict[str, list[str]] = {}
    for p, (tok, weight) in enumerate(
        [(t, "A") for t in doc.title_tokens()] + [(t, "B") for t in doc.body_tokens(_LEAD_TOKENS)], start=1
    ):
        pos.setdefault(tok, []).append(f"{p}{weight}")
    return " ".join(f"'{tok}':{','.join(ps)}" for tok, ps in pos.items())


def _in(ids: Sequence[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def _index_sqlite(conn: Connection, docs: dict[int, Indexed]) -> None:
    for part in chunks(list(docs)):
        old = conn.execute(
            text(
                "SELECT notice_id, title, body, title_docnos, body_docnos FROM search_docs "
                f"WHERE notice_id IN ({_in(part)})"
            )
        ).all()
        if old:
            gone = [Indexed(r.title, r.body, r.title_docnos, r.body_docnos) for r in old]
            conn.execute(
                text("INSERT INTO search_terms (search_terms, rowid, title, body) VALUES ('delete', :id, :t, :b)"),
                [dict(id=r.notice_id, t=d.title_terms, b=d.body_terms) for r, d in zip(old, gone, strict=True)],
            )
            conn.execute(text(f"DELETE FROM search_docs WHERE notice_id IN ({_in(part)})"))
    conn.execute(
        text(
            "INSERT INTO search_docs (notice_id, title, body, title_docnos, body_docnos) "
            "VALUES (:id, :title, :body, :td, :bd)"
        ),
        [dict(id=i, title=d.title, body=d.body, td=d.title_docnos, bd=d.body_docnos) for i, d in docs.items()],
    )
    conn.execute(
        text("INSERT INTO search_terms (rowid, title, body) VALUES (:id, :t, :b)"),
        [dict(id=i, t=d.title_terms, b=d.body_terms) for i, d in docs.items()],
    )


def _index_postgres(conn: Connection, docs: dict[int, Indexed]) -> None:
    conn.execute(
        text(
            "INSERT INTO search_terms (notice_id, terms, lead, canon) "
            "VALUES (:id, CAST(:terms AS tsvector), CAST(:lead AS tsvector), :canon) ON CONFLICT (notice_id) "
            "DO UPDATE SET terms = excluded.terms, lead = excluded.lead, canon = excluded.canon"
        ),
        [dict(zip(("id", "terms", "lead", "canon"), (i, *d.postgres_row), strict=True)) for i, d in docs.items()],
    )


def index_docs(conn: Connection, docs: dict[int, Indexed]) -> None:
    """Index `docs` (notice id → what to index) in the caller's transaction, replacing older entries. A notice's
    own 文号 is the one its row holds (`Indexed.of` is given the one the same transaction writes there)."""
    if docs:
        (_index_sqlite if conn.dialect.name == "sqlite" else _index_postgres)(conn, docs)


@dataclass(frozen=True)
class SearchHit:
    """A notice that matched, best first; `score` is higher for a better match on both databases."""

    id: int
    title: str | None
    doc_no: str | None
    issuer: str | None
    published: date | None
    source_id: str
    url: str
    score: float
    title_marks: tuple[Span, ...] = ()
    snippet: Snippet | None = None


_COLUMNS = "n.id, n.title, n.doc_no, n.issuer, n.published, n.source_id, n.url"
# Ranking scores every match: a word in 40 % of 100k notices cost 240 ms. So a query ranks at most the newest
# RANK_WINDOW of its matches (a notice's id grows with its arrival): the best of the newest 5,000 documents, in
# 15-30 ms whatever the store holds (bench/web.py). A query with fewer matches ranks them all, as before.
RANK_WINDOW = 5000


def _window_sql(dialect: str) -> str:
    """The id of the RANK_WINDOW-th newest match, none when there are fewer (the phrases of PostgreSQL's query are
    left to the ranked query: the window only bounds how many matches are scored)."""
    if dialect == "sqlite":
        return "SELECT rowid FROM search_terms WHERE search_terms MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET :window"
    return (
        "SELECT s.notice_id FROM search_terms s WHERE s.terms @@ CAST(:q AS tsquery) "
        "ORDER BY s.notice_id DESC LIMIT 1 OFFSET :window"
    )


def _ranked_sql(
    dialect: str, q: Query, source_id: str | None, since: date | None, floor: int | None = None
) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    if dialect == "sqlite":
        params["q"] = q.fts5()
        sql = (
            f"SELECT {_COLUMNS}, -bm25(search_terms, {_TITLE_WEIGHT}, 1.0) AS score "
            "FROM search_terms JOIN notices n ON n.id = search_terms.rowid WHERE search_terms MATCH :q"
        )
        if floor is not None:
            sql += " AND search_terms.rowid >= :floor"
        newest = "n.published DESC"
    else:
        params["q"] = q.tsquery()
        sql = (
            f"SELECT {_COLUMNS}, ts_rank(s.lead, CAST(:q AS tsquery)) AS score "
            "FROM search_terms s JOIN notices n ON n.id = s.notice_id WHERE s.terms @@ CAST(:q AS tsquery)"
        )
        if floor is not None:
            sql += " AND s.notice_id >= :floor"
        newest = "n.published DESC NULLS LAST"
        for i, like in enumerate(q.likes()):  # the phrases: served by the trigram index on canon
            sql += f" AND s.canon LIKE :like{i}"
            params[f"like{i}"] = like
    if source_id:
        sql += " AND n.source_id = :source"
        params["source"] = source_id
    if since:
        sql += " AND n.published >= :since"
        params["since"] = since
    order = "score DESC"
    if q.docno:
        order = "CASE WHEN n.doc_no = :own THEN 0 ELSE 1 END, " + order
        params["own"] = q.docno
    if floor is not None:
        params["floor"] = floor
    return f"{sql} ORDER BY {order}, {newest}, n.id DESC LIMIT :limit OFFSET :offset", params


class SearchRepo(Repo):
    def search(
        self,
        query: str | Query,
        *,
        source_id: str | None = None,
        since: date | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> list[SearchHit]:
        """Notices matching every term of `query`, best first, with their matches marked."""
        q = parse_query(query) if isinstance(query, str) else query
        if not q.terms:
            return []
        dialect = self.engine.dialect.name
        with self.engine.connect() as conn:
            query_text = q.fts5() if dialect == "sqlite" else q.tsquery()
            floor = conn.execute(text(_window_sql(dialect)), {"q": query_text, "window": RANK_WINDOW - 1}).scalar()
            sql, params = _ranked_sql(dialect, q, source_id, since, floor)
            rows = conn.execute(text(sql), {**params, "limit": limit, "offset": offset}).all()
            texts = self._display_texts(conn, [r.id for r in rows])
        hits = []
        for r in rows:
            shown = texts.get(r.id, ())
            cut = next((s for s in (snippet(t, q) for t in shown) if s), None)
            hits.append(
                SearchHit(
                    id=r.id,
                    title=r.title,
                    doc_no=r.doc_no,
                    issuer=r.issuer,
                    published=r.published,
                    source_id=r.source_id,
                    url=r.url,
                    score=float(r.score),
                    title_marks=marks(r.title or "", q),
                    snippet=cut,
                )
            )
        return hits

    @staticmethod
    def _display_texts(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
        """The newest version's page text, then its normalised text (which holds the attachments')."""
        if not ids:
            return {}
        stmt = text(
            "SELECT v.notice_id, v.body, v.norm_text FROM versions v JOIN notices n "
            "ON n.id = v.notice_id AND v.seq = n.version_count WHERE n.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        return {r.notice_id: (r.body, r.norm_text) for r in conn.execute(stmt, {"ids": ids})}
