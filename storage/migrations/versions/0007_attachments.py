"""attachment_texts: the text read from each attachment file, by sha256

Revision ID: 0007_attachments
Revises: 0006_deliveries
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_attachments"
down_revision = "0006_deliveries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_texts",
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attachment_texts")
