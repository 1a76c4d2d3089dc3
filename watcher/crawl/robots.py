"""robots.txt for the fetcher: where it is kept between runs, and one host's rules read once.

A host's robots.txt is read once per run (`HostRobots.allows` calls its loader, under a lock); its verdict for a user
agent that no rule restricts is kept, so that most hosts' URLs need no check each (`can_fetch` parses
and quotes every URL: 2% of a request's CPU in bench/fetch.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol
from urllib.robotparser import RobotFileParser


class RobotsCache(Protocol):
    """Where robots.txt is kept between runs: (status, body, fetched_at) per host."""

    async def get(self, host: str) -> tuple[int | None, str, datetime] | None: ...
    async def put(self, host: str, status: int | None, body: str) -> None: ...


def parse(robots_url: str, status: int | None, body: str) -> RobotFileParser | None:
    """The rules of a robots.txt answer; None (no rules) unless it was a 200: many portals answer 404 or 500."""
    if status != 200:
        return None
    parser = RobotFileParser(robots_url)
    parser.parse(body.splitlines())
    return parser


def open_to(parser: RobotFileParser, agent: str) -> bool:
    """Whether `parser.can_fetch(agent, url)` holds for every url: no rule of the entry that applies to
    `agent` disallows anything (the same steps as `can_fetch`, without a URL)."""
    if getattr(parser, "disallow_all", False):
        return False
    if getattr(parser, "allow_all", False):
        return True
    if not parser.mtime():
        return False
    entries: list = getattr(parser, "entries", [])
    entry = next((e for e in entries if e.applies_to(agent)), getattr(parser, "default_entry", None))
    return entry is None or all(line.allowance for line in entry.rulelines)


class HostRobots:
    """One host's robots.txt rules, loaded on the first request that needs them."""

    def __init__(self) -> None:
        self.parser: RobotFileParser | None = None
        self.loaded = False
        self.lock = asyncio.Lock()
        self.open: dict[str, bool] = {}  # per user agent: every path allowed

    async def allows(self, url: str, agent: str, load: Callable[[], Awaitable[RobotFileParser | None]]) -> bool:
        """Whether `agent` may fetch `url`; `load` reads the rules the first time."""
        if not self.loaded:
            async with self.lock:
                if not self.loaded:
                    self.parser = await load()
                    self.loaded = True
        if self.parser is None:
            return True
        open_ = self.open.get(agent)
        if open_ is None:
            open_ = self.open[agent] = open_to(self.parser, agent)
        return open_ or self.parser.can_fetch(agent, url)
