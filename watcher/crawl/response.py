"""What a fetch returns, fetched over HTTP or rendered in a browser: the answer, its bytes and their text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import httpx

from watcher.crawl.encoding import decode


@dataclass
class Response:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes = b""
    not_modified: bool = False
    elapsed: float = 0.0
    redirects: list[str] = field(default_factory=list)
    _text: str | None = None
    encoding: str | None = None

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def text(self) -> str:
        if self._text is None:
            self._text, self.encoding = decode(self.content, self.headers.get("content-type"))
        return self._text

    @property
    def body_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()
