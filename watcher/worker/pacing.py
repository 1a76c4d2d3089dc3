"""Politeness for the whole cluster: at most `per_host_concurrency` requests to one host at a time and
`min_delay` between two of them, however many workers fetch from it.

The choice: a shared pacing table in PostgreSQL (storage/queue.py), not a procrastinate lock per host. A
lock per host would serialise whole jobs (a list walk, a batch of detail pages) on a host, so one slow
portal would hold a worker slot idle for every job queued behind it, and a host's concurrency could only
be one. Here each request takes a slot of its host (a row leased for `lease` seconds, the stall timeout,
and renewed while the request runs: a worker killed mid-request frees it when the lease ends) and reserves
its start on the host's timeline, the delay counted from the start of the previous request and again from
its end. The cost: three statements per request (about 1 ms each on a local PostgreSQL), one more every
lease/3 seconds of a long request, and a host whose slots are all taken is asked again every `poll`
seconds. A job waiting for a host's slot holds one of its worker's `--concurrency` places meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
from collections.abc import AsyncIterator

from storage.queue import QueueRepo
from watcher.config.settings import FetchSettings


class ClusterPacer:
    """The Fetcher's pacer in a worker (watcher/crawl/fetch.py `HostPacer`)."""

    def __init__(self, queue: QueueRepo, *, lease: float = 30.0, poll: float = 0.1):
        self.queue = queue
        self.lease = lease  # a slot not renewed for this long is free again (its worker died)
        self.poll = poll
        self.token = secrets.token_hex(8)
        self.waits = 0  # times a request found every slot of its host taken
        self.made: dict[str, int] = {}  # hosts whose slot rows exist: how many

    @contextlib.asynccontextmanager
    async def slot(self, host: str, settings: FetchSettings) -> AsyncIterator[None]:
        lease = self.lease
        slots = settings.per_host_concurrency
        while True:
            made = self.made.get(host, 0) >= slots
            got = await asyncio.to_thread(
                self.queue.take_host_slot, host, slots, settings.min_delay, lease, self.token, make=not made
            )
            self.made[host] = max(slots, self.made.get(host, 0))
            if got is not None:
                break
            self.waits += 1
            await asyncio.sleep(self.poll * (0.5 + random.random()))
        slot, wait = got
        if wait > 0:
            await asyncio.sleep(wait)
        renewing = asyncio.create_task(self._renew(host, slot))
        try:
            yield
        finally:
            renewing.cancel()
            await asyncio.to_thread(self.queue.release_host_slot, host, slot, self.token, settings.min_delay)

    async def _renew(self, host: str, slot: int) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            await asyncio.to_thread(self.queue.renew_host_slot, host, slot, self.token, self.lease)
