"""full-text search over titles and bodies: SQLite FTS5 (trigram) or PostgreSQL pg_trgm

Revision ID: 0005_search
Revises: 0004_linking
"""

from alembic import op

revision = "0005_search"
down_revision = "0004_linking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # trigram: Chinese has no spaces to split words at; LIKE '%…%' is served by the index.
        op.execute("CREATE VIRTUAL TABLE notice_search USING fts5(title, body, tokenize='trigram')")
        op.execute(
            "INSERT INTO notice_search (rowid, title, body) SELECT n.id, coalesce(n.title, ''), v.body "
            "FROM notices n JOIN versions v ON v.notice_id = n.id AND v.seq = n.version_count"
        )
    else:
        bind = op.get_bind()
        # In public, not in the schema being migrated: an extension lives once per database, and one made
        # in an application schema would vanish (with every other schema's trigram indexes) when that schema
        # is dropped.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        # The extension may live in another schema than ours: name its operator class in full.
        schema = bind.exec_driver_sql(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
            "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        ).scalar()
        ops = f'"{schema}".gin_trgm_ops'
        op.execute(
            "CREATE TABLE notice_search (notice_id integer PRIMARY KEY, title text NOT NULL, body text NOT NULL)"
        )
        op.execute(f"CREATE INDEX ix_notice_search_title ON notice_search USING gin (title {ops})")
        op.execute(f"CREATE INDEX ix_notice_search_body ON notice_search USING gin (body {ops})")
        op.execute(
            "INSERT INTO notice_search (notice_id, title, body) SELECT n.id, coalesce(n.title, ''), v.body "
            "FROM notices n JOIN versions v ON v.notice_id = n.id AND v.seq = n.version_count"
        )


def downgrade() -> None:
    op.execute("DROP TABLE notice_search")
