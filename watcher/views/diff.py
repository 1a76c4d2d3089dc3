"""Diffs for people: the changes between two versions of a notice and the article-by-article alignment of a derived
document, with the changed characters marked inside each paragraph and a little unchanged text around them.

`version_blocks` and `side_by_side` give the shapes (the web view renders them with its templates); `render_text`
is the terminal's, `render_html` and `render_version_html` are the single HTML files `watcher docs diff --html`
writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import Environment

from watcher.i18n import _, install
from watcher.link.align import split_articles, summary_line
from watcher.text.changes import Segment, inline_diff
from watcher.text.diff import DiffOp

_MARK = {"reused": "=", "modified": "~", "added": "+", "removed": "-"}
CONTEXT_CHARS = 40  # unchanged characters kept on each side of a change inside a paragraph
CONTEXT_PARAGRAPHS = 1  # unchanged paragraphs kept on each side of a changed one


@dataclass(frozen=True)
class Block:
    """One stretch of a version diff: unchanged paragraphs (`kept`, or `skipped` of them folded away), or one changed
    paragraph as segments (a paragraph only added or removed is one insert or delete segment)."""

    kind: str  # equal | skip | change
    paragraphs: list[str] = field(default_factory=list)
    skipped: int = 0
    segments: list[Segment] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One pair of an alignment: the parent's and the child's article side by side, the changes marked."""

    status: str  # reused | modified | added | removed
    parent_label: str | None
    child_label: str | None
    similarity: float
    parent: list[Segment]  # the parent's article: equal and delete segments
    child: list[Segment]  # the child's: equal and insert segments


def with_context(segments: list[Segment], chars: int = CONTEXT_CHARS) -> list[Segment]:
    """Long unchanged stretches cut to `chars` characters next to each change, the cut marked by an `elided`
    segment; a paragraph without changes is kept whole."""
    if all(s.op == "equal" for s in segments):
        return segments
    out: list[Segment] = []
    last = len(segments) - 1
    for i, s in enumerate(segments):
        if s.op != "equal" or len(s.text) <= 2 * chars:
            out.append(s)
            continue
        head = s.text[:chars] if i > 0 else ""
        tail = s.text[-chars:] if i < last else ""
        if head:
            out.append(Segment("equal", head))
        out.append(Segment("elided", "…"))
        if tail:
            out.append(Segment("equal", tail))
    return out


def _changed(old: list[str], new: list[str]) -> list[Block]:
    out = []
    for a, b in zip(old, new, strict=False):
        out.append(Block("change", segments=with_context(inline_diff(a, b))))
    out += [Block("change", segments=[Segment("delete", a)]) for a in old[len(new) :]]
    out += [Block("change", segments=[Segment("insert", b)]) for b in new[len(old) :]]
    return out


def version_blocks(ops: list[DiffOp], context: int = CONTEXT_PARAGRAPHS) -> list[Block]:
    """A paragraph diff as blocks: each replaced paragraph compared inside (`10家` → `20家` marked, not the whole
    paragraph), unchanged paragraphs kept only next to a change."""
    out: list[Block] = []
    for i, op in enumerate(ops):
        if op.op != "equal":
            out += _changed(op.old, op.new)
            continue
        paras = op.old
        before = context if i > 0 else 0  # after the previous change
        after = context if i < len(ops) - 1 else 0  # before the next one
        if len(paras) <= before + after:
            out.append(Block("equal", paragraphs=paras))
            continue
        if before:
            out.append(Block("equal", paragraphs=paras[:before]))
        out.append(Block("skip", skipped=len(paras) - before - after))
        if after:
            out.append(Block("equal", paragraphs=paras[len(paras) - after :]))
    return out


def _texts_by_label(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in split_articles(text):
        out.setdefault(a.label, []).append(a.text)
    return out


def side_by_side(al: dict, parent_text: str, child_text: str, chars: int = CONTEXT_CHARS) -> list[Row]:
    """The pairs of an alignment (`watcher.link.align.align`) with the articles' texts, modified ones compared
    character by character (the alignment keeps only labels and the changed runs)."""
    parents, children = _texts_by_label(parent_text), _texts_by_label(child_text)

    def take(texts: dict[str, list[str]], label: str | None) -> str:
        found = texts.get(label or "") or [""]
        return found.pop(0) if len(found) > 1 else found[0]

    rows = []
    for p in al["pairs"]:
        ptext, ctext = take(parents, p["parent"]), take(children, p["child"])
        if p["status"] == "modified":
            segs = with_context(inline_diff(ptext, ctext), chars)
            old = [s for s in segs if s.op != "insert"]
            new = [s for s in segs if s.op != "delete"]
        else:
            old, new = [Segment("delete" if p["status"] == "removed" else "equal", ptext)] if ptext else [], []
            if ctext:
                new = [Segment("insert" if p["status"] == "added" else "equal", ctext)]
        rows.append(Row(p["status"], p["parent"], p["child"], float(p.get("similarity") or 0.0), old, new))
    return rows


def render_text(al: dict, parent_ref: str, child_ref: str, *, colour: bool = True, full: bool = False) -> str:
    """Rich markup (colour=True) or plain text. Modified articles show a character diff:
    [-removed-] and {+added+} in plain text."""
    from rich.markup import escape

    e = escape if colour else (lambda x: x)
    out = [f"{e(child_ref)} against {e(parent_ref)}: {summary_line(al)}", ""]
    for p in al["pairs"]:
        head = f"{_MARK[p['status']]} {p['child'] or '—'} ← {p['parent'] or '—'}"
        if p["status"] == "modified":
            head += f"  ({p['similarity']:.0%} alike)"
        style = {"reused": "dim", "modified": "yellow", "added": "green", "removed": "red"}[p["status"]]
        out.append(f"[{style}]{e(head)}[/]" if colour else head)
        if p["status"] == "modified" and (full or len(p["diff"]) <= 12):
            for op, old, new in p["diff"]:
                if op in ("delete", "replace") and old:
                    out.append(f"    [red]-{e(old)}[/]" if colour else f"    [-{old}-]")
                if op in ("insert", "replace") and new:
                    out.append(f"    [green]+{e(new)}[/]" if colour else f"    {{+{new}+}}")
    return "\n".join(out)


_ENV = Environment(autoescape=True)
install(_ENV)
# One macro for a run of segments, shared by both pages: deletions in <del>, insertions in <ins>, cuts as ….
_SEGMENTS = """{% macro segs(items) %}{% for s in items %}{% if s.op == "delete" %}<del>{{ s.text }}</del>{% elif s.op == "insert" %}<ins>{{ s.text }}</ins>{% elif s.op == "elided" %}<span class="elided">…</span>{% else %}{{ s.text }}{% endif %}{% endfor %}{% endmacro %}"""
_STYLE = """<style>body{font-family:sans-serif;font-size:15px;line-height:1.6;max-width:72rem;margin:1rem auto;padding:0 1rem}
del{background:#fdd;text-decoration:line-through}ins{background:#cfc;text-decoration:none}.elided{color:#888}
table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{border-top:1px solid #ddd;padding:.4rem;vertical-align:top;overflow-wrap:anywhere}
.status{width:6rem}.reused{color:#888}.modified{color:#b60}.added{color:#070}.removed{color:#a00}.skip{color:#888;font-style:italic}
@media (max-width:40rem){table,tbody,tr,td,th{display:block;width:auto}thead{display:none}}</style>"""

_HTML = _ENV.from_string(
    _SEGMENTS
    + """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ child_ref }} ← {{ parent_ref }}</title>"""
    + _STYLE
    + """<p><b>{{ child_ref }}</b> ← <b>{{ parent_ref }}</b>: {{ summary }}</p>
<table><thead><tr><th class="status"></th><th>{{ _("Parent") }}: {{ parent_ref }}</th><th>{{ _("Derived document") }}: {{ child_ref }}</th></tr></thead><tbody>
{% for r in rows %}<tr class="{{ r.status }}"><td class="status">{{ labels[r.status] }}{% if r.status == "modified" %} {{ "%.0f"|format(r.similarity * 100) }}%{% endif %}</td>
<td><b>{{ r.parent_label or "—" }}</b> {{ segs(r.parent) }}</td><td><b>{{ r.child_label or "—" }}</b> {{ segs(r.child) }}</td></tr>
{% endfor %}</tbody></table></html>"""
)

_VERSIONS_HTML = _ENV.from_string(
    _SEGMENTS
    + """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{ title }}</title>"""
    + _STYLE
    + """<h1>{{ title }}</h1>
{% for b in blocks %}{% if b.kind == "skip" %}<p class="skip">{{ _("… {n} unchanged paragraphs …").format(n=b.skipped) }}</p>
{% elif b.kind == "equal" %}{% for p in b.paragraphs %}<p class="reused">{{ p }}</p>{% endfor %}
{% else %}<p class="change">{{ segs(b.segments) }}</p>
{% endif %}{% endfor %}{% if not blocks %}<p>{{ _("No changes.") }}</p>{% endif %}</html>"""
)


def status_labels() -> dict[str, str]:
    return {"reused": _("reused"), "modified": _("modified"), "added": _("added"), "removed": _("removed")}


def render_html(al: dict, parent_ref: str, child_ref: str, parent_text: str = "", child_text: str = "") -> str:
    """The alignment as one HTML page, parent and child side by side, changed characters marked with context."""
    return _HTML.render(
        rows=side_by_side(al, parent_text, child_text),
        parent_ref=parent_ref,
        child_ref=child_ref,
        summary=summary_line(al),
        labels=status_labels(),
    )


def render_version_html(ops: list[DiffOp], title: str) -> str:
    """A version diff as one HTML page: changed paragraphs with the changed characters marked, some context."""
    return _VERSIONS_HTML.render(blocks=version_blocks(ops), title=title)
