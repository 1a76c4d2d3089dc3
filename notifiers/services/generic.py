"""A generic JSON webhook: the items as data, signed with an HMAC header the receiver can check."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from notifiers.services.base import ChatService, Signed, register
from notifiers.services.text import change_line, entries

if TYPE_CHECKING:
    from notifiers.items import Item
    from notifiers.services.summary import Summary


def sign_generic(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@register("webhook")
class Webhook(ChatService):
    """POSTs `{"heading", "items": [...], "notices": [...]}`: every event as data, and the events grouped per
    notice with their relation and change lines; with a secret, `X-Watcher-Signature: sha256=<HMAC of the body>`.
    A summary is `{"heading", "summary": {...}, "event_ids": [...]}`."""

    limit = 1_000_000
    title_max = None  # data for a program: fields whole, unless one entry alone exceeds the limit
    summary_above = None  # a program takes the whole batch; a channel's summary_above sets one

    def format(self, items: list[Item], heading: str) -> dict:
        grouped = entries(items)
        notices = [
            dict(
                notice_id=e.head.notice_id,
                title=e.head.title,
                url=e.head.url,
                event_ids=[i.event_id for i in e.items],
                relations=e.relations(),
                changes=[change_line(c) for c in e.changes()],
            )
            for e in grouped
        ]
        # the events in the order of their notices, whichever order they were given in
        return {"heading": heading, "items": [i.as_dict() for e in grouped for i in e.items], "notices": notices}

    def format_summary(self, summary: Summary) -> dict:
        top = [dict(notice_id=e.head.notice_id, title=e.head.title, url=e.head.url) for e in summary.top]
        return {
            "heading": summary.heading,
            "summary": dict(lines=summary.lines, top=top, more=summary.more, web_url=summary.pointers.web_url),
            "event_ids": summary.event_ids,
        }

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        return Signed(url, body, {"X-Watcher-Signature": sign_generic(secret, body)})
