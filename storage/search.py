"""Full-text search: the `notice_search` table holds each notice's newest title and text.

SQLite keys it by rowid (an FTS5 trigram table), PostgreSQL by notice_id (a trigram GIN index), so
the statements are raw SQL with one branch per dialect.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.core import Repo


def index_text(conn: Connection, rows: list[tuple[int, str, str]]) -> None:
    """Keep the search table at each notice's newest text: rows of (notice id, title, text)."""
    ids = [r[0] for r in rows]
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DELETE FROM notice_search WHERE rowid IN ({','.join(map(str, ids))})"))
        conn.execute(
            text("INSERT INTO notice_search (rowid, title, body) VALUES (:id, :title, :body)"),
            [dict(id=i, title=t, body=b) for i, t, b in rows],
        )
    else:
        conn.execute(text("DELETE FROM notice_search WHERE notice_id = ANY(:ids)"), dict(ids=ids))
        conn.execute(
            text("INSERT INTO notice_search (notice_id, title, body) VALUES (:id, :title, :body)"),
            [dict(id=i, title=t, body=b) for i, t, b in rows],
        )


class SearchRepo(Repo):
    def search(
        self, query: str, *, source_id: str | None = None, since: date | None = None, limit: int = 20
    ) -> list[dict]:
        """Notices whose title or body contains `query` (substring, served by the trigram index)."""
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        key = "s.rowid" if self.engine.dialect.name == "sqlite" else "s.notice_id"
        like = "LIKE" if self.engine.dialect.name == "sqlite" else "ILIKE"
        sql = (
            f"SELECT n.id, n.title, n.doc_no, n.issuer, n.published, n.source_id, n.url, s.title AS st, s.body "
            f"FROM notice_search s JOIN notices n ON n.id = {key} "
            f"WHERE (s.title {like} :p ESCAPE '\\' OR s.body {like} :p ESCAPE '\\')"
        )
        params: dict = {"p": pattern, "limit": limit}
        if source_id:
            sql += " AND n.source_id = :source"
            params["source"] = source_id
        if since:
            sql += " AND n.published >= :since"
            params["since"] = since
        sql += " ORDER BY n.published DESC, n.id DESC LIMIT :limit"
        out = []
        with self.engine.connect() as conn:
            for r in conn.execute(text(sql), params):
                pos = r.body.lower().find(query.lower())
                snippet = r.body[max(0, pos - 30) : pos + len(query) + 30].replace("\n", " ") if pos >= 0 else ""
                out.append(
                    dict(
                        id=r.id,
                        title=r.title,
                        doc_no=r.doc_no,
                        issuer=r.issuer,
                        published=str(r.published) if r.published else None,
                        source_id=r.source_id,
                        url=r.url,
                        snippet=snippet,
                    )
                )
        return out
