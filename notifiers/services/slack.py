"""Slack incoming webhooks: Block Kit sections; Slack answers the text `ok`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifiers.services.base import ChatService, Refused, register
from notifiers.services.text import change_line, entries, meta, slack_text, slack_url
from watcher.i18n import _

if TYPE_CHECKING:
    import httpx

    from notifiers.items import Item
    from notifiers.services.summary import Summary
    from notifiers.services.text import Entry

SLACK_MAX_BLOCKS = 48  # Slack takes 50 blocks a message: the header, the entries, a margin
SECTION_MAX = 3000  # characters of a section's text


def _entry(e: Entry) -> str:
    head = e.head
    text = f"*<{slack_url(head.url)}|{slack_text(head.title)}>*\n{slack_text(meta(head))}"
    text += "".join(f"\n_{slack_text(r)}_" for r in e.relations())
    text += "".join(f"\n> {slack_text(change_line(c))}" for c in e.changes())
    return text[:SECTION_MAX]


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_MAX]}}


@register("slack")
class Slack(ChatService):
    """A header block and one mrkdwn section per notice; the page's text escaped for mrkdwn."""

    limit = 35_000
    max_items = SLACK_MAX_BLOCKS
    rates = ((1, 1.0),)  # incoming webhooks: one message a second (short bursts tolerated)

    def format(self, items: list[Item], heading: str) -> dict:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}]
        blocks += [_section(_entry(e)) for e in entries(items)[:SLACK_MAX_BLOCKS]]
        return {"text": heading, "blocks": blocks}

    def format_summary(self, summary: Summary) -> dict:
        blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": summary.heading[:150]}}]
        blocks.append(_section("\n".join(slack_text(x) for x in summary.lines)))
        top = "\n".join(f"• <{slack_url(e.head.url)}|{slack_text(e.head.title)}>" for e in summary.top)
        if summary.more:
            top += f"\n{slack_text(summary.more)}"
        if top:
            blocks.append(_section(top))
        pointers = [slack_text(x) for x in summary.pointer_lines()]
        if summary.pointers.web_url:
            pointers.append(f"<{slack_url(summary.pointers.web_url)}|{slack_text(_('Open the web view'))}>")
        if pointers:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(pointers)}]})
        return {"text": summary.heading, "blocks": blocks}

    def check(self, resp: httpx.Response) -> str:
        text = resp.text[:500]
        if text.strip() != "ok":
            raise Refused(f"Slack answered {text!r}", retryable=False)
        return text
