"""sources.yaml written wrong in every way we know: each mistake is reported at load with file, line and
field, never as a traceback and never as a crash later in `watcher run` (issue 14, item 11)."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from click.testing import CliRunner

from watcher.cli import main
from watcher.config.loader import parse_config
from watcher.errors import ConfigError

SOURCE = "- {id: a, name: A, urls: ['http://a.cn/']}\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {cron: '99 * * * *'}}\n", 2, "schedule.cron",
         "higher than the maximum value (59)"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {cron: '*/0 * * * *'}}\n", 2, "schedule.cron",
         "Increment must be higher than 0"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {cron: '0 8 30 2 *'}}\n", 2, "schedule.cron",
         "never runs"),
        ("sources:\n- id: a\n  name: A\n  urls: 5\n", 4, "urls", "urls must be a URL or a list of URLs, not int 5"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], fetch: {timeout: -5}}\n", 2, "fetch.timeout",
         "cannot be negative"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], fetch: {deadline: 0}}\n", 2, "fetch.deadline",
         "greater than 0"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], recheck_after: -3600}\n", 2, "recheck_after",
         "cannot be negative"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {jitter: '-5m'}}\n", 2, "schedule.jitter",
         "cannot be negative"),
        ("sources:\n- {id: a, name: A, urls: ['http://a/'], fetch: {allow_hosts: ['a b']}}\n", 2,
         "fetch.allow_hosts", "not a host name"),
        ("sources:\n" + SOURCE + "- {id: a, name: B, urls: ['http://b/']}\n", 3, "id", "duplicate source id"),
        ("sources:\n- id: a\n  name: A\n  urls: ['http://a/']\n  name: B\n", 5, "name", "written twice (first at line 3)"),
        ("sources:\n- id: a\n  name: A\n  urls: ['http://a/']\n  fetch:\n    retries: 1\n    retries: 5\n", 7,
         "retries", "written twice (first at line 6)"),
        ("sources: []\nchannels:\n- {id: m, type: email, to: [a@b.cn], send_at: '25:99'}\n", 3,
         "channels[0].send_at", "not a time of day"),
        ("sources: []\nchannels:\n- {id: m, type: email, to: [a@b.cn], timezone: Mars/Base}\n", 3,
         "channels[0].timezone", "unknown timezone"),
        ("sources: []\nchannels:\n- {id: m, type: webhook, url_env: X, timeout: -1}\n", 3, "channels[0].timeout",
         "greater than 0"),
        ("sources: []\nchannels:\n- {id: m, type: webhook, url_env: X}\n- {id: m, type: slack, url_env: Y}\n", 4,
         "channels[1].id", "duplicate channel id"),
        ("sources: []\nchannels:\n- id: m\n  type: webhook\n  url_env: X\n  url_env: Y\n", 6, "channels[0].url_env",
         "written twice"),
    ],
)  # fmt: skip
def test_each_mistake_is_reported_with_file_line_and_field(text, line, field, message):
    cfg = parse_config(text, "sources.yaml")
    [err] = cfg.errors
    assert (err.path, err.line, err.field) == ("sources.yaml", line, field), str(err)
    assert message in err.message


def test_the_valid_entries_beside_a_mistake_still_run():
    text = "sources:\n- id: a\n  name: A\n  name: B\n  urls: ['http://a/']\n" + SOURCE.replace("id: a", "id: b")
    text += "channels:\n- {id: m, type: webhook, url_env: X}\n- {id: m, type: slack, url_env: Y}\n"
    cfg = parse_config(text)
    assert [s.id for s in cfg.sources] == ["b"] and [(c.id, c.service) for c in cfg.channels] == [("m", "webhook")]


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [("sources: []\nsources: []\n", 2, "sources"), ("defaults:\n  fetch: {timeout: 5, timeout: 6}\nsources: []\n", 2,
      "timeout")],
)  # fmt: skip
def test_a_key_twice_outside_any_source_refuses_the_file(text, line, field):
    with pytest.raises(ConfigError) as ei:
        parse_config(text, "s.yaml")
    assert (ei.value.line, ei.value.field) == (line, field) and "written twice" in ei.value.message


HOSTILE = [5, -1, 0, 1.5, "x", "", None, True, [], {}, [1], {"a": 1}, "-5s", "99 * * * *", "25:99", [[]], "\x00"]
VALID = {
    "defaults": {
        "fetch": {"timeout": 5, "deadline": "1m"},
        "schedule": {"interval": "2h"},
        "attachments": {"timeout": "1m"},
        "recheck_after": "1d",
        "index": {"storage": "memory"},
        "concurrency": 8,
    },
    "sources": [
        {
            "id": "a",
            "name": "A",
            "urls": ["http://a.cn/"],
            "list": {"item": "li"},
            "detail": {"body": "#z", "remove": [".x"]},
            "pagination": {"pages": 2},
            "schedule": {"cron": "0 8 * * *", "timezone": "Asia/Shanghai"},
            "fetch": {"retries": 1, "allow_hosts": ["b.cn"]},
            "tags": ["x"],
            "recheck_after": "1h",
            "attachments": {"max_files": 3},
            "options": {},
            "kind": "html",
        }
    ],
    "channels": [
        {
            "id": "c",
            "type": "webhook",
            "url_env": "X",
            "filter": {"sources": ["a"], "kinds": ["notice.new"], "min_level": "info"},
            "per_minute": 5,
        },
        {"id": "m", "type": "email", "to": ["a@b.cn"], "send_at": "08:00", "smtp_port": 25, "timezone": "UTC"},
    ],
}


def _paths(node, prefix=()):
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        yield (*prefix, k)
        yield from _paths(v, (*prefix, k))


@pytest.mark.parametrize("path", [(), *_paths(VALID)], ids=lambda p: ".".join(map(str, p)) or "top")
def test_any_value_anywhere_is_a_config_error_never_a_crash(path):
    """Every key of a full configuration, set to each hostile value: a ConfigError or a reported error."""
    for value in HOSTILE:
        doc = copy.deepcopy(VALID)
        if path:
            node = doc
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
        else:
            doc = value
        try:
            cfg = parse_config(yaml.safe_dump(doc, allow_unicode=True), "s.yaml")
        except ConfigError:
            continue
        for src in cfg.sources:  # what passed must be schedulable: `watcher run` builds these
            from watcher.scheduler.service import trigger_for

            trigger_for(src)


def test_sources_validate_reports_without_a_traceback(tmp_path):
    cfg = tmp_path / "sources.yaml"
    cfg.write_text("sources:\n- id: a\n  name: A\n  urls: 5\n- {id: b, name: B, urls: ['http://b/'], "
                   "schedule: {cron: '*/0 * * * *'}}\n", encoding="utf-8")  # fmt: skip
    r = CliRunner().invoke(main, ["-c", str(cfg), "sources", "validate", "--json"])
    assert r.exit_code == 1 and (r.exception is None or isinstance(r.exception, SystemExit))
    problems = json.loads(r.output)["problems"]
    assert [(p["source_id"], p["line"], p["field"]) for p in problems] == [("a", 4, "urls"), ("b", 5, "schedule.cron")]
    r = CliRunner().invoke(main, ["-c", str(cfg), "sources", "validate"])
    assert "Traceback" not in r.output and "urls must be a URL or a list of URLs" in r.output
