"""The crash probe: `watcher poll` SIGKILLed at random moments of a changing portal's polls, on SQLite and
the live PostgreSQL, then one clean poll. Whatever the moments, the database is exact: every document
stored once and in its newest text, versions numbered 1..n with no text twice, one outbox event each."""

from __future__ import annotations

import os
import random

from tests.faults.world import ChangingPortal, Killer, check, run, start, write_config

KILLS = 6


def test_polls_killed_at_random_moments_leave_the_database_exact(portal, db_url, tmp_path):
    seed = int(os.environ.get("WATCHER_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    site = ChangingPortal(portal, per_page=8)
    site.publish(new=30)
    config = write_config(tmp_path / "sources.yaml", [site.source()])
    kill = Killer(rng)
    for _ in range(KILLS):
        site.publish(new=rng.randint(0, 4), revise=rng.randint(0, 3), rng=rng)
        kill(start(config, db_url, "poll", "--json"))
    status, out, err = run(config, db_url, "poll", "--json")
    assert status == 0, (seed, err[-2000:])
    assert "Traceback" not in err, (seed, err[-2000:])
    findings = check(db_url, site)
    assert findings.exact, (seed, findings)
    assert findings.notices == len(site.revs) and findings.versions == findings.events
    assert kill.killed >= KILLS // 2, f"seed {seed}: only {kill.killed} polls were still running when killed"
