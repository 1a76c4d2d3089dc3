"""The poll's periodic actions (the heartbeat): what happens to one under way when the poll ends."""

from __future__ import annotations

import asyncio

import pytest

from watcher.pipeline.durable import every


async def test_an_action_under_way_when_the_block_ends_finishes():
    """A timed flush waiting for the storage thread when the poll ends was cancelled, and the batch it had
    taken from the poll was never stored (its notices stayed pending)."""
    started, finished = asyncio.Event(), []

    async def flush() -> None:
        started.set()
        await asyncio.sleep(0.05)  # the storage call, queued behind others
        finished.append(True)

    async with every(0.01, flush):
        await started.wait()
    assert finished == [True]


async def test_an_action_is_cancelled_when_the_block_fails():
    started, finished = asyncio.Event(), []

    async def flush() -> None:
        started.set()
        await asyncio.sleep(5)
        finished.append(True)

    with pytest.raises(RuntimeError):
        async with every(0.01, flush):
            await started.wait()
            raise RuntimeError("the poll failed")
    assert finished == []


async def test_no_action_after_the_block_ends():
    calls = []

    async def beat() -> None:
        calls.append(True)

    async with every(0.01, beat):
        await asyncio.sleep(0.035)
    n = len(calls)
    await asyncio.sleep(0.05)
    assert n >= 1 and len(calls) == n
