"""Deliver outbox events to channels, each event to each matching channel exactly once.

A delivery row per (event, channel) is written as `sending` before the message goes out and marked
`sent` after the service has accepted it, each step in its own transaction. A crash in between leaves
`sending` rows: the next run sends that message again with the same key — the `X-Watcher-Delivery`
header for webhooks, the `Message-ID` for email — so a receiver that keeps keys (or any mail client)
shows it once. Chat robots (Slack, DingTalk, WeCom, Feishu) keep no keys: for them delivery is
at-least-once, and a duplicate is possible only after a crash in that window.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import httpx

from notifiers.digest import render_digest
from notifiers.items import Item, load_items, matches
from notifiers.send import RateLimit, post_webhook, send_email
from notifiers.services import service_for
from storage.deliveries import Deliveries
from storage.models import utcnow
from storage.repo import Store
from watcher.config.channels import Channel
from watcher.config.settings import Config
from watcher.crawl.transport import deadline_client
from watcher.errors import DeliveryError
from watcher.text.redact import redact

log = logging.getLogger("notifiers")


# Who claims a delivery: host, PID and a token of this process. The token tells this process from an
# earlier one with the same host and PID: a restarted container is PID 1 on the same hostname again.
TOKEN = secrets.token_hex(6)
OWNER = f"{socket.gethostname()}:{os.getpid()}:{TOKEN}"
LEASE = timedelta(hours=1)  # every claim expires: longer than any delivery with its retries takes


def _owner_parts(owner: str) -> tuple[str, str, str | None]:
    """(host, pid, token) of a claim's owner; token None for the `host:pid` of earlier releases."""
    parts = owner.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], parts[1], parts[2]
    host, _, pid = owner.rpartition(":")
    return host, pid, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def abandoned(owner: str | None, claimed_at: datetime | None) -> bool:
    """Whether a `sending` claim was left by a worker that died. Every claim expires after LEASE; before
    that, a claim of this host is dead when its process is gone, or when it names this very PID with
    another token (this process's earlier incarnation). A claim held by a live worker is left alone."""
    if claimed_at is None:
        return True
    if claimed_at.tzinfo is None:
        claimed_at = claimed_at.replace(tzinfo=UTC)
    if utcnow() - claimed_at > LEASE:
        return True
    host, pid, token = _owner_parts(owner or "?:0")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host's worker: only its lease tells
    if int(pid) == os.getpid():
        return token is not None and token != TOKEN
    return not _alive(int(pid))


@dataclass
class Batch:
    items: list[Item]
    owner: str | None = None  # the dead worker whose claim this resends


@dataclass
class Report:
    channel: str
    messages: int = 0
    items: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def register_channels(store: Store, channels: list[Channel]) -> None:
    """A channel is owed the events after it was first configured: call this when the config is
    loaded, before polling, so the first poll's notices count; an old history is not flooded in."""
    Deliveries(store.engine).register_channels(ch.id for ch in channels)


def rate_limit(ch: Channel) -> int | None:
    """Sends a minute: the channel's per_minute, else its service's default (none for email)."""
    if ch.per_minute is not None:
        return ch.per_minute
    return None if ch.service == "email" else service_for(ch.service).default_rate


def _email(ch: Channel, subject: str, text: str, html: str, key: str) -> str:
    """An email whose Message-ID is its batch key: resent after a crash, mail clients show it once."""
    return send_email(ch, subject, text, html, f"<{key}@policy-watcher>")


def batch_key(channel: str, event_ids: list[int]) -> str:
    return hashlib.sha256(f"{channel}:{','.join(map(str, sorted(event_ids)))}".encode()).hexdigest()[:32]


class Dispatcher:
    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        client: httpx.Client | None = None,
        backoff: float = 1.0,
        exclusive: bool = False,
    ):
        # exclusive: the caller is the only sender (a worker's alert job, serialised by a queue lock), so a
        # claim still `sending` is a dead sender's and is resent at once, without the host:pid lease.
        self.exclusive = exclusive
        self.store = store
        self.deliveries = Deliveries(store.engine)
        self.config = config
        self.client = client or deadline_client()
        self.backoff = backoff
        self.tags = {s.id: s.tags for s in config.sources}
        self.limits: dict[str, RateLimit] = {}
        for ch in config.channels:
            ch.remember_secrets()
        register_channels(store, config.channels)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def channel(self, channel_id: str) -> Channel:
        for ch in self.config.channels:
            if ch.id == channel_id:
                return ch
        configured = ", ".join(c.id for c in self.config.channels) or "none"
        raise KeyError(f"no channel {channel_id!r} (configured: {configured})")

    # ---- what is due --------------------------------------------------------------------------
    def due(self, ch: Channel, since: date | None = None) -> tuple[list[Batch], list[Item]]:
        """(batches left `sending` by a crash, to be resent as they were; other matching events).

        The database picks the undelivered events, so the cost of a poll does not grow with the
        history. Events the filter rejects are marked `skipped`.
        """
        due = self.deliveries.due(ch.id)
        items = load_items(self.store, event_ids=due.event_ids) if due.event_ids else []
        uncertain: dict[tuple[str, str | None], list[Item]] = {}
        keep: list[Item] = []
        skip: list[Item] = []
        for i in items:
            if i.event_id in due.claims:
                claim = due.claims[i.event_id]
                # in flight elsewhere otherwise: not ours
                if self.exclusive or abandoned(claim.owner, claim.claimed_at):
                    uncertain.setdefault((claim.batch_key, claim.owner), []).append(i)
            elif since and (i.published or "9999") < since.isoformat():
                continue
            else:
                (keep if matches(i, ch, self.tags, self.deliveries.latest_body) else skip).append(i)
        if skip:
            self.deliveries.mark(ch.id, [i.event_id for i in skip], "skipped", batch="-")
        return [Batch(items, owner) for (_, owner), items in uncertain.items()], keep

    def pending(self, ch: Channel, since: date | None = None) -> list[Item]:
        """Every event ch is still owed, oldest first."""
        uncertain, fresh = self.due(ch, since)
        return sorted([i for b in uncertain for i in b.items] + fresh, key=lambda i: i.event_id)

    # ---- claim, send, record -----------------------------------------------------------------------
    def _deliver(
        self, ch: Channel, items: list[Item], send: Callable[[str], str], stale_owner: str | None = None
    ) -> tuple[bool, str]:
        """Claim, send with retries, record. Returns (ok, answer or error).

        The key depends only on the events, so a batch resent after a crash carries the key it had."""
        ids = [i.event_id for i in items]
        key = batch_key(ch.id, ids)
        if not self.deliveries.claim(ch.id, ids, key, OWNER, stale_owner):
            return False, "claimed by another process: not sent from here"
        limiter = self.limits.setdefault(ch.id, RateLimit(rate_limit(ch)))
        error = "not sent"
        for attempt in range(ch.retries + 1):
            limiter.wait()
            try:
                answer = send(key)
            except DeliveryError as exc:
                error = str(exc)
                log.warning("%s (attempt %d)", exc, attempt + 1)
                if not exc.retryable:
                    break
                if attempt < ch.retries:
                    time.sleep(min(60.0, self.backoff * 2**attempt))
                continue
            except Exception as exc:  # noqa: BLE001 — a missing secret or a bug: recorded, never left `sending`
                error = redact(f"[channel {ch.id}] {type(exc).__name__}: {exc}")
                log.error("%s", error)
                break
            self.deliveries.mark(ch.id, ids, "sent", key)
            return True, redact(answer)  # a service's answer may echo the request line, token and all
        self.deliveries.mark(ch.id, ids, "failed", key, error)
        return False, error

    # ---- webhooks, right after a poll ------------------------------------------------------------
    def send_webhooks(self) -> list[Report]:
        reports = []
        for ch in self.config.channels:
            if ch.service == "email" or not ch.enabled:
                continue
            rep = Report(ch.id)
            service = service_for(ch.service)
            uncertain, fresh = self.due(ch)
            todo = [(b.items, service.body(b.items), b.owner) for b in uncertain]
            todo += [(items, body, None) for items, body in service.messages(fresh)]
            for batch, body, stale in todo:
                ok, answer = self._deliver(ch, batch, partial(post_webhook, ch, body, client=self.client), stale)
                rep.messages += 1
                rep.items += len(batch)
                if ok:
                    rep.answers.append(answer)
                else:
                    rep.failed += len(batch)
                    rep.errors.append(answer)
            reports.append(rep)
        return reports

    # ---- the daily digest ----------------------------------------------------------------------
    def digest(self, ch: Channel, *, since: date | None = None, today: date | None = None) -> tuple[list[Item], tuple]:
        """What the next digest holds, rendered: (items, (subject, text, html)). Marks nothing as sent."""
        items = self.pending(ch, since=since)
        return items, render_digest(items, today or self.today(ch), self.store)

    @staticmethod
    def today(ch: Channel) -> date:
        return datetime.now(ZoneInfo(ch.timezone)).date()

    def send_digest(self, ch: Channel, *, dry_run: bool = False) -> Report:
        """Everything since the last successful digest. A digest whose sending was cut off by a
        crash goes again first, unchanged (same Message-ID); newer events follow in their own."""
        rep = Report(ch.id)
        uncertain, fresh = self.due(ch)
        batches = uncertain + ([Batch(fresh)] if fresh else [])
        today = self.today(ch)
        if not batches:
            if ch.empty == "skip":
                rep.answers.append("nothing new: skipped (empty: skip)")
                return rep
            subject, text, html = render_digest([], today, self.store)
            if dry_run:
                rep.answers.append(f"dry run: {subject}")
                return rep
            key = batch_key(ch.id, [0, today.toordinal()])  # one "nothing new" a day, even if rerun
            rep.messages = 1
            try:
                rep.answers.append(_email(ch, subject, text, html, key))
            except DeliveryError as exc:
                rep.errors.append(str(exc))
                rep.failed = 1
            return rep
        for batch in batches:
            items = batch.items
            subject, text, html = render_digest(items, today, self.store)
            rep.items += len(items)
            if dry_run:
                rep.answers.append(f"dry run: {subject}")
                continue
            rep.messages += 1
            ok, answer = self._deliver(ch, items, partial(_email, ch, subject, text, html), batch.owner)
            (rep.answers if ok else rep.errors).append(answer)
            rep.failed += 0 if ok else len(items)
        return rep

    # ---- a sample -------------------------------------------------------------------------------
    def test(self, ch: Channel) -> str:
        sample = [
            Item(
                event_id=0,
                kind="notice.new",
                notice_id=0,
                source_id="test",
                title="测试消息：Policy Watcher 通道测试",
                url="https://www.gov.cn/",
                doc_no="测试〔2024〕1号",
                issuer="Policy Watcher",
                written=None,
                published=date.today().isoformat(),
                relation="new",
            )
        ]
        key = "test-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:16]
        if ch.service == "email":
            subject, text, html = render_digest(sample, date.today(), None)
            return _email(ch, "[测试] " + subject, text, html, key)
        [(_, body)] = service_for(ch.service).messages(sample)
        return post_webhook(ch, body, key, self.client)


def send_alerts(store: Store, config: Config, *, exclusive: bool = False) -> list[Report]:
    """What a poll ends with (the CLI's and the scheduler's): each webhook channel gets the events it
    is owed, the ones that failed last time included. `exclusive`: see Dispatcher."""
    with Dispatcher(store, config, exclusive=exclusive) as d:
        return d.send_webhooks()


def channel_status(store: Store, channels: list[Channel]) -> list[dict]:
    """Per channel: deliveries sent, failed and uncertain, the last send and the last error."""
    out = []
    deliveries = Deliveries(store.engine)
    for ch in channels:
        ch.remember_secrets()
        c = deliveries.counts(ch.id)
        out.append(
            dict(
                id=ch.id,
                type=ch.service,
                enabled=ch.enabled,
                sent=c.sent,
                failed=c.failed,
                uncertain=c.sending,
                last_sent=c.last_sent.isoformat(timespec="seconds") if c.last_sent else None,
                # Redacted again on the way out: an error stored before redaction existed stays hidden.
                last_error=redact(c.last_error) if c.last_error else None,
            )
        )
    return out
