"""ranked search: folded text and character-pair tokens replace notice_search (SQLite: search_docs and
a contentless FTS5 search_terms, bm25; PostgreSQL: search_terms with a GIN-indexed tsvector, a small one
for ts_rank and the text under a trigram index for phrases). Every indexed notice is tokenised again in
Python: 23 s for 10,000 notices of 2,000 characters on SQLite.

Revision ID: 0009_search_ranked
Revises: 0008_instruments
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_search_ranked"
down_revision = "0008_instruments"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE search_docs (notice_id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, "
            "title_docnos TEXT NOT NULL, body_docnos TEXT NOT NULL)"
        )
        # unicode61 only splits at the spaces between the tokens watcher/text/search.py writes; no diacritic
        # removal, so both databases hold the same tokens.
        op.execute(
            "CREATE VIRTUAL TABLE search_terms USING fts5(title, body, content='', "
            "tokenize='unicode61 remove_diacritics 0')"
        )
        key = "rowid"
    else:
        op.execute(
            "CREATE TABLE search_terms (notice_id integer PRIMARY KEY, terms tsvector NOT NULL, "
            "lead tsvector NOT NULL, canon text NOT NULL)"
        )
        op.execute("CREATE INDEX ix_search_terms_terms ON search_terms USING gin (terms)")
        op.execute(f"CREATE INDEX ix_search_terms_canon ON search_terms USING gin (canon {_trigram_ops(conn)})")
        key = "notice_id"
    _copy(conn, key)
    op.execute("DROP TABLE notice_search")


def _trigram_ops(conn: sa.engine.Connection) -> str:
    """pg_trgm's operator class, named in full: 0005 made the extension in public, not in our schema."""
    schema = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar()
    return f'"{schema}".gin_trgm_ops'


def _copy(conn: sa.engine.Connection, key: str) -> None:
    """Every indexed notice again, from the text notice_search kept (page and attachments)."""
    from storage.search import Indexed, index_docs

    last = 0
    while True:
        rows = conn.execute(
            sa.text(
                f"SELECT s.{key} AS id, s.title, s.body, n.doc_no FROM notice_search s "
                f"JOIN notices n ON n.id = s.{key} WHERE s.{key} > :last ORDER BY s.{key} LIMIT {_BATCH}"
            ),
            {"last": last},
        ).all()
        if not rows:
            return
        index_docs(conn, {r.id: Indexed.of(r.title, r.doc_no, r.body) for r in rows})
        last = rows[-1].id


def downgrade() -> None:
    # 0005's table, from the newest versions' page text (as 0005 built it: without the attachments' text).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_terms")
        op.execute("DROP TABLE search_docs")
        op.execute("CREATE VIRTUAL TABLE notice_search USING fts5(title, body, tokenize='trigram')")
        op.execute(
            "INSERT INTO notice_search (rowid, title, body) SELECT n.id, coalesce(n.title, ''), v.body "
            "FROM notices n JOIN versions v ON v.notice_id = n.id AND v.seq = n.version_count"
        )
        return
    op.execute("DROP TABLE search_terms")
    ops = _trigram_ops(op.get_bind())
    op.execute("CREATE TABLE notice_search (notice_id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL)")
    op.execute(f"CREATE INDEX ix_notice_search_title ON notice_search USING gin (title {ops})")
    op.execute(f"CREATE INDEX ix_notice_search_body ON notice_search USING gin (body {ops})")
    op.execute(
        "INSERT INTO notice_search (notice_id, title, body) SELECT n.id, coalesce(n.title, ''), v.body "
        "FROM notices n JOIN versions v ON v.notice_id = n.id AND v.seq = n.version_count"
    )
