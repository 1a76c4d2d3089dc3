"""Delivery claims expire (issue 14, item 4): the owner of a claim names its process by host, PID and a
token of its own, so a sender restarted with the same hostname and PID (a container's PID 1) knows its
earlier incarnation's claims dead; and any claim older than the lease is taken over."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import yaml
from sqlalchemy import select

from notifiers.dispatch import LEASE, OWNER, Dispatcher, abandoned, batch_key
from storage.deliveries import T_DEL
from storage.models import utcnow
from tests.faults.site import doc, listing, poll, source
from watcher.config.loader import parse_config

HOST, PID = socket.gethostname(), os.getpid()


def test_an_earlier_process_with_this_host_and_pid_is_dead():
    now = utcnow()
    assert not abandoned(OWNER, now)  # this very process, in flight
    assert abandoned(f"{HOST}:{PID}:0123456789ab", now)  # the same host and PID, another token: restarted
    assert not abandoned(f"{HOST}:{os.getppid()}:0123456789ab", now)  # a live process here, within the lease
    assert abandoned(f"{HOST}:{os.getppid()}:0123456789ab", now - LEASE - timedelta(minutes=1))
    assert abandoned(f"{HOST}:1", now - LEASE - timedelta(minutes=1))  # PID 1 lives for ever; its claim does not
    assert not abandoned("other-host:1:0123456789ab", now) and abandoned("other-host:1:ab", now - 2 * LEASE)


def test_a_restarted_sender_resends_its_earlier_incarnations_batch_once(portal, fresh_db, hooks, monkeypatch):
    urls = [doc(portal, f"/art/{i}.html", f"第{i}号通知") for i in range(3)]
    monkeypatch.setenv("HOOK_TEAM", hooks.url("/team") + "?access_token=tok-secret")
    channels = [dict(id="team", type="webhook", url_env="HOOK_TEAM", retries=0)]
    config = parse_config(yaml.safe_dump({"sources": [], "channels": channels}))
    Dispatcher(fresh_db, config).close()  # the channel is registered before the notices arrive
    poll(fresh_db, source(listing(portal, "/index.html", urls)))
    events = [e.id for e in fresh_db.events()]
    now = utcnow()
    earlier = f"{HOST}:{PID}:{'f' * 12}"  # this host and PID, as the container's previous life
    with fresh_db.engine.begin() as conn:
        conn.execute(
            T_DEL.insert(),
            [
                dict(
                    event_id=e,
                    channel_id="team",
                    batch_key=batch_key("team", events),  # the key its batch had
                    status="sending",
                    owner=earlier,
                    claimed_at=now,
                    attempts=1,
                    created_at=now,
                )
                for e in events
            ],
        )
    with Dispatcher(fresh_db, config, backoff=0) as d:
        [report] = d.send_webhooks()
    assert (report.messages, report.items, report.failed) == (1, 3, 0), report.errors
    [post] = hooks.posts
    assert post["headers"]["x-watcher-delivery"] == batch_key("team", events)
    assert sorted(i["event_id"] for i in post["json"]["items"]) == events
    with fresh_db.engine.connect() as conn:
        rows = conn.execute(select(T_DEL.c.status, T_DEL.c.owner, T_DEL.c.batch_key)).all()
    assert {(r.status, r.owner) for r in rows} == {("sent", OWNER)} and {r.batch_key for r in rows} == {
        batch_key("team", events)
    }
    with Dispatcher(fresh_db, config, backoff=0) as d:
        d.send_webhooks()
    assert len(hooks.posts) == 1  # sent once
