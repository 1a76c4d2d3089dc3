"""How well pages are read with no per-site configuration (the generic extractor).

For each labelled detail page: is the title right, is the published date right, and how close is the
body to the text under the page's main content element — character-level F1 over the multiset of
non-space characters (so layout and line breaks do not count, missing or extra text does). Where the
label gives the body's first and last characters (`body_start`, `body_end`), the reference text is cut
there: a container may hold an editor credit that is not the item's text.

For each labelled list page: are the labelled items found (URL), with their date, and is the number of
items the page's main list holds right.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from selectolax.lexbor import LexborHTMLParser

from watcher.config.settings import DetailSelectors, ListSelectors, Pagination
from watcher.extract.detail import parse_detail
from watcher.extract.htmltext import block_text
from watcher.extract.listing import parse_list
from watcher.text.normalise import nfkc

_SPACE = re.compile(r"\s+")
# What the labels delete before taking a body's first/last 30 characters: every space and zero-width mark.
_LABEL_SPACE = re.compile(r"[\s\u200b\u200c\u200d\ufeff]+")
# Below this body F1 a page counts as misread (the CLI exits 1).
BODY_F1_FLOOR = 0.9


def _chars(text: str) -> Counter:
    return Counter(_SPACE.sub("", nfkc(text)))


def char_f1(predicted: str, truth: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of the predicted text's characters against the truth's."""
    p, t = _chars(predicted), _chars(truth)
    overlap = sum((p & t).values())
    if not p or not t:
        return (float(p == t),) * 3
    precision, recall = overlap / sum(p.values()), overlap / sum(t.values())
    return precision, recall, (2 * precision * recall / (precision + recall)) if overlap else 0.0


def _same_title(a: str, b: str) -> bool:
    return _SPACE.sub("", nfkc(a or "")) == _SPACE.sub("", nfkc(b or ""))


def _day(value: Any) -> str | None:
    """The YYYY-MM-DD of a label ('2019-09-18 06:23' is shown with its time; the record keeps the day)."""
    return str(value)[:10] if value else None


def reference_body(html: str, lab: dict) -> str:
    """The text a reader takes as the body: the labelled element's text, cut at body_start/body_end."""
    node = LexborHTMLParser(html).css_first(lab["body"])
    if node is None:
        raise ValueError(f"{lab['page']}: label selector {lab['body']!r} matches nothing")
    text = block_text(node)
    if not (lab.get("body_start") or lab.get("body_end")):
        return text
    flat = _LABEL_SPACE.sub("", text)
    start = flat.find(_LABEL_SPACE.sub("", lab.get("body_start") or "")) if lab.get("body_start") else 0
    end_mark = _LABEL_SPACE.sub("", lab.get("body_end") or "")
    end = flat.rfind(end_mark) + len(end_mark) if end_mark else len(flat)
    if start < 0 or end < len(end_mark) or end <= start:
        raise ValueError(f"{lab['page']}: body_start/body_end not found under {lab['body']!r}")
    return flat[start:end]


@dataclass
class PageResult:
    page: str
    set: str
    kind: str  # detail | list
    title_ok: bool = True
    date_ok: bool = True
    title: str | None = None
    published: str | None = None
    body_f1: float | None = None
    body_p: float | None = None
    body_r: float | None = None
    items: int | None = None  # list pages: items read
    item_count: int | None = None  # list pages: items labelled
    item_url: float | None = None  # share of the labelled items found
    item_date: float | None = None  # share of the labelled items found with their date

    @property
    def ok(self) -> bool:
        if self.kind == "list":
            return self.item_url == 1.0 and self.item_date == 1.0 and self.items == self.item_count
        return self.title_ok and self.date_ok and (self.body_f1 is None or self.body_f1 >= BODY_F1_FLOOR)


def _detail_result(html: str, lab: dict) -> PageResult:
    d = parse_detail(html, lab["url"], DetailSelectors())
    published = d.published.isoformat() if d.published else None
    row = PageResult(
        page=lab["page"],
        set=lab.get("set", "all"),
        kind="detail",
        title_ok=_same_title(d.title, lab["title"]),
        date_ok=published == _day(lab.get("published")),
        title=d.title,
        published=published,
    )
    if lab.get("body"):
        row.body_p, row.body_r, row.body_f1 = char_f1(d.body, reference_body(html, lab))
    return row


def _list_result(html: str, lab: dict) -> PageResult:
    page = parse_list(html, lab["url"], ListSelectors(), Pagination())
    got = {it.url: it.date.isoformat() if it.date else None for it in page.items}
    want = lab.get("items") or []
    found = [w for w in want if w["url"] in got]
    dated = [w for w in found if got[w["url"]] == _day(w.get("date"))]
    return PageResult(
        page=lab["page"],
        set=lab.get("set", "all"),
        kind="list",
        items=len(page.items),
        item_count=lab.get("item_count"),
        item_url=len(found) / len(want) if want else 1.0,
        item_date=len(dated) / len(want) if want else 1.0,
    )


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _summary(rows: list[PageResult]) -> dict[str, Any]:
    details = [r for r in rows if r.kind == "detail"]
    lists = [r for r in rows if r.kind == "list"]
    f1s = [r.body_f1 for r in details if r.body_f1 is not None]
    return dict(
        pages=len(details),
        title=_mean([float(r.title_ok) for r in details]),
        date=_mean([float(r.date_ok) for r in details]),
        body_f1_mean=_mean(f1s),
        body_f1_min=min(f1s) if f1s else None,
        bodies=len(f1s),
        lists=len(lists),
        item_url=_mean([r.item_url for r in lists if r.item_url is not None]),
        item_date=_mean([r.item_date for r in lists if r.item_date is not None]),
        item_count=_mean([float(r.items == r.item_count) for r in lists]),
    )


def evaluate_extraction(labels: Path, root: Path | None = None) -> dict:
    """Reads every labelled page with empty selectors; returns per-page rows and per-set summaries."""
    root = root or labels.parent
    data = YAML(typ="safe").load(labels.read_text(encoding="utf-8"))
    rows = []
    for lab in data["pages"]:
        html = (root / lab["page"]).read_text(encoding="utf-8")
        rows.append(_list_result(html, lab) if lab.get("kind") == "list" else _detail_result(html, lab))
    summary = {
        name: _summary([r for r in rows if name == "all" or r.set == name])
        for name in sorted({r.set for r in rows}) + ["all"]
    }
    return dict(pages=[dict(asdict(r), ok=r.ok) for r in rows], summary=summary)


SUMMARY_COLUMNS = (
    "set",
    "pages",
    "title",
    "date",
    "body F1 mean",
    "body F1 min",
    "lists",
    "item URL",
    "item date",
    "item count",
)


def summary_rows(report: dict) -> list[list[str]]:
    """The summary as table cells, one row per set, in SUMMARY_COLUMNS order."""

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    return [
        [
            name,
            str(s["pages"]),
            fmt(s["title"]),
            fmt(s["date"]),
            fmt(s["body_f1_mean"]),
            fmt(s["body_f1_min"]),
            str(s["lists"]),
            fmt(s["item_url"]),
            fmt(s["item_date"]),
            fmt(s["item_count"]),
        ]
        for name, s in report["summary"].items()
    ]


def failures(report: dict) -> list[str]:
    """One line per misread page: what was wrong."""
    out = []
    for p in report["pages"]:
        if p["ok"]:
            continue
        if p["kind"] == "list":
            out.append(
                f"{p['page']}: items {p['items']} of {p['item_count']}, labelled items found "
                f"{p['item_url']:.2f}, with their date {p['item_date']:.2f}"
            )
        else:
            out.append(
                f"{p['page']}: title {'ok' if p['title_ok'] else repr(p['title'])}, "
                f"date {'ok' if p['date_ok'] else p['published']}, body F1 {p['body_f1']}"
            )
    return out
