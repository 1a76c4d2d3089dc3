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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import httpx

from notifiers.claims import LEASE, OWNER, TOKEN, abandoned
from notifiers.digest import render_digest
from notifiers.items import Item, load_items, matches
from notifiers.plan import Batch, Message, plan, pointers, rates
from notifiers.send import LIMITS, Limits, RateLimit, post_webhook, send_email
from notifiers.services import service_for
from storage.deliveries import Deliveries
from storage.repo import Store
from watcher.config.channels import Channel
from watcher.config.settings import Config
from watcher.crawl.transport import deadline_client
from watcher.errors import DeliveryError
from watcher.i18n import _, ngettext, use_locale
from watcher.text.redact import redact

__all__ = ["LEASE", "OWNER", "TOKEN", "Batch", "Dispatcher", "Report", "abandoned", "batch_key", "rates"]
log = logging.getLogger("notifiers")


@dataclass
class Report:
    channel: str
    messages: int = 0
    items: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    summaries: int = 0  # messages that were a summary of a batch too large to list
    deferred: int = 0  # events left for the next run: sending them now would wait past max_wait

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def register_channels(store: Store, channels: list[Channel]) -> None:
    """A channel is owed the events after it was first configured: call this when the config is
    loaded, before polling, so the first poll's notices count; an old history is not flooded in."""
    Deliveries(store.engine).register_channels(ch.id for ch in channels)


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
        limits: Limits | None = None,
        exclusive: bool = False,
    ):
        """limits: the channels' rate limits; by default this process's, kept across cycles (tests give their
        own, with a clock). exclusive: the caller is the only sender (a worker's alert job, serialised by a
        queue lock), so a claim still `sending` is a dead sender's and is resent at once, without the
        host:pid lease."""
        self.exclusive = exclusive
        self.store = store
        self.deliveries = Deliveries(store.engine)
        self.config = config
        self.client = client or deadline_client()
        self.backoff = backoff
        self.tags = {s.id: s.tags for s in config.sources}
        self.baseline_sources = [s.id for s in config.sources if s.baseline]
        self.limits = limits or LIMITS
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
        # A new source's first successful poll is a baseline: recorded, searchable, not announced.
        held = self.deliveries.baseline([e for e in due.event_ids if e not in due.claims], self.baseline_sources)
        if held:
            self.deliveries.mark(ch.id, held, "skipped", batch="baseline")
        ids = sorted(set(due.event_ids) - set(held))
        items = load_items(self.store, event_ids=ids) if ids else []
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
    def limiter(self, ch: Channel) -> RateLimit:
        return self.limits.get(ch.id, rates(ch))

    def _deliver(
        self, ch: Channel, items: list[Item], send: Callable[[str], str], stale_owner: str | None = None
    ) -> tuple[bool, str]:
        """Claim, send with retries, record. Returns (ok, answer or error).

        The key depends only on the events, so a batch resent after a crash carries the key it had."""
        ids = [i.event_id for i in items]
        key = batch_key(ch.id, ids)
        if not self.deliveries.claim(ch.id, ids, key, OWNER, stale_owner):
            return False, "claimed by another process: not sent from here"
        limiter = self.limiter(ch)
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
            with use_locale(self.locale(ch)):  # the channel's language
                reports.append(self._send_chat(ch))
        return reports

    def _send_chat(self, ch: Channel) -> Report:
        rep = Report(ch.id)
        service = service_for(ch.service)
        uncertain, fresh = self.due(ch)
        limiter = self.limiter(ch)
        todo = plan(ch, service, uncertain, fresh, limiter, pointers(self.config))
        for k, m in enumerate(todo):
            if limiter.delay() > ch.max_wait:  # not claimed: still owed, sent by a later run
                left = todo[k:]
                rep.deferred = sum(len(x.items) for x in left)
                rep.answers.append(self._deferred(ch, len(left), limiter.delay()))
                log.warning("[channel %s] %s", ch.id, rep.answers[-1])
                break
            self._send_message(ch, m, rep)
        return rep

    @staticmethod
    def _deferred(ch: Channel, messages: int, wait: float) -> str:
        return ngettext(
            "{n} message left for the next run: the rate limit would make it wait {wait:.0f} s (max_wait {max:.0f} s)",
            "{n} messages left for the next run: the rate limit would make them wait {wait:.0f} s "
            "(max_wait {max:.0f} s)",
            messages,
        ).format(n=messages, wait=wait, max=ch.max_wait)

    def _send_message(self, ch: Channel, m: Message, rep: Report) -> None:
        ok, answer = self._deliver(ch, m.items, partial(post_webhook, ch, m.body, client=self.client), m.stale_owner)
        rep.messages += 1
        rep.summaries += m.summary
        rep.items += len(m.items)
        if ok:
            rep.answers.append(answer)
        else:
            rep.failed += len(m.items)
            rep.errors.append(answer)

    # ---- the daily digest ----------------------------------------------------------------------
    def digest(self, ch: Channel, *, since: date | None = None, today: date | None = None) -> tuple[list[Item], tuple]:
        """What the next digest holds, rendered: (items, (subject, text, html)). Marks nothing as sent."""
        with use_locale(self.locale(ch)):
            items = self.pending(ch, since=since)
            return items, render_digest(
                items, today or self.today(ch), self.store, web_url=self.config.defaults.web_url
            )

    def locale(self, ch: Channel) -> str:
        """The language of a channel's messages: its own `locale:`, else `defaults.locale`."""
        return ch.locale or self.config.defaults.locale

    @staticmethod
    def today(ch: Channel) -> date:
        return datetime.now(ZoneInfo(ch.timezone)).date()

    def send_digest(self, ch: Channel, *, dry_run: bool = False) -> Report:
        """Everything since the last successful digest. A digest whose sending was cut off by a
        crash goes again first, unchanged (same Message-ID); newer events follow in their own."""
        with use_locale(self.locale(ch)):  # the relation lines are rendered as the items are read
            return self._send_digest(ch, dry_run)

    def _send_digest(self, ch: Channel, dry_run: bool) -> Report:
        rep = Report(ch.id)
        web_url = self.config.defaults.web_url
        uncertain, fresh = self.due(ch)
        batches = uncertain + ([Batch(fresh)] if fresh else [])
        today = self.today(ch)
        if not batches:
            if ch.empty == "skip":
                rep.answers.append(_("nothing new: skipped (empty: skip)"))
                return rep
            subject, text, html = render_digest([], today, self.store, web_url=web_url)
            if dry_run:
                rep.answers.append(_("dry run: {subject}").format(subject=subject))
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
            subject, text, html = render_digest(items, today, self.store, web_url=web_url)
            rep.items += len(items)
            if dry_run:
                rep.answers.append(_("dry run: {subject}").format(subject=subject))
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
        with use_locale(self.locale(ch)):
            if ch.service == "email":
                subject, text, html = render_digest(sample, date.today(), None)
                return _email(ch, _("[test] {subject}").format(subject=subject), text, html, key)
            [(_sent, body)] = service_for(ch.service).messages(sample)
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
