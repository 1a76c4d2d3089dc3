"""Notifiers against real receivers: an HTTP endpoint per chat format, aiosmtpd for the digest,
pytest-httpx for the services' error codes, and a process killed between send and record."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML
from sqlalchemy import select, text

from notifiers.dispatch import Dispatcher, abandoned, channel_status
from notifiers.formats import LIMITS, messages
from notifiers.items import Item
from notifiers.send import RateLimit
from storage.models import Delivery
from storage.repo import Store
from watcher.cli import main
from watcher.config.loader import load_config
from watcher.demo.portal import build_demo_site
from watcher.demo.server import PortalServer
from watcher.pipeline.poll import make_linker, poll_sources

from tests.receivers import HookReceiver, SMTPReceiver

T_DEL = Delivery.__table__
TOKEN = "tok-9f8e7d-secret"   # appears in webhook URLs; must never reach logs, status or errors


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> tuple[Path, list[dict]]:
    """The demo portal polled once into a SQLite file (5 notices, their links); tests copy it."""
    work = tmp_path_factory.mktemp("demo")
    with PortalServer() as server:
        entries = build_demo_site(server)
        for e in entries:
            e["tags"] = ["江苏"] if e["id"] in ("demo-jiangsu", "demo-lianyungang", "demo-huaian") else ["other"]
        path = work / "sources.yaml"
        YAML().dump({"sources": entries}, path)
        cfg = load_config(path)
        store = Store.open(f"sqlite:///{work / 'demo.db'}")
        asyncio.run(poll_sources(cfg.enabled, store, concurrency=8, linker=make_linker(cfg, store)))
        store.close()
    return work / "demo.db", entries


def _world(tmp_path, demo_db, channels: list[dict], *, from_start: bool = True):
    """A copy of the demo database and a config with these channels. from_start: the channels were
    configured before the notices arrived (a channel added later starts with later events)."""
    db, entries = demo_db
    target = tmp_path / "w.db"
    target.write_bytes(db.read_bytes())
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump({"sources": entries, "channels": channels}, cfg_path)
    cfg = load_config(cfg_path)
    assert not cfg.errors, cfg.errors
    store = Store.open(f"sqlite:///{target}")
    Dispatcher(store, cfg).close()
    if from_start:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE channels SET start_event_id = 0"))
    return cfg, store, cfg_path


@pytest.fixture
def hooks():
    recv = HookReceiver()
    yield recv
    recv.close()


def _hook(monkeypatch, recv, ch_id: str, type_: str, path: str, secret: str | None = None, **extra) -> dict:
    env = f"HOOK_{ch_id.upper().replace('-', '_')}"
    monkeypatch.setenv(env, recv.url(path) + f"?access_token={TOKEN}")
    ch = dict(id=ch_id, type=type_, url_env=env, retries=1, **extra)
    if secret:
        monkeypatch.setenv(env + "_SECRET", secret)
        ch["secret_env"] = env + "_SECRET"
    return ch


# ---- formats, on a real receiver ----------------------------------------------------------------
def test_each_format_arrives_signed_and_shaped_in_one_batch(tmp_path, demo_db, hooks, monkeypatch):
    channels = [_hook(monkeypatch, hooks, "generic", "webhook", "/generic", secret="gsecret"),
                _hook(monkeypatch, hooks, "slack", "slack", "/slack"),
                _hook(monkeypatch, hooks, "ding", "dingtalk", "/ding", secret="SECdingsecret"),
                _hook(monkeypatch, hooks, "wecom", "wecom", "/wecom"),
                _hook(monkeypatch, hooks, "feishu", "feishu", "/feishu", secret="fsecret")]
    hooks.answers["/slack"] = (200, "ok")
    cfg, store, _ = _world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    events = len(store.events())
    assert events == 11   # 5 notices, 6 links
    assert all(r.messages == 1 and r.items == events and not r.errors for r in reports.values()), reports
    by_path = {p["path"]: p for p in hooks.posts}
    assert len(hooks.posts) == 5 and set(by_path) == {"/generic", "/slack", "/ding", "/wecom", "/feishu"}

    g = by_path["/generic"]
    expected = "sha256=" + hmac.new(b"gsecret", g["raw"], hashlib.sha256).hexdigest()
    assert g["headers"]["x-watcher-signature"] == expected
    assert len(g["json"]["items"]) == events and g["headers"]["x-watcher-delivery"]
    lyg = [i for i in g["json"]["items"] if i["title"].startswith("连云港") and i["kind"] == "link.new"]
    assert lyg[0]["relation"].startswith("derived from 苏政发〔2020〕28号") and lyg[0]["parents"] == ["苏政发〔2020〕28号"]

    s = by_path["/slack"]["json"]
    assert s["blocks"][0]["type"] == "header" and all(b["type"] == "section" for b in s["blocks"][1:])
    assert any("苏政发〔2020〕28号" in b["text"]["text"] for b in s["blocks"][1:])

    ding = by_path["/ding"]
    ts, sign = ding["query"]["timestamp"], ding["query"]["sign"]
    want = base64.b64encode(hmac.new(b"SECdingsecret", f"{ts}\nSECdingsecret".encode(), hashlib.sha256).digest())
    assert sign == want.decode() and abs(int(ts) / 1000 - time.time()) < 60
    assert ding["json"]["msgtype"] == "markdown" and "连云港" in ding["json"]["markdown"]["text"]

    w = by_path["/wecom"]["json"]
    assert w["msgtype"] == "markdown" and len(w["markdown"]["content"].encode()) <= 4096

    f = by_path["/feishu"]["json"]
    want = base64.b64encode(hmac.new(f"{f['timestamp']}\nfsecret".encode(), b"", hashlib.sha256).digest()).decode()
    assert f["sign"] == want and f["msg_type"] == "post"
    assert f["content"]["post"]["zh_cn"]["content"][0][0]["tag"] == "a"

    with Dispatcher(store, cfg, backoff=0) as d:   # delivered: nothing is sent twice
        assert all(r.messages == 0 for r in d.send_webhooks())
    assert len(hooks.posts) == 5
    store.close()


def _items(n: int, title_len: int = 60) -> list[Item]:
    return [Item(event_id=i, kind="notice.new", notice_id=i, source_id="s", title=f"第{i}号" + "政" * title_len,
                 url=f"https://example.gov.cn/art/{i}.html", doc_no=f"测发〔2024〕{i}号", issuer="测试局",
                 written=None, published="2024-05-01", relation="new") for i in range(1, n + 1)]


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "slack", "feishu"])
def test_long_batches_split_within_each_services_limit(kind):
    items = _items(300)
    msgs = messages(kind, items)
    assert len(msgs) > 1
    assert [i.event_id for batch, _ in msgs for i in batch] == [i.event_id for i in items]
    for _, body in msgs:
        assert len(json.dumps(body, ensure_ascii=False).encode()) <= LIMITS[kind]
        if kind == "slack":
            assert len(body["blocks"]) <= 50


# ---- answers and failures -------------------------------------------------------------------------
def test_error_codes_in_a_200_answer_count_as_failures(tmp_path, demo_db, httpx_mock, monkeypatch):
    channels = [dict(id="ding", type="dingtalk", url_env="DING_URL", retries=2),
                dict(id="wecom", type="wecom", url_env="WECOM_URL", retries=2),
                dict(id="feishu", type="feishu", url_env="FEISHU_URL", retries=2)]
    monkeypatch.setenv("DING_URL", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    monkeypatch.setenv("WECOM_URL", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}")
    monkeypatch.setenv("FEISHU_URL", f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}")
    # DingTalk: keyword check failed — final, tried once. WeCom: rate limited, then accepted.
    # Feishu: bad signature — final.
    httpx_mock.add_response(url=re.compile(r".*dingtalk.*"), json={"errcode": 310000, "errmsg": "keywords not in content"})
    httpx_mock.add_response(url=re.compile(r".*qyapi.*"), json={"errcode": 45009, "errmsg": "api freq out of limit"})
    httpx_mock.add_response(url=re.compile(r".*qyapi.*"), json={"errcode": 0, "errmsg": "ok"})
    httpx_mock.add_response(url=re.compile(r".*feishu.*"), json={"code": 19021, "msg": "sign match fail"})
    cfg, store, cfg_path = _world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
        status = {c["id"]: c for c in channel_status(store, cfg.channels)}
    assert reports["ding"].failed == 11 and "310000" in reports["ding"].errors[0]
    assert reports["wecom"].failed == 0 and reports["wecom"].answers
    assert reports["feishu"].failed == 11 and "19021" in reports["feishu"].errors[0]
    requests = httpx_mock.get_requests()
    assert sum("dingtalk" in str(r.url) for r in requests) == 1      # not retried
    assert sum("qyapi" in str(r.url) for r in requests) == 2         # retried once
    assert status["ding"]["failed"] == 11 and "keywords" in status["ding"]["last_error"]
    assert status["wecom"]["sent"] == 11
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", str(store.engine.url), "status", "--json"])
    assert r.exit_code == 1   # a failing channel makes status unhealthy
    assert TOKEN not in r.output and TOKEN not in json.dumps(status)
    store.close()


def test_a_failing_channel_does_not_block_others_and_is_retried(tmp_path, demo_db, hooks, monkeypatch):
    channels = [_hook(monkeypatch, hooks, "bad", "webhook", "/down"), _hook(monkeypatch, hooks, "good", "webhook", "/up")]
    hooks.answers["/down"] = (503, "maintenance")
    cfg, store, _ = _world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    assert reports["good"].failed == 0 and reports["bad"].failed == 11 and "503" in reports["bad"].errors[0]
    assert [p["path"] for p in hooks.posts].count("/down") == 2      # one retry
    del hooks.answers["/down"]
    hooks.posts.clear()
    with Dispatcher(store, cfg, backoff=0) as d:                      # the next poll
        reports = {r.channel: r for r in d.send_webhooks()}
    assert reports["bad"].items == 11 and reports["bad"].failed == 0 and reports["good"].items == 0
    assert [p["path"] for p in hooks.posts] == ["/down"]
    with store.engine.connect() as conn:
        attempts = conn.execute(select(T_DEL.c.attempts).where(T_DEL.c.channel_id == "bad")).scalars().all()
    assert set(attempts) == {2}
    store.close()


def test_a_missing_secret_is_a_recorded_failure_not_a_stuck_claim(tmp_path, demo_db, hooks, monkeypatch):
    cfg, store, _ = _world(tmp_path, demo_db, [_hook(monkeypatch, hooks, "h", "webhook", "/h")])
    monkeypatch.delenv("HOOK_H")
    with Dispatcher(store, cfg, backoff=0) as d:
        [rep] = d.send_webhooks()
    assert rep.failed == 11 and "HOOK_H is not set" in rep.errors[0]
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"failed"}
    store.close()


# ---- filters --------------------------------------------------------------------------------------
@pytest.mark.parametrize("flt, expect", [
    ({"sources": ["demo-jiangsu"]}, {"江苏省人民政府关于推进绿色产业发展的意见"}),
    ({"tags": ["江苏"], "kinds": ["notice.new"]}, {"江苏", "连云港", "淮安"}),
    ({"keywords": ["连云港"]}, {"连云港", "江苏省人民政府关于推进绿色产业发展的意见"}),   # its body names 连云港
    ({"keywords": ["汕头市"], "kinds": ["notice.new"]}, {"汕头"}),
    ({"relations": ["derived"], "parent_prefix": "苏政发", "kinds": ["link.new"]}, {"连云港", "淮安"}),
    ({"relations": ["derived"], "parent_prefix": "国发", "kinds": ["link.new"]}, {"江西", "淮安", "汕头"}),
    ({"min_level": "important"}, {"江西", "淮安", "汕头"}),
])
def test_channel_filters(tmp_path, demo_db, hooks, monkeypatch, flt, expect):
    cfg, store, _ = _world(tmp_path, demo_db, [_hook(monkeypatch, hooks, "f", "webhook", "/f", filter=flt)])
    with Dispatcher(store, cfg, backoff=0) as d:
        d.send_webhooks()
        assert d.pending(d.channel("f")) == []          # the others are marked skipped, not owed
    got = {i["title"] for p in hooks.posts for i in p["json"]["items"]}
    short = {next((k for k in expect if t.startswith(k) or t == k), t) for t in got}
    assert short == expect, got
    store.close()


def test_a_channel_added_later_starts_with_later_events(tmp_path, demo_db, hooks, monkeypatch):
    cfg, store, _ = _world(tmp_path, demo_db, [_hook(monkeypatch, hooks, "late", "webhook", "/late")], from_start=False)
    with Dispatcher(store, cfg, backoff=0) as d:
        assert d.send_webhooks()[0].items == 0
    assert hooks.posts == []
    store.close()


# ---- exactly once across a crash --------------------------------------------------------------------
def _notify_send(cfg_path: Path, db: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "watcher", "-c", str(cfg_path), "--db", db, "notify", "send"],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_crash_between_send_and_record_resends_the_same_batch_once(tmp_path, demo_db, hooks, monkeypatch):
    ch = _hook(monkeypatch, hooks, "crash", "webhook", "/crash", secret="k")
    cfg, store, cfg_path = _world(tmp_path, demo_db, [ch])
    env = {"HOOK_CRASH": os.environ["HOOK_CRASH"], "HOOK_CRASH_SECRET": "k"}
    db = str(store.engine.url)
    proc = _notify_send(cfg_path, db, env)
    hooks.on_post = lambda post: os.kill(proc.pid, signal.SIGKILL)   # the service got it; the sender dies
    assert proc.wait(timeout=60) == -signal.SIGKILL
    hooks.on_post = None
    assert len(hooks.posts) == 1
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"sending"}

    again = _notify_send(cfg_path, db, env)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert len(hooks.posts) == 2
    first, second = hooks.posts
    # The same message: same events, same idempotency key — a receiver that keeps keys shows it once.
    assert second["headers"]["x-watcher-delivery"] == first["headers"]["x-watcher-delivery"]
    assert [i["event_id"] for i in second["json"]["items"]] == [i["event_id"] for i in first["json"]["items"]]
    with store.engine.connect() as conn:
        assert set(conn.execute(select(T_DEL.c.status)).scalars()) == {"sent"}

    third = _notify_send(cfg_path, db, env)
    third.communicate(timeout=60)
    assert len(hooks.posts) == 2
    store.close()


def test_a_live_claim_is_left_to_its_owner(tmp_path, demo_db, hooks, monkeypatch):
    import socket
    cfg, store, _ = _world(tmp_path, demo_db, [_hook(monkeypatch, hooks, "c", "webhook", "/c")])
    now = datetime.now(timezone.utc)
    rows = [dict(event_id=e.id, channel_id="c", batch_key="k", status="sending", attempts=1, created_at=now)
            for e in store.events()]
    for r, owner, at in zip(rows, [f"{socket.gethostname()}:{os.getpid()}",   # this process: in flight
                                   f"{socket.gethostname()}:{os.getppid()}",  # a live process here
                                   "other-host:1", "other-host:2"], [now, now, now, now - timedelta(hours=2)]):
        r.update(owner=owner, claimed_at=at)
    with store.engine.begin() as conn:
        conn.execute(T_DEL.insert(), rows[:4])
    with Dispatcher(store, cfg, backoff=0) as d:
        uncertain, fresh = d.due(d.channel("c"))
    assert [b.owner for b in uncertain] == ["other-host:2"]        # only the expired lease is taken over
    assert len(fresh) == 11 - 4
    assert not abandoned(f"{socket.gethostname()}:{os.getpid()}", now)
    store.close()


# ---- rate limit -----------------------------------------------------------------------------------
def test_rate_limit_is_a_sliding_minute():
    clock = [1000.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s

    rl = RateLimit(20, clock=lambda: clock[0], sleep=sleep)
    for _ in range(20):
        rl.wait()
        clock[0] += 1
    assert slept == []
    rl.wait()                      # the 21st within the minute waits for the first to age out
    assert slept == [pytest.approx(40.0)]
    clock[0] += 0.5
    rl.wait()
    assert len(slept) == 2 and slept[1] == pytest.approx(0.5)


# ---- email digest ---------------------------------------------------------------------------------
@pytest.fixture
def smtp(tmp_path):
    recv = SMTPReceiver(tmp_path)
    yield recv
    recv.close()


def _mail(smtp, **extra) -> dict:
    return dict(id="mail", type="email", smtp_host="127.0.0.1", smtp_port=smtp.port, security="starttls",
                verify_tls=False, username="watcher", password_env="SMTP_PW", sender="watcher@example.org",
                to=["analyst@example.org", "compliance@example.org"], **extra)


def test_digest_over_starttls_with_login_then_nothing_twice(tmp_path, demo_db, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "s3cret")
    cfg, store, _ = _world(tmp_path, demo_db, [_mail(smtp, empty="short")])
    with Dispatcher(store, cfg) as d:
        rep = d.send_digest(d.channel("mail"))
    assert rep.failed == 0 and rep.items == 11 and rep.messages == 1, rep
    [msg] = smtp.messages
    today = datetime.now().astimezone().date()
    assert "5 条新文件" in msg["Subject"] and "政策动态日报" in msg["Subject"]
    assert msg["Subject"].split(" ")[1].rstrip("：").startswith(str(today.year))
    assert msg["To"] == "analyst@example.org, compliance@example.org"
    assert msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "苏政发〔2020〕28号" in plain and "33 of 33 articles reused" in plain
    assert 'href="http://127.0.0.1' in html and "derived from 苏政发〔2020〕28号" in html
    assert "<script" not in html and "style=" in html
    # grouped by issuer: each issuer heading once
    assert html.count(">江苏省人民政府<") == 1
    with Dispatcher(store, cfg) as d:
        again = d.send_digest(d.channel("mail"))
    assert again.items == 0 and "无新文件" in smtp.messages[-1]["Subject"] and len(smtp.messages) == 2
    store.close()


def test_a_failed_digest_leaves_no_gap(tmp_path, demo_db, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "wrong")
    cfg, store, _ = _world(tmp_path, demo_db, [_mail(smtp)])
    with Dispatcher(store, cfg) as d:
        rep = d.send_digest(d.channel("mail"))
    assert rep.failed == 11 and "535" in rep.errors[0] and smtp.messages == []
    monkeypatch.setenv("SMTP_PW", "s3cret")
    with Dispatcher(store, cfg) as d:
        assert d.send_digest(d.channel("mail")).items == 11
        assert d.send_digest(d.channel("mail")).answers == ["nothing new: skipped (empty: skip)"]
    assert len(smtp.messages) == 1
    store.close()


def test_digest_escapes_what_portals_write(tmp_path):
    from notifiers.digest import render_digest
    [item] = _items(1)
    item.title = '<img src=x onerror="alert(1)">关于&通知'
    _, text, html = render_digest([item], date(2024, 5, 2))
    assert "<img" not in html and "&lt;img" in html and "<img" in text


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
        ch = dict(id="ssl", type="email", smtp_host="127.0.0.1", smtp_port=port, security="ssl", verify_tls=False,
                  to=["a@example.org"])
        cfg, store, _ = _world(tmp_path, demo_db, [ch])
        with Dispatcher(store, cfg) as d:
            assert d.send_digest(d.channel("ssl")).failed == 0
        assert len(got) == 1 and b"multipart/alternative" in got[0]
        store.close()
    finally:
        ctl.stop()


# ---- CLI and config -------------------------------------------------------------------------------
def test_cli_notify_test_preview_and_dry_run(tmp_path, demo_db, hooks, smtp, monkeypatch):
    monkeypatch.setenv("SMTP_PW", "s3cret")
    cfg, store, cfg_path = _world(tmp_path, demo_db, [_hook(monkeypatch, hooks, "team", "dingtalk", "/team"),
                                                      _mail(smtp)])
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
    assert r.exit_code == 0 and "(11 items)" in r.output and "连云港" in out.read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "send", "--dry-run", "--json"])
    assert json.loads(r.stdout)[0]["items"] == 11 and smtp.messages == []
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "send", "--json"])
    assert r.exit_code == 0 and len(smtp.messages) == 1
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "digest", "preview"])
    assert "(0 items)" in r.output   # preview after the send: nothing is owed
    store.close()


def test_channel_config_errors_name_the_field(tmp_path):
    from watcher.config.loader import parse_config
    cfg = parse_config(json.dumps({"sources": [], "channels": [
        {"id": "a", "type": "dingtalk"},
        {"id": "b", "type": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
        {"id": "c", "type": "email", "to": ["not-an-address"]},
        {"id": "d", "type": "wecom", "url_env": "W"}]}), "sources.yaml")
    fields = [e.field for e in cfg.errors]
    assert fields == ["channels[0].url_env", "channels[1].url", "channels[2].to"]
    assert [c.id for c in cfg.channels] == ["d"]


def test_scheduler_plans_each_digest_at_its_local_time(tmp_path, demo_db, smtp, monkeypatch):
    from watcher.scheduler.service import Service
    cfg, store, cfg_path = _world(tmp_path, demo_db, [_mail(smtp, send_at="08:00")])

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


def test_a_poll_sends_one_batched_alert_and_nothing_when_quiet(portal, tmp_path, hooks, monkeypatch):
    from tests.portal_site import build_site, source_for
    build_site(portal, pages=1, per_page=6)
    src = source_for(portal, pages=1).model_dump(mode="json", by_alias=True, exclude_none=True)
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump({"sources": [src], "channels": [_hook(monkeypatch, hooks, "team", "webhook", "/team")]}, cfg_path)
    db = f"sqlite:///{tmp_path / 'p.db'}"
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0, r.output
    [post] = hooks.posts
    new = [i for i in post["json"]["items"] if i["kind"] == "notice.new"]
    assert len(new) == 6 and {i["doc_no"] for i in new} == {f"测政发〔2024〕{k}号" for k in range(1, 7)}
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", db, "poll", "--json"])
    assert r.exit_code == 0 and len(hooks.posts) == 1


def test_the_scheduler_alerts_after_its_polls(portal, tmp_path, hooks, monkeypatch):
    from watcher.scheduler.service import Service

    from tests.portal_site import build_site, source_for
    build_site(portal, pages=1, per_page=3)
    src = source_for(portal, pages=1, schedule={"interval": "1h", "jitter": 0})
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump({"sources": [src.model_dump(mode="json", by_alias=True, exclude_none=True)],
                 "channels": [_hook(monkeypatch, hooks, "team", "slack", "/team")]}, cfg_path)
    hooks.answers["/team"] = (200, "ok")
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")

    async def run():
        svc = Service(cfg_path, store, check_every=0.1, first_run_delay=0)
        task = asyncio.create_task(svc.run(install_signals=False))
        for _ in range(200):
            if hooks.posts:
                break
            await asyncio.sleep(0.05)
        svc.stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(run())
    [post] = hooks.posts
    assert post["json"]["text"].startswith("政策动态：3 条新文件")
    store.close()


def test_two_workers_racing_send_each_event_once(fresh_db, hooks, monkeypatch):
    """On SQLite and the live PostgreSQL: two dispatchers at once (two polls finishing together)."""
    import threading

    from watcher.config.loader import parse_config
    from watcher.extract.page import ListItem

    from tests.test_storage import _snap
    urls = [f"http://p/{i}.html" for i in range(12)]
    cfg = parse_config(json.dumps({"sources": [], "channels": [_hook(monkeypatch, hooks, "race", "webhook", "/race")]}))
    from notifiers.dispatch import register_channels
    register_channels(fresh_db, cfg.channels)
    states = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(u, f"通知{i}", None) for i, u in enumerate(urls)])
    from storage.repo import Outcome
    fresh_db.apply("s", [Outcome(states[u], _snap(u, f"正文{i}。")) for i, u in enumerate(urls)])
    hooks.on_post = lambda post: time.sleep(0.3)      # hold the first send open while the other worker looks
    start = threading.Barrier(2)

    def worker():
        with Dispatcher(fresh_db, cfg, backoff=0) as d:
            start.wait()
            d.send_webhooks()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    sent = [i["event_id"] for p in hooks.posts for i in p["json"]["items"]]
    assert sorted(sent) == sorted(e.id for e in fresh_db.events())   # each once, none lost
    with Dispatcher(fresh_db, cfg, backoff=0) as d:
        assert d.pending(d.channel("race")) == []


def test_a_new_version_is_announced_with_its_changed_paragraphs(fresh_db):
    from notifiers.items import load_items
    from storage.repo import Outcome
    from watcher.extract.page import ListItem

    from tests.test_storage import _snap
    url = "http://p/v.html"
    for body in ("第一段。\n第二段。", "第一段。\n第二段（修订）。\n第三段。"):
        st = fresh_db.record_list("s", dict(url="http://p/list"), [ListItem(url, "关于X的通知", None)])[url]
        fresh_db.apply("s", [Outcome(st, _snap(url, body))])
    items = load_items(fresh_db)
    assert [(i.kind, i.relation) for i in items] == [("notice.new", "new"),
                                                     ("notice.version", "revised — 2 paragraphs changed")]
