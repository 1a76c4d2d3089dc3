"""Chat services: one class per service owns its message format, byte limit, signing, answer check and
documented rate limits. Channels name a service by `type`; a new service is one class registered by name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from notifiers.services.summary import TOP, Pointers, Summary, summarise
from notifiers.services.text import FIELD_MAX, TITLE_MAX, URL_MAX, Part, clipped, entries, heading

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


Rate = tuple[int, float]  # at most `count` sends in any `window` seconds


class ChatService:
    """A chat service: `format` builds one message body, `messages` splits a batch within `limit`.

    Subclasses set `limit`, `rates` (the service's documented rate limits) and override `format` and
    `format_summary` (escaping the page's text for their markup); `sign` and `check` when the service has
    them. A batch is shown as one entry per notice (`text.entries`): the events of one notice always go in
    the same message. `body` is what is sent: `format` of the items clipped to `title_max` characters of
    title (and `FIELD_MAX` of each other field), cut further when one entry alone would not fit, so that no
    input makes a message the service refuses.
    """

    name: ClassVar[str] = ""
    limit: ClassVar[int] = 1_000_000  # bytes of the serialised body the service accepts (with a margin)
    max_items: ClassVar[int | None] = None  # a count limit of entries besides the byte limit (Slack's blocks)
    rates: ClassVar[tuple[Rate, ...]] = ()  # (count, window seconds) pairs; a channel's per_minute overrides
    summary_above: ClassVar[int | None] = 20  # entries above which a batch is one summary (None: never)
    title_max: ClassVar[int | None] = TITLE_MAX  # None: fields are sent whole unless one entry cannot fit

    def format(self, items: list[Item], heading: str) -> dict:
        raise NotImplementedError

    def format_summary(self, summary: Summary) -> dict:
        """One message for a batch too large to list: by default the top entries under the summary's heading
        (the built-in services show the counts and pointers too)."""
        return self.format([i for e in summary.top for i in e.items], summary.heading)

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        """The request carrying a signature made with the channel's secret; by default, unsigned."""
        return Signed(url, body)

    def check(self, resp: httpx.Response) -> str:
        """The service's verdict on an HTTP 2xx answer: its text, or Refused (chat robots answer
        200 with an error code in the body). HTTP errors are judged before this, the same for all."""
        return resp.text[:500]

    # ---- within the limits -------------------------------------------------------------------------
    def _render(self, items: list[Item], part: Part | None = None, shrink: int = 1) -> dict:
        title = heading(items, part)
        if self.title_max is None and shrink == 1:
            return self.format(items, title)
        size, other, url = ((self.title_max or TITLE_MAX) // shrink, FIELD_MAX // shrink, URL_MAX // shrink)
        return self.format([clipped(i, max(8, size), max(8, other), max(64, url)) for i in items], title)

    def body(self, items: list[Item], part: Part | None = None) -> dict:
        """The message for these items: the same items give the same body, so a batch resent after a
        crash is the message it was. One entry too long for the service is cut until it fits."""
        body = self._render(items, part)
        shrink = 1
        while len(entries(items)) == 1 and len(encode(body)) > self.limit and shrink < 64:
            shrink *= 2
            body = self._render(items, part, shrink)
        return body

    def summary(self, items: list[Item], pointers: Pointers) -> dict:
        """One message for the whole batch, within the limit (fewer titles if need be)."""
        top = TOP
        body = self.format_summary(summarise([clipped(i) for i in items], pointers, top))
        while len(encode(body)) > self.limit and top > 0:
            top -= 1
            body = self.format_summary(summarise([clipped(i, 60, 60, 256) for i in items], pointers, top))
        return body

    def fits(self, items: list[Item]) -> bool:
        return len(encode(self.body(items))) <= self.limit

    def messages(self, items: list[Item]) -> list[tuple[list[Item], dict]]:
        """Split items into messages that each fit the service's limits, numbered (1/3) when there are
        several, in time linear in the items: each entry is measured once alone, and each message built
        once (halved in the rare case the estimate was short)."""
        units = [list(e.items) for e in entries(items)]
        out: list[list[list[Item]]] = []
        empty = len(encode(self._render([], _RESERVE)))
        # What an entry adds in a batch beyond its size alone, measured on the first: a separator (+), and
        # less the heading's count that its size alone includes and a batch has once (−).
        joint = 0
        if units:
            twin = [replace(i, notice_id=-1 - abs(i.notice_id)) for i in units[0]]
            one = len(encode(self._render(units[0], _RESERVE)))
            two = len(encode(self._render(units[0] + twin, _RESERVE)))
            joint = two - 2 * one + empty
        batch: list[list[Item]] = []
        size = empty + _SLACK
        for unit in units:
            share = len(encode(self._render(unit, _RESERVE))) - empty + joint
            if empty + share > self.limit:  # too long even alone: a message of its own, cut to fit
                out.extend(self._close(batch))
                out.append([unit])
                batch, size = [], empty + _SLACK
                continue
            too_many = self.max_items is not None and len(batch) >= self.max_items
            if batch and (too_many or size + share > self.limit):
                out.extend(self._close(batch))
                batch, size = [], empty + _SLACK
            batch.append(unit)
            size += share
        out.extend(self._close(batch))
        flat = [[i for unit in msg for i in unit] for msg in out]
        n = len(flat)
        return [(its, self.body(its, Part(k, n) if n > 1 else None)) for k, its in enumerate(flat, 1)]

    def _close(self, batch: list[list[Item]]) -> list[list[list[Item]]]:
        if not batch:
            return []
        if len(batch) > 1 and len(encode(self.body([i for u in batch for i in u], _RESERVE))) > self.limit:
            half = len(batch) // 2
            return self._close(batch[:half]) + self._close(batch[half:])
        return [batch]


_SLACK = 16  # bytes the estimate may be short by: the heading's counts grow a digit or two
_RESERVE = Part(99, 99)  # the room a message's number takes, measured before the split is known
