"""sources.yaml as value objects: every schema, with explicit defaults, and the `Config` it loads into.

A leaf: it imports nothing from the project but the error tree and the channel schema, so every stage
can take its settings from here. Reading the file (YAML, line numbers, the kinds registry) is
`watcher.config.loader`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from watcher.config.channels import Channel, TimeZone
from watcher.errors import ConfigError
from watcher.i18n import Locale

DEFAULT_USER_AGENT = "PolicyWatcher/0.1 (+policy notice monitor; contact: admin@localhost)"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """'90s', '15m', '2h', '1d' or a number of seconds -> seconds; never negative."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a duration cannot be negative: {value!r}")
        return float(value)
    if str(value).strip().startswith("-"):
        raise ValueError(f"a duration cannot be negative: {value!r}")
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 15m, 2h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def check_cron(expr: str) -> str:
    """A crontab line `watcher run` can schedule: five fields, each in range, and a next run at all."""
    if len(expr.split()) != 5:
        raise ValueError("cron needs five fields: minute hour day month weekday")
    # Late: APScheduler is needed only where a cron is written, and it is the scheduler's own reading.
    from datetime import UTC, datetime

    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(expr, timezone=UTC)
    except ValueError as exc:
        raise ValueError(f"invalid cron {expr!r}: {exc}") from None
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError(f"cron {expr!r} never runs")
    return expr


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in sources.yaml as a number or as '90s', '15m', '2h', '1d'."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9_\-.:\[\]]+$")


class FetchSettings(_Model):
    """Politeness and limits for HTTP; defaults are polite, a source may override any of them."""

    timeout: Duration = Field(default=20.0, gt=0, description="seconds one read may wait")
    connect_timeout: Duration = Field(default=10.0, gt=0)
    deadline: Duration = Field(
        default=120.0, gt=0, description="seconds one request may take in all: connect, headers and body"
    )
    retries: int = Field(default=2, ge=0, le=10)
    backoff: Duration = Field(default=1.0, ge=0)
    min_delay: Duration = Field(default=1.0, ge=0, description="seconds between two requests to one host")
    per_host_concurrency: int = Field(default=2, ge=1, le=32)
    max_body_bytes: int = Field(default=10_000_000, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = DEFAULT_USER_AGENT
    robots: bool = True
    verify_tls: bool = True
    allow_hosts: list[str] = Field(
        default_factory=list, description="hosts besides the source's own that may be fetched; *.example.cn for all"
    )
    # The hosts of the source's own urls, set by `Source`: not written in sources.yaml, not dumped.
    _home: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("allow_hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        for h in v:
            if not _HOST.match(h) or "*" in h[2:]:
                raise ValueError(f"not a host name: {h!r} (write example.gov.cn or *.example.gov.cn)")
        return v

    @property
    def home_hosts(self) -> tuple[str, ...]:
        """The hosts of the source's own URLs (empty for settings made outside a source)."""
        return self._home

    def for_urls(self, urls: list[str]) -> FetchSettings:
        """These settings for a source whose own URLs are `urls`."""
        copy = self.model_copy()
        copy._home = tuple(dict.fromkeys(h for u in urls if (h := _host_of(u))))
        return copy


def _host_of(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


DEFAULT_INTERVAL = 7200.0  # seconds, when a source names neither an interval nor a cron


class Schedule(_Model):
    interval: Duration | None = None
    cron: str | None = None
    timezone: TimeZone = "Asia/Shanghai"
    jitter: Duration = 300.0

    @property
    def every(self) -> float:
        return self.interval or DEFAULT_INTERVAL

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str | None) -> str | None:
        return None if v is None else check_cron(v)

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if self.interval is not None and self.cron is not None:
            raise ValueError("give either interval or cron, not both")
        if self.interval is not None and self.interval < 60:
            raise ValueError("interval must be at least 60s")
        return self


class Pagination(_Model):
    pages: int = Field(default=1, ge=1, le=500)
    next: str | None = Field(default=None, description="CSS selector of the next-page link")
    next_text: str = "下一页"
    template: str | None = Field(default=None, description="URL of page n, e.g. index_{n}.html (n from start)")
    start: int = 1


class ListSelectors(_Model):
    item: str | None = None
    link: str = "a"
    title: str | None = None
    date: str | None = None
    region: str | None = Field(default=None, description="element whose content is hashed to skip unchanged lists")


class DetailSelectors(_Model):
    title: str | None = None
    body: str | None = None
    meta: str | None = None
    remove: list[str] = Field(default_factory=list)


class AttachmentSettings(_Model):
    """Per source (`attachments:` in sources.yaml); the defaults suit government portals."""

    enabled: bool = True
    max_files: int = Field(default=10, ge=0, le=100, description="attachments read per notice")
    max_bytes: int = Field(default=30_000_000, ge=1024, description="largest file downloaded")
    max_pages: int = Field(default=300, ge=1)
    timeout: Duration = Field(default=60.0, gt=0, description="seconds to extract one file's text")
    max_memory: int = Field(default=1_000_000_000, ge=50_000_000, description="bytes the extracting process may use")


class Source(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str
    region: str | None = None
    issuer: str | None = None
    kind: str = "html"
    urls: list[str] = Field(min_length=1)
    listing: ListSelectors = Field(default=ListSelectors(), alias="list")
    detail: DetailSelectors = DetailSelectors()
    pagination: Pagination = Pagination()
    schedule: Schedule = Schedule(interval=7200)
    fetch: FetchSettings = FetchSettings()
    enabled: bool = True
    tags: list[str] = Field(default_factory=list)
    recheck_after: Duration = 86400.0
    recheck_limit: int = Field(default=50, ge=0, description="known detail pages re-fetched per run at most")
    attachments: AttachmentSettings = AttachmentSettings()
    options: dict[str, Any] = Field(default_factory=dict)
    baseline: bool = Field(
        default=True, description="the first successful poll records what is listed without alerting"
    )

    @field_validator("urls", mode="before")
    @classmethod
    def _urls(cls, v: Any) -> list[str]:
        v = [v] if isinstance(v, str) else v
        if not isinstance(v, list):
            raise ValueError(f"urls must be a URL or a list of URLs, not {type(v).__name__} {v!r}")
        for u in v:
            if not _HTTP_URL.match(str(u)):
                raise ValueError(f"not an http(s) URL: {u!r}")
        return v

    @model_validator(mode="after")
    def _scope(self) -> Source:
        # The fetcher follows links only to these hosts (and fetch.allow_hosts): see watcher.crawl.hosts.
        # Frozen model: set once, here, while it is being built.
        object.__setattr__(self, "fetch", self.fetch.for_urls(self.urls))
        return self


class IndexSettings(_Model):
    """Where the MinHash LSH index lives: rebuilt in memory at start, or kept in Redis."""

    storage: str = Field(default="memory", pattern="^(memory|redis)$")
    redis_url: str | None = None


class Defaults(_Model):
    fetch: FetchSettings = FetchSettings()
    schedule: Schedule = Schedule(interval=7200)
    concurrency: int = Field(default=32, ge=1, le=1024, description="requests in flight across all hosts")
    recheck_after: Duration = 86400.0
    database_url: str | None = None
    index: IndexSettings = IndexSettings()
    attachments: AttachmentSettings = AttachmentSettings()
    timezone: TimeZone = Field(default="Asia/Shanghai", description="the clock times are shown in (terminal, web)")
    locale: Locale = Field(default="zh_CN", description="the language people read: zh_CN (default) or en")
    web_url: str | None = Field(
        default=None,
        description="the public base URL of `watcher serve`; notice pages are {web_url}/notices/{id}",
    )


@dataclass
class Config:
    path: Path | None
    defaults: Defaults
    sources: list[Source]
    errors: list[ConfigError] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)

    def get(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(
            f"no such source (known: {known})", source_id=source_id, path=str(self.path) if self.path else None
        )

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]
