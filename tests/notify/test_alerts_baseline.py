"""A new source starts with a baseline: its first successful poll records what is already listed without
alerting; what appears after is announced. `baseline: false` announces the first poll. Real polls of a loopback
portal through the CLI, a real loopback receiver, SQLite and the live PostgreSQL."""

from __future__ import annotations

from click.testing import CliRunner
from ruamel.yaml import YAML
from sqlalchemy import select

from notifiers.dispatch import Dispatcher
from storage.deliveries import T_DEL
from storage.repo import Store
from tests.notify.world import hook
from tests.portal_site import build_site, source_for
from watcher.cli import main
from watcher.config.loader import load_config


def _poll(cfg_path, db: str) -> None:
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0, r.output


def _setup(portal, tmp_path, hooks, monkeypatch, **source) -> object:
    src = source_for(portal, pages=1, **source).model_dump(mode="json", by_alias=True, exclude_none=True)
    cfg_path = tmp_path / "sources.yaml"
    channels = [
        hook(monkeypatch, hooks, "team", "webhook", "/team"),
        hook(monkeypatch, hooks, "ding", "dingtalk", "/d"),
        dict(id="mail", type="email", to=["analyst@example.org"]),  # the digest: looked at, not sent here
    ]
    YAML().dump({"sources": [src], "channels": channels}, cfg_path)
    return cfg_path


def _notices(posts: list[dict], path: str) -> list[str]:
    return [n["title"] for p in posts if p["path"] == path for n in p["json"]["notices"]]


def test_the_first_poll_is_a_baseline_and_what_appears_after_is_announced(portal, tmp_path, hooks, monkeypatch, db_url):
    build_site(portal, pages=1, per_page=5)
    cfg_path = _setup(portal, tmp_path, hooks, monkeypatch)
    _poll(cfg_path, db_url)
    assert hooks.posts == []  # 5 notices stored (and linked), nothing announced
    store = Store.open(db_url)
    assert len([e for e in store.events() if e.kind == "notice.new"]) == 5
    with store.engine.connect() as conn:
        held = set(conn.execute(select(T_DEL.c.status, T_DEL.c.batch_key)).all())
    assert held == {("skipped", "baseline")}  # recorded per event and channel: not looked at again
    config = load_config(cfg_path)
    with Dispatcher(store, config) as d:
        assert d.pending(d.channel("mail")) == []  # nor in the digest

    build_site(portal, pages=1, per_page=6)  # the list now has a sixth item on top
    _poll(cfg_path, db_url)
    assert _notices(hooks.posts, "/team") == ["关于做好第6项工作的通知"]
    [ding] = [p for p in hooks.posts if p["path"] == "/d"]
    text = ding["json"]["markdown"]["text"]
    entries = [ln for ln in text.splitlines() if ln.startswith("- [")]  # a relation line may name an older parent
    assert len(entries) == 1 and "第6项" in entries[0]
    _poll(cfg_path, db_url)
    assert len(hooks.posts) == 2  # nothing new: nothing sent
    with Dispatcher(store, config) as d:
        assert {i.title for i in d.pending(d.channel("mail"))} == {"关于做好第6项工作的通知"}
    store.close()


def test_baseline_false_announces_the_first_poll(portal, tmp_path, hooks, monkeypatch):
    build_site(portal, pages=1, per_page=5)
    cfg_path = _setup(portal, tmp_path, hooks, monkeypatch, baseline=False)
    _poll(cfg_path, f"sqlite:///{tmp_path / 'b.db'}")
    assert sorted(_notices(hooks.posts, "/team")) == [f"关于做好第{i}项工作的通知" for i in range(1, 6)]
    assert len([p for p in hooks.posts if p["path"] == "/d"]) == 1


def test_a_first_poll_that_failed_is_no_baseline_yet(portal, tmp_path, hooks, monkeypatch):
    """A source whose first poll could not read its list has had no successful poll: the first one that
    can is the baseline."""
    cfg_path = _setup(portal, tmp_path, hooks, monkeypatch)
    db = f"sqlite:///{tmp_path / 'f.db'}"
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 1  # no list page yet: the run failed
    build_site(portal, pages=1, per_page=4)
    _poll(cfg_path, db)
    assert hooks.posts == []
    build_site(portal, pages=1, per_page=5)
    _poll(cfg_path, db)
    assert _notices(hooks.posts, "/team") == ["关于做好第5项工作的通知"]


def test_a_revision_of_a_baseline_notice_is_announced(portal, tmp_path, hooks, monkeypatch):
    from tests.portal_site import doc_body, doc_meta
    from watcher.demo.portal import detail_page

    build_site(portal, pages=1, per_page=3)
    cfg_path = _setup(portal, tmp_path, hooks, monkeypatch, recheck_after="0s")
    db = f"sqlite:///{tmp_path / 'r.db'}"
    _poll(cfg_path, db)
    assert hooks.posts == []
    page = detail_page(doc_meta(2), doc_body(2, extra="支持20家企业开展试点。"), charset="utf-8")
    portal.add("/col/art/2.html", page.encode(), content_type="text/html; charset=utf-8")
    _poll(cfg_path, db)
    [post] = [p for p in hooks.posts if p["path"] == "/team"]
    assert "notice.version" in {i["kind"] for i in post["json"]["items"]}
    assert [n["title"] for n in post["json"]["notices"]] == ["关于做好第2项工作的通知"]


def test_an_item_listed_at_the_baseline_and_stored_later_is_not_news(portal, tmp_path, hooks, monkeypatch):
    """Its detail page failed in the first poll and is stored by the second: it was already listed, so it is
    part of the baseline; an item listed after the baseline is announced."""
    build_site(portal, pages=1, per_page=4)
    page = portal.routes.pop("/col/art/3.html")
    cfg_path = _setup(portal, tmp_path, hooks, monkeypatch)
    db = f"sqlite:///{tmp_path / 'l.db'}"
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 1 and "art/3.html" in r.output  # a partial run: the first successful poll all the same
    portal.routes["/col/art/3.html"] = page
    build_site(portal, pages=1, per_page=5)
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0, r.output
    store = Store.open(db)
    assert len([e for e in store.events() if e.kind == "notice.new"]) == 5
    store.close()
    assert _notices(hooks.posts, "/team") == ["关于做好第5项工作的通知"]
