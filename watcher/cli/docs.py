"""`watcher docs …`, `link`, `eval`, `search`, `status`: what was found and how it is linked."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from storage.repo import Store

from watcher.cli import Ctx, Table, err_console, main, out

# ---- linking ------------------------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the count as JSON.")
@click.pass_obj
def link(obj: Ctx, as_json: bool) -> None:
    """Link every stored version not linked yet (polls do this themselves).

    \b
    Example:
      watcher link
    """
    from watcher.link.stage import make_linker
    cfg = obj.load()
    made = make_linker(cfg, obj.store(cfg)).run()
    click.echo(json.dumps({"links": made}) if as_json else f"{made} new links")


@main.group()
def docs() -> None:
    """Inspect stored notices.

    \b
    Example:
      watcher docs diff 12 57
    """


def _notice_ref(store: Store, ident: str):
    n = store.notice(int(ident)) if ident.isdigit() else store.notice_by_url(ident)
    if n is None:
        raise click.ClickException(f"no notice {ident!r} (give an id or a URL)")
    return n


def _ids(store: Store, args: tuple[str, ...]):
    return [_notice_ref(store, a) for a in args]


@docs.command("list")
@click.option("--source", help="Only this source.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD).")
@click.option("--relation", type=click.Choice(["derived", "revision", "repost", "cites", "sibling"]),
              help="Only notices that have a link of this kind to a parent.")
@click.option("--limit", default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def docs_list(obj: Ctx, source: str | None, since, relation: str | None, limit: int, as_json: bool) -> None:
    """Stored notices, newest first.

    \b
    Example:
      watcher docs list --source jiangsu-szfwj --since 2024-01-01 --relation derived
    """
    from watcher.views.links import list_notices
    rows = list_notices(obj.store(), source=source, since=since.date() if since else None, relation=relation,
                        limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} notices")
    for col in ("id", "published", "文号", "title", "source", "v"):
        table.add_column(col, overflow="fold" if col == "title" else "ellipsis", no_wrap=col != "title")
    for r in rows:
        table.add_row(str(r["id"]), r["published"] or "—", r["doc_no"] or "—", r["title"] or "", r["source_id"],
                      str(r["versions"]))
    out.print(table)


@docs.command("show")
@click.argument("notice")
@click.option("--full", is_flag=True, help="The whole text instead of the first lines.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def docs_show(obj: Ctx, notice: str, full: bool, as_json: bool) -> None:
    """A notice: metadata, text, attachments and links.

    \b
    Example:
      watcher docs show 12 --full
    """
    from watcher.views.links import links_of, notice_detail
    store = obj.store()
    n = _notice_ref(store, notice)
    d = notice_detail(store, n.id)
    d["links"] = links_of(store, n.id)
    if as_json:
        click.echo(json.dumps(d, ensure_ascii=False, indent=2))
        return
    out.print(f"[bold]{d['title']}[/]", highlight=False)
    for key in ("url", "source_id", "doc_no", "issuer", "written", "published", "first_seen", "versions"):
        out.print(f"  {key:10} {d[key] if d[key] is not None else '—'}", highlight=False, soft_wrap=True)
    for k, v in d["metadata"].items():
        out.print(f"  [dim]{k:10} {v}[/]", highlight=False, soft_wrap=True)
    body = d["body"] if full else "\n".join(d["body"].splitlines()[:12])
    out.print("\n" + body + ("" if full else "\n[dim]… (--full for the whole text)[/]"), highlight=False, soft_wrap=True)
    for a in d["attachments"]:
        state = a.get("status")
        info = (f"{a.get('kind')}, {a.get('size', 0) // 1024} kB, {a.get('chars')} chars" if state == "ok"
                else f"[red]{state}: {a.get('error')}[/]" if state else "not read")
        out.print(f"  附件 {a.get('filename') or a.get('name') or ''} ({info}) {a['url']}", highlight=False, soft_wrap=True)
    for r in d["links"]:
        out.print(f"{'→' if r['direction'] == 'parent' else '←'} {r['explanation']}", highlight=False, soft_wrap=True)


@docs.command("history")
@click.argument("notice")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def docs_history(obj: Ctx, notice: str, as_json: bool) -> None:
    """The versions of a notice, with when they were fetched and how much changed.

    \b
    Example:
      watcher docs history 12
    """
    from watcher.text.diff import changed_paragraphs, paragraph_diff
    store = obj.store()
    n = _notice_ref(store, notice)
    rows, prev = [], None
    for v in store.versions(n.id):
        changed = changed_paragraphs(paragraph_diff(prev.body, v.body)) if prev else None
        rows.append(dict(seq=v.seq, fetched_at=v.fetched_at.isoformat(timespec="seconds"), title=v.title,
                         chars=len(v.body), paragraphs_changed=changed, content_hash=v.content_hash[:12]))
        prev = v
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"History of #{n.id} {n.title or ''}")
    for col in ("version", "fetched", "chars", "paragraphs changed", "hash"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["seq"]), r["fetched_at"], str(r["chars"]),
                      "first" if r["paragraphs_changed"] is None else str(r["paragraphs_changed"]), r["content_hash"])
    out.print(table)


@docs.command("diff")
@click.argument("args", nargs=-1, required=True)
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write the result as HTML.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--full", is_flag=True, help="Show every character diff, however long.")
@click.pass_obj
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
    store = obj.store()
    if len(args) in (1, 3):
        _version_diff(store, args, as_json, html_out)
        return
    if len(args) != 2:
        raise click.UsageError("give ID, ID V1 V2, or PARENT CHILD")
    from watcher.link.align import align
    from watcher.views.diff import render_html, render_text
    p, c = _ids(store, args)
    pv, cv = store.versions(p.id), store.versions(c.id)
    if not pv or not cv:
        raise click.ClickException("both notices need a stored version")
    al = align(pv[-1].norm_text, cv[-1].norm_text)
    pref, cref = p.doc_no or p.title or f"#{p.id}", c.doc_no or c.title or f"#{c.id}"
    if html_out:
        Path(html_out).write_text(render_html(al, pref, cref), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(al, ensure_ascii=False, indent=2))
    else:
        out.print(render_text(al, pref, cref, full=full), highlight=False, soft_wrap=True)


def _version_diff(store: Store, args: tuple[str, ...], as_json: bool, html_out: str | None) -> None:
    from html import escape

    from watcher.text.diff import render_unified
    n = _notice_ref(store, args[0])
    try:
        ops = store.diff(n.id, *(int(a) for a in args[1:]))
    except (KeyError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'")) from None
    if as_json:
        click.echo(json.dumps([dict(op=o.op, old=o.old, new=o.new) for o in ops], ensure_ascii=False, indent=2))
    else:
        for line in render_unified(ops).splitlines():
            style = {"-": "red", "+": "green"}.get(line[:1])
            out.print(f"[{style}]{escape(line)}[/]" if style else line, highlight=False, soft_wrap=True)
    if html_out:
        parts = [f"<p style='color:{ {'-': '#a00', '+': '#070'}.get(l[:1], '#666') }'>{escape(l)}</p>"
                 for l in render_unified(ops).splitlines()]
        Path(html_out).write_text("<div>" + "".join(parts) + "</div>", encoding="utf-8")


@docs.command("links")
@click.argument("notice")
@click.option("--json", "as_json", is_flag=True, help="Print the links as JSON.")
@click.pass_obj
def docs_links(obj: Ctx, notice: str, as_json: bool) -> None:
    """Links of a notice: what it derives from, revises, reposts or cites, and what derives from it.

    \b
    Example:
      watcher docs links 2
    """
    from rich.tree import Tree

    from watcher.views.links import links_of
    store = obj.store()
    n = _notice_ref(store, notice)
    rows = links_of(store, n.id)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    tree = Tree(f"[bold]#{n.id} {n.doc_no or ''} {n.title or ''}[/]")
    groups = {"parents": [r for r in rows if r["direction"] == "parent" and r["relation"] in ("derived", "revision", "cites")],
              "children": [r for r in rows if r["direction"] == "child" and r["relation"] in ("derived", "revision", "cites")],
              "reposts": [r for r in rows if r["relation"] == "repost"],
              "siblings": [r for r in rows if r["relation"] == "sibling"]}
    for name, items in groups.items():
        if items:
            branch = tree.add(f"{name} ({len(items)})")
            for r in items:
                other = r["child_id"] if r["direction"] == "child" else (r["parent_id"] or r["parent_key"])
                label = f"#{other}" if isinstance(other, int) else str(other)
                text = r["explanation"] if r["direction"] == "parent" else f"{label}: {r['explanation']}"
                branch.add(text)
    if not rows:
        tree.add("[dim]no links[/]")
    out.print(tree, highlight=False, soft_wrap=True)


@main.command()
@click.argument("text")
@click.option("--source", help="Only this source.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after (YYYY-MM-DD).")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def search(obj: Ctx, text: str, source: str | None, since, limit: int, as_json: bool) -> None:
    """Full-text search over titles and bodies (works for Chinese: trigram index).

    \b
    Example:
      watcher search 绿色低碳 --since 2021-01-01
    """
    rows = obj.store().search(text, source_id=source, since=since.date() if since else None, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        out.print(f"[bold]#{r['id']}[/] {r['published'] or '          '} {r['title']}  [dim]{r['doc_no'] or ''}[/]",
                  highlight=False, soft_wrap=True)
        if r["snippet"]:
            out.print(f"    …{r['snippet']}…", highlight=False, soft_wrap=True)
    if not rows:
        err_console.print("no match")
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_obj
def status(obj: Ctx, as_json: bool) -> None:
    """Health per source and per notification channel, and recent failures.
    Exit status 1 when a source's last poll failed.

    \b
    Example:
      watcher status --json
    """
    from watcher.cli.sources import source_status
    from watcher.views.links import recent_failures
    rows = source_status(obj)
    store = obj.store()
    cfg = obj.load()
    from notifiers.dispatch import channel_status
    channels = channel_status(store, cfg.channels)
    report = {"sources": rows, "channels": channels, "recent_failures": recent_failures(store)}
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        table = Table(title="Sources")
        for col in ("id", "on", "last poll", "status", "notices", "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            colour = {"ok": "green", "partial": "yellow", None: "dim"}.get(r["last_status"], "red")
            table.add_row(r["id"], "yes" if r["enabled"] else "no", r["last_poll"] or "—",
                          f"[{colour}]{r['last_status'] or 'never'}[/]", str(r["notices"]), (r["last_error"] or "")[:70])
        out.print(table)
        for c in channels:
            colour = "red" if c["failed"] else "green"
            out.print(f"channel [bold]{c['id']}[/] ({c['type']}): [{colour}]{c['sent']} sent, {c['failed']} failed[/], "
                      f"{c['uncertain']} uncertain; last sent {c['last_sent'] or '—'}"
                      + (f"; last error: {c['last_error']}" if c["last_error"] else ""), highlight=False)
        if not channels:
            out.print("channels: none configured")
        for f in report["recent_failures"]:
            err_console.print(f"[red]{f['source_id']}[/] {f['url']}: {f['error']} ({f['attempts']} attempts)")
    if any(r["last_status"] == "failed" for r in rows if r["enabled"]) or any(c["failed"] for c in channels):
        sys.exit(1)


@main.group("eval")
def eval_group() -> None:
    """Measure extraction and linking against labelled data.

    \b
    Example:
      watcher eval links corpus/ --labels corpus/links.csv
    """


@eval_group.command("links")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--labels", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with child,parent,relation,evidence (paths relative to FOLDER).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_links(folder: str, labels: str, as_json: bool) -> None:
    """Ingest FOLDER's .txt/.md documents in date order into a scratch database, link them, and print
    precision and recall per relation.

    \b
    Example:
      watcher eval links tests/fixtures/linking --labels tests/fixtures/linking/links.csv
    """
    import tempfile

    from watcher.evaluation.links import evaluate
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/eval.db")
        report = evaluate(Path(folder), Path(labels), store)
        store.close()
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Links on {report['documents']} documents")
    for col in ("relation", "labelled", "reported", "correct", "precision", "recall"):
        table.add_column(col, justify="right" if col != "relation" else "left")
    for rel, r in report["relations"].items():
        fmt = lambda x: "—" if x is None else f"{x:.2f}"  # noqa: E731
        table.add_row(rel, str(r["gold"]), str(r["predicted"]), str(r["tp"]), fmt(r["precision"]), fmt(r["recall"]))
    out.print(table)
    out.print(f"sibling pairs reported as derived: {len(report['siblings_reported_as_derived'])}; other links: "
              f"{report['other_links']}; links to cited titles outside the folder (not scored): {report['unscored_links']}")
    for rel, r in report["relations"].items():
        for m in r["missed"]:
            err_console.print(f"missed {rel}: {m[0]} <- {m[1]}")
        for w in r["wrong"]:
            err_console.print(f"wrong {rel}: {w[0]} <- {w[1]}")



@eval_group.command("extract")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Per-page results and summaries as JSON.")
@click.pass_obj
def eval_extract(obj: Ctx, labels: str, as_json: bool) -> None:
    """Read every labelled page with no selectors (the generic extractor) and print title and date
    accuracy and body F1 (characters, against the text of the page's main content element).
    Exit status 1 when any page is wrong.

    \b
    Example:
      watcher eval extract tests/fixtures/extract_labels.yaml
    """
    from watcher.evaluation.extraction import evaluate_extraction
    report = evaluate_extraction(Path(labels))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        table = Table(title="Generic extraction, no per-site configuration")
        for col in ("set", "pages", "title", "date", "body F1 mean", "body F1 min"):
            table.add_column(col, justify="left" if col == "set" else "right")
        for name, s in report["summary"].items():
            fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
            table.add_row(name, str(s["pages"]), fmt(s["title"]), fmt(s["date"]), fmt(s["body_f1_mean"]),
                          fmt(s["body_f1_min"]))
        out.print(table)
    bad = [p for p in report["pages"] if not (p["title_ok"] and p["date_ok"])
           or (p["body_f1"] is not None and p["body_f1"] < 0.9)]
    if not as_json:
        for p in bad:
            err_console.print(f"{p['page']}: title {'ok' if p['title_ok'] else repr(p['title'])}, "
                              f"date {'ok' if p['date_ok'] else p['published']}, body F1 {p['body_f1']}")
    if bad:
        sys.exit(1)
