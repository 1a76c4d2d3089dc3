"""docno keys: notices.doc_key holds the 文号 as matched (watcher/text/docno.py docno_key), and a citation of a
文号 stores that key, so that one number printed in two forms (国令第707号 and 中华人民共和国国务院令第707号,
国家税务总局公告 and 税务总局公告) links. doc_no keeps the number as printed, for reading.

Revision ID: 0013_docno_keys
Revises: 0012_simplified_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_docno_keys"
down_revision = "0012_simplified_keys"
branch_labels = None
depends_on = None

_BATCH = 500


def upgrade() -> None:
    # ADD COLUMN in place: a batch copy of notices would drop the table its versions and links point to
    op.add_column("notices", sa.Column("doc_key", sa.String(length=64), nullable=True))
    op.create_index("ix_notices_doc_key", "notices", ["doc_key"])
    notices = sa.table("notices", sa.column("id", sa.Integer), sa.column("doc_no", sa.String), sa.column("doc_key"))
    citations = sa.table(
        "citations", sa.column("id", sa.Integer), sa.column("kind", sa.String), sa.column("key", sa.String)
    )
    _rekey(notices, notices.c.doc_no, notices.c.doc_key, notices.c.doc_no.isnot(None))
    _rekey(citations, citations.c.key, citations.c.key, citations.c.kind == "docno")


def _rekey(table: sa.Table, source: sa.Column, target: sa.Column, which: sa.ColumnElement) -> None:
    """target = docno_key(source) on the rows `which` selects, in batches by id; rows whose key is unchanged
    are not written."""
    from watcher.text.docno import docno_key  # the function storage keys new rows with

    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(table.c.id, source.label("src"), target.label("dst"))
            .where(which, table.c.id > last)
            .order_by(table.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        changed = [{"_id": r.id, "_key": k} for r in rows if (k := docno_key(r.src) or r.src) != r.dst]
        if changed:
            conn.execute(
                table.update().where(table.c.id == sa.bindparam("_id")).values({target.name: sa.bindparam("_key")}),
                changed,
            )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_notices_doc_key", table_name="notices")
    # DROP COLUMN in place (SQLite >= 3.35), for the reason given in upgrade()
    op.execute("ALTER TABLE notices DROP COLUMN doc_key")
