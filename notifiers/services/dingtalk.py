"""DingTalk custom robots: Markdown, signed in the query string, 20 messages a minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from notifiers.services.base import Signed, register
from notifiers.services.codes import CodedAnswers
from notifiers.services.summary import Summary, summary_markdown
from notifiers.services.text import markdown

if TYPE_CHECKING:
    from notifiers.items import Item


def sign_dingtalk(secret: str, timestamp_ms: int | None = None) -> tuple[str, str]:
    """(timestamp, sign) for the query string: HmacSHA256 of "timestamp\\nsecret", base64."""
    ts = str(timestamp_ms or int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return ts, base64.b64encode(digest).decode()


@register("dingtalk")
class DingTalk(CodedAnswers):
    """Answers `{"errcode", "errmsg"}`: 310000 (keyword or signature check failed) is final,
    130101 (sending too fast) and -1 (busy) are retried."""

    limit = 19_000
    rates = ((20, 60.0),)  # a robot takes 20 messages a minute, then blocks for 10 minutes
    retry_codes = frozenset({130101, -1})

    def format(self, items: list[Item], heading: str) -> dict:
        return {"msgtype": "markdown", "markdown": {"title": heading, "text": markdown(items, heading)}}

    def format_summary(self, summary: Summary) -> dict:
        return {"msgtype": "markdown", "markdown": {"title": summary.heading, "text": summary_markdown(summary)}}

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        ts, sign = sign_dingtalk(secret)
        return Signed(url + ("&" if "?" in url else "?") + urlencode({"timestamp": ts, "sign": sign}), body)
