"""Talking to the services: webhooks (the HTTP status judged here, the answer by each service) and SMTP."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections import deque
from email.message import EmailMessage
from email.utils import formatdate

import httpx

from notifiers.services import ChatService, Refused, encode, service_for
from watcher.config.channels import Channel
from watcher.crawl.retry import RETRYABLE_STATUS
from watcher.crawl.transport import deadline
from watcher.errors import DeliveryError


def check_answer(service: ChatService, resp: httpx.Response, channel: str) -> str:
    """The HTTP status, judged the same for every service, then the service's own verdict on the body."""
    text = resp.text[:500]
    if resp.status_code >= 400:
        raise DeliveryError(
            f"HTTP {resp.status_code}: {text}", channel=channel, retryable=resp.status_code in RETRYABLE_STATUS
        )
    try:
        return service.check(resp)
    except Refused as exc:
        raise DeliveryError(str(exc), channel=channel, retryable=exc.retryable) from None


class RateLimit:
    """At most n sends in any 60 s window per channel (in this process): a sliding window, because
    DingTalk counts the last minute, not the calendar minute."""

    def __init__(self, per_minute: int | None, *, clock=time.monotonic, sleep=time.sleep):
        self.per_minute = per_minute
        self.sent: deque[float] = deque()
        self.clock, self.sleep = clock, sleep

    def wait(self) -> None:
        if not self.per_minute:
            return
        now = self.clock()
        while self.sent and now - self.sent[0] >= 60:
            self.sent.popleft()
        if len(self.sent) >= self.per_minute:
            self.sleep(60 - (now - self.sent[0]))
            self.sent.popleft()
        self.sent.append(self.clock())


def post_webhook(ch: Channel, body: dict, batch_key: str, client: httpx.Client) -> str:
    service = service_for(ch.service)
    url = ch.secret(ch.url_env) or ""  # load_channels requires url_env of every webhook channel
    secret = ch.secret(ch.secret_env) if ch.secret_env else None
    headers = {"Content-Type": "application/json", "User-Agent": "PolicyWatcher/0.1", "X-Watcher-Delivery": batch_key}
    data = encode(body)
    if secret:
        signed = service.sign(url, data, secret)
        url, data = signed.url, signed.body
        headers.update(signed.headers)
    try:
        # ch.timeout bounds the whole post through a deadline_client(): an answer trickling in ends too.
        with deadline(ch.timeout):
            resp = client.post(url, content=data, headers=headers, timeout=ch.timeout)
    except httpx.TimeoutException:
        raise DeliveryError(f"no complete answer within the deadline of {ch.timeout:g}s", channel=ch.id) from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}", channel=ch.id) from None
    return check_answer(service, resp, ch.id)


def send_email(ch: Channel, subject: str, text: str, html: str, message_id: str) -> str:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = ch.sender
    msg["To"] = ", ".join(ch.to)
    msg["Date"] = formatdate(localtime=True)
    # The same digest resent after a crash carries the same Message-ID: mail clients show it once.
    msg["Message-ID"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    context = ssl.create_default_context()
    if not ch.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        smtp: smtplib.SMTP
        if ch.security == "ssl":
            smtp = smtplib.SMTP_SSL(ch.smtp_host, ch.smtp_port, timeout=ch.timeout, context=context)
        else:
            smtp = smtplib.SMTP(ch.smtp_host, ch.smtp_port, timeout=ch.timeout)
        with smtp:
            if ch.security == "starttls":
                smtp.starttls(context=context)
            if ch.username:
                smtp.login(ch.username, ch.secret(ch.password_env) or "")
            refused = smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"SMTP {ch.smtp_host}:{ch.smtp_port}: {exc}",
            channel=ch.id,
            retryable=not isinstance(exc, smtplib.SMTPAuthenticationError),
        ) from None
    if refused:
        raise DeliveryError(f"recipients refused: {refused}", channel=ch.id, retryable=False)
    return f"accepted by {ch.smtp_host}:{ch.smtp_port} for {len(ch.to)} recipients"
