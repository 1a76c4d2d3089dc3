"""What a chat channel is sent after a poll: its batch as numbered messages within the service's limits, or one
summary when the batch is too large to list or would wait too long for the rate limit, and the batches a
crashed worker left to resend.

Every chat service has its documented rate limits (`ChatService.rates`: DingTalk and WeCom robots 20 a
minute, Feishu 100 a minute and 5 a second, Slack 1 a second); a channel's `per_minute` replaces the
per-minute one. Waits are bounded by the channel's `max_wait`: a batch whose messages would wait longer is
sent as one summary, and a message that alone would wait longer is left for the next run (not claimed, so
still owed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from notifiers.services import service_for
from notifiers.services.base import ChatService, Rate
from notifiers.services.summary import Pointers
from notifiers.services.text import entries

if TYPE_CHECKING:
    from notifiers.items import Item
    from notifiers.send import RateLimit
    from watcher.config.channels import Channel
    from watcher.config.settings import Config


@dataclass
class Batch:
    items: list[Item]
    owner: str | None = None  # the dead worker whose claim this resends


@dataclass
class Message:
    """One message to send: the events it covers (claimed and recorded together) and its body."""

    items: list[Item]
    body: dict
    stale_owner: str | None = None  # a dead worker's batch, resent under its key
    summary: bool = False


def rates(ch: Channel) -> tuple[Rate, ...]:
    """(count, window seconds) pairs: the service's documented limits, the per-minute one replaced by the
    channel's `per_minute` when set (none for email)."""
    if ch.service == "email":
        return ((ch.per_minute, 60.0),) if ch.per_minute else ()
    own = service_for(ch.service).rates
    if ch.per_minute is None:
        return own
    return ((ch.per_minute, 60.0), *(r for r in own if r[1] != 60.0))


def summary_above(ch: Channel, service: ChatService) -> int | None:
    return ch.summary_above if ch.summary_above is not None else service.summary_above


def pointers(config: Config) -> Pointers:
    """Where a summary sends its reader: the digest when an email channel is configured, the web view."""
    digest = any(c.service == "email" and c.enabled for c in config.channels)
    return Pointers(digest=digest, web_url=config.defaults.web_url)


def _too_many(ch: Channel, service: ChatService, items: list[Item]) -> bool:
    above = summary_above(ch, service)
    return above is not None and len(entries(items)) > above


def resend(ch: Channel, service: ChatService, batch: Batch, where: Pointers) -> Message:
    """A dead worker's batch as it was sent: a summary when it was one (too many notices, or more than one
    message's worth: only a summary covers that many events in one message)."""
    if _too_many(ch, service, batch.items) or not service.fits(batch.items):
        return Message(batch.items, service.summary(batch.items, where), batch.owner, summary=True)
    return Message(batch.items, service.body(batch.items), batch.owner)


def plan(
    ch: Channel, service: ChatService, uncertain: list[Batch], fresh: list[Item], limiter: RateLimit, where: Pointers
) -> list[Message]:
    """The messages of one run for a chat channel: resends first, then the fresh events as numbered
    messages, or as one summary when they are too many notices or their messages would wait for the
    rate limit longer than the channel's max_wait."""
    out = [resend(ch, service, b, where) for b in uncertain]
    if not fresh:
        return out
    if not _too_many(ch, service, fresh):
        msgs = service.messages(fresh)
        if len(msgs) == 1 or limiter.delay(len(out) + len(msgs)) <= ch.max_wait:
            return out + [Message(its, body) for its, body in msgs]
    return out + [Message(fresh, service.summary(fresh, where), summary=True)]
