"""Talking to the services: webhooks (the HTTP status judged here, the answer by each service) and SMTP."""

from __future__ import annotations

import smtplib
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
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
    """At most `count` sends in any `window` seconds, for each (count, window) pair (Feishu: 100 a minute and 5
    a second): sliding windows, because the services count the last minute, not the calendar minute.

    One per channel and process (`Limits`), shared by every cycle and thread of the process. `delay(n)` says
    how long n more sends would wait, so a caller can bound its waits; `wait` waits for one send and
    records it. The clock and the sleep are injected, so tests need not sleep."""

    def __init__(
        self, rates: Iterable[tuple[int, float]] = (), *, clock: Callable[[], float] = time.monotonic, sleep=time.sleep
    ):
        self.rates = tuple((int(c), float(w)) for c, w in rates if c > 0 and w > 0)
        self.clock, self.sleep = clock, sleep
        self.sent: deque[float] = deque(maxlen=max((c for c, _ in self.rates), default=1))
        self.lock = threading.Lock()

    def _next(self, history: list[float], now: float) -> float:
        """The earliest moment from `now` one more send keeps every rate."""
        at = now
        for count, window in self.rates:
            if len(history) >= count:
                at = max(at, history[-count] + window)
        return at

    def delay(self, n: int = 1) -> float:
        """Seconds the n-th of n more sends, from now, would wait."""
        if not self.rates or n <= 0:
            return 0.0
        with self.lock:
            now = self.clock()
            history = list(self.sent)
        at = now
        for _ in range(n):
            at = self._next(history, at)
            history.append(at)
        return at - now

    def wait(self) -> float:
        """Wait until one more send keeps every rate, and record it; returns the seconds waited."""
        if not self.rates:
            return 0.0
        with self.lock:  # held while sleeping: the senders of one channel go one after another
            now = self.clock()
            pause = self._next(list(self.sent), now) - now
            if pause > 0:
                self.sleep(pause)
            self.sent.append(max(self.clock(), now + pause))
            return max(pause, 0.0)


class Limits:
    """The rate limit of each channel in this process, kept across cycles: the scheduler polls source after
    source, and a robot counts every message of the minute, whichever poll sent it."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.clock, self.sleep = clock, sleep
        self.limits: dict[tuple[str, tuple], RateLimit] = {}
        self.lock = threading.Lock()

    def get(self, channel: str, rates: Iterable[tuple[int, float]]) -> RateLimit:
        key = (channel, tuple(rates))  # a reloaded configuration with new rates starts a new window
        with self.lock:
            if key not in self.limits:
                self.limits[key] = RateLimit(key[1], clock=self.clock, sleep=self.sleep)
            return self.limits[key]


LIMITS = Limits()  # this process's


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
