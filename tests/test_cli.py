"""The CLI through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from tests.portal_site import build_site, source_for
from watcher.cli import main


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))


@pytest.mark.parametrize("path", [()] + list(_commands(main)), ids=lambda p: " ".join(p) or "watcher")
def test_every_command_has_help_with_an_example(path):
    result = CliRunner(env={"WATCHER_LOCALE": "en"}).invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and "Usage:" in result.output


def _config(tmp_path, *sources):
    p = tmp_path / "sources.yaml"
    with open(p, "w", encoding="utf-8") as fh:
        YAML().dump({"sources": [s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in sources]}, fh)
    return p


def test_poll_json_and_exit_status(portal, tmp_path):
    build_site(portal, pages=1, per_page=2)
    portal.add("/broken/index.html", "<p>nothing</p>")
    cfg = _config(tmp_path, source_for(portal, pages=1), source_for(portal, sid="broken", prefix="/broken", pages=1))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    ok = runner.invoke(main, ["-c", str(cfg), "--db", db, "poll", "test", "--json"])
    assert ok.exit_code == 0, ok.output
    [summary] = json.loads(ok.stdout)
    assert (summary["source_id"], summary["new"], summary["status"]) == ("test", 2, "ok")
    bad = runner.invoke(main, ["-c", str(cfg), "--db", db, "poll", "--json"])
    assert bad.exit_code == 1
    by_id = {r["source_id"]: r for r in json.loads(bad.stdout)}
    assert by_id["broken"]["status"] == "failed" and by_id["test"]["new"] == 0
    assert by_id["broken"]["errors"][0]["url"].endswith("/broken/index.html")
    table = runner.invoke(main, ["-c", str(cfg), "--db", db, "poll", "test"])
    assert "抓取汇总" in table.stdout and "test" in table.stdout


def test_poll_unknown_source_and_bad_config(tmp_path, portal):
    cfg = _config(tmp_path, source_for(portal, pages=1))
    r = CliRunner().invoke(main, ["-c", str(cfg), "--db", f"sqlite:///{tmp_path}/x.db", "poll", "nope"])
    assert r.exit_code == 1 and "no such source" in r.output and "test" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["-c", str(bad), "poll"])
    assert r.exit_code == 1 and "not valid YAML" in r.output and "bad.yaml" in r.output


def test_demo_finds_the_seed_documents_and_their_citations(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    by_title = {n["title"]: n for n in report["notices"]}
    assert len(by_title) == 5
    js = by_title["江苏省人民政府关于推进绿色产业发展的意见"]
    assert (js["doc_no"], js["issuer"], js["written"]) == ("苏政发〔2020〕28号", "江苏省人民政府", "2020-03-27")
    lyg = by_title["连云港市人民政府关于推进绿色产业发展的实施意见"]
    assert lyg["cites"] == ["苏政发〔2020〕28号"]
    st = next(n for t, n in by_title.items() if t.startswith("汕头市"))
    assert st["doc_no"] == "汕府〔2023〕30号" and st["cites"] == ["国发〔2021〕4号", "粤府〔2021〕81号"]
    assert all(res["status"] == "ok" for res in report["results"])
    digest = open(report["digest"], encoding="utf-8").read()  # the digest it would send
    assert "连云港市人民政府关于推进绿色产业发展的实施意见" in digest and "依据 苏政发〔2020〕28号" in digest


def test_migrate_command(tmp_path):
    r = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path}/m.db", "migrate"])
    assert r.exit_code == 0 and "0007_attachments" in r.output
    again = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path}/m.db", "migrate"])
    assert "已是最新" in again.output


def test_demo_shows_the_lianyungang_link_with_its_clause_summary(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "demo"), "--json"])
    report = json.loads(r.stdout)
    lyg = next(n for n in report["notices"] if n["title"].startswith("连云港"))
    [link] = [l for l in lyg["links"] if l["relation"] == "derived"]
    # rendered at read time from the stored link: the parent by 文号 and title, the articles compared
    assert link["explanation"] == "依据 苏政发〔2020〕28号《江苏省人民政府关于推进绿色产业发展的意见》制定 · 33 条改写"
    js = next(n for n in report["notices"] if n["doc_no"] == "苏政发〔2020〕28号")
    assert link["parent_id"] == js["id"]
    # The same alignment through `docs diff`, as text and as HTML.
    db = f"sqlite:///{report['database']}"
    html = tmp_path / "diff.html"
    d = CliRunner().invoke(main, ["--db", db, "docs", "diff", str(js["id"]), str(lyg["id"]), "--html", str(html)])
    assert d.exit_code == 0, d.output
    assert "33 of 33 articles reused" in d.output and "(三十三) ← (三十三)" in d.output
    assert "<del" in html.read_text(encoding="utf-8") and "&lt;" not in "".join(lyg["title"])
    j = CliRunner().invoke(main, ["--db", db, "docs", "diff", str(js["id"]), str(lyg["id"]), "--json"])
    assert json.loads(j.stdout)["parent_articles"] == 33
    links = CliRunner().invoke(main, ["--db", db, "docs", "links", str(lyg["id"]), "--json"])
    assert any(l["relation"] == "derived" and l["parent_id"] == js["id"] for l in json.loads(links.stdout))


def test_eval_links_command(tmp_path):
    from tests.builders import FIXTURES

    corpus = FIXTURES / "linking"
    r = CliRunner().invoke(main, ["eval", "links", str(corpus), "--labels", str(corpus / "links.csv"), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["documents"] == 34 and report["relations"]["derived"]["recall"] >= 0.9
    table = CliRunner().invoke(main, ["eval", "links", str(corpus), "--labels", str(corpus / "links.csv")])
    assert "精确率" in table.stdout and "derived" in table.stdout


def test_version_is_the_package_version():
    from watcher import __version__

    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def _configured(portal, tmp_path, monkeypatch, **defaults):
    """A sources.yaml naming its own database, run from an empty working directory (where ./watcher.db
    would appear if a command ignored the configured one)."""
    build_site(portal, pages=1, per_page=3)
    path = tmp_path / "sources.yaml"
    src = source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    with open(path, "w", encoding="utf-8") as fh:
        YAML().dump({"defaults": defaults, "sources": [src]}, fh)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    return path, cwd


def test_every_command_opens_the_database_of_sources_yaml(portal, tmp_path, monkeypatch):
    configured = tmp_path / "configured.db"
    path, cwd = _configured(portal, tmp_path, monkeypatch, database_url=f"sqlite:///{configured}")
    c = ["-c", str(path)]
    r = CliRunner().invoke(main, [*c, "migrate"])
    assert r.exit_code == 0 and "0007_attachments" in r.output and configured.exists()
    assert CliRunner().invoke(main, [*c, "poll", "--json"]).exit_code == 0
    rows = json.loads(CliRunner().invoke(main, [*c, "docs", "list", "--json"]).stdout)
    assert len(rows) == 3
    nid = str(rows[0]["id"])
    for args in (["docs", "show", nid], ["docs", "history", nid], ["docs", "diff", nid], ["docs", "links", nid]):
        r = CliRunner().invoke(main, [*c, *args, "--json"])
        assert r.exit_code == 0, (args, r.output)
    found = json.loads(CliRunner().invoke(main, [*c, "search", "第2项工作", "--json"]).stdout)
    assert [f["doc_no"] for f in found] == ["测政发〔2024〕2号"]
    st = json.loads(CliRunner().invoke(main, [*c, "status", "--json"]).stdout)
    assert st["sources"][0]["notices"] == 3
    assert not (cwd / "watcher.db").exists()


def test_db_option_then_environment_then_sources_yaml(portal, tmp_path, monkeypatch):
    path, cwd = _configured(portal, tmp_path, monkeypatch, database_url=f"sqlite:///{tmp_path}/configured.db")
    monkeypatch.setenv("WATCHER_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    assert CliRunner().invoke(main, ["-c", str(path), "migrate"]).exit_code == 0
    assert (tmp_path / "env.db").exists() and not (tmp_path / "configured.db").exists()
    opt = ["-c", str(path), "--db", f"sqlite:///{tmp_path}/opt.db"]
    # A reading command names the database --db gave, and does not make it.
    r = CliRunner().invoke(main, [*opt, "docs", "list", "--json"])
    assert r.exit_code == 1 and f"{tmp_path}/opt.db 不存在" in r.output and not (tmp_path / "opt.db").exists()
    assert CliRunner().invoke(main, [*opt, "migrate"]).exit_code == 0
    r = CliRunner().invoke(main, [*opt, "docs", "list", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == [] and (tmp_path / "opt.db").exists()
    assert not (cwd / "watcher.db").exists()


def test_without_sources_yaml_the_default_database_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    r = CliRunner().invoke(main, ["docs", "list", "--json"])  # reading makes no empty database: it says so
    assert r.exit_code == 1 and "没有数据库：watcher.db 不存在" in r.output and "watcher poll" in r.output
    assert not (tmp_path / "watcher.db").exists()
    assert CliRunner().invoke(main, ["migrate"]).exit_code == 0
    r = CliRunner().invoke(main, ["docs", "list", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout) == [] and (tmp_path / "watcher.db").exists()
    missing = CliRunner().invoke(main, ["-c", "elsewhere.yaml", "docs", "list"])
    assert missing.exit_code == 1 and "elsewhere.yaml" in missing.output and "file not found" in missing.output


def test_status_reads_sources_yaml_once(portal, tmp_path):
    build_site(portal, pages=1, per_page=1)
    path = tmp_path / "sources.yaml"
    good = source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    with open(path, "w", encoding="utf-8") as fh:
        YAML().dump({"sources": [good, {"id": "broken", "name": "B", "urls": ["ftp://x"]}]}, fh)
    assert CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path}/s.db", "migrate"]).exit_code == 0
    r = CliRunner().invoke(main, ["-c", str(path), "--db", f"sqlite:///{tmp_path}/s.db", "status", "--json"])
    assert r.exit_code == 0, r.output
    assert r.stderr.count("skipped:") == 1 and "broken" in r.stderr
    assert [s["id"] for s in json.loads(r.stdout)["sources"]] == ["test"]


def _leaves(group: click.Group):
    for cmd in group.commands.values():
        yield from _leaves(cmd) if isinstance(cmd, click.Group) else [cmd]


def test_every_command_turns_watcher_errors_into_messages():
    unguarded = [c.name for c in _leaves(main) if not getattr(c.callback, "cli_errors", False)]
    assert unguarded == []


def test_unknown_notice_version_and_channel_are_plain_messages(tmp_path):
    db = f"sqlite:///{tmp_path}/e.db"
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources: []\n", encoding="utf-8")
    assert CliRunner().invoke(main, ["--db", db, "migrate"]).exit_code == 0
    r = CliRunner().invoke(main, ["--db", db, "docs", "show", "999"])
    assert r.exit_code == 1 and "Error: no notice '999' (give an id or a URL)" in r.output
    r = CliRunner().invoke(main, ["-c", str(cfg), "--db", db, "notify", "test", "nope"])
    assert r.exit_code == 1 and "Error: no channel 'nope' (configured: none)" in r.output


def test_docs_diff_names_the_missing_version(portal, tmp_path, monkeypatch):
    path, _ = _configured(portal, tmp_path, monkeypatch, database_url=f"sqlite:///{tmp_path}/d.db")
    assert CliRunner().invoke(main, ["-c", str(path), "poll", "--json"]).exit_code == 0
    nid = json.loads(CliRunner().invoke(main, ["-c", str(path), "docs", "list", "--json"]).stdout)[0]["id"]
    r = CliRunner().invoke(main, ["-c", str(path), "docs", "diff", str(nid), "1", "9"])
    assert r.exit_code == 1 and f"Error: notice {nid} has no version 9 (has [1])\n" in r.output
    r = CliRunner().invoke(main, ["-c", str(path), "docs", "diff", str(nid), "1", "x"])
    assert r.exit_code == 1 and "版本号应为数字，收到的是 1 x" in r.output


def test_cli_and_views_leave_the_queries_to_storage():
    """The SQL for people's views lives in storage/reads.py, shared with a future web view."""
    import ast
    from pathlib import Path

    root = Path(__file__).parents[1] / "watcher"
    found = []
    for path in [*(root / "cli").glob("*.py"), *(root / "views").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in ("sqlalchemy", "sqlmodel") for n in names) or (
                isinstance(node, ast.Attribute) and node.attr in ("engine", "__table__")
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


# ---- a terminal that fits -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """`watcher demo` once for the tests below: its directory and its JSON report."""
    where = tmp_path_factory.mktemp("demo")
    r = CliRunner().invoke(main, ["demo", "--dir", str(where / "demo"), "--json"])
    assert r.exit_code == 0, r.output
    return where, json.loads(r.stdout)


def at(width: int, *args: str, **kw):
    """The command with a Rich console as wide as a terminal of `width` columns."""
    return CliRunner().invoke(main, list(args), env={"COLUMNS": str(width)}, **kw)


def test_at_80_columns_no_id_or_docno_is_cut(demo_run):
    where, report = demo_run
    db = f"sqlite:///{report['database']}"
    r = at(80, "--db", db, "docs", "list")
    assert r.exit_code == 0, r.output
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    for n in report["notices"]:
        assert f"编号：{n['id']} " in r.stdout  # every id whole: the table turned vertical
        if n["doc_no"]:
            assert n["doc_no"] in r.stdout
    wide = at(200, "--db", db, "docs", "list")
    assert "┃ 编号 ┃" in wide.stdout and all(n["title"] in wide.stdout for n in report["notices"])


def test_print_table_turns_vertical_on_a_narrow_console():
    from rich.console import Console

    from watcher.cli.render import Column, print_table

    cols = [Column("id"), Column("文号"), Column("title", wrap=True)]
    rows = [["1234", "苏政发〔2020〕28号", "江苏省人民政府关于推进绿色产业发展的意见" * 2]]
    for width, vertical in ((80, False), (40, True)):
        console = Console(width=width, record=True)
        print_table(console, "t", cols, rows)
        shown = console.export_text()
        assert "1234" in shown and "苏政发〔2020〕28号" in shown and ("id：1234" in shown) == vertical


def test_docs_links_lines_fold_at_80_columns(demo_run):
    _, report = demo_run
    lyg = next(n for n in report["notices"] if n["title"].startswith("连云港"))
    r = at(80, "--db", f"sqlite:///{report['database']}", "docs", "links", str(lyg["id"]))
    assert r.exit_code == 0 and "33 条改写" in r.stdout  # the end of the line, not cropped
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_db_takes_a_plain_file_path(demo_run, monkeypatch):
    where, report = demo_run
    monkeypatch.chdir(where)
    r = CliRunner().invoke(main, ["--db", "demo/demo.db", "docs", "list", "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(n["id"] for n in json.loads(r.stdout)) == sorted(n["id"] for n in report["notices"])


def test_the_demo_ends_with_the_command_that_browses_what_it_stored(tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)
    r = at(80, "demo")
    assert r.exit_code == 0, r.output
    last = r.stdout.strip().splitlines()[-1].strip()
    assert last == "watcher --db watcher-demo/demo.db docs list"
    browse = at(80, *shlex.split(last)[1:])
    assert browse.exit_code == 0 and "苏政发〔2020〕28号" in browse.stdout


REPO_SOURCES = Path(__file__).parents[1] / "sources.yaml"
READERS = [
    ["docs", "list"],
    ["docs", "show", "1"],
    ["docs", "history", "1"],
    ["docs", "diff", "1"],
    ["docs", "links", "1"],
    ["search", "绿色"],
    ["status"],
    ["digest", "preview"],
]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_reading_commands_say_there_is_no_database_and_make_none(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and "没有数据库：watcher.db 不存在" in r.output and "watcher demo" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "watcher.db").exists()


def test_sources_list_without_a_database_lists_the_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    r = CliRunner().invoke(main, ["-c", str(REPO_SOURCES), "sources", "list", "--json"])
    assert r.exit_code == 0 and "jiangsu-szfwj" in [s["id"] for s in json.loads(r.stdout)]
    assert not (tmp_path / "watcher.db").exists()


def test_times_are_shown_in_the_configured_timezone(demo_run, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    _, report = demo_run
    db = ["--db", f"sqlite:///{report['database']}"]
    [v] = json.loads(CliRunner().invoke(main, [*db, "docs", "history", "1", "--json"]).stdout)
    utc = datetime.fromisoformat(v["fetched_at"])
    shanghai = utc.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    assert shanghai in at(120, *db, "docs", "history", "1").stdout  # no sources.yaml: Asia/Shanghai
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("defaults:\n  timezone: America/New_York\nsources: []\n", encoding="utf-8")
    seen = datetime.fromisoformat(
        json.loads(CliRunner().invoke(main, [*db, "docs", "show", "1", "--json"]).stdout)["first_seen"]
    )
    shown = at(120, "-c", str(cfg), *db, "docs", "show", "1").stdout
    assert f"首次发现：{seen.astimezone(ZoneInfo('America/New_York')):%Y-%m-%d %H:%M:%S}" in shown
    assert f"{seen.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M}" not in shown
    cfg.write_text("defaults:\n  timezone: Mars/Olympus\nsources: []\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["-c", str(cfg), *db, "docs", "history", "1"])
    assert bad.exit_code == 1 and "defaults.timezone" in bad.output and "Mars/Olympus" in bad.output


def test_digest_send_without_an_email_channel_says_so(tmp_path, monkeypatch):
    import smtplib

    def no_smtp(*a, **kw):
        raise AssertionError("digest send tried an SMTP server")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp)
    cfg = tmp_path / "sources.yaml"
    cfg.write_text(
        "sources: []\nchannels:\n  - id: team\n    type: dingtalk\n    url_env: TEAM_URL\n", encoding="utf-8"
    )
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    r = CliRunner().invoke(main, ["-c", str(cfg), *db, "digest", "send"])
    assert r.exit_code == 1 and "没有配置邮件渠道" in r.output and "digest preview" in r.output
    assert not (tmp_path / "d.db").exists()
    r = CliRunner().invoke(main, ["-c", str(cfg), *db, "digest", "send", "--channel", "team"])
    assert r.exit_code == 1 and "team 是 dingtalk，不是邮件渠道" in r.output


def test_search_marks_matches_and_prints_titles_as_written(sqlite_store, tmp_path):
    from tests.test_search import snap, store_all

    title = "关于[bold]绿色[/bold]金融的通知"
    store_all(sqlite_store, [snap("http://p/1", title, "发展綠色金融，支持綠色債券。", "测发〔2024〕1号")])
    db = ["--db", str(sqlite_store.engine.url)]
    r = at(80, *db, "search", "绿色", "金融")
    assert r.exit_code == 0, r.output
    assert title in r.stdout and "發展綠色金融" not in r.stdout and "綠色金融" in r.stdout
    [hit] = json.loads(at(80, *db, "search", "綠色", "--json").stdout)
    assert [hit["title"][s:e] for s, e in hit["title_marks"]] == ["绿色"]
    assert [hit["snippet"][s:e] for s, e in hit["snippet_marks"]] == ["綠色", "綠色"]
    assert at(80, *db, "search", "，").exit_code == 2  # no word to look for: a usage error
