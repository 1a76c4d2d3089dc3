"""index notices by (source_id, status) for the per-run candidates query

Revision ID: 0003_notice_source_status
Revises: 0002_robots_cache
"""

from alembic import op

revision = "0003_notice_source_status"
down_revision = "0002_robots_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_notices_source_status", "notices", ["source_id", "status", "last_checked"])


def downgrade() -> None:
    op.drop_index("ix_notices_source_status", table_name="notices")
