"""The exception tree. Every error carries the source id and URL it belongs to.

    WatcherError
    ├── ConfigError          sources.yaml is malformed or a field is invalid
    ├── FetchError           the page could not be fetched
    │   ├── HTTPStatusError  the server answered 4xx/5xx
    │   ├── FetchTimeout     connect/read timed out
    │   ├── TooLarge         the body exceeds the size limit
    │   └── RobotsDisallowed robots.txt forbids the URL
    ├── ExtractError         the page was fetched but could not be read
    └── NotFoundError        a notice, channel or source named by the user does not exist
"""
from __future__ import annotations


class WatcherError(Exception):
    """Base of all Policy Watcher errors."""

    def __init__(self, message: str, *, source_id: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.source_id = source_id
        self.url = url

    def __str__(self) -> str:
        where = []
        if self.source_id:
            where.append(f"source {self.source_id}")
        if self.url:
            where.append(self.url)
        return f"[{' '.join(where)}] {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message,
                "source_id": self.source_id, "url": self.url}


class ConfigError(WatcherError):
    """A configuration problem, with the file, line and field when known."""

    def __init__(self, message: str, *, source_id: str | None = None, field: str | None = None,
                 path: str | None = None, line: int | None = None):
        super().__init__(message, source_id=source_id)
        self.field = field
        self.path = path
        self.line = line

    def __str__(self) -> str:
        loc = self.path or "sources.yaml"
        if self.line is not None:
            loc += f":{self.line}"
        parts = [loc]
        if self.source_id:
            parts.append(f"source {self.source_id!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return f"{', '.join(parts)}: {self.message}"


class FetchError(WatcherError):
    """The page could not be fetched; retried on the next run."""

    retryable = True


class HTTPStatusError(FetchError):
    def __init__(self, message: str, *, status: int, **kw):
        super().__init__(message, **kw)
        self.status = status
        self.retryable = status >= 500 or status in (408, 429)


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    retryable = False


class RobotsDisallowed(FetchError):
    retryable = False


class ExtractError(WatcherError):
    """The page was fetched but its content could not be read."""


class NotFoundError(WatcherError):
    """A notice, version, channel or source that the caller named does not exist (the CLI's exit 1,
    the web view's 404). The message says what was looked for, in the reader's words."""
