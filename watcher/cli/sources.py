"""`watcher sources …`: manage sources.yaml from the terminal."""

from __future__ import annotations

import asyncio
import json
import sys
from zoneinfo import ZoneInfo

import click

from watcher.cli.context import Ctx, cli_errors, emit, err_console, esc, json_option, out
from watcher.cli.render import Column, local_time, print_table
from watcher.config.loader import load_config
from watcher.config.sources_file import SourcesFile, dump_yaml, parse_value
from watcher.errors import ConfigError
from watcher.i18n import _, ngettext
from watcher.views.status import source_status, status_colour, status_text


def _file(obj: Ctx) -> SourcesFile:
    return SourcesFile(obj.config_path)


def _save(f: SourcesFile, source_id: str | None, message: str) -> None:
    try:
        f.save(source_id)
    except ConfigError as exc:
        raise click.ClickException(
            _("not saved, {path} is unchanged: {error}").format(path=f.path, error=exc)
        ) from None
    err_console.print(message, markup=False)


@click.group()
def sources() -> None:
    """Manage the source list (sources.yaml), keeping its comments and layout.

    \b
    Example:
      watcher sources list
      watcher sources edit jiangsu-szfwj --set pagination.pages=3
    """


@sources.command("list")
@json_option
@click.pass_obj
@cli_errors
def sources_list(obj: Ctx, as_json: bool) -> None:
    """Every source with its status: enabled, schedule, last poll, last error, notices found.

    \b
    Example:
      watcher sources list --json
    """
    cfg, store = obj.load(), obj.existing_store()
    if store is None and not as_json:
        no_database = _("(No database yet: nothing polled. After `watcher poll` this shows the state of each source.)")
        err_console.print(no_database, highlight=False)
    tz = obj.timezone()
    emit(source_status(cfg, store), as_json, lambda rows: _print_sources(obj.config_path, rows, tz))


def _print_sources(config_path: str, rows: list[dict], tz: ZoneInfo) -> None:
    from rich.text import Text

    cols = [
        Column(_("id")),
        Column(_("name"), wrap=True),
        Column(_("on")),
        Column(_("schedule")),
        Column(_("last poll")),
    ]
    cols += [Column(_("status")), Column(_("notices"), justify="right"), Column(_("last error"), wrap=True)]
    cells = [
        [
            r["id"],
            r["name"],
            _("yes") if r["enabled"] else Text(_("no"), style="dim"),
            r["schedule"],
            local_time(r["last_poll"], tz),
            Text(status_text(r["last_status"]), style=status_colour(r["last_status"])),
            str(r["notices"]),
            (r["last_error"] or "")[:60],
        ]
        for r in rows
    ]
    print_table(out.get(), _("Sources in {path}").format(path=config_path), cols, cells)


@sources.command("show")
@click.argument("source_id")
@json_option("Print the effective configuration as JSON.")
@click.pass_obj
@cli_errors
def sources_show(obj: Ctx, source_id: str, as_json: bool) -> None:
    """One source: its entry in sources.yaml and the settings in effect (defaults merged).

    \b
    Example:
      watcher sources show gov-cn-zxzc
    """
    src = obj.load().get(source_id)
    if as_json:  # pydantic's own JSON: durations and URLs as sources.yaml means them
        click.echo(src.model_dump_json(by_alias=True, indent=2))
        return
    out.print(dump_yaml(_file(obj).entry(source_id)), markup=False, highlight=False, soft_wrap=True)
    in_effect = _("in effect: fetch {fetch}").format(fetch=src.fetch.model_dump())
    out.print(f"[dim]{esc(in_effect)}[/]", highlight=False, soft_wrap=True)


@sources.command("edit")
@click.argument("source_id")
@click.option(
    "--set",
    "sets",
    multiple=True,
    required=True,
    metavar="KEY=VALUE",
    help="Dotted key and a YAML value, e.g. fetch.min_delay=2s or list.item='ul.list li'. Repeatable.",
)
@click.pass_obj
@cli_errors
def sources_edit(obj: Ctx, source_id: str, sets: tuple[str, ...]) -> None:
    """Change fields of a source; refused (file untouched) when the result is invalid.

    \b
    Example:
      watcher sources edit jiangsu-szfwj --set schedule.cron="0 8 * * *" --set enabled=false
    """
    f = _file(obj)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(_("{item!r} is not KEY=VALUE").format(item=item), param_hint="--set")
        if key == "id":
            raise click.BadParameter(_("the id cannot be changed; add a new source instead"), param_hint="--set")
        f.set(source_id, key, parse_value(value))
    _save(f, source_id, _("updated {id}").format(id=source_id))


def _toggle(obj: Ctx, source_id: str, on: bool) -> None:
    f = _file(obj)
    f.set(source_id, "enabled", on)
    _save(f, source_id, (_("enabled {id}") if on else _("disabled {id}")).format(id=source_id))


@sources.command("enable")
@click.argument("source_id")
@click.pass_obj
@cli_errors
def sources_enable(obj: Ctx, source_id: str) -> None:
    """Enable a source.

    \b
    Example:
      watcher sources enable jiangsu-szfwj
    """
    _toggle(obj, source_id, True)


@sources.command("disable")
@click.argument("source_id")
@click.pass_obj
@cli_errors
def sources_disable(obj: Ctx, source_id: str) -> None:
    """Disable a source (it stays in the file).

    \b
    Example:
      watcher sources disable jiangsu-szfwj
    """
    _toggle(obj, source_id, False)


@sources.command("remove")
@click.argument("source_id")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.pass_obj
@cli_errors
def sources_remove(obj: Ctx, source_id: str, yes: bool) -> None:
    """Remove a source from sources.yaml (what was found from it stays stored).

    \b
    Example:
      watcher sources remove old-portal --yes
    """
    f = _file(obj)
    f.index(source_id)  # ConfigError when there is no such source
    if not yes and not click.confirm(_("remove {id}?").format(id=source_id), default=False):
        sys.exit(1)
    f.remove(source_id)
    _save(f, None, _("removed {id}").format(id=source_id))


@sources.command("validate")
@json_option("Print the problems as JSON.")
@click.pass_obj
@cli_errors
def sources_validate(obj: Ctx, as_json: bool) -> None:
    """Check sources.yaml; exit status 1 when any source is invalid.

    \b
    Example:
      watcher -c sources.yaml sources validate
    """
    try:  # not obj.load(): the problems are the report here, not warnings
        cfg = load_config(obj.config_path)
    except ConfigError as exc:
        errors, count = [exc], 0
    else:
        errors, count = cfg.errors, len(cfg.sources)
    problems = [dict(path=e.path, line=e.line, source_id=e.source_id, field=e.field, message=e.message) for e in errors]
    report = {"valid": not problems, "sources": count, "problems": problems}
    emit(report, as_json, lambda r: _print_problems(obj.config_path, r))
    if problems:
        sys.exit(1)


def _print_problems(config_path: str, report: dict) -> None:
    for p in report["problems"]:
        where = f"{p['source_id'] or ''} {p['field'] or ''}: {p['message']}"
        err_console.print(f"[red]{esc(p['path'])}:{p['line']}[/] {esc(where)}")
    if not report["problems"]:
        n = report["sources"]
        valid = ngettext("{path}: {n} source, valid", "{path}: {n} sources, all valid", n)
        out.print(esc(valid.format(path=config_path, n=n)))


@sources.command("export")
@click.argument("source_ids", nargs=-1)
@json_option("JSON instead of YAML.")
@click.pass_obj
@cli_errors
def sources_export(obj: Ctx, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Print sources (all, or the ids given) as sources.yaml entries, for another installation.

    \b
    Example:
      watcher sources export jiangsu-szfwj > jiangsu.yaml
    """
    f = _file(obj)
    entries = [f.entry(i) for i in source_ids] if source_ids else list(f.sources)
    # The entries are ruamel mappings: a round trip through JSON makes them plain dicts and lists.
    emit(json.loads(json.dumps(entries, default=dict)), as_json, lambda _: dump_yaml({"sources": entries}, sys.stdout))


@sources.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Replace sources whose id exists already (default: skip them).")
@click.pass_obj
@cli_errors
def sources_import(obj: Ctx, file: str, replace: bool) -> None:
    """Add the sources of another sources.yaml (or an export) to this one.

    \b
    Example:
      watcher sources import jiangsu.yaml --replace
    """
    other = SourcesFile(file)
    f = _file(obj)
    added, replaced, skipped = [], [], []
    for entry in other.sources:
        sid = entry.get("id")
        exists = any(s.get("id") == sid for s in f.sources)
        if exists and not replace:
            skipped.append(sid)
            continue
        if exists:
            f.remove(sid)
            replaced.append(sid)
        else:
            added.append(sid)
        f.add(json.loads(json.dumps(entry)))
    for sid in added + replaced:
        try:
            f.validate(sid)
        except ConfigError as exc:
            raise click.ClickException(
                _("not imported, {path} is unchanged: {error}").format(path=f.path, error=exc)
            ) from None
    done = _("added {added}, replaced {replaced}, skipped {skipped} (exists: {existing})")
    existing = ", ".join(skipped) or "—"
    _save(f, None, done.format(added=len(added), replaced=len(replaced), skipped=len(skipped), existing=existing))


@sources.command("test")
@click.argument("source_id")
@click.option("--limit", default=3, show_default=True, help="How many detail pages to read.")
@json_option
@click.pass_obj
@cli_errors
def sources_test(obj: Ctx, source_id: str, limit: int, as_json: bool) -> None:
    """Fetch the list page and the first detail pages and show exactly what would be extracted.
    Nothing is stored.

    \b
    Example:
      watcher sources test jiangsu-szfwj --limit 2
    """
    from watcher.views.preview import preview_source

    result = asyncio.run(preview_source(obj.load().get(source_id), limit))
    emit(result, as_json, _print_preview)
    if result["errors"] or not result["items"]:
        sys.exit(1)


def _print_preview(result: dict) -> None:
    n, nxt = len(result["items"]), (result.get("next") or ["—"])[0]
    head = ngettext("{n} item on {url}; next page: {next}", "{n} items on {url}; next page: {next}", n)
    out.print(esc(head.format(n=n, url=result.get("list_url", ""), next=nxt)), highlight=False, soft_wrap=True)
    for it in result["items"][:10]:
        out.print(
            f"  {it['date'] or '          '}  {esc(it['title'])}  [dim]{esc(it['url'])}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for d in result.get("details", []):
        out.print(f"\n[bold]{esc(d['title'])}[/]  [dim]{esc(d['url'])}[/]", highlight=False, soft_wrap=True)
        labels = {"doc_no": _("文号"), "issuer": _("issuer"), "written": _("written"), "published": _("published")}
        for key, label in labels.items():
            out.print("  " + esc(_("{label}: {value}").format(label=label, value=d[key] or "—")), highlight=False)
        cites = ", ".join(d["cites"] + ["《" + t + "》" for t in d["cited_titles"]]) or "—"
        out.print("  " + esc(_("cites: {cites}").format(cites=cites)), highlight=False, soft_wrap=True)
        body = _("body: {n} characters: {excerpt}…").format(n=d["body_chars"], excerpt=d["body_excerpt"][:120])
        out.print("  " + esc(body), highlight=False, soft_wrap=True)
    for e in result.get("errors", []):
        err_console.print(f"[red]{esc(e['url'])}[/]: {esc(e['message'])}")


@sources.command("add")
@click.argument("url")
@click.option("--id", "source_id", help="Id for the new source (default: from the host name).")
@click.option("--name", help="Name for the new source (default: the page title).")
@click.option("--yes", is_flag=True, help="Save without asking.")
@json_option("Print the proposal as JSON (with --yes, also save).")
@click.pass_obj
@cli_errors
def sources_add(obj: Ctx, url: str, source_id: str | None, name: str | None, yes: bool, as_json: bool) -> None:
    """Inspect a list page, propose a source (list items, pagination, detail selectors from the
    first detail page), show what it would extract, and save it after asking.

    \b
    Example:
      watcher sources add http://www.example.gov.cn/zwgk/zcwj/index.html --id example-zcwj
    """
    from watcher.views.preview import inspect_url

    entry, preview = asyncio.run(inspect_url(url))
    if source_id:
        entry["id"] = source_id
    if name:
        entry["name"] = name
    emit({"source": entry, "preview": preview}, as_json, lambda _: _print_proposal(url, entry, preview))
    if not yes and (as_json or not click.confirm(_("save this source?"), default=True)):
        if not as_json:
            sys.exit(1)
        return
    f = _file(obj)
    f.add(entry)
    _save(f, entry["id"], _("added {id} to {path}").format(id=entry["id"], path=f.path))


def _print_proposal(url: str, entry: dict, preview: dict) -> None:
    dump_yaml([entry], sys.stdout)
    _print_preview(
        {
            "items": preview["items"],
            "list_url": url,
            "details": [preview["detail"]] if preview.get("detail") else [],
            "errors": [],
        }
    )
