"""Feishu (飞书) custom bots: rich-text posts, signed with a timestamp and sign in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING

from notifiers.services.base import Signed, encode, register
from notifiers.services.codes import CodedAnswers
from notifiers.services.text import entries, entry_lines
from watcher.i18n import _

if TYPE_CHECKING:
    from notifiers.items import Item
    from notifiers.services.summary import Summary


def sign_feishu(secret: str, timestamp_s: int | None = None) -> tuple[str, str]:
    """(timestamp, sign) for the body: HmacSHA256 keyed by "timestamp\\nsecret" over nothing, base64."""
    ts = str(timestamp_s or int(time.time()))
    digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return ts, base64.b64encode(digest).decode()


@register("feishu")
class Feishu(CodedAnswers):
    """Answers `{"code", "msg"}` (older bots `{"StatusCode", "StatusMessage"}`): 19021 (bad signature)
    is final, 9499 and 11232 (too many requests) are retried."""

    limit = 28_000
    code_keys = ("code", "StatusCode")
    message_keys = ("msg", "StatusMessage")
    rates = ((100, 60.0), (5, 1.0))  # a custom bot takes 100 messages a minute and 5 a second
    retry_codes = frozenset({9499, 11232})

    def format(self, items: list[Item], heading: str) -> dict:
        content = []
        for e in entries(items):
            content.append([{"tag": "a", "text": e.head.title, "href": e.head.url}])
            content.append([{"tag": "text", "text": "\n".join(entry_lines(e))}])
        return _post(heading, content)

    def format_summary(self, summary: Summary) -> dict:
        content = [[{"tag": "text", "text": "\n".join(summary.lines)}]]
        content += [[{"tag": "a", "text": e.head.title, "href": e.head.url}] for e in summary.top]
        tail = ([summary.more] if summary.more else []) + summary.pointer_lines()
        if tail:
            content.append([{"tag": "text", "text": "\n".join(tail)}])
        if summary.pointers.web_url:
            content.append([{"tag": "a", "text": _("Open the web view"), "href": summary.pointers.web_url}])
        return _post(summary.heading, content)

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        ts, sign = sign_feishu(secret)
        return Signed(url, encode({"timestamp": ts, "sign": sign, **json.loads(body)}))


def _post(title: str, content: list) -> dict:
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": title, "content": content}}}}
