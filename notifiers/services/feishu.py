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
from notifiers.services.text import heading, meta

if TYPE_CHECKING:
    from notifiers.items import Item


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
    retry_codes = frozenset({9499, 11232})

    def format(self, items: list[Item]) -> dict:
        content = []
        for i in items:
            content.append([{"tag": "a", "text": i.title, "href": i.url}])
            content.append([{"tag": "text", "text": meta(i) + (f"\n{i.relation}" if i.relation != "new" else "")}])
        return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": heading(items), "content": content}}}}

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        ts, sign = sign_feishu(secret)
        return Signed(url, encode({"timestamp": ts, "sign": sign, **json.loads(body)}))
