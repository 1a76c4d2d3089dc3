"""Secrets out of every line a person or a table sees: log records, stored delivery errors, `watcher status`.

Webhook URLs are credentials (DingTalk's `access_token`, WeCom's `key`, the Slack `/services/…` and
Feishu `/hook/…` paths), and httpx logs every request's full URL at INFO — the level the shipped
systemd unit runs at. Two layers:

- values known to be secret are remembered when they are read (`remember_secret`: the channel's
  webhook URL, signing secret, SMTP password) and replaced wherever they appear;
- patterns catch what was never registered: secret-named query parameters, userinfo passwords and
  the path segments chat services put their tokens in.

`RedactingFilter` applies both to every record a logging handler emits; `install_redaction()` puts it
on the root handlers where logging is configured.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import urlsplit

MASK = "***"

# Query parameter names that carry credentials, alone or as the end of a longer name (api_key, x-token).
_SECRET_NAMES = (
    r"access_token|token|key|apikey|sign|signature|sig|secret|password|passwd|pwd|auth|authorization|credential"
    r"|client_secret|session|sessionid"
)
_QUERY = re.compile(rf"([?&;](?:[\w.\-]*[_\-.])?(?:{_SECRET_NAMES})=)[^&;#\s\"'<>]+", re.IGNORECASE)
# Tokens in the path: Slack /services/T…/B…/token, Feishu and Lark /hook/<uuid>, Discord /webhooks/<id>/<token>.
_PATHS = (
    re.compile(r"(/services/)[^/\s?#\"'<>]+/[^/\s?#\"'<>]+/[^\s?#\"'<>]+"),
    re.compile(r"(/hook/)[^\s?#\"'<>/]+"),
    re.compile(r"(/webhooks/)[^\s?#\"'<>]+"),
)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:)[^@\s/]+(@)", re.IGNORECASE)

_TOKEN_PATH = 16  # a webhook path this long is taken for a token (/services/T…/B…/…, /bot/v2/hook/<uuid>)
_known: set[str] = set()
_known_sorted: list[str] = []
_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Redact `value` wherever it appears from now on. Of a URL, the parts that carry a credential are
    remembered — its query, and its path when long enough to be a token (Slack's, Feishu's) — so a log
    line still says which service was called (`https://oapi.dingtalk.com/robot/send?***`)."""
    if not value or len(value) < 6:  # too short to be a credential, too common to mask everywhere
        return
    parts = urlsplit(value) if "://" in value else None
    if parts is None or not parts.netloc:
        secrets = [value]
    else:
        query = "?" + parts.query if parts.query else ""
        secrets = [query] if len(query) >= 8 else []
        if len(parts.path) >= _TOKEN_PATH:
            secrets.append(parts.path + query)
    global _known_sorted
    with _lock:
        fresh = [s for s in secrets if s not in _known]
        if fresh:
            _known.update(fresh)
            # Longest first, so a URL is masked whole before a shorter secret inside it.
            _known_sorted = sorted(_known, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every known secret and every secret-looking URL part replaced by ***."""
    if not text:
        return text
    for secret in _known_sorted:
        if secret in text:
            text = text.replace(secret, (secret[0] if secret[0] in "/?" else "") + MASK)
    text = _QUERY.sub(rf"\1{MASK}", text)
    for pattern in _PATHS:
        text = pattern.sub(rf"\1{MASK}", text)
    return _USERINFO.sub(rf"\1{MASK}\2", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its traceback) with the secrets masked. On a handler, it sees
    every record the handler emits, httpx's and the libraries' included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is logging's problem to report, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_redaction(logger: logging.Logger | None = None) -> None:
    """Put a RedactingFilter on every handler of `logger` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
