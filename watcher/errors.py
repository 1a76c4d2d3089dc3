"""The exception tree. Every error carries the source id and URL it belongs to, when it has them.

    WatcherError
    ├── ConfigError          sources.yaml is malformed or a field is invalid
    ├── FetchError           the page could not be fetched
    │   ├── HTTPStatusError  the server answered 4xx/5xx
    │   ├── FetchTimeout     connect/read timed out
    │   ├── TooLarge         the body exceeds the size limit
    │   ├── RobotsDisallowed robots.txt forbids the URL
    │   ├── HostRefused      the URL's host or address is not one the source may reach
    │   ├── NeedsBrowser     the answer is a script and no content: set fetch: {browser: true}
    │   └── BrowserMissing   the source wants a browser and Playwright or Chromium is not installed
    ├── ExtractError         the page was fetched but could not be read
    ├── NotFoundError        a notice, channel or source named by the user does not exist
    ├── DeliveryError        a notification service refused or did not answer
    └── ParamsMismatch       two MinHash signatures (or a signature and an index) have other parameters

`retryable` (FetchError, DeliveryError) says whether trying again can help; for HTTP answers it
follows the one rule in `watcher.crawl.retry`. The code that raises knows the URL; the code that
knows the source wraps the work in `error_context(source_id=...)`, as httpx's `request_context()`
attaches the request, so the source id is not threaded through every call only to reach an error.
"""

from __future__ import annotations

from types import TracebackType

from watcher.crawl.retry import RETRYABLE_STATUS


def redact(text: str) -> str:
    """`watcher.text.redact.redact`, imported late: the schemas import this tree and stay leaves that load
    nothing else of the project (tests/test_config.py), and an error is rarely printed."""
    from watcher.text.redact import redact as _redact

    return _redact(text)


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
        # Printed and stored: a URL's token or a service's echo of one never leaves in the text.
        return redact(f"[{' '.join(where)}] {self.message}" if where else self.message)

    def as_dict(self) -> dict:
        return {
            "error": type(self).__name__,
            "message": redact(self.message),
            "source_id": self.source_id,
            "url": redact(self.url) if self.url else self.url,
        }


class ConfigError(WatcherError):
    """A configuration problem, with the file, line and field when known."""

    def __init__(
        self,
        message: str,
        *,
        source_id: str | None = None,
        field: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ):
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

    retryable: bool = True


class HTTPStatusError(FetchError):
    def __init__(self, message: str, *, status: int, source_id: str | None = None, url: str | None = None):
        super().__init__(message, source_id=source_id, url=url)
        self.status = status
        self.retryable = status in RETRYABLE_STATUS


class FetchTimeout(FetchError):
    pass


class TooLarge(FetchError):
    retryable: bool = False


class RobotsDisallowed(FetchError):
    retryable: bool = False


class HostRefused(FetchError):
    """Not fetched: the host is not the source's own nor listed in `fetch.allow_hosts`, or its address is
    link-local, a cloud metadata address, or private while the source itself is public."""

    retryable: bool = False


class NeedsBrowser(FetchError):
    """The page answered with a script and no content (a script check that sets a cookie and reloads):
    an HTTP client cannot read it, a browser can (`watcher.crawl.challenge` holds the rule)."""

    retryable: bool = False
    code = "needs_browser"
    hint = "needs a browser: set fetch: {browser: true} for this source in sources.yaml"
    MESSAGE = "需要浏览器抓取：在 sources.yaml 中为该来源设置 fetch: {browser: true}"

    def __init__(self, status: int, *, source_id: str | None = None, url: str | None = None):
        super().__init__(f"{self.MESSAGE}（HTTP {status}，页面只有脚本，没有内容）", source_id=source_id, url=url)
        self.status = status


class BrowserMissing(FetchError):
    """A source has `fetch: {browser: true}` and the browser cannot be started: the message says what to install."""

    retryable: bool = False
    code = "browser_missing"


class ExtractError(WatcherError):
    """The page was fetched but its content could not be read."""


class NotFoundError(WatcherError):
    """A notice, version, channel or source that the caller named does not exist (the CLI's exit 1,
    the web view's 404). The message says what was looked for, in the reader's words."""


class DeliveryError(WatcherError):
    """The service refused or did not answer; `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, channel: str, retryable: bool = True):
        super().__init__(redact(message))  # stored as the delivery's last_error: no token in it
        self.channel = channel
        self.retryable = retryable

    def __str__(self) -> str:
        return redact(f"[channel {self.channel}] {self.message}")


class ParamsMismatch(WatcherError):
    """Two signatures (or a signature and an index) were made with different parameters."""


class error_context:  # noqa: N801 - used like a function, as contextlib.suppress is
    """Attach source_id and url to a WatcherError raised inside that does not carry them yet.

    `with error_context(source_id=...):`, or in an `async with` beside an async resource. The error
    keeps what its raiser or a nearer context already set, so the innermost context wins.
    """

    def __init__(self, *, source_id: str | None = None, url: str | None = None):
        self.source_id = source_id
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, WatcherError):
            if exc.source_id is None:
                exc.source_id = self.source_id
            if exc.url is None:
                exc.url = self.url
        # Returns None: never swallows, the error goes on, only better labelled.

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)
