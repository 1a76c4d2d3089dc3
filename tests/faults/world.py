"""The crash and concurrency probes' world: a loopback portal of distinct documents that changes between
polls, `watcher poll` as a real process (killed at will), and the invariants the database must hold after
any number of kills and one clean poll. Used by tests/faults and bench/chaos.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy import create_engine, text

from watcher.demo.portal import DETAIL_SELECTORS, LIST_SELECTORS, detail_page, list_page
from watcher.demo.server import PortalServer

ROOT = Path(__file__).resolve().parents[2]
# Common characters: random paragraphs of them make documents that share no sentence, so linking has
# little to do and a probe's time goes to fetching, storing and being killed.
CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方"
    "后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开"
    "它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此"
)


def paragraphs(doc: int, rev: int, n: int = 6) -> list[str]:
    rng = random.Random(f"{doc}:{rev}")
    body = ["".join(rng.choice(CHARS) for _ in range(rng.randint(40, 90))) + "。" for _ in range(n)]
    return ["各区人民政府，市各委办局：", *body, "测试市人民政府"]


@dataclass
class ChangingPortal:
    """Documents newest first over list pages of `per_page`; `step` publishes new ones at the front and
    revises some (a revised title shows in the list, so a poll fetches it again)."""

    srv: PortalServer
    per_page: int = 10
    prefix: str = "/chaos"
    revs: dict[int, int] = field(default_factory=dict)  # document number -> revision

    def title(self, doc: int) -> str:
        rev = self.revs[doc]
        return f"关于第{doc}号事项的通知" + (f"（第{rev}次修订）" if rev else "")

    def path(self, doc: int) -> str:
        return f"{self.prefix}/art/{doc}.html"

    def url(self, doc: int) -> str:
        return self.srv.url(self.path(doc))

    def publish(self, new: int = 0, revise: int = 0, rng: random.Random | None = None) -> None:
        rng = rng or random.Random(0)
        start = max(self.revs, default=0)
        for doc in range(start + 1, start + 1 + new):
            self.revs[doc] = 0
        for doc in rng.sample(sorted(self.revs), min(revise, len(self.revs))):
            self.revs[doc] += 1
        self._serve()

    def _serve(self) -> None:
        docs = sorted(self.revs, reverse=True)
        for doc in docs:
            meta = dict(
                title=self.title(doc),
                doc_no=f"测发〔2024〕{doc}号",
                issuer="测试市人民政府",
                written="2024-03-01",
                published=f"2024-03-{doc % 27 + 1:02d}",
            )
            route = self.srv.routes.get(self.path(doc))
            body = detail_page(meta, paragraphs(doc, self.revs[doc]))
            if route is None or route.body != body.encode():
                self.srv.add(self.path(doc), body)
        pages = [docs[i : i + self.per_page] for i in range(0, len(docs), self.per_page)] or [[]]
        for k, page in enumerate(pages):
            name = "index.html" if k == 0 else f"index_{k}.html"
            nxt = f"{self.prefix}/index_{k + 1}.html" if k + 1 < len(pages) else None
            items = [(self.path(d), self.title(d), f"2024-03-{d % 27 + 1:02d}") for d in page]
            body = list_page("政府文件", items, next_href=nxt)
            route = self.srv.routes.get(f"{self.prefix}/{name}")
            if route is None or route.body != body.encode():
                self.srv.add(f"{self.prefix}/{name}", body)

    def source(self, sid: str = "chaos", **over) -> dict:
        return dict(
            id=sid,
            name="测试门户",
            urls=[self.srv.url(f"{self.prefix}/index.html")],
            list=LIST_SELECTORS,
            detail=DETAIL_SELECTORS,
            pagination={"pages": 200},
            fetch={"min_delay": 0, "backoff": 0, "retries": 1, "timeout": 5},
            # Every stored page is looked at again on each poll (a conditional GET): a revision deep in the
            # list is found by the next poll, so "stored in its newest text" holds after one clean poll.
            recheck_after=0,
            recheck_limit=10_000,
            **over,
        )


def write_config(path: Path, sources: list[dict], channels: list[dict] | None = None) -> Path:
    YAML().dump({"sources": sources, **({"channels": channels} if channels else {})}, path)
    return path


def watcher_cmd(config: Path, url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", "-c", str(config), "--db", url, *args]


def start(config: Path, url: str, *args: str, env: dict | None = None, log: Path | None = None) -> subprocess.Popen:
    """`watcher … ARGS` as a process of its own; stderr to `log` when given (the secrets check reads it)."""
    err = open(log, "ab") if log else subprocess.PIPE  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        watcher_cmd(config, url, *args),
        stdout=subprocess.PIPE,
        stderr=err,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def run(config: Path, url: str, *args: str, env: dict | None = None, timeout: float = 180) -> tuple[int, str, str]:
    """`watcher … ARGS` to the end: (exit status, stdout, stderr)."""
    p = subprocess.run(
        watcher_cmd(config, url, *args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return p.returncode, p.stdout, p.stderr


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL the process after `seconds` unless it ended first; whether it was killed."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        return True
    finally:
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@dataclass
class Killer:
    """Kills processes at a random moment of their life: between start-up and the duration of the last one
    that ran to its end (so the moments cover start-up, listing, fetching, storing, linking and alerting)."""

    rng: random.Random
    estimate: float = 2.0
    killed: int = 0
    finished: int = 0

    def __call__(self, proc: subprocess.Popen) -> bool:
        begun = time.monotonic()
        if kill_after(proc, self.rng.uniform(0.5, self.estimate)):
            self.killed += 1
            return True
        self.finished += 1
        self.estimate = max(1.0, time.monotonic() - begun)
        return False


def poll_json(out: str) -> list[dict]:
    return json.loads(out)


@dataclass
class Findings:
    """What the invariants found: every list is empty when the database is exact."""

    notices: int = 0
    versions: int = 0
    events: int = 0
    missing: list[str] = field(default_factory=list)  # portal documents not stored, or not in their newest text
    duplicate_versions: list[tuple[int, int]] = field(default_factory=list)  # (notice, seq) same text as before
    gaps: list[int] = field(default_factory=list)  # notices whose version numbers are not 1..n
    event_errors: list[str] = field(default_factory=list)  # versions with no event, or with more than one
    unlinked: int = 0  # versions without a signature: the linking stage has not seen them

    @property
    def exact(self) -> bool:
        return not (self.missing or self.duplicate_versions or self.gaps or self.event_errors or self.unlinked)


def check(url: str, portal: ChangingPortal) -> Findings:
    """Every portal document stored once, in its newest title; versions numbered 1..n, none repeating the text
    before it; one outbox event per version; every version linked."""
    engine = create_engine(url)
    f = Findings()
    with engine.connect() as conn:
        notices = {r.url: r for r in conn.execute(text("SELECT id, url, title, version_count FROM notices"))}
        versions = conn.execute(text("SELECT id, notice_id, seq, content_hash FROM versions ORDER BY notice_id, seq"))
        events = conn.execute(text("SELECT version_id FROM events WHERE kind IN ('notice.new', 'notice.version')"))
        f.unlinked = conn.execute(
            text(
                "SELECT count(*) FROM versions v WHERE NOT EXISTS (SELECT 1 FROM signatures s WHERE s.version_id = v.id)"
            )
        ).scalar_one()
        by_notice: dict[int, list] = {}
        for v in versions:
            by_notice.setdefault(v.notice_id, []).append(v)
        per_version: dict[int, int] = {}
        for (vid,) in events:
            per_version[vid] = per_version.get(vid, 0) + 1
    engine.dispose()
    f.notices, f.events = len(notices), sum(per_version.values())
    f.versions = sum(len(vs) for vs in by_notice.values())
    for doc in portal.revs:
        n = notices.get(portal.url(doc))
        if n is None or n.title != portal.title(doc):
            f.missing.append(f"{portal.url(doc)}: {'not stored' if n is None else repr(n.title)}")
    for n in notices.values():
        vs = by_notice.get(n.id, [])
        if [v.seq for v in vs] != list(range(1, len(vs) + 1)) or len(vs) != n.version_count:
            f.gaps.append(n.id)
        f.duplicate_versions += [
            (n.id, b.seq) for a, b in zip(vs, vs[1:], strict=False) if a.content_hash == b.content_hash
        ]
    all_versions = {v.id for vs in by_notice.values() for v in vs}
    f.event_errors += [f"version {v}: {per_version.get(v, 0)} events" for v in all_versions if per_version.get(v) != 1]
    f.event_errors += [f"event for unknown version {v}" for v in set(per_version) - all_versions]
    return f


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False
