"""indexes for the web view's pages at 100k notices: recent failures (a partial index on the notices that have an
error), the notices with a link of one kind (links by relation and child), and on PostgreSQL the notice list's order
(published DESC NULLS LAST, id DESC; SQLite reads it from ix_notices_published, where NULLs already sort last)

Revision ID: 0011_web_indexes
Revises: 0010_provenance
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_web_indexes"
down_revision = "0010_provenance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    erring = sa.text("last_error IS NOT NULL")
    op.create_index("ix_notices_errors", "notices", ["last_checked"], sqlite_where=erring, postgresql_where=erring)
    op.create_index("ix_links_relation_child", "links", ["relation", "child_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_notices_published_id ON notices (published DESC NULLS LAST, id DESC)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_notices_published_id", table_name="notices")
    op.drop_index("ix_links_relation_child", table_name="links")
    op.drop_index("ix_notices_errors", table_name="notices")
