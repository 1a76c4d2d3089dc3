"""simplified keys: a title in traditional script is keyed as its simplified form (watcher/text/script.py), so
that a citation of 国务院关于…的批复 finds the stored page printed as 國務院關於…的批復. Only the notices whose
title holds a traditional character are keyed again (most hold none).

Revision ID: 0012_simplified_keys
Revises: 0011_web_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_simplified_keys"
down_revision = "0011_web_indexes"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    from watcher.text.script import simplified
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
        changed = [
            {"_id": r.id, "_key": title_key(r.title)} for r in rows if r.title and simplified(r.title) != r.title
        ]
        if changed:
            conn.execute(
                notices.update().where(notices.c.id == sa.bindparam("_id")).values(title_key=sa.bindparam("_key")),
                changed,
            )
        last = rows[-1].id


def downgrade() -> None:
    """Nothing to undo: the traditional keys were the defect."""
