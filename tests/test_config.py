"""sources.yaml validation: clear messages naming file, line, source and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from watcher.config.settings import load_config, parse_config
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
    text = GOOD + """  - id: c
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
    assert {"gov-cn-zxzc", "jiangsu-szfwj", "lianyungang-zfwj", "huaian-zfwj", "jiangxi-szfwj",
            "shantou-szfwj"} <= {s.id for s in cfg.sources}
