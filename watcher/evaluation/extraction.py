"""How well detail pages are read with no per-site configuration (the generic extractor).

For each labelled page: is the title right, is the published date right, and how close is the body
to the text under the page's main content element — character-level F1 over the multiset of
non-space characters (so layout and line breaks do not count, missing or extra text does).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from ruamel.yaml import YAML
from selectolax.lexbor import LexborHTMLParser

from watcher.config.settings import DetailSelectors
from watcher.extract.detail import parse_detail
from watcher.extract.htmltext import block_text
from watcher.text.normalise import nfkc

_SPACE = re.compile(r"\s+")


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


def evaluate_extraction(labels: Path, root: Path | None = None) -> dict:
    """Reads every labelled page with empty selectors; returns per-page rows and per-set summaries."""
    root = root or labels.parent
    data = YAML(typ="safe").load(labels.read_text(encoding="utf-8"))
    rows = []
    for lab in data["pages"]:
        html = (root / lab["page"]).read_text(encoding="utf-8")
        d = parse_detail(html, lab["url"], DetailSelectors())
        row = dict(page=lab["page"], set=lab.get("set", "all"), title_ok=_same_title(d.title, lab["title"]),
                   date_ok=(d.published.isoformat() if d.published else None) == str(lab["published"]),
                   title=d.title, published=d.published.isoformat() if d.published else None, body_f1=None)
        if lab.get("body"):
            node = LexborHTMLParser(html).css_first(lab["body"])
            if node is None:
                raise ValueError(f"{lab['page']}: label selector {lab['body']!r} matches nothing")
            row["body_p"], row["body_r"], row["body_f1"] = char_f1(d.body, block_text(node))
        rows.append(row)
    summary = {}
    for name in sorted({r["set"] for r in rows}) + ["all"]:
        sel = [r for r in rows if name == "all" or r["set"] == name]
        f1s = [r["body_f1"] for r in sel if r["body_f1"] is not None]
        summary[name] = dict(pages=len(sel), title=sum(r["title_ok"] for r in sel) / len(sel),
                             date=sum(r["date_ok"] for r in sel) / len(sel),
                             body_f1_mean=sum(f1s) / len(f1s) if f1s else None,
                             body_f1_min=min(f1s) if f1s else None, bodies=len(f1s))
    return dict(pages=rows, summary=summary)
