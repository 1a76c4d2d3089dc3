"""sources.yaml: value objects with explicit defaults, and a loader that names file, line and field.

A source that fails validation is reported and left out; the others still run.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from watcher.attachments.reader import AttachmentSettings
from watcher.errors import ConfigError

DEFAULT_USER_AGENT = "PolicyWatcher/0.1 (+policy notice monitor; contact: admin@localhost)"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """'90s', '15m', '2h', '1d' or a number of seconds -> seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 2h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FetchSettings(_Model):
    """Politeness and limits for HTTP; defaults are polite, a source may override any of them."""
    timeout: float = 20.0
    connect_timeout: float = 10.0
    retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(1.0, ge=0)
    min_delay: float = Field(1.0, ge=0, description="seconds between two requests to one host")
    per_host_concurrency: int = Field(2, ge=1, le=32)
    max_body_bytes: int = Field(10_000_000, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    user_agent: str = DEFAULT_USER_AGENT
    robots: bool = True
    verify_tls: bool = True

    @field_validator("timeout", "connect_timeout", "backoff", "min_delay", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)


DEFAULT_INTERVAL = 7200.0   # seconds, when a source names neither an interval nor a cron


class Schedule(_Model):
    interval: float | None = None
    cron: str | None = None
    timezone: str = "Asia/Shanghai"
    jitter: float = 300.0

    @property
    def every(self) -> float:
        return self.interval or DEFAULT_INTERVAL

    @field_validator("interval", "jitter", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return None if v is None else parse_duration(v)

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        if v is not None and len(v.split()) != 5:
            raise ValueError("cron needs five fields: minute hour day month weekday")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}") from None
        return v

    @model_validator(mode="after")
    def _one_of(self) -> "Schedule":
        if self.interval is not None and self.cron is not None:
            raise ValueError("give either interval or cron, not both")
        if self.interval is not None and self.interval < 60:
            raise ValueError("interval must be at least 60s")
        return self

    @property
    def effective_interval(self) -> float | None:
        return self.interval if self.cron is None else None


class Pagination(_Model):
    pages: int = Field(1, ge=1, le=500)
    next: str | None = Field(None, description="CSS selector of the next-page link")
    next_text: str = "下一页"
    template: str | None = Field(None, description="URL of page n, e.g. index_{n}.html (n from start)")
    start: int = 1


class ListSelectors(_Model):
    item: str | None = None
    link: str = "a"
    title: str | None = None
    date: str | None = None
    region: str | None = Field(None, description="element whose content is hashed to skip unchanged lists")


class DetailSelectors(_Model):
    title: str | None = None
    body: str | None = None
    meta: str | None = None
    remove: list[str] = Field(default_factory=list)


class Source(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str
    region: str | None = None
    issuer: str | None = None
    kind: str = "html"
    urls: list[str] = Field(min_length=1)
    listing: ListSelectors = Field(ListSelectors(), alias="list")
    detail: DetailSelectors = DetailSelectors()
    pagination: Pagination = Pagination()
    schedule: Schedule = Schedule(interval=7200)
    fetch: FetchSettings = FetchSettings()
    enabled: bool = True
    tags: list[str] = Field(default_factory=list)
    recheck_after: float = 86400.0
    recheck_limit: int = Field(50, ge=0, description="known detail pages re-fetched per run at most")
    attachments: AttachmentSettings = AttachmentSettings()
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("urls", mode="before")
    @classmethod
    def _urls(cls, v: Any) -> list[str]:
        v = [v] if isinstance(v, str) else v
        for u in v or []:
            if not _HTTP_URL.match(str(u)):
                raise ValueError(f"not an http(s) URL: {u!r}")
        return v

    @field_validator("recheck_after", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


class IndexSettings(_Model):
    """Where the MinHash LSH index lives: rebuilt in memory at start, or kept in Redis."""
    storage: str = Field("memory", pattern="^(memory|redis)$")
    redis_url: str | None = None


class Defaults(_Model):
    fetch: FetchSettings = FetchSettings()
    schedule: Schedule = Schedule(interval=7200)
    concurrency: int = Field(32, ge=1, le=1024, description="requests in flight across all hosts")
    recheck_after: float = 86400.0
    database_url: str | None = None
    index: IndexSettings = IndexSettings()
    attachments: AttachmentSettings = AttachmentSettings()

    @field_validator("recheck_after", mode="before")
    @classmethod
    def _dur(cls, v: Any) -> float:
        return parse_duration(v)


@dataclass
class Config:
    path: Path | None
    defaults: Defaults
    sources: list[Source]
    errors: list[ConfigError] = field(default_factory=list)
    channels: list = field(default_factory=list)

    def get(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"no such source (known: {known})", source_id=source_id,
                          path=str(self.path) if self.path else None)

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]


def _line_of(node: Any, loc: tuple) -> int | None:
    """1-based line of the deepest key in loc that ruamel can place."""
    line = None
    for key in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(key, int):
                line = lc.item(key)[0] + 1
            else:
                line = lc.key(key)[0] + 1
        except (KeyError, IndexError, TypeError):
            break
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _first_error(exc: ValidationError) -> tuple[tuple, str]:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return loc, msg


class _Lines:
    """Line numbers for error messages. The fast C loader keeps none, so the round-trip loader
    re-reads the text only when an error needs placing."""

    def __init__(self, text: str):
        self.text = text
        self._doc: Any = None

    def __call__(self, loc: tuple) -> int | None:
        if self._doc is None:
            try:
                self._doc = YAML(typ="rt").load(self.text) or {}
            except YAMLError:
                return None
        return _line_of(self._doc, loc)


def parse_config(text: str, path: str | Path | None = None) -> Config:
    """Parse sources.yaml text. Raises ConfigError only when nothing can be read at all."""
    where = str(path) if path else None
    try:
        # libyaml is ten times faster than the pure-Python round-trip loader on a large file.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError:
        try:
            data = YAML(typ="rt").load(text) or {}
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=where,
                              line=mark.line + 1 if mark else None) from None
    line_of = _Lines(text)
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping with 'defaults' and 'sources'", path=where)
    unknown = set(data) - {"defaults", "sources", "channels"}
    if unknown:
        k = sorted(unknown)[0]
        raise ConfigError("unknown top-level key", field=k, path=where, line=line_of((k,)))
    raw_defaults = data.get("defaults") or {}
    try:
        defaults = Defaults.model_validate(raw_defaults)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise ConfigError(msg, field="defaults." + ".".join(map(str, loc)), path=where,
                          line=line_of(("defaults", *loc))) from None
    base = {"fetch": raw_defaults.get("fetch") or {}, "schedule": raw_defaults.get("schedule") or {},
            "attachments": raw_defaults.get("attachments") or {}}
    if "recheck_after" in raw_defaults:
        base["recheck_after"] = raw_defaults["recheck_after"]
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError("'sources' must be a list", field="sources", path=where, line=line_of(("sources",)))
    from watcher.extract.kinds import kind_class, known_kinds  # late: kinds imports config
    kinds = known_kinds()
    sources: list[Source] = []
    errors: list[ConfigError] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_sources):
        if not isinstance(raw, dict):
            errors.append(ConfigError("each source must be a mapping", path=where, line=line_of(("sources", i))))
            continue
        sid = raw.get("id")
        merged = _merge(base, raw)
        own_schedule = raw.get("schedule") or {}
        if isinstance(own_schedule, dict) and isinstance(merged.get("schedule"), dict):
            # A source's own cron replaces an inherited interval, and the other way round.
            for mine, other in (("cron", "interval"), ("interval", "cron")):
                if mine in own_schedule and other not in own_schedule:
                    merged["schedule"].pop(other, None)
        try:
            src = Source.model_validate(merged)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            errors.append(ConfigError(msg, source_id=sid, field=".".join(map(str, loc)), path=where,
                                      line=line_of(("sources", i, *loc)) or line_of(("sources", i))))
            continue
        if src.id in seen:
            errors.append(ConfigError("duplicate source id", source_id=src.id, field="id", path=where,
                                      line=line_of(("sources", i, "id"))))
            continue
        if src.kind not in kinds:
            errors.append(ConfigError(f"unknown kind {src.kind!r} (known: {', '.join(kinds)})",
                                      source_id=src.id, field="kind", path=where,
                                      line=line_of(("sources", i, "kind"))))
            continue
        try:
            kind_class(src.kind).Options.model_validate(src.options)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            errors.append(ConfigError(f"{msg} (kind {src.kind})", source_id=src.id,
                                      field=".".join(map(str, ("options", *loc))), path=where,
                                      line=line_of(("sources", i, "options", *loc)) or line_of(("sources", i))))
            continue
        seen.add(src.id)
        sources.append(src)
    from watcher.config.channels import load_channels  # late: notifiers build on watcher
    channels, channel_errors = load_channels(data.get("channels"))
    for err in channel_errors:
        err.path = where
    return Config(path=Path(path) if path else None, defaults=defaults, sources=sources,
                  errors=errors + channel_errors, channels=channels)


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=str(p)) from None
    return parse_config(text, p)

