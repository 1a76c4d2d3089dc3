"""Chat services: each format on a real receiver, signed and shaped; splitting within each service's
limits; the services' error codes (pytest-httpx); a service registered by a test; channel types."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner

from notifiers import services
from notifiers.dispatch import Dispatcher, channel_status, rates
from notifiers.items import Item
from notifiers.services import ChatService, Refused, Signed, known_services, register, service_for
from tests.notify.world import TOKEN, hook, sample_items, world
from watcher.cli import main
from watcher.config.channels import Channel
from watcher.config.loader import parse_config


# ---- formats, on a real receiver ----------------------------------------------------------------
def _generic(post: dict, events: int) -> None:
    expected = "sha256=" + hmac.new(b"gsecret", post["raw"], hashlib.sha256).hexdigest()
    assert post["headers"]["x-watcher-signature"] == expected
    assert len(post["json"]["items"]) == events and post["headers"]["x-watcher-delivery"]
    lyg = [i for i in post["json"]["items"] if i["title"].startswith("连云港") and i["kind"] == "link.new"]
    assert lyg[0]["relation"].startswith("依据 苏政发〔2020〕28号") and lyg[0]["parents"] == ["苏政发〔2020〕28号"]


def _slack(post: dict, events: int) -> None:
    s = post["json"]
    assert s["blocks"][0]["type"] == "header" and all(b["type"] == "section" for b in s["blocks"][1:])
    assert any("苏政发〔2020〕28号" in b["text"]["text"] for b in s["blocks"][1:])


def _dingtalk(post: dict, events: int) -> None:
    ts, sign = post["query"]["timestamp"], post["query"]["sign"]
    want = base64.b64encode(hmac.new(b"SECdingsecret", f"{ts}\nSECdingsecret".encode(), hashlib.sha256).digest())
    assert sign == want.decode() and abs(int(ts) / 1000 - time.time()) < 60
    assert post["json"]["msgtype"] == "markdown" and "连云港" in post["json"]["markdown"]["text"]


def _wecom(post: dict, events: int) -> None:
    w = post["json"]
    assert w["msgtype"] == "markdown" and len(w["markdown"]["content"].encode()) <= 4096


def _feishu(post: dict, events: int) -> None:
    f = post["json"]
    want = base64.b64encode(hmac.new(f"{f['timestamp']}\nfsecret".encode(), b"", hashlib.sha256).digest()).decode()
    assert f["sign"] == want and f["msg_type"] == "post"
    assert f["content"]["post"]["zh_cn"]["content"][0][0]["tag"] == "a"


@pytest.mark.parametrize(
    "ch_id, type_, path, secret, answer, check",
    [
        ("generic", "webhook", "/generic", "gsecret", None, _generic),
        ("slack", "slack", "/slack", None, (200, "ok"), _slack),
        ("ding", "dingtalk", "/ding", "SECdingsecret", None, _dingtalk),
        ("wecom", "wecom", "/wecom", None, None, _wecom),
        ("feishu", "feishu", "/feishu", "fsecret", None, _feishu),
    ],
    ids=["webhook", "slack", "dingtalk", "wecom", "feishu"],
)
def test_each_format_arrives_signed_and_shaped_in_one_batch(
    tmp_path, demo_db, hooks, monkeypatch, ch_id, type_, path, secret, answer, check: Callable[[dict, int], None]
):
    channels = [hook(monkeypatch, hooks, ch_id, type_, path, secret=secret)]
    if answer:
        hooks.answers[path] = answer
    cfg, store, _ = world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    events = len(store.events())
    assert events == 9  # 5 notices, 4 of them linked: one link.new event per linking pass, carrying its links
    assert all(r.messages == 1 and r.items == events and not r.errors for r in reports.values()), reports
    by_path = {p["path"]: p for p in hooks.posts}
    assert len(hooks.posts) == 1 and set(by_path) == {path}
    check(by_path[path], events)

    with Dispatcher(store, cfg, backoff=0) as d:  # delivered: nothing is sent twice
        assert all(r.messages == 0 for r in d.send_webhooks())
    assert len(hooks.posts) == 1
    store.close()


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "slack", "feishu"])
def test_long_batches_split_within_each_services_limit(kind):
    items = sample_items(300)
    msgs = service_for(kind).messages(items)
    assert len(msgs) > 1
    assert [i.event_id for batch, _ in msgs for i in batch] == [i.event_id for i in items]
    for _, body in msgs:
        assert len(json.dumps(body, ensure_ascii=False).encode()) <= service_for(kind).limit
        if kind == "slack":
            assert len(body["blocks"]) <= 50


# ---- answers and failures -------------------------------------------------------------------------
def test_error_codes_in_a_200_answer_count_as_failures(tmp_path, demo_db, httpx_mock, monkeypatch):
    channels = [
        dict(id="ding", type="dingtalk", url_env="DING_URL", retries=2),
        dict(id="wecom", type="wecom", url_env="WECOM_URL", retries=2),
        dict(id="feishu", type="feishu", url_env="FEISHU_URL", retries=2),
    ]
    monkeypatch.setenv("DING_URL", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    monkeypatch.setenv("WECOM_URL", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}")
    monkeypatch.setenv("FEISHU_URL", f"https://open.feishu.cn/open-apis/bot/v2/hook/{TOKEN}")
    # DingTalk: keyword check failed — final, tried once. WeCom: rate limited, then accepted.
    # Feishu: bad signature — final.
    httpx_mock.add_response(
        url=re.compile(r".*dingtalk.*"), json={"errcode": 310000, "errmsg": "keywords not in content"}
    )
    httpx_mock.add_response(url=re.compile(r".*qyapi.*"), json={"errcode": 45009, "errmsg": "api freq out of limit"})
    httpx_mock.add_response(url=re.compile(r".*qyapi.*"), json={"errcode": 0, "errmsg": "ok"})
    httpx_mock.add_response(url=re.compile(r".*feishu.*"), json={"code": 19021, "msg": "sign match fail"})
    cfg, store, cfg_path = world(tmp_path, demo_db, channels)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
        status = {c["id"]: c for c in channel_status(store, cfg.channels)}
    assert reports["ding"].failed == 9 and "310000" in reports["ding"].errors[0]
    assert reports["wecom"].failed == 0 and reports["wecom"].answers
    assert reports["feishu"].failed == 9 and "19021" in reports["feishu"].errors[0]
    requests = httpx_mock.get_requests()
    assert sum("dingtalk" in str(r.url) for r in requests) == 1  # not retried
    assert sum("qyapi" in str(r.url) for r in requests) == 2  # retried once
    assert status["ding"]["failed"] == 9 and "keywords" in status["ding"]["last_error"]
    assert status["wecom"]["sent"] == 9
    r = CliRunner().invoke(main, ["-c", str(cfg_path), "--db", str(store.engine.url), "status", "--json"])
    assert r.exit_code == 1  # a failing channel makes status unhealthy
    assert TOKEN not in r.output and TOKEN not in json.dumps(status)
    store.close()


@pytest.mark.parametrize(
    "name, status, body, refused",
    [
        ("webhook", 200, "anything", None),
        ("slack", 200, "ok", None),
        ("slack", 200, "invalid_token", False),
        ("dingtalk", 200, {"errcode": 0, "errmsg": "ok"}, None),
        ("dingtalk", 200, {"errcode": 310000, "errmsg": "keywords not in content"}, False),
        ("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"}, True),
        ("dingtalk", 200, "<html>busy</html>", True),
        ("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, True),
        ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, False),
        ("feishu", 200, {"code": 19021, "msg": "sign match fail"}, False),
        ("feishu", 200, {"code": 11232, "msg": "frequency limited"}, True),
        ("feishu", 200, {"StatusCode": 0, "StatusMessage": "success"}, None),
    ],
)
def test_each_service_judges_its_answer(name, status, body, refused):
    """refused: None when accepted, else whether the refusal is worth retrying."""
    kw = {"json": body} if isinstance(body, dict) else {"text": body}
    resp = httpx.Response(status, **kw)
    service = service_for(name)
    if refused is None:
        assert service.check(resp) == resp.text
        return
    with pytest.raises(Refused) as exc:
        service.check(resp)
    assert exc.value.retryable is refused
    assert name in str(exc.value).lower()


def test_the_services_are_registered_by_name():
    assert known_services() == ["dingtalk", "feishu", "slack", "webhook", "wecom"]
    assert {n: service_for(n).rates for n in known_services()}["dingtalk"] == ((20, 60.0),)
    with pytest.raises(KeyError, match="known: dingtalk, feishu"):
        service_for("teams")


def test_a_new_service_is_one_registered_class(tmp_path, demo_db, hooks, monkeypatch):
    monkeypatch.setattr(services.base, "_REGISTRY", dict(services.base._REGISTRY))  # gone after the test

    @register("echo")
    class Echo(ChatService):
        """The titles as a list, a signature header, and "pong" as the only good answer."""

        limit = 600
        rates = ((7, 60.0),)
        summary_above = None

        def format(self, items: list[Item], heading: str) -> dict:
            return {"titles": [i.title for i in items]}

        def sign(self, url: str, body: bytes, secret: str) -> Signed:
            return Signed(url, body, {"X-Echo": hashlib.sha256(secret.encode() + body).hexdigest()})

        def check(self, resp: httpx.Response) -> str:
            if resp.text != "pong":
                raise Refused(f"echo answered {resp.text!r}", retryable=False)
            return resp.text

    assert "echo" in known_services()
    hooks.answers["/echo"] = (200, "pong")
    cfg, store, _ = world(
        tmp_path,
        demo_db,
        [
            hook(monkeypatch, hooks, "e", "echo", "/echo", secret="esecret"),
            hook(monkeypatch, hooks, "e2", "echo", "/echo2"),
        ],
    )
    assert rates(cfg.channels[0]) == ((7, 60.0),)
    with Dispatcher(store, cfg, backoff=0) as d:
        reports = {r.channel: r for r in d.send_webhooks()}
    good = [p for p in hooks.posts if p["path"] == "/echo"]
    assert reports["e"].items == 9 and not reports["e"].errors and reports["e"].messages == len(good) > 1
    assert sum(len(p["json"]["titles"]) for p in good) == 9
    for p in good:
        assert len(p["raw"]) <= 600 and p["headers"]["x-echo"] == hashlib.sha256(b"esecret" + p["raw"]).hexdigest()
    # The default answer of the receiver is not "pong": refused, final, each message tried once.
    bad = [p for p in hooks.posts if p["path"] == "/echo2"]
    assert reports["e2"].failed == 9 and "echo answered" in reports["e2"].errors[0]
    assert len(bad) == reports["e2"].messages and "x-echo" not in bad[0]["headers"]
    store.close()


def test_an_unknown_channel_type_fails_validation_naming_the_known_ones():
    cfg = parse_config(
        json.dumps(
            {
                "sources": [],
                "channels": [
                    {"id": "t", "type": "teams", "url_env": "T"},
                    {"id": "d", "type": "dingtalk", "url_env": "D"},
                ],
            }
        ),
        "sources.yaml",
    )
    [err] = cfg.errors
    assert err.field == "channels[0].type"
    assert err.message == "unknown channel type 'teams' (known: dingtalk, email, feishu, slack, webhook, wecom)"
    assert [c.id for c in cfg.channels] == ["d"]


def test_a_channels_rate_limit_defaults_to_its_services():
    kinds = ("dingtalk", "wecom", "feishu", "slack", "webhook", "email")
    defaults = [rates(Channel(id="x", type=t, url_env="U")) for t in kinds]
    assert defaults == [((20, 60.0),), ((20, 60.0),), ((100, 60.0), (5, 1.0)), ((1, 1.0),), (), ()]
    assert rates(Channel(id="x", type="dingtalk", url_env="U", per_minute=5)) == ((5, 60.0),)
    # per_minute replaces the per-minute limit only: Feishu's 5 a second stays
    assert rates(Channel(id="x", type="feishu", url_env="U", per_minute=50)) == ((50, 60.0), (5, 1.0))


def test_channel_config_errors_name_the_field(tmp_path):
    cfg = parse_config(
        json.dumps(
            {
                "sources": [],
                "channels": [
                    {"id": "a", "type": "dingtalk"},
                    {"id": "b", "type": "slack", "url": "https://hooks.slack.com/services/T/B/X"},
                    {"id": "c", "type": "email", "to": ["not-an-address"]},
                    {"id": "d", "type": "wecom", "url_env": "W"},
                ],
            }
        ),
        "sources.yaml",
    )
    fields = [e.field for e in cfg.errors]
    assert fields == ["channels[0].url_env", "channels[1].url", "channels[2].to"]
    assert [c.id for c in cfg.channels] == ["d"]
