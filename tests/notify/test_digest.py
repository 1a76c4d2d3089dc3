"""The email digest: over STARTTLS with login and over implicit TLS (aiosmtpd), no gap after a failure,
escaping; the CLI's notify and digest commands; the scheduler's digest time."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime

from click.testing import CliRunner

from notifiers.dispatch import Dispatcher
from tests.notify.world import TOKEN, hook, mail, sample_items, world
from watcher.cli import main


def test_digest_over_starttls_with_login_then_nothing_twice(tmp_path, demo_db, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "s3cret")
    cfg, store, _ = world(tmp_path, demo_db, [mail(smtp, empty="short")])
    with Dispatcher(store, cfg) as d:
        rep = d.send_digest(d.channel("mail"))
    assert rep.failed == 0 and rep.items == 9 and rep.messages == 1, rep
    [msg] = smtp.messages
    today = datetime.now().astimezone().date()
    assert "5 条新文件" in msg["Subject"] and "政策动态日报" in msg["Subject"]
    assert msg["Subject"].split(" ")[1].rstrip("：").startswith(str(today.year))
    assert msg["To"] == "analyst@example.org, compliance@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    # the relation line, rendered in Chinese from the stored link: parent 文号 and title, the articles compared
    assert "依据 苏政发〔2020〕28号《江苏省人民政府关于推进绿色产业发展的意见》制定" in plain and "33 条改写" in plain
    assert 'href="http://127.0.0.1' in html and "依据 苏政发〔2020〕28号" in html
    assert "derived from" not in plain + html and "Nothing new" not in plain + html
    # the summary at the top: counts by issuer and by relation, before the first notice
    assert plain.index("按发布机关：") < plain.index("按关系：") < plain.index("== ")
    assert "连云港市人民政府 1" in plain and "新文件 5 · 依据制定 4" in plain, plain[:400]
    assert "<script" not in html and "style=" in html
    # grouped by issuer: each issuer heading once
    assert html.count(">江苏省人民政府<") == 1
    with Dispatcher(store, cfg) as d:
        again = d.send_digest(d.channel("mail"))
    assert again.items == 0 and "无新文件" in smtp.messages[-1]["Subject"] and len(smtp.messages) == 2
    store.close()


def test_a_failed_digest_leaves_no_gap(tmp_path, demo_db, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "wrong")
    cfg, store, _ = world(tmp_path, demo_db, [mail(smtp)])
    with Dispatcher(store, cfg) as d:
        rep = d.send_digest(d.channel("mail"))
    assert rep.failed == 9 and "535" in rep.errors[0] and smtp.messages == []
    monkeypatch.setenv("SMTP_PW", "s3cret")
    with Dispatcher(store, cfg) as d:
        assert d.send_digest(d.channel("mail")).items == 9
        assert d.send_digest(d.channel("mail")).answers == ["没有新内容：已跳过（empty: skip）"]
    assert len(smtp.messages) == 1
    store.close()


def test_a_channel_in_english_reads_the_digest_in_english(tmp_path, demo_db):
    from notifiers.digest import render_digest
    from notifiers.items import load_items
    from watcher.i18n import use_locale

    cfg, store, _ = world(tmp_path, demo_db, [])
    with use_locale("en"):
        subject, text, html = render_digest(load_items(store), date(2024, 5, 2), web_url="https://watch.example.org/")
    assert subject.startswith("Policy digest 2024-05-02: 5 new")
    assert "derived from 苏政发〔2020〕28号《江苏省人民政府关于推进绿色产业发展的意见》 · 33 articles rewritten" in text
    assert "依据" not in text and 'lang="en"' in html
    # each notice links to its page in the web view, and to the portal
    assert 'href="https://watch.example.org/notices/' in html and "Original on the portal" in html
    subject, text, _html = render_digest([], date(2024, 5, 2))
    assert subject == "政策动态日报 2024-05-02：无新文件" and "自上次日报以来没有新文件。" in text
    store.close()


def test_digest_escapes_what_portals_write(tmp_path):
    from notifiers.digest import render_digest

    [item] = sample_items(1)
    item.title = '<img src=x onerror="alert(1)">关于&通知'
    _, text, html = render_digest([item], date(2024, 5, 2))
    assert "<img" not in html and "&lt;img" in html and "<img" in text


def test_a_revision_quotes_its_changes_escaped_and_marked(tmp_path):
    from notifiers.digest import render_digest
    from watcher.text.changes import Change

    [item] = sample_items(1)
    item.kind, item.relation = "notice.version", "修订：2 处改动"
    item.changes = [Change("10家", "20家", "支持20家<b>企业</b>"), Change("第五条", "", "第五条 废止")]
    _, text, html = render_digest([item], date(2024, 5, 2))
    assert "「支持20家<b>企业</b>」 10家 → 20家" in text and "删除「第五条」" in text
    assert "支持20家&lt;b&gt;企业&lt;/b&gt;" in html and "<b>企业" not in html
    assert '<del style="color:#a40000;text-decoration:line-through">10家</del>' in html
    assert "20家</ins>" in html and "删除「<del" in html


def test_digest_over_implicit_tls(tmp_path, demo_db, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.receivers import free_port, self_signed

    got = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            got.append(envelope.content)
            return "250 OK"

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=self_signed(tmp_path))
    ctl.start()
    try:
        ch = dict(
            id="ssl",
            type="email",
            smtp_host="127.0.0.1",
            smtp_port=port,
            security="ssl",
            verify_tls=False,
            to=["a@example.org"],
        )
        cfg, store, _ = world(tmp_path, demo_db, [ch])
        with Dispatcher(store, cfg) as d:
            assert d.send_digest(d.channel("ssl")).failed == 0
        assert len(got) == 1 and b"multipart/alternative" in got[0]
        store.close()
    finally:
        ctl.stop()


# ---- CLI and scheduler ----------------------------------------------------------------------------
def test_cli_notify_test_preview_and_dry_run(tmp_path, demo_db, hooks, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "s3cret")
    cfg, store, cfg_path = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "team", "dingtalk", "/team"), mail(smtp)])
    db = str(store.engine.url)
    hooks.answers["/team"] = (200, '{"errcode": 0, "errmsg": "ok"}')
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "notify", "test", "team", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"channel": "team", "ok": True, "answer": '{"errcode": 0, "errmsg": "ok"}'}
    assert "测试消息" in hooks.posts[0]["json"]["markdown"]["text"]
    hooks.answers["/team"] = (200, '{"errcode": 300001, "errmsg": "token is not exist"}')
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "notify", "test", "team"])
    assert r.exit_code == 1 and "300001" in r.output and TOKEN not in r.output

    out = tmp_path / "digest.html"
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "preview", "--out", str(out)])
    assert r.exit_code == 0 and "(9 items)" in r.output and "连云港" in out.read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "send", "--dry-run", "--json"])
    assert json.loads(r.stdout)[0]["items"] == 9 and smtp.messages == []
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "send", "--json"])
    assert r.exit_code == 0 and len(smtp.messages) == 1
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "preview"])
    assert "(0 items)" in r.output  # preview after the send: nothing is owed
    store.close()


def test_scheduler_plans_each_digest_at_its_local_time(tmp_path, demo_db, smtp, monkeypatch):
    from watcher.scheduler.service import Service

    cfg, store, cfg_path = world(tmp_path, demo_db, [mail(smtp, send_at="08:00")])

    async def plan():
        svc = Service(cfg_path, store, check_every=60, first_run_delay=3600)
        task = asyncio.create_task(svc.run(install_signals=False))
        for _ in range(100):
            if svc.scheduler is not None and svc.scheduler.get_job("digest:mail"):
                break
            await asyncio.sleep(0.05)
        job = svc.scheduler.get_job("digest:mail")
        nxt = job.next_run_time
        svc.stop()
        await asyncio.wait_for(task, 30)
        return nxt

    nxt = asyncio.run(plan())
    assert (nxt.hour, nxt.minute, str(nxt.tzinfo)) == (8, 0, "Asia/Shanghai")
    store.close()


def test_a_digest_channel_with_its_own_locale_sends_english_with_web_view_links(tmp_path, demo_db, smtp, monkeypatch):
    """The dispatcher renders a channel's digest in the channel's `locale:` (the items' relation lines included)
    and links each notice to `defaults.web_url`, while the process stays Chinese."""
    from dataclasses import replace

    from watcher.i18n import current_locale

    monkeypatch.setenv("SMTP_PW", "s3cret")
    cfg, store, _ = world(tmp_path, demo_db, [mail(smtp, locale="en")])
    cfg = replace(cfg, defaults=cfg.defaults.model_copy(update={"web_url": "https://watch.example.org"}))
    with Dispatcher(store, cfg) as d:
        rep = d.send_digest(d.channel("mail"))
    assert rep.failed == 0 and rep.items == 9, rep
    [msg] = smtp.messages
    html = msg.get_body(("html",)).get_content()
    plain = msg.get_body(("plain",)).get_content()
    assert msg["Subject"].startswith("Policy digest") and "derived from 苏政发〔2020〕28号" in plain
    assert "依据" not in plain and 'href="https://watch.example.org/notices/' in html
    assert current_locale() == "zh_CN"
    store.close()
