"""Clause alignments for people: coloured terminal text and HTML (for the digest)."""

from __future__ import annotations

from jinja2 import Environment

from watcher.link.align import summary_line

_MARK = {"reused": "=", "modified": "~", "added": "+", "removed": "-"}


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


_HTML = Environment(autoescape=True).from_string("""<div style="font-family:sans-serif;font-size:14px">
<p><b>{{ child_ref }}</b> against <b>{{ parent_ref }}</b>: {{ summary }}</p>
<table style="border-collapse:collapse">
{% for p in pairs %}<tr style="border-top:1px solid #ddd">
<td style="padding:4px;color:{{ colours[p.status] }}">{{ p.status }}</td>
<td style="padding:4px">{{ p.child or "—" }} ← {{ p.parent or "—" }}</td>
<td style="padding:4px">{% for op, old, new in p.diff %}{% if old and op != "insert" %}<del style="background:#fdd">{{ old }}</del>{% endif %}{% if new and op != "delete" %}<ins style="background:#dfd">{{ new }}</ins>{% endif %} {% endfor %}</td>
</tr>{% endfor %}
</table></div>""")


def render_html(al: dict, parent_ref: str, child_ref: str) -> str:
    return _HTML.render(
        pairs=al["pairs"],
        parent_ref=parent_ref,
        child_ref=child_ref,
        summary=summary_line(al),
        colours={"reused": "#888", "modified": "#b60", "added": "#070", "removed": "#a00"},
    )
