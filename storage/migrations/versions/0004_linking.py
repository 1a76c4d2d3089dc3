"""linking: signatures, citations, links; notices.title_key

Revision ID: 0004_linking
Revises: 0003_notice_source_status
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_linking"
down_revision = "0003_notice_source_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("title_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch.create_index("ix_notices_title_key", ["title_key"])
    op.create_table(
        "signatures",
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("versions.id"), primary_key=True),
        sa.Column("notice_id", sa.Integer(), nullable=False, index=True),
        sa.Column("params", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("hashvalues", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_table(
        "citations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), nullable=False, index=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("in_purpose", sa.Boolean(), nullable=False),
        sa.Column("resolved_id", sa.Integer(), nullable=True, index=True),
    )
    op.create_index("ix_citations_kind_key", "citations", ["kind", "key"])
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("child_id", sa.Integer(), nullable=False, index=True),
        sa.Column("parent_id", sa.Integer(), nullable=True, index=True),
        sa.Column("parent_key", sqlmodel.sql.sqltypes.AutoString(length=220), nullable=False),
        sa.Column("relation", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("jaccard", sa.Float(), nullable=True),
        sa.Column("contain_child", sa.Float(), nullable=True),
        sa.Column("contain_parent", sa.Float(), nullable=True),
        sa.Column("evidence_json", sa.Text(), nullable=False),
        sa.Column("alignment_json", sa.Text(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("child_id", "parent_key", "relation"),
    )


def downgrade() -> None:
    op.drop_table("links")
    op.drop_index("ix_citations_kind_key", table_name="citations")
    op.drop_table("citations")
    op.drop_table("signatures")
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_title_key")
        batch.drop_column("title_key")
