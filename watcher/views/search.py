"""Search results for people: the hits of `Store.search` as JSON-able rows (what `watcher search --json`
prints) and as HTML with the matches marked (for the web view)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.repo import Store
    from storage.search import SearchHit
    from watcher.text.search import Span


def hit_row(h: SearchHit) -> dict:
    """A hit as JSON: the snippet as plain text, the marks as [start, end) offsets into it and the title."""
    return dict(
        id=h.id,
        title=h.title,
        doc_no=h.doc_no,
        issuer=h.issuer,
        published=str(h.published) if h.published else None,
        source_id=h.source_id,
        url=h.url,
        score=round(h.score, 6),
        title_marks=[list(m) for m in h.title_marks],
        snippet=h.snippet.text if h.snippet else "",
        snippet_marks=[list(m) for m in h.snippet.marks] if h.snippet else [],
    )


def search_rows(
    store: Store,
    query: str,
    *,
    source: str | None = None,
    since: date | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict]:
    return [hit_row(h) for h in store.search(query, source_id=source, since=since, limit=limit, offset=offset)]


def marked_html(text: str, marks: Sequence[Span]) -> str:
    """text escaped for HTML, the matched spans in <mark>."""
    out, at = [], 0
    for start, end in marks:
        out.append(escape(text[at:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        at = end
    out.append(escape(text[at:]))
    return "".join(out)
