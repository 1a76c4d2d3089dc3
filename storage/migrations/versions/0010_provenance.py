"""provenance: where each field of a version came from (label:发布日期, meta:PubDate, position:…, list,
source), as JSON on the version; versions stored before it read as {} (unknown).

ALTER TABLE … ADD COLUMN with a constant default: no table copy on SQLite, no rewrite on PostgreSQL.

Revision ID: 0010_provenance
Revises: 0009_search_ranked
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_provenance"
down_revision = "0009_search_ranked"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("versions", sa.Column("provenance_json", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("versions") as batch:
        batch.drop_column("provenance_json")
