"""Tables that fit the terminal, times in the reader's timezone, matches marked.

Rich shrinks every column of a table that is too wide, ids and dates too, down to nothing. Here a
table whose ids, dates and 文号 cannot be shown whole beside a readable title turns vertical: one block
per row, every value whole, long text folded onto the next lines.

Cells are printed as rich Text, never parsed as markup: a title with [brackets] is shown as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from watcher.text.search import Span


@dataclass(frozen=True)
class Column:
    header: str
    wrap: bool = False  # free text (a title, an error) folds onto more lines; the others are never cut
    justify: Literal["left", "right"] = "left"
    min_width: int = 16  # a wrapping column narrower than this makes the table vertical


def _text(cell: str | Text) -> Text:
    from rich.text import Text

    return cell if isinstance(cell, Text) else Text(cell)


def _needed(cols: Sequence[Column], rows: Sequence[Sequence[str | Text]]) -> int:
    """Columns that do not wrap at their widest cell, wrapping ones at their minimum; with the borders."""
    from rich.cells import cell_len

    total = 1
    for i, col in enumerate(cols):
        widest = max([cell_len(col.header), *(cell_len(_text(r[i]).plain) for r in rows)])
        total += (min(widest, col.min_width) if col.wrap else widest) + 3  # padding both sides, a border
    return total


def print_table(console: Console, title: str, cols: Sequence[Column], rows: Sequence[Sequence[str | Text]]) -> None:
    """A table at the console's width, or one block per row when it cannot fit whole."""
    if _needed(cols, rows) <= console.width:
        console.print(_table(title, cols, rows))
    else:
        _print_vertical(console, title, cols, rows)


def _table(title: str, cols: Sequence[Column], rows: Sequence[Sequence[str | Text]]) -> object:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title, style="table.title"))  # a title holds data (notice titles, paths): never markup
    for col in cols:
        table.add_column(col.header, justify=col.justify, no_wrap=not col.wrap, overflow="fold")
    for r in rows:
        table.add_row(*(_text(c) for c in r))
    return table


def _pair(col: Column, cell: str | Text, *, bold: bool = False) -> Text:
    from rich.text import Text

    out = Text(f"{col.header}：", style="dim", overflow="fold")  # no space: a long title folds, not moves down
    value = _text(cell).copy()
    if bold:
        value.stylize("bold")
    out.append_text(value)
    return out


def _print_vertical(console: Console, title: str, cols: Sequence[Column], rows: Sequence[Sequence[str | Text]]) -> None:
    """Per row: the short values as label：value pairs, as many to a line as fit (a line breaks between
    pairs, never inside one: 2024-05-01 18:00:03 stays whole), then each long value on its own lines."""
    from rich.cells import cell_len
    from rich.text import Text

    console.print(Text(title, style="bold"))
    for r in rows:
        line = Text(overflow="fold")
        for i, (col, cell) in enumerate(zip(cols, r, strict=True)):
            if col.wrap:
                continue
            pair = _pair(col, cell, bold=not i)
            if line.plain and cell_len(line.plain) + 2 + cell_len(pair.plain) > console.width:
                console.print(line)
                line = Text(overflow="fold")
            if line.plain:
                line.append("  ")
            line.append_text(pair)
        console.print(line)
        for col, cell in zip(cols, r, strict=True):
            if col.wrap and _text(cell).plain:
                console.print(Text("  ", overflow="fold").append_text(_pair(col, cell)))


def marked(text: str, marks: Sequence[Span], style: str = "bold reverse") -> Text:
    """text with the spans a search matched in `style`."""
    from rich.text import Text

    out = Text(text, overflow="fold")
    for start, end in marks:
        out.stylize(style, start, end)
    return out


def local_time(value: datetime | str | None, tz: ZoneInfo) -> str:
    """A stored time (aware, or naive meaning UTC, or its ISO text) as the reader's clock shows it."""
    if value is None:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
