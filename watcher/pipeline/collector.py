"""The garbage collector of a long-running process (`watcher run` and its link process).

What such a process loads at start (modules, configuration, the link index) lives as long as the process, yet
every full collection walked it again, and young collections ran every 700 container allocations, a few hundred
times a cycle. Measured on a cold ingest of 1,000 bench notices (gc.callbacks around bench/cycle.py): 0.22 s of
collections in the poll's process (two full ones 0.135 s); with what was loaded frozen 0.105 s, and with young
collections every 10,000 allocations as well 0.057 s, ~4 % of the cycle's CPU. Collections still run: garbage
made after start, cycles included, is collected as before, only less often.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # allocations between young collections (Python's default: 700)


def settle() -> None:
    """Call once a long-running process has loaded what it keeps: that is never scanned again."""
    gc.collect()  # what start-up left as garbage goes now, not frozen with the rest
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, older, oldest)
