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
import socket
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.models import ChannelRow, Delivery, Event, Version, utcnow
from storage.repo import Store
from watcher.config.settings import Config

from watcher.config.channels import Channel
from .digest import render_digest
from .formats import BUILDERS, messages
from .items import Item, load_items, matches
from watcher.errors import DeliveryError
from .send import RateLimit, post_webhook, send_email

log = logging.getLogger("notifiers")
T_DEL, T_CH, T_EVENT, T_VERSION = Delivery.__table__, ChannelRow.__table__, Event.__table__, Version.__table__


OWNER = f"{socket.gethostname()}:{os.getpid()}"
LEASE = timedelta(hours=1)   # a claim from another host counts as abandoned after this


class _Taken(Exception):
    pass


def abandoned(owner: str | None, claimed_at: datetime | None) -> bool:
    """Whether a `sending` claim was left by a worker that died: on this host, its process is gone;
    on another, the lease has run out. A claim held by a live worker is left alone."""
    host, _, pid = (owner or "?:0").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    if claimed_at is None:
        return True
    if claimed_at.tzinfo is None:
        claimed_at = claimed_at.replace(tzinfo=timezone.utc)
    return utcnow() - claimed_at > LEASE


@dataclass
class Batch:
    items: list[Item]
    owner: str | None = None     # the dead worker whose claim this resends


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
    with store.engine.begin() as conn:
        known = set(conn.execute(select(T_CH.c.id)).scalars())
        start = conn.execute(select(func.max(T_EVENT.c.id))).scalar() or 0
        fresh = [dict(id=ch.id, start_event_id=start, created_at=utcnow()) for ch in channels if ch.id not in known]
        if fresh:
            conn.execute(insert(T_CH), fresh)


def batch_key(channel: str, event_ids: list[int]) -> str:
    return hashlib.sha256(f"{channel}:{','.join(map(str, sorted(event_ids)))}".encode()).hexdigest()[:32]


class Dispatcher:
    def __init__(self, store: Store, config: Config, *, client: httpx.Client | None = None, backoff: float = 1.0):
        self.store = store
        self.config = config
        self.client = client or httpx.Client()
        self.backoff = backoff
        self.tags = {s.id: s.tags for s in config.sources}
        self.limits: dict[str, RateLimit] = {}
        register_channels(store, config.channels)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Dispatcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def channel(self, channel_id: str) -> Channel:
        for ch in self.config.channels:
            if ch.id == channel_id:
                return ch
        raise KeyError(f"no channel {channel_id!r} (configured: {', '.join(c.id for c in self.config.channels) or 'none'})")

    # ---- what is due --------------------------------------------------------------------------
    def due(self, ch: Channel, since: date | None = None) -> tuple[list[Batch], list[Item]]:
        """(batches left `sending` by a crash, to be resent as they were; other matching events).

        The database picks the undelivered events (an anti-join on deliveries), so the cost of a
        poll does not grow with the history. Events the filter rejects are marked `skipped`.
        """
        with self.store.engine.connect() as conn:
            start = conn.execute(select(T_CH.c.start_event_id).where(T_CH.c.id == ch.id)).scalar() or 0
            delivered = select(T_DEL.c.id).where(T_DEL.c.channel_id == ch.id, T_DEL.c.event_id == T_EVENT.c.id,
                                                 T_DEL.c.status.in_(("sent", "skipped")))
            ids = list(conn.execute(select(T_EVENT.c.id).where(T_EVENT.c.id > start, ~exists(delivered))
                                    .order_by(T_EVENT.c.id)).scalars())
            claimed = {r.event_id: r for r in conn.execute(
                select(T_DEL.c.event_id, T_DEL.c.batch_key, T_DEL.c.owner, T_DEL.c.claimed_at).where(
                    T_DEL.c.channel_id == ch.id, T_DEL.c.status == "sending"))}
        items = load_items(self.store, event_ids=ids) if ids else []
        uncertain: dict[tuple, list[Item]] = {}
        keep, skip = [], []
        for i in items:
            if i.event_id in claimed:
                row = claimed[i.event_id]
                if abandoned(row.owner, row.claimed_at):     # in flight elsewhere otherwise: not ours
                    uncertain.setdefault((row.batch_key, row.owner), []).append(i)
            elif since and (i.published or "9999") < since.isoformat():
                continue
            else:
                (keep if matches(i, ch, self.tags, self._text) else skip).append(i)
        if skip:
            self._mark(ch.id, [i.event_id for i in skip], "skipped", batch="-")
        return [Batch(items, owner) for (_, owner), items in uncertain.items()], keep

    def pending(self, ch: Channel, since: date | None = None) -> list[Item]:
        """Every event ch is still owed, oldest first."""
        uncertain, fresh = self.due(ch, since)
        return sorted([i for b in uncertain for i in b.items] + fresh, key=lambda i: i.event_id)

    def _text(self, notice_id: int) -> str:
        with self.store.engine.connect() as conn:
            return conn.execute(select(T_VERSION.c.body).where(T_VERSION.c.notice_id == notice_id)
                                .order_by(T_VERSION.c.seq.desc()).limit(1)).scalar() or ""

    # ---- bookkeeping --------------------------------------------------------------------------
    def _mark(self, channel_id: str, event_ids: list[int], status: str, batch: str, error: str | None = None) -> None:
        """Record an outcome: sent, failed or skipped (claims go through _claim)."""
        now = utcnow()
        with self.store.engine.begin() as conn:
            existing = set(conn.execute(select(T_DEL.c.event_id).where(
                T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(event_ids))).scalars())
            fresh = [e for e in event_ids if e not in existing]
            if fresh:
                conn.execute(insert(T_DEL), [dict(event_id=e, channel_id=channel_id, batch_key=batch, status=status,
                                                  attempts=0, last_error=error, created_at=now,
                                                  sent_at=now if status == "sent" else None)
                                             for e in fresh])
            if existing:
                values = dict(status=status, batch_key=batch, last_error=error)
                if status == "sent":
                    values["sent_at"] = now
                conn.execute(update(T_DEL).where(T_DEL.c.channel_id == channel_id,
                                                 T_DEL.c.event_id.in_(list(existing))).values(**values))

    def _claim(self, channel_id: str, event_ids: list[int], key: str, stale_owner: str | None = None) -> bool:
        """Mark the events `sending` under key, unless another worker holds or has delivered any of
        them: a compare-and-set in one transaction, so two polls (or processes) never send one event twice."""
        try:
            now = utcnow()
            with self.store.engine.begin() as conn:
                rows = dict(conn.execute(select(T_DEL.c.event_id, T_DEL.c.status).where(
                    T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(event_ids))).all())
                fresh = [e for e in event_ids if e not in rows]
                if fresh:
                    conn.execute(insert(T_DEL), [dict(event_id=e, channel_id=channel_id, batch_key=key,
                                                      status="sending", owner=OWNER, claimed_at=now, attempts=1,
                                                      created_at=now)
                                                 for e in fresh])
                retry = [e for e in event_ids if e in rows]
                if retry:
                    res = conn.execute(update(T_DEL).where(
                        T_DEL.c.channel_id == channel_id, T_DEL.c.event_id.in_(retry),
                        (T_DEL.c.status == "failed") | ((T_DEL.c.status == "sending") & (T_DEL.c.batch_key == key)
                                                        & (T_DEL.c.owner == stale_owner)))
                        .values(status="sending", batch_key=key, owner=OWNER, claimed_at=now,
                                attempts=T_DEL.c.attempts + 1))
                    if res.rowcount != len(retry):
                        raise _Taken
        except (_Taken, IntegrityError):
            return False
        return True

    def _deliver(self, ch: Channel, items: list[Item], send, stale_owner: str | None = None) -> tuple[bool, str]:
        """Claim, send with retries, record. Returns (ok, answer or error).

        The key depends only on the events, so a batch resent after a crash carries the key it had."""
        ids = [i.event_id for i in items]
        key = batch_key(ch.id, ids)
        if not self._claim(ch.id, ids, key, stale_owner):
            return False, "claimed by another process: not sent from here"
        limiter = self.limits.setdefault(ch.id, RateLimit(ch.rate_limit))
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
                    time.sleep(min(60.0, self.backoff * 2 ** attempt))
                continue
            except Exception as exc:  # noqa: BLE001 — a missing secret or a bug: recorded, never left `sending`
                error = f"[channel {ch.id}] {type(exc).__name__}: {exc}"
                log.error("%s", error)
                break
            self._mark(ch.id, ids, "sent", key)
            return True, answer
        self._mark(ch.id, ids, "failed", key, error)
        return False, error

    # ---- webhooks, right after a poll ------------------------------------------------------------
    def send_webhooks(self) -> list[Report]:
        reports = []
        for ch in self.config.channels:
            if ch.type == "email" or not ch.enabled:
                continue
            rep = Report(ch.id)
            uncertain, fresh = self.due(ch)
            todo = [(b.items, BUILDERS[ch.type](b.items), b.owner) for b in uncertain]
            todo += [(items, body, None) for items, body in messages(ch.type, fresh)]
            for batch, body, stale in todo:
                ok, answer = self._deliver(ch, batch, lambda key, body=body: post_webhook(ch, body, key, self.client),
                                           stale)
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
            key = batch_key(ch.id, [0, today.toordinal()])   # one "nothing new" a day, even if rerun
            rep.messages = 1
            try:
                rep.answers.append(send_email(ch, subject, text, html, f"<{key}@policy-watcher>"))
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
            ok, answer = self._deliver(ch, items, lambda key, s=subject, t=text, h=html:
                                       send_email(ch, s, t, h, f"<{key}@policy-watcher>"), batch.owner)
            (rep.answers if ok else rep.errors).append(answer)
            rep.failed += 0 if ok else len(items)
        return rep

    # ---- a sample -------------------------------------------------------------------------------
    def test(self, ch: Channel) -> str:
        sample = [Item(event_id=0, kind="notice.new", notice_id=0, source_id="test", title="测试消息：Policy Watcher 通道测试",
                       url="https://www.gov.cn/", doc_no="测试〔2024〕1号", issuer="Policy Watcher",
                       written=None, published=date.today().isoformat(), relation="new")]
        key = "test-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:16]
        if ch.type == "email":
            subject, text, html = render_digest(sample, date.today(), None)
            return send_email(ch, "[测试] " + subject, text, html, f"<{key}@policy-watcher>")
        [(_, body)] = messages(ch.type, sample)
        return post_webhook(ch, body, key, self.client)


def send_alerts(store: Store, config: Config) -> list[Report]:
    """What a poll ends with (the CLI's and the scheduler's): each webhook channel gets the events it
    is owed, the ones that failed last time included."""
    with Dispatcher(store, config) as d:
        return d.send_webhooks()


def channel_status(store: Store, channels: list[Channel]) -> list[dict]:
    """Per channel: deliveries sent, failed and uncertain, the last send and the last error."""
    out = []
    with store.engine.connect() as conn:
        for ch in channels:
            rows = conn.execute(select(T_DEL.c.status, func.count(), func.max(T_DEL.c.sent_at))
                                .where(T_DEL.c.channel_id == ch.id).group_by(T_DEL.c.status)).all()
            counts = {r[0]: r[1] for r in rows}
            last = max((r[2] for r in rows if r[2]), default=None)
            err = conn.execute(select(T_DEL.c.last_error).where(T_DEL.c.channel_id == ch.id, T_DEL.c.status == "failed")
                               .order_by(T_DEL.c.id.desc()).limit(1)).scalar()
            out.append(dict(id=ch.id, type=ch.type, enabled=ch.enabled, sent=counts.get("sent", 0),
                            failed=counts.get("failed", 0), uncertain=counts.get("sending", 0),
                            last_sent=last.isoformat(timespec="seconds") if last else None, last_error=err))
    return out
