"""WeCom (企业微信) group robots: Markdown of at most 4096 bytes; the key in the URL is the credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifiers.services.base import register
from notifiers.services.codes import CodedAnswers
from notifiers.services.summary import Summary, summary_markdown
from notifiers.services.text import markdown

if TYPE_CHECKING:
    from notifiers.items import Item


@register("wecom")
class WeCom(CodedAnswers):
    """Answers `{"errcode", "errmsg"}`: 45009 (over the rate limit) and -1 (busy) are retried."""

    limit = 4_000
    rates = ((20, 60.0),)  # a group robot takes 20 messages a minute
    retry_codes = frozenset({45009, -1})

    def format(self, items: list[Item], heading: str) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": markdown(items, heading)}}

    def format_summary(self, summary: Summary) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": summary_markdown(summary)}}
