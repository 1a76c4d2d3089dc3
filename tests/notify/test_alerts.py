"""Alerts that respect the reader: one entry per notice with its links and changes beneath, messages numbered
(1/3), every chat service held to its documented rate limit (a fake clock injected: no test sleeps), and a
batch too large for a chat sent as one summary. Real loopback receivers, SQLite and the live PostgreSQL."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from notifiers.dispatch import Dispatcher
from notifiers.items import Item
from notifiers.send import Limits, RateLimit
from notifiers.services import service_for
from storage.deliveries import T_DEL
from storage.records import Outcome
from tests.builders import make_snapshot
from tests.notify.world import hook, mail, sample_items, world
from watcher.config.loader import parse_config
from watcher.extract.model import ListItem
from watcher.i18n import use_locale
from watcher.text.changes import Change


class FakeClock:
    """The time a rate limit sees; sleeping moves it on. Each post to the receiver notes the time it came at."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def _max_in_window(times: list[float], window: float) -> int:
    return max((sum(1 for u in times if t <= u < t + window) for t in times), default=0)


def _stored(store, n: int, issuers: tuple[str, ...] = ("测试局",), start: int = 0, pad: int = 0) -> list[int]:
    """n notices of source "s" (not configured: no baseline), each with its notice.new event; all event ids."""
    urls = [f"http://p/{i}.html" for i in range(start, start + n)]
    states = store.record_list(
        "s", dict(url="http://p/list"), [ListItem(u, f"通知{i}", None) for i, u in enumerate(urls)]
    )
    snaps = [
        replace(
            make_snapshot(u, f"第{i}条正文。", title=f"关于第{i}项{'政' * pad}工作的通知"),
            issuer=issuers[i % len(issuers)],
        )
        for i, u in enumerate(urls, start)
    ]
    store.apply("s", [Outcome(states[u], s) for u, s in zip(urls, snaps, strict=True)])
    return [e.id for e in store.events()]


def _config(channels: list[dict], **defaults):
    cfg = parse_config(json.dumps({"defaults": defaults, "sources": [], "channels": channels}))
    assert not cfg.errors, cfg.errors
    return cfg


def _statuses(store, channel: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(T_DEL.c.status).where(T_DEL.c.channel_id == channel)).scalars())


# ---- one entry per notice ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "slack", "feishu", "webhook"])
def test_a_notice_and_its_links_are_one_entry(tmp_path, demo_db, hooks, monkeypatch, kind):
    if kind == "slack":
        hooks.answers["/x"] = (200, "ok")
    cfg, store, _ = world(tmp_path, demo_db, [hook(monkeypatch, hooks, "x", kind, "/x")])
    with Dispatcher(store, cfg, backoff=0) as d:
        [rep] = d.send_webhooks()
    assert rep.items == 9 and rep.messages == 1 and not rep.errors  # 5 notices, 9 events
    [post] = hooks.posts
    raw = post["raw"].decode()
    # each notice's title once, though 4 of the 5 also have a link.new event in the batch
    lyg = "连云港市人民政府关于推进绿色产业发展的实施意见"
    if kind != "webhook":  # (the webhook's data also lists each event whole)
        assert raw.count(lyg) == 1
    entries = {
        "dingtalk": lambda j: re.findall(r"^- \[", j["markdown"]["text"], re.M),
        "wecom": lambda j: re.findall(r"^- \[", j["markdown"]["content"], re.M),
        "slack": lambda j: j["blocks"][1:],
        "feishu": lambda j: [r for r in j["content"]["post"]["zh_cn"]["content"] if r[0]["tag"] == "a"],
        "webhook": lambda j: j["notices"],
    }[kind](post["json"])
    assert len(entries) == 5
    # the relation line sits under its notice: after the title, before the next entry
    at = raw.index("连云港")
    assert "苏政发〔2020〕28号" in raw[at : at + 600]
    assert "政策动态：5 条新文件，4 条关联" in raw
    store.close()


def _revision(**changes) -> list[Item]:
    [new] = sample_items(1)
    version = replace(
        new,
        event_id=2,
        kind="notice.version",
        relation="revised — 1 paragraph changed",
        changes=[
            Change("10家", "20家", "到2025年，支持20家企业开展试点，" + "并" * 80 + "。"),
            Change("", "第四条本办法自发布之日起施行。", "第四条本办法自发布之日起施行。"),
            Change("附件2", "", "附件2 申报表"),
        ],
    )
    link = replace(new, event_id=3, kind="link.new", relation="derived from 国发〔2021〕4号 — cites it")
    return [new, version, link]


@pytest.mark.parametrize("kind", ["dingtalk", "wecom", "slack", "feishu", "webhook"])
def test_a_revision_shows_its_changes_beneath_the_notice(kind):
    items = _revision()
    [(batch, body)] = service_for(kind).messages(items)
    assert [i.event_id for i in batch] == [1, 2, 3]
    text = json.dumps(body, ensure_ascii=False)
    if kind == "webhook":  # data: every event, and the events grouped per notice
        assert len(body["notices"]) == 1 and body["notices"][0]["event_ids"] == [1, 2, 3]
    else:
        assert text.count("第1号") == 1  # one entry
    assert "10家 → 20家" in text and "新增：第四条本办法自发布之日起施行。" in text and "删除：附件2" in text
    shown = json.dumps(body["notices"], ensure_ascii=False) if kind == "webhook" else text  # items: data, whole
    assert "到2025年，支持20家企业开展试点" in shown and "并" * 70 not in shown  # the sentence, clipped
    assert "revised — 1 paragraph changed" in text and "derived from 国发〔2021〕4号" in text
    assert text.index("10家 → 20家") > text.index("第1号")


def test_a_channels_locale_is_the_language_of_its_messages(tmp_path, demo_db, hooks, monkeypatch):
    channels = [
        hook(monkeypatch, hooks, "zh", "wecom", "/zh"),
        hook(monkeypatch, hooks, "en", "wecom", "/en", locale="en"),
    ]
    cfg, store, _ = world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        d.send_webhooks()
    by = {p["path"]: p["json"]["markdown"]["content"] for p in hooks.posts}
    assert by["/zh"].startswith("### 政策动态：5 条新文件，4 条关联")
    assert by["/en"].startswith("### Policy updates: 5 new notices, 4 new links")
    with use_locale("en"):
        assert "added: 第四条" in json.dumps(service_for("wecom").messages(_revision())[0][1], ensure_ascii=False)
    store.close()


# ---- numbered ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "slack", "feishu"])
def test_a_split_batch_is_numbered(kind):
    service = service_for(kind)
    msgs = service.messages(sample_items(300))
    n = len(msgs)
    assert n > 1
    for k, (_, body) in enumerate(msgs, 1):
        text = json.dumps(body, ensure_ascii=False)
        assert f"（{k}/{n}）" in text and len(text.encode()) <= service.limit
    [(_, one)] = service.messages(sample_items(2))
    assert "/1）" not in json.dumps(one, ensure_ascii=False)


# ---- rate limits ------------------------------------------------------------------------------------
def test_a_rate_limit_keeps_every_window():
    clock = FakeClock()
    rl = RateLimit([(100, 60.0), (5, 1.0)], clock=clock, sleep=clock.sleep)
    assert rl.delay(5) == 0 and rl.delay(6) == pytest.approx(1.0)
    times = []
    for _ in range(130):
        rl.wait()
        times.append(clock.now)
    assert _max_in_window(times, 1.0) == 5 and _max_in_window(times, 60.0) == 100
    assert times[-1] - times[0] >= 60  # the 101st waited for the first to age out of the minute
    assert RateLimit([], clock=clock, sleep=clock.sleep).delay(1000) == 0


@pytest.mark.parametrize(
    "kind, window, count", [("dingtalk", 60.0, 20), ("wecom", 60.0, 20), ("feishu", 1.0, 5), ("slack", 1.0, 1)]
)
def test_each_chat_service_is_held_to_its_limit(fresh_db, hooks, monkeypatch, kind, window, count):
    """Poll after poll (the scheduler's sources one after another), each with a notice to announce: the
    messages reach a real receiver no faster than the service allows, in the fake time the limiter sees; the
    limiter is the process's, not the poll's."""
    clock = FakeClock()
    limits = Limits(clock=clock, sleep=clock.sleep)
    arrived: list[float] = []
    hooks.on_post = lambda post: arrived.append(clock.now)
    if kind == "slack":
        hooks.answers["/r"] = (200, "ok")
    cfg = _config([hook(monkeypatch, hooks, "r", kind, "/r", max_wait=10_000)])
    Dispatcher(fresh_db, cfg).close()
    for k in range(count + 3):
        _stored(fresh_db, 1, start=k)
        with Dispatcher(fresh_db, cfg, backoff=0, limits=limits) as d:
            [rep] = d.send_webhooks()
        assert rep.messages == 1 and not rep.errors
    assert len(arrived) == count + 3 and _max_in_window(arrived, window) == count
    assert clock.slept and _statuses(fresh_db, "r") == {"sent"}
    if kind == "feishu":  # and 100 a minute
        assert _max_in_window(arrived, 60.0) <= 100


def test_a_batch_that_would_wait_too_long_is_one_summary(fresh_db, hooks, monkeypatch):
    clock = FakeClock()
    ch = hook(monkeypatch, hooks, "w", "wecom", "/w", summary_above=10_000, max_wait=30)
    cfg = _config([ch], web_url="https://watch.example.org")
    Dispatcher(fresh_db, cfg).close()
    ids = _stored(fresh_db, 300, pad=60)
    with Dispatcher(fresh_db, cfg) as d:
        assert len(service_for("wecom").messages(d.pending(d.channel("w")))) > 20  # 20 a minute: over a minute
    with Dispatcher(fresh_db, cfg, backoff=0, limits=Limits(clock=clock, sleep=clock.sleep)) as d:
        [rep] = d.send_webhooks()
        assert d.pending(d.channel("w")) == []
    [post] = hooks.posts
    assert rep.summaries == 1 and rep.items == len(ids) and clock.slept == []
    content = post["json"]["markdown"]["content"]
    assert "本批共 300 份文件" in content and "](https://watch.example.org)" in content
    assert len(content.encode()) <= 4096
    assert _statuses(fresh_db, "w") == {"sent"}  # the summarised events count as delivered


def test_a_message_that_would_wait_past_max_wait_is_left_for_the_next_run(fresh_db, hooks, monkeypatch):
    """The limiter is the process's, shared by every cycle: 20 DingTalk messages this minute leave the next
    poll's batch owed, not claimed; a minute later it goes."""
    clock = FakeClock()
    limits = Limits(clock=clock, sleep=clock.sleep)
    cfg = _config([hook(monkeypatch, hooks, "d", "dingtalk", "/d", max_wait=5)])
    Dispatcher(fresh_db, cfg).close()
    limiter = limits.get("d", ((20, 60.0),))
    for _ in range(20):  # earlier cycles of this process
        limiter.wait()
    ids = _stored(fresh_db, 3)
    with Dispatcher(fresh_db, cfg, backoff=0, limits=limits) as d:
        [rep] = d.send_webhooks()
    assert hooks.posts == [] and rep.deferred == 3 and rep.messages == 0 and "60" in rep.answers[0]
    assert _statuses(fresh_db, "d") == set()  # nothing claimed: still owed
    clock.now += 60
    with Dispatcher(fresh_db, cfg, backoff=0, limits=limits) as d:
        [rep] = d.send_webhooks()
    assert rep.items == len(ids) and len(hooks.posts) == 1 and _statuses(fresh_db, "d") == {"sent"}


# ---- summaries --------------------------------------------------------------------------------------
def test_a_batch_above_summary_above_is_one_summary(fresh_db, hooks, monkeypatch, smtp):
    issuers = ("江苏省人民政府", "连云港市人民政府", "淮安市人民政府")
    channels = [
        hook(monkeypatch, hooks, "d", "dingtalk", "/d"),  # default: above 20 notices
        hook(monkeypatch, hooks, "s", "slack", "/s", summary_above=5),
        hook(monkeypatch, hooks, "f", "feishu", "/f", summary_above=5),
        hook(monkeypatch, hooks, "g", "webhook", "/g"),  # a program takes the whole batch
        mail(smtp),
    ]
    hooks.answers["/s"] = (200, "ok")
    cfg = _config(channels, web_url="https://watch.example.org/")
    Dispatcher(fresh_db, cfg).close()
    ids = _stored(fresh_db, 30, issuers)
    with Dispatcher(fresh_db, cfg, backoff=0, limits=Limits(clock=FakeClock())) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    by = {p["path"]: p for p in hooks.posts}
    assert len(hooks.posts) == 4 and all(reports[c].summaries == 1 for c in "dsf") and reports["g"].summaries == 0
    text = by["/d"]["json"]["markdown"]["text"]
    assert "本批共 30 份文件" in text and "江苏省人民政府 10" in text and "……另有 25 份文件" in text
    assert len(re.findall(r"^- \[关于第\d+项工作的通知\]", text, re.M)) == 5
    assert "全部文件见每日摘要邮件" in text and "(https://watch.example.org/)" in text
    slack = json.dumps(by["/s"]["json"], ensure_ascii=False)
    assert "本批共 30 份文件" in slack and "<https://watch.example.org/|在网页中查看>" in slack
    assert "在网页中查看" in json.dumps(by["/f"]["json"], ensure_ascii=False)
    assert len(by["/g"]["json"]["notices"]) == 30
    for c in "dsfg":
        assert _statuses(fresh_db, c) == {"sent"}
    with Dispatcher(fresh_db, cfg, backoff=0, limits=Limits(clock=FakeClock())) as d:
        assert all(r.messages == 0 for r in d.send_webhooks())
    assert len(hooks.posts) == 4 and len(ids) == 30


def test_a_summary_cut_off_by_a_crash_is_resent_as_a_summary(fresh_db, hooks, monkeypatch):
    from notifiers.dispatch import batch_key

    cfg = _config([hook(monkeypatch, hooks, "d", "dingtalk", "/d")])
    Dispatcher(fresh_db, cfg).close()
    ids = _stored(fresh_db, 40)
    key = batch_key("d", ids)
    assert fresh_db and Dispatcher(fresh_db, cfg).deliveries.claim("d", ids, key, "other-host:1")
    with fresh_db.engine.begin() as conn:  # the other host's lease ran out
        from datetime import UTC, datetime

        conn.execute(T_DEL.update().values(claimed_at=datetime(2000, 1, 1, tzinfo=UTC)))
    with Dispatcher(fresh_db, cfg, backoff=0, limits=Limits(clock=FakeClock())) as d:
        [rep] = d.send_webhooks()
    [post] = hooks.posts
    assert rep.summaries == 1 and rep.items == 40 and "本批共 40 份文件" in post["json"]["markdown"]["text"]
    assert post["headers"]["x-watcher-delivery"] == key
