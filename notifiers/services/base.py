"""Chat services: one class per service owns its message format, byte limit, signing, answer check and
default rate limit. Channels name a service by `type`; a new service is one class registered by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from notifiers.services.text import FIELD_MAX, TITLE_MAX, URL_MAX, clipped

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

    Subclasses set `limit` and override `format` (escaping the page's text for their markup); `sign`,
    `check` and `default_rate` when the service has them. `body` is what is sent: `format` of the
    items clipped to `title_max` characters of title (and `FIELD_MAX` of each other field), cut further
    when one item alone would not fit, so that no input makes a message the service refuses.
    """

    name: ClassVar[str] = ""
    limit: ClassVar[int] = 1_000_000  # bytes of the serialised body the service accepts (with a margin)
    max_items: ClassVar[int | None] = None  # a count limit besides the byte limit (Slack's blocks)
    default_rate: ClassVar[int | None] = None  # sends per minute when the channel sets no per_minute
    title_max: ClassVar[int | None] = TITLE_MAX  # None: fields are sent whole unless one item cannot fit

    def format(self, items: list[Item]) -> dict:
        raise NotImplementedError

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        """The request carrying a signature made with the channel's secret; by default, unsigned."""
        return Signed(url, body)

    def check(self, resp: httpx.Response) -> str:
        """The service's verdict on an HTTP 2xx answer: its text, or Refused (chat robots answer
        200 with an error code in the body). HTTP errors are judged before this, the same for all."""
        return resp.text[:500]

    # ---- within the limits -------------------------------------------------------------------------
    def _render(self, items: list[Item], shrink: int = 1) -> dict:
        if self.title_max is None and shrink == 1:
            return self.format(items)
        title, other, url = ((self.title_max or TITLE_MAX) // shrink, FIELD_MAX // shrink, URL_MAX // shrink)
        return self.format([clipped(i, max(8, title), max(8, other), max(64, url)) for i in items])

    def body(self, items: list[Item]) -> dict:
        """The message for these items: the same items give the same body, so a batch resent after a
        crash is the message it was. One item too long for the service is cut until it fits."""
        body = self._render(items)
        shrink = 1
        while len(items) == 1 and len(encode(body)) > self.limit and shrink < 64:
            shrink *= 2
            body = self._render(items, shrink)
        return body

    def messages(self, items: list[Item]) -> list[tuple[list[Item], dict]]:
        """Split items into messages that each fit the service's limits, in time linear in the items:
        each item is measured once alone, and each message built once (halved in the rare case the
        estimate was short)."""
        out: list[tuple[list[Item], dict]] = []
        empty = len(encode(self._render([])))
        # What an item adds in a batch beyond its size alone, measured on the first: a separator (+), and
        # less the heading's count that its size alone includes and a batch has once (−).
        joint = 0
        if items:
            one, two = (len(encode(self._render(items[:1] * n))) for n in (1, 2))
            joint = two - 2 * one + empty
        batch: list[Item] = []
        size = empty + _SLACK
        for item in items:
            share = len(encode(self._render([item]))) - empty + joint
            if empty + share > self.limit:  # too long even alone: a message of its own, cut to fit
                out.extend(self._close(batch))
                out.append(([item], self.body([item])))
                batch, size = [], empty + _SLACK
                continue
            too_many = self.max_items is not None and len(batch) >= self.max_items
            if batch and (too_many or size + share > self.limit):
                out.extend(self._close(batch))
                batch, size = [], empty + _SLACK
            batch.append(item)
            size += share
        out.extend(self._close(batch))
        return out

    def _close(self, batch: list[Item]) -> list[tuple[list[Item], dict]]:
        if not batch:
            return []
        body = self.body(batch)
        if len(batch) > 1 and len(encode(body)) > self.limit:
            half = len(batch) // 2
            return self._close(batch[:half]) + self._close(batch[half:])
        return [(batch, body)]


_SLACK = 16  # bytes the estimate may be short by: the heading's counts grow a digit or two
