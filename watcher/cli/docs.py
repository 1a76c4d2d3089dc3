"""`watcher docs …`: what was found and how it is linked."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from storage import reads
from storage.models import Version
from storage.records import AttachmentRecord
from storage.repo import Store
from watcher.cli.context import Ctx, cli_errors, emit, esc, json_option, out
from watcher.cli.render import Column, local_time, print_table
from watcher.i18n import _, ngettext
from watcher.text.changes import inline_diff
from watcher.text.diff import DiffOp, changed_paragraphs, paragraph_diff
from watcher.views import links as link_views

# Relations drawn as parents and children in `docs links`; reposts and siblings get their own branch.
_LINEAGE = ("derived", "revision", "cites")


@click.group()
def docs() -> None:
    """Inspect stored notices.

    \b
    Example:
      watcher docs diff 12 57
    """


@docs.command("list")
@click.option("--source", help="Only this source.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD).")
@click.option(
    "--relation",
    type=click.Choice(["derived", "revision", "repost", "cites", "sibling"]),
    help="Only notices that have a link of this kind to a parent.",
)
@click.option("--limit", default=30, show_default=True)
@json_option
@click.pass_obj
@cli_errors
def docs_list(
    obj: Ctx, source: str | None, since: datetime | None, relation: str | None, limit: int, as_json: bool
) -> None:
    """Stored notices, newest first.

    \b
    Example:
      watcher docs list --source jiangsu-szfwj --since 2024-01-01 --relation derived
    """
    rows = link_views.list_notices(
        obj.reader(), source=source, since=since.date() if since else None, relation=relation, limit=limit
    )
    emit(rows, as_json, _print_notices)


def _print_notices(rows: list[dict]) -> None:
    cols = [Column(_("id"), justify="right"), Column(_("published")), Column(_("文号")), Column(_("title"), wrap=True)]
    cols += [Column(_("source")), Column(_("versions"), justify="right")]
    cells = [
        [str(r["id"]), r["published"] or "—", r["doc_no"] or "—", r["title"] or "", r["source_id"], str(r["versions"])]
        for r in rows
    ]
    print_table(out.get(), ngettext("{n} notice", "{n} notices", len(rows)).format(n=len(rows)), cols, cells)


@docs.command("show")
@click.argument("notice")
@click.option("--full", is_flag=True, help="The whole text instead of the first lines.")
@json_option
@click.pass_obj
@cli_errors
def docs_show(obj: Ctx, notice: str, full: bool, as_json: bool) -> None:
    """A notice: metadata, text, attachments and links.

    \b
    Example:
      watcher docs show 12 --full
    """
    store = obj.reader()
    n = reads.find_notice(store, notice)
    detail = reads.notice_detail(store, n.id)
    d = link_views.notice_row(detail)
    d["links"] = link_views.links_of(store, n.id)
    tz = obj.timezone()
    emit(
        d,
        as_json,
        lambda d: _print_notice({**d, "first_seen": local_time(d["first_seen"], tz)}, detail.attachments, full),
    )


def _attachment_line(a: AttachmentRecord) -> str:
    name, url = esc(a.filename or a.name or ""), esc(a.url)
    if a.status == "ok":
        kb, chars = (a.size or 0) // 1024, a.chars
        return "  " + _("attachment {name} ({type}, {kb} kB, {chars} characters) {url}").format(
            name=name, type=esc(a.file_type), kb=kb, chars=chars, url=url
        )
    if a.status:
        error = f"[red]{esc(a.status)}: {esc(a.error)}[/]"
        return "  " + _("attachment {name} ({error}) {url}").format(name=name, error=error, url=url)
    return "  " + _("attachment {name} (not read) {url}").format(name=name, url=url)


def _labels() -> dict[str, str]:
    return {
        "url": _("URL"),
        "source_id": _("source"),
        "doc_no": _("文号"),
        "issuer": _("issuer"),
        "written": _("written"),
        "published": _("published"),
        "first_seen": _("first seen"),
        "versions": _("versions"),
    }


# How `docs show` names where a field came from (Detail.provenance: 'label:发布日期', 'meta:PubDate', …).
def _origin_words() -> tuple[dict[str, str], dict[str, str]]:
    kinds = {"label": _("label"), "meta": "<meta>", "position": _("position"), "selector": _("selector")}
    words = {"list": _("list page"), "source": "sources.yaml", "selector": _("selector")}
    return kinds, words


def _positions() -> dict[str, str]:
    """The places on a page a field is read from when no label names it (watcher/extract), in words."""
    return {
        "h1": _("first heading"),
        "h2": _("second heading"),
        "headline": _("headline"),
        "title": _("page title"),
        "over-info-bar": _("above the information bar"),
        "under-headline": _("under the headline"),
        "top": _("top of the text"),
        "signature": _("signature line"),
        "script": _("the page's script data"),
    }


def _origin(where: str | None) -> str:
    """`  出处：标签“发布日期”` for a field with a known origin; '' for one stored before origins were."""
    if not where:
        return ""
    kinds, words = _origin_words()
    kind, _sep, what = where.partition(":")
    if kind == "position":
        what = _positions().get(what, what)
    said = f"{kinds.get(kind, kind)}“{what}”" if what else words.get(kind, kind)
    return "  [dim]" + esc(_("origin: {where}").format(where=said)) + "[/]"


def _print_notice(d: dict, attachments: list[AttachmentRecord], full: bool) -> None:
    where = d.get("provenance") or {}
    out.print(f"[bold]{esc(d['title'])}[/]{_origin(where.get('title'))}", highlight=False)
    labels = _labels()
    for key, label in labels.items():
        value = d[key] if d[key] is not None else "—"
        line = esc(_("{label}: {value}").format(label=label, value=value))
        out.print(f"  {line}{_origin(where.get(key))}", highlight=False, soft_wrap=True)
    for k, v in d["metadata"].items():
        said = "" if k in labels or k == "title" else _origin(where.get(k))  # said once, on the field's row
        out.print(f"  [dim]{esc(f'{k}：{v}')}[/]{said}", highlight=False, soft_wrap=True)
    body = d["body"] if full else "\n".join(d["body"].splitlines()[:12])
    more = "" if full else "\n[dim]" + esc(_("… (--full for the whole text)")) + "[/]"
    out.print("\n" + esc(body) + more, highlight=False, soft_wrap=True)
    for a in attachments:
        out.print(_attachment_line(a), highlight=False, soft_wrap=True)
    for r in d["links"]:  # a child's line names this notice as its parent: the child's id comes first
        line = r["explanation"] if r["direction"] == "parent" else f"#{r['child_id']}: {r['explanation']}"
        out.print(f"{'→' if r['direction'] == 'parent' else '←'} {esc(line)}", highlight=False, soft_wrap=True)


@docs.command("history")
@click.argument("notice")
@json_option
@click.pass_obj
@cli_errors
def docs_history(obj: Ctx, notice: str, as_json: bool) -> None:
    """The versions of a notice, with when they were fetched and how much changed.

    \b
    Example:
      watcher docs history 12
    """
    store = obj.reader()
    n = reads.find_notice(store, notice)
    rows: list[dict] = []
    prev: Version | None = None
    for v in store.versions(n.id):
        changed = changed_paragraphs(paragraph_diff(prev.body, v.body)) if prev else None
        rows.append(
            dict(
                seq=v.seq,
                fetched_at=v.fetched_at.isoformat(timespec="seconds"),
                title=v.title,
                chars=len(v.body),
                paragraphs_changed=changed,
                content_hash=v.content_hash[:12],
            )
        )
        prev = v
    tz = obj.timezone()
    emit(rows, as_json, lambda rows: _print_history(n, rows, tz))


def _print_history(n: reads.NoticeSummary, rows: list[dict], tz: ZoneInfo) -> None:
    cols = [Column(_("version"), justify="right"), Column(_("fetched")), Column(_("characters"), justify="right")]
    cols += [Column(_("paragraphs changed"), justify="right"), Column(_("hash"))]
    cells = [
        [
            str(r["seq"]),
            local_time(r["fetched_at"], tz),
            str(r["chars"]),
            _("first") if r["paragraphs_changed"] is None else str(r["paragraphs_changed"]),
            r["content_hash"],
        ]
        for r in rows
    ]
    print_table(out.get(), _("History of #{id} {title}").format(id=n.id, title=n.title or ""), cols, cells)


@docs.command("diff")
@click.argument("args", nargs=-1, required=True)
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the result as HTML.")
@json_option
@click.option("--full", is_flag=True, help="Show every character diff, however long.")
@click.pass_obj
@cli_errors
def docs_diff(obj: Ctx, args: tuple[str, ...], html_out: str | None, as_json: bool, full: bool) -> None:
    """Versions of one notice, or the articles of two notices.

    \b
      docs diff ID             the previous version against the newest (paragraph diff)
      docs diff ID V1 V2       two versions of one notice
      docs diff PARENT CHILD   align CHILD's articles with PARENT's: reused, modified
                               (with a character diff), added, removed
    \b
    Example:
      watcher docs diff 1 2 --html /tmp/diff.html
    """
    store = obj.reader()
    if len(args) in (1, 3):
        _version_diff(store, args, as_json, html_out)
        return
    if len(args) != 2:
        raise click.UsageError(_("give ID, ID V1 V2, or PARENT CHILD"))
    # numpy (align) and jinja2 (render_html) load only when two notices are compared
    from watcher.link.align import align
    from watcher.views.diff import render_html, render_text

    p, c = (reads.find_notice(store, a) for a in args)
    pv, cv = store.versions(p.id), store.versions(c.id)
    if not pv or not cv:
        raise click.ClickException(_("both notices need a stored version"))
    al = align(pv[-1].norm_text, cv[-1].norm_text)
    pref, cref = p.doc_no or p.title or f"#{p.id}", c.doc_no or c.title or f"#{c.id}"
    if html_out:
        html = render_html(al, pref, cref, pv[-1].norm_text, cv[-1].norm_text)
        Path(html_out).write_text(html, encoding="utf-8")
    emit(
        al,
        as_json,
        lambda al: out.print(render_text(al, pref, cref, full=full), markup=False, highlight=False, soft_wrap=True),
    )


def _version_diff(store: Store, args: tuple[str, ...], as_json: bool, html_out: str | None) -> None:
    n = reads.find_notice(store, args[0])
    if not all(a.isdigit() for a in args[1:]):
        raise click.ClickException(_("versions are numbers, got {given}").format(given=" ".join(args[1:])))
    ops = reads.version_diff(store, n.id, *(int(a) for a in args[1:]))
    emit([dict(op=o.op, old=o.old, new=o.new) for o in ops], as_json, lambda _ops: _print_changes(ops))
    if html_out:
        from watcher.views.diff import render_version_html

        Path(html_out).write_text(render_version_html(ops, f"#{n.id} {n.title or ''}"), encoding="utf-8")


def _print_changes(ops: list[DiffOp]) -> None:
    """Each changed paragraph once, the changed phrases marked inside it (struck out red `[-10家-]`, green
    `{+20家+}`: the brackets show without colours too); unchanged paragraphs folded to a count."""
    from rich.text import Text

    changed = changed_paragraphs(ops)
    out.print(ngettext("{n} paragraph changed", "{n} paragraphs changed", changed).format(n=changed), style="bold")
    for op in ops:
        if op.op == "equal":
            hidden = ngettext("… {n} paragraph unchanged", "… {n} paragraphs unchanged", len(op.old))
            out.print(Text(hidden.format(n=len(op.old)), style="dim"))
            continue
        pairs = list(zip(op.old, op.new, strict=False))
        for a, b in pairs:
            line = Text("~ ", overflow="fold")
            for seg in inline_diff(a, b):
                if seg.op == "equal":
                    line.append(seg.text)
                elif seg.op == "delete":
                    line.append(f"[-{seg.text}-]", style="red strike")
                else:
                    line.append(f"{{+{seg.text}+}}", style="bold green")
            out.print(line)
        for a in op.old[len(pairs) :]:
            out.print(Text(f"- {a}", style="red", overflow="fold"))
        for b in op.new[len(pairs) :]:
            out.print(Text(f"+ {b}", style="green", overflow="fold"))


@docs.command("links")
@click.argument("notice")
@json_option("Print the links as JSON.")
@click.pass_obj
@cli_errors
def docs_links(obj: Ctx, notice: str, as_json: bool) -> None:
    """Links of a notice: what it derives from, revises, reposts or cites, and what derives from it.

    \b
    Example:
      watcher docs links 2
    """
    store = obj.reader()
    n = reads.find_notice(store, notice)
    emit(link_views.links_of(store, n.id), as_json, lambda rows: _print_link_tree(n, rows))


def _print_link_tree(n: reads.NoticeSummary, rows: list[dict]) -> None:
    from rich.text import Text
    from rich.tree import Tree

    # Text, not markup: a title's [brackets] are shown as written. Not soft_wrap: a tree's long line
    # folds under its branch instead of being cut at the terminal's edge.
    tree = Tree(Text(f"#{n.id} {n.doc_no or ''} {n.title or ''}", style="bold"))
    groups = {
        _("parents ({n})"): [r for r in rows if r["direction"] == "parent" and r["relation"] in _LINEAGE],
        _("children ({n})"): [r for r in rows if r["direction"] == "child" and r["relation"] in _LINEAGE],
        _("reposts ({n})"): [r for r in rows if r["relation"] == "repost"],
        _("companions ({n})"): [r for r in rows if r["relation"] == "sibling"],
    }
    for name, items in groups.items():
        if items:
            branch = tree.add(Text(name.format(n=len(items))))
            for r in items:
                other = r["child_id"] if r["direction"] == "child" else (r["parent_id"] or r["parent_key"])
                label = f"#{other}" if isinstance(other, int) else str(other)
                line = r["explanation"] if r["direction"] == "parent" else f"{label}: {r['explanation']}"
                branch.add(Text(line, overflow="fold"))
    if not rows:
        tree.add(Text(_("no links"), style="dim"))
    out.print(tree, highlight=False)
