"""`watcher search`: ranked full-text search, matches marked."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from watcher.cli.context import Ctx, cli_errors, emit, err_console, json_option, out
from watcher.cli.render import marked
from watcher.i18n import _
from watcher.text.search import parse_query
from watcher.views.search import search_rows


@click.command()
@click.argument("words", nargs=-1, required=True)
@click.option("--source", help="Only this source.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True)
@click.option("--offset", default=0, show_default=True, help="Skip this many of the best matches (the next page).")
@json_option
@click.pass_obj
@cli_errors
def search(
    obj: Ctx, words: tuple[str, ...], source: str | None, since: datetime | None, limit: int, offset: int, as_json: bool
) -> None:
    """Full-text search over titles, texts and attachments, best matches first.

    Every word must match (绿色 金融); two-character words are found; a 文号 matches however its
    brackets are written (苏政发[2020]28号 finds 苏政发〔2020〕28号); traditional characters find
    simplified ones and the reverse.

    \b
    Example:
      watcher search 绿色 金融 --since 2021-01-01
      watcher search '苏政发[2020]28号'
    """
    text = " ".join(words)
    if not parse_query(text).terms:
        raise click.UsageError(
            _("The query is empty: give at least one character, letter or digit, e.g. `watcher search 绿色 金融`.")
        )
    rows = search_rows(
        obj.reader(), text, source=source, since=since.date() if since else None, limit=limit, offset=offset
    )
    emit(rows, as_json, _print_matches)
    if not rows and not as_json:  # an empty JSON list is an answer; for people, say so and exit 1
        err_console.print(_("No notice contains every word searched for."), highlight=False)
        sys.exit(1)


def _print_matches(rows: list[dict]) -> None:
    from rich.text import Text

    # Three lines a hit: terminals break lines at spaces only, so a title after the id would move down.
    for r in rows:
        head = Text(f"#{r['id']}", style="bold")
        head.append("".join(f"  {v}" for v in (r["published"] or "—", r["doc_no"], r["source_id"]) if v))
        out.print(head)
        title = Text("  ", overflow="fold")
        title.append_text(marked(r["title"] or "", r["title_marks"]))
        out.print(title)
        if r["snippet"]:
            snippet = Text("    ", overflow="fold", style="dim")
            snippet.append_text(marked(r["snippet"], r["snippet_marks"]))
            out.print(snippet)
