"""WeCom (企业微信) group robots: Markdown of at most 4096 bytes; the key in the URL is the credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notifiers.services.base import register
from notifiers.services.codes import CodedAnswers
from notifiers.services.text import heading, markdown

if TYPE_CHECKING:
    from notifiers.items import Item


@register("wecom")
class WeCom(CodedAnswers):
    """Answers `{"errcode", "errmsg"}`: 45009 (over the rate limit) and -1 (busy) are retried."""

    limit = 4_000
    retry_codes = frozenset({45009, -1})

    def format(self, items: list[Item]) -> dict:
        return {"msgtype": "markdown", "markdown": {"content": markdown(items, heading(items))}}
