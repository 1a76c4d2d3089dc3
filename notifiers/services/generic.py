"""A generic JSON webhook: the items as data, signed with an HMAC header the receiver can check."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

from notifiers.services.base import ChatService, Signed, register
from notifiers.services.text import heading

if TYPE_CHECKING:
    from notifiers.items import Item


def sign_generic(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@register("webhook")
class Webhook(ChatService):
    """POSTs `{"heading", "items": [...]}`; with a secret, `X-Watcher-Signature: sha256=<HMAC of the body>`."""

    limit = 1_000_000
    title_max = None  # data for a program: fields whole, unless one item alone exceeds the limit

    def format(self, items: list[Item]) -> dict:
        return {"heading": heading(items), "items": [i.as_dict() for i in items]}

    def sign(self, url: str, body: bytes, secret: str) -> Signed:
        return Signed(url, body, {"X-Watcher-Signature": sign_generic(secret, body)})
