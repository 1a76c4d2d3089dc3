"""instruments: notices.title_key recomputed as the folded instrument key (no length cut); the linker's
date and repost cluster per notice; former titles; citations read as legal basis; the boilerplate
filter's state

Revision ID: 0008_instruments
Revises: 0007_attachments
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_instruments"
down_revision = "0007_attachments"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("link_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("repost_of", sa.Integer(), nullable=True))
        batch.create_index("ix_notices_repost_of", ["repost_of"])
    with op.batch_alter_table("citations") as batch:
        batch.add_column(sa.Column("basis", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "title_aliases",
        sa.Column("notice_id", sa.Integer(), primary_key=True),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), primary_key=True),
    )
    op.create_index("ix_title_aliases_key", "title_aliases", ["key"])
    op.create_table(
        "link_state",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("docs", sa.Float(), nullable=False),
        sa.Column("through_version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    _recompute_title_keys()


def _recompute_title_keys() -> None:
    """Every stored title gets the new key: citations of 水法 resolve to notices stored before."""
    from watcher.text.titles import title_key  # the function storage keys new versions with

    conn = op.get_bind()
    notices = sa.table("notices", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("title_key"))
    last = 0
    while True:
        rows = conn.execute(
            sa.select(notices.c.id, notices.c.title).where(notices.c.id > last).order_by(notices.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        conn.execute(
            notices.update().where(notices.c.id == sa.bindparam("_id")).values(title_key=sa.bindparam("_key")),
            [{"_id": r.id, "_key": title_key(r.title)} for r in rows],
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("link_state")
    op.drop_index("ix_title_aliases_key", table_name="title_aliases")
    op.drop_table("title_aliases")
    with op.batch_alter_table("citations") as batch:
        batch.drop_column("basis")
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_repost_of")
        batch.drop_column("repost_of")
        batch.drop_column("link_date")
