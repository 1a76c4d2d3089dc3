"""Slack incoming webhooks: Block Kit sections; Slack answers the text `ok`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifiers.services.base import ChatService, Refused, register
from notifiers.services.text import heading, meta, slack_text, slack_url

if TYPE_CHECKING:
    import httpx

    from notifiers.items import Item

SLACK_MAX_BLOCKS = 48  # Slack takes 50 blocks a message: the header, the items, a margin


@register("slack")
class Slack(ChatService):
    """A header block and one mrkdwn section per item; the page's text escaped for mrkdwn."""

    limit = 35_000
    max_items = SLACK_MAX_BLOCKS

    def format(self, items: list[Item]) -> dict:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": heading(items)[:150]}}]
        for i in items[:SLACK_MAX_BLOCKS]:
            text = f"*<{slack_url(i.url)}|{slack_text(i.title)}>*\n{slack_text(meta(i))}"
            text += f"\n_{slack_text(i.relation)}_" if i.relation != "new" else ""
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        return {"text": heading(items), "blocks": blocks}

    def check(self, resp: httpx.Response) -> str:
        text = resp.text[:500]
        if text.strip() != "ok":
            raise Refused(f"Slack answered {text!r}", retryable=False)
        return text
