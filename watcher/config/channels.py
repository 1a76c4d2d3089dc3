"""Channels: where notices are announced. Configured in the `channels:` section of sources.yaml;
secrets are named by environment variable (`*_env`), never written in the file or logged.
The schema only: `watcher.config.loader` reads the section, with file and line for each error."""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from watcher.errors import ConfigError
from watcher.i18n import Locale


def check_timezone(name: str) -> str:
    """An IANA zone name (Asia/Shanghai); checked at load, not when the first digest is due."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # zoneinfo reads tzdata: only when a config is checked

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None
    return name


TimeZone = Annotated[str, AfterValidator(check_timezone)]


def remember_secret(value: str | None) -> None:
    """Registered for redaction (`watcher.text.redact`), imported when a secret is first read: this schema
    stays a leaf that loads nothing of the project but the error tree."""
    from watcher.text.redact import remember_secret as remember

    remember(value)


LEVELS = {"info": 0, "notice": 1, "important": 2}


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list, description="in title or body")
    relations: list[str] = Field(default_factory=list, description="only notices with such a link, e.g. derived")
    parent_prefix: str | None = Field(default=None, description="…whose parent's 文号 starts so, e.g. 国发")
    kinds: list[str] = Field(default_factory=lambda: ["notice.new", "notice.version", "link.new"])
    min_level: Literal["info", "notice", "important"] = "info"


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    # `type:` in sources.yaml; `service` in Python, the word the notifiers use (services/, service_for).
    service: str = Field(
        alias="type", description="email, or a chat service: webhook, slack, dingtalk, wecom, feishu …"
    )
    enabled: bool = True
    filter: Filter = Filter()
    # webhooks
    url_env: str | None = Field(default=None, description="environment variable holding the webhook URL")
    secret_env: str | None = Field(default=None, description="environment variable holding the signing secret")
    timeout: float = Field(default=10.0, gt=0, description="seconds one post may take in all, answer included")
    retries: int = Field(default=3, ge=0, le=10)
    per_minute: int | None = Field(
        default=None, ge=1, description="sends a minute; default: the service's (DingTalk and WeCom robots allow 20)"
    )
    max_wait: float = Field(
        default=60.0, ge=0, description="seconds a send may wait for the rate limit; beyond, a batch is one summary"
    )
    summary_above: int | None = Field(
        default=None, ge=1, description="notices above which a batch is one summary message; default: the service's"
    )
    # email
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    verify_tls: bool = True
    sender: str = "policy-watcher@localhost"
    to: list[str] = Field(default_factory=list)
    send_at: str = Field(default="08:00", pattern=r"^\d{2}:\d{2}$")
    timezone: TimeZone = "Asia/Shanghai"
    empty: Literal["skip", "short"] = "skip"
    locale: Locale | None = Field(default=None, description="this channel's language; default: defaults.locale")

    @field_validator("send_at")
    @classmethod
    def _time_of_day(cls, v: str) -> str:
        hour, minute = map(int, v.split(":"))
        if hour > 23 or minute > 59:
            raise ValueError(f"not a time of day: {v!r} (use HH:MM, 00:00 to 23:59)")
        return v

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for a in v:
            if "@" not in a:
                raise ValueError(f"not an email address: {a!r}")
        return v

    def secret(self, name: str | None) -> str | None:
        if not name:
            return None
        value = os.environ.get(name)
        if value is None:
            raise ConfigError(f"environment variable {name} is not set", field=name)
        remember_secret(value)  # from here on, no log line or stored error shows it
        return value

    def remember_secrets(self) -> None:
        """Register the channel's secrets that are set (webhook URL, signing secret, SMTP password) for
        redaction, before anything that may print them (a status, a stored error) is shown."""
        for name in (self.url_env, self.secret_env, self.password_env):
            if name:
                remember_secret(os.environ.get(name))
