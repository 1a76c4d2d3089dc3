"""Chinese chat robots answer HTTP 200 with an error code in a JSON body: that code is the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from notifiers.services.base import ChatService, Refused

if TYPE_CHECKING:
    import httpx


class CodedAnswers(ChatService):
    """A service whose JSON answer carries `errcode` (or another key) and a message; 0 is success."""

    code_keys: ClassVar[tuple[str, ...]] = ("errcode",)
    message_keys: ClassVar[tuple[str, ...]] = ("errmsg",)
    # Rate limits and busy answers are worth retrying; bad keywords, signatures and tokens are not.
    retry_codes: ClassVar[frozenset[int]] = frozenset()

    def check(self, resp: httpx.Response) -> str:
        text = resp.text[:500]
        try:
            data = resp.json()
        except ValueError:
            raise Refused(f"{self.name} answered non-JSON: {text!r}", retryable=True) from None
        code = next((data[k] for k in self.code_keys if k in data), None)
        if code not in (0, None):
            msg = next((data[k] for k in self.message_keys if data.get(k)), "")
            raise Refused(f"{self.name} error {code}: {msg}", retryable=code in self.retry_codes)
        return text
