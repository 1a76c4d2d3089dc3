"""sources.yaml validation: clear messages naming file, line, source and field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.config.loader import load_config, parse_config
from watcher.errors import ConfigError

GOOD = """
defaults:
  fetch: {min_delay: 2s, timeout: 30}
  schedule: {interval: 1h}
sources:
  - id: a
    name: A
    urls: [http://a.gov.cn/list.html]
    schedule: {cron: "0 8 * * *"}
    fetch: {timeout: 5s}
  - id: b
    name: B
    urls: http://b.gov.cn/
    enabled: false
"""


def test_defaults_merge_into_sources():
    cfg = parse_config(GOOD)
    a, b = cfg.sources
    assert (a.fetch.timeout, a.fetch.min_delay) == (5.0, 2.0)
    assert (a.schedule.cron, a.schedule.interval, a.schedule.timezone) == ("0 8 * * *", None, "Asia/Shanghai")
    assert (b.schedule.interval, b.urls, b.enabled) == (3600.0, ["http://b.gov.cn/"], False)
    assert [s.id for s in cfg.enabled] == ["a"] and cfg.errors == []


def test_bad_source_is_reported_with_line_and_field_and_others_survive():
    text = (
        GOOD
        + """  - id: c
    name: C
    urls: [ftp://c.gov.cn/]
  - id: d
    name: D
    urls: [http://d.gov.cn/]
    fetch: {min_delay: soon}
  - id: a
    name: dup
    urls: [http://x.gov.cn/]
  - id: e
    name: E
    kind: nosuchkind
    urls: [http://e.gov.cn/]
  - id: f
    name: F
    urls: [http://f.gov.cn/]
    colour: red
"""
    )
    cfg = parse_config(text, "sources.yaml")
    assert [s.id for s in cfg.sources] == ["a", "b"]
    msgs = {e.source_id: e for e in cfg.errors}
    assert msgs["c"].field == "urls" and "ftp://c.gov.cn/" in str(msgs["c"]) and msgs["c"].line == 17
    assert msgs["d"].field == "fetch.min_delay" and "not a duration" in str(msgs["d"]) and msgs["d"].line == 21
    assert "duplicate" in str(msgs["a"])
    assert msgs["e"].field == "kind" and "nosuchkind" in str(msgs["e"])
    assert msgs["f"].field == "colour" and "unknown field" in str(msgs["f"])
    assert str(msgs["c"]).startswith("sources.yaml:17, source 'c', field 'urls'")


def test_malformed_yaml_names_the_line(tmp_path):
    p = tmp_path / "sources.yaml"
    p.write_text("sources:\n  - id: a\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert "not valid YAML" in str(ei.value) and str(p) in str(ei.value) and ei.value.line


def test_schedule_rules():
    with pytest.raises(ConfigError, match="at least 60s"):
        parse_config("defaults: {schedule: {interval: 10s}}\nsources: []")
    cfg = parse_config("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {cron: '* *'}}\n")
    assert cfg.errors[0].field == "schedule.cron"
    cfg = parse_config("sources:\n- {id: a, name: A, urls: ['http://a/'], schedule: {timezone: Mars/Base}}\n")
    assert "unknown timezone" in str(cfg.errors[0])


def test_shipped_sources_yaml_is_valid():
    cfg = load_config(Path(__file__).parents[1] / "sources.yaml")
    assert cfg.errors == [] and len(cfg.sources) >= 6
    assert {"gov-cn-zxzc", "jiangsu-szfwj", "lianyungang-zfwj", "huaian-zfwj", "jiangxi-szfwj", "shantou-szfwj"} <= {
        s.id for s in cfg.sources
    }


CHANNELS = """sources: []
channels:
  - id: team
    type: dingtalk
  - id: mail
    type: email
    to: [not-an-address]
  - id: chat
    type: slack
    url_env: SLACK_URL
    colour: red
"""


def test_channel_errors_name_file_and_line():
    cfg = parse_config(CHANNELS, "s2.yaml")
    assert [(e.field, e.line) for e in cfg.errors] == [
        ("channels[0].url_env", 3),
        ("channels[1].to", 7),
        ("channels[2].colour", 11),
    ]
    assert str(cfg.errors[0]) == "s2.yaml:3, field 'channels[0].url_env': webhook channels need url_env"
    assert "not an email address" in str(cfg.errors[1]) and "unknown field" in str(cfg.errors[2])
    assert cfg.channels == []


def test_sources_validate_prints_the_channel_line(tmp_path):
    from click.testing import CliRunner

    from watcher.cli import main

    path = tmp_path / "s2.yaml"
    path.write_text(CHANNELS, encoding="utf-8")
    r = CliRunner().invoke(main, ["-c", str(path), "sources", "validate"])
    assert r.exit_code == 1 and f"{path}:3 " in r.output and ":None" not in r.output
    r = CliRunner().invoke(main, ["-c", str(path), "sources", "validate", "--json"])
    assert [p["line"] for p in json.loads(r.output)["problems"]] == [3, 7, 11]


def test_channels_that_are_not_a_list_are_reported_and_sources_still_load():
    cfg = parse_config("sources:\n- {id: a, name: A, urls: ['http://a/']}\nchannels: {id: x}\n", "s.yaml")
    assert [s.id for s in cfg.sources] == ["a"]
    assert [(e.field, e.line) for e in cfg.errors] == [("channels", 3)]


def test_every_duration_field_reads_units():
    cfg = parse_config("""
defaults:
  fetch: {timeout: 1m, connect_timeout: 5s, backoff: 500ms, min_delay: 2s}
  schedule: {interval: 2h, jitter: 1m}
  recheck_after: 1d
  attachments: {timeout: 2m}
sources:
  - {id: a, name: A, urls: ['http://a/'], recheck_after: 12h}
""")
    d, [a] = cfg.defaults, cfg.sources
    assert (d.fetch.timeout, d.fetch.connect_timeout, d.fetch.backoff, d.fetch.min_delay) == (60, 5, 0.5, 2)
    assert (d.schedule.interval, d.schedule.jitter, d.recheck_after, d.attachments.timeout) == (7200, 60, 86400, 120)
    assert (a.recheck_after, a.schedule.interval, a.attachments.timeout, a.fetch.backoff) == (43200, 7200, 120, 0.5)
    cfg = parse_config("sources:\n- {id: a, name: A, urls: ['http://a/'], attachments: {timeout: later}}\n")
    assert cfg.errors[0].field == "attachments.timeout" and "not a duration" in str(cfg.errors[0])


def test_settings_and_channels_are_leaves():
    """The schemas import nothing from the project but the error tree and the locale names: every stage may import
    them."""
    code = (
        "import json, sys, watcher.config.settings, watcher.config.channels; "
        "print(json.dumps([m for m in sys.modules if m.split('.')[0] in ('watcher', 'storage', 'notifiers')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(json.loads(out)) <= {
        "watcher",
        "watcher.config",
        "watcher.config.settings",
        "watcher.config.channels",
        "watcher.errors",
        "watcher.crawl",
        "watcher.crawl.retry",
        "watcher.i18n",
    }


def test_a_channels_service_is_named_by_its_type_key():
    """Python says `service`; sources.yaml keeps `type:`, and a `service:` key is not a second spelling."""
    cfg = parse_config(
        "sources: []\nchannels:\n- {id: d, type: dingtalk, url_env: D}\n- {id: s, service: slack, url_env: S}\n",
        "sources.yaml",
    )
    assert [(c.id, c.service) for c in cfg.channels] == [("d", "dingtalk")]
    assert [(e.field, e.line) for e in cfg.errors] == [("channels[1].type", 4)]
