"""No secret in any log line, stored error or `watcher status` output (issue 14, item 2).

`watcher -v poll` runs as the shipped systemd unit runs `watcher -v run`: in a process of its own, logging
at INFO, where httpx prints every request's URL. The services answer with errors that echo the request.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys

from ruamel.yaml import YAML

from tests.portal_site import build_site, source_for
from watcher.text.redact import RedactingFilter, redact, remember_secret

TOKENS = {
    "ding": "dingTokEN-4f1a9c77b2",
    "wecom": "wecomKEY-0c9d8e7f6a",
    "slack": "slackSECRETpath-91ab",
    "feishu": "3f2e1d0c-feishu-hook-uuid",
    "sign": "SECsigning-secret-5566",
}


def _channels(hooks) -> tuple[list[dict], dict[str, str]]:
    env = {
        "DING_URL": hooks.url(f"/robot/send?access_token={TOKENS['ding']}"),
        "DING_SECRET": TOKENS["sign"],
        "WECOM_URL": hooks.url(f"/cgi-bin/webhook/send?key={TOKENS['wecom']}"),
        "SLACK_URL": hooks.url(f"/services/T0001/B0002/{TOKENS['slack']}"),
        "FEISHU_URL": hooks.url(f"/open-apis/bot/v2/hook/{TOKENS['feishu']}"),
    }
    # Every service refuses, quoting the request line it got, token and all (as some gateways do).
    for path, key in (("/robot/send", "ding"), ("/cgi-bin/webhook/send", "wecom")):
        hooks.answers[path] = (400, f"bad request: POST {env[key.upper() + '_URL']} HTTP/1.1")
    hooks.answers[f"/services/T0001/B0002/{TOKENS['slack']}"] = (200, f"invalid_token for {env['SLACK_URL']}")
    hooks.answers[f"/open-apis/bot/v2/hook/{TOKENS['feishu']}"] = (
        200,
        json.dumps({"code": 19021, "msg": f"sign match fail: {env['FEISHU_URL']}"}),
    )
    channels = [
        dict(id="ding", type="dingtalk", url_env="DING_URL", secret_env="DING_SECRET", retries=0),
        dict(id="wecom", type="wecom", url_env="WECOM_URL", retries=0),
        dict(id="slack", type="slack", url_env="SLACK_URL", retries=0),
        dict(id="feishu", type="feishu", url_env="FEISHU_URL", retries=0),
    ]
    return channels, env


def _watcher(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_token_in_logs_stored_errors_or_status(portal, hooks, tmp_path):
    build_site(portal, pages=1, per_page=2)
    src = source_for(portal, pages=1, baseline=False).model_dump(mode="json", by_alias=True, exclude_none=True)
    channels, env = _channels(hooks)
    cfg = tmp_path / "sources.yaml"
    YAML().dump({"sources": [src], "channels": channels}, cfg)
    db = tmp_path / "w.db"
    common = ["-c", str(cfg), "--db", f"sqlite:///{db}"]
    poll = _watcher(["-v", *common, "poll"], env)
    assert len(hooks.posts) == 4, poll.stderr  # every service was called, and refused
    assert "HTTP Request: POST" in poll.stderr  # httpx's INFO lines are there, masked
    status = _watcher([*common, "status"], env)
    status_json = _watcher([*common, "status", "--json"], env)
    with sqlite3.connect(db) as conn:
        stored = json.dumps(conn.execute("SELECT last_error FROM deliveries").fetchall())
        runs = json.dumps(conn.execute("SELECT errors_json FROM crawl_runs").fetchall())
    assert "19021" in stored and "HTTP 400" in stored  # the errors themselves are kept
    seen = {"poll": poll.stderr + poll.stdout, "status": status.stdout + status.stderr, "json": status_json.stdout}
    seen.update(stored=stored, runs=runs)
    leaks = [(where, name) for where, text in seen.items() for name, tok in TOKENS.items() if tok in text]
    assert leaks == []


def test_redaction_patterns_without_registration():
    lines = {
        "GET https://x.cn/send?access_token=abc123def&x=1": "GET https://x.cn/send?access_token=***&x=1",
        "https://q.cn/send?KEY=zz99yy88&sign=s1g2": "https://q.cn/send?KEY=***&sign=***",
        "api?api_key=k1k2k3k4;session=z": "api?api_key=***;session=***",
        "https://hooks.slack.com/services/T1/B2/abcdef": "https://hooks.slack.com/services/***",
        "https://open.feishu.cn/open-apis/bot/v2/hook/1234-5678 failed": "https://open.feishu.cn/open-apis/bot/v2/hook/*** failed",
        "smtp://user:hunter2hunter@mail": "smtp://user:***@mail",
        "https://www.gov.cn/zhengce/monkey=1?design=2": "https://www.gov.cn/zhengce/monkey=1?design=2",
    }
    assert {k: redact(k) for k in lines} == lines


def test_a_remembered_secret_is_masked_anywhere_and_a_url_keeps_its_origin():
    remember_secret("http://10.1.2.3:8080/bot/ZXCVBNM-path-token")
    remember_secret("https://oapi.example.cn/robot/send?id=ZXCVBNM-query-token")
    remember_secret("plain-secret-value-77")
    remember_secret("http://127.0.0.1:9/hook")  # a short path is no token: /hook stays readable everywhere
    assert redact("POST http://10.1.2.3:8080/bot/ZXCVBNM-path-token x") == "POST http://10.1.2.3:8080/*** x"
    assert redact("https://oapi.example.cn/robot/send?id=ZXCVBNM-query-token&t=1") == (
        "https://oapi.example.cn/robot/send?***&t=1"
    )
    assert redact("echo: plain-secret-value-77.") == "echo: ***."
    assert redact("see https://x.cn/hook") == "see https://x.cn/hook"


def test_the_filter_masks_arguments_and_tracebacks():
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", "u?token=abcdef"), None
    )
    try:
        raise RuntimeError("failed at u?secret=qwerty123")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert record.getMessage() == "HTTP Request: POST u?token=***"
    assert "qwerty123" not in (record.exc_text or "") and "secret=***" in (record.exc_text or "")
