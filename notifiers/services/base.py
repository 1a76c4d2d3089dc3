"""Chat services: one class per service owns its message format, byte limit, signing, answer check and
default rate limit. Channels name a service by `type`; a new service is one class registered by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # type-only: the config loader lists the services, and must not pull in the storage layer
    import httpx

    from notifiers.items import Item

_REGISTRY: dict[str, type[ChatService]] = {}


def register(name: str) -> Callable[[type[ChatService]], type[ChatService]]:
    def deco(cls: type[ChatService]) -> type[ChatService]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def known_services() -> list[str]:
    return sorted(_REGISTRY)


def service_for(name: str) -> ChatService:
    """The service a channel's `type` names (KeyError names the known ones)."""
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"no chat service {name!r} (known: {', '.join(known_services())})") from None


@dataclass
class Signed:
    """A request ready to post: the signature goes in the URL, the body or a header, depending on the service."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    """The service answered, and said no; `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def encode(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class ChatService:
    """A chat service: `format` builds one message body, `messages` splits a batch within `limit`.

    Subclasses set `limit` and override `format`; `sign`, `check` and `default_rate` when the
    service has them.
    """

    name: ClassVar[str] = ""
    limit: ClassVar[int] = 1_000_000  # bytes of the serialised body the service accepts (with a margin)
    max_items: ClassVar[int | None] = None  # a count limit besides the byte limit (Slack's blocks)
    default_rate: ClassVar[int | None] = None  # sends per minute when the channel sets no per_minute

    def format(self, items: list[Item]) -> dict:
        raise NotImplementedError

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        """The request carrying a signature made with the channel's secret; by default, unsigned."""
        return Signed(url, body)

    def check(self, resp: httpx.Response) -> str:
        """The service's verdict on an HTTP 2xx answer: its text, or Refused (chat robots answer
        200 with an error code in the body). HTTP errors are judged before this, the same for all."""
        return resp.text[:500]

    def messages(self, items: list[Item]) -> list[tuple[list[Item], dict]]:
        """Split items into messages that each fit the service's limits."""
        out: list[tuple[list[Item], dict]] = []
        batch: list[Item] = []
        for item in items:
            trial = batch + [item]
            too_many = self.max_items is not None and len(trial) > self.max_items
            if batch and (too_many or len(encode(self.format(trial))) > self.limit):
                out.append((batch, self.format(batch)))
                batch = [item]
            else:
                batch = trial
        if batch:
            body = self.format(batch)
            if len(encode(body)) > self.limit:  # one item alone too long: shorten its relation line
                batch[0].relation = batch[0].relation[:200]
                body = self.format(batch)
            out.append((batch, body))
        return out
