"""A long-running process's collector (watcher/pipeline/collector.py): what was loaded is frozen, garbage made
afterwards is still collected without anyone calling gc.collect()."""

from __future__ import annotations

import gc
import weakref

from watcher.pipeline.collector import YOUNG, settle


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settle_freezes_what_is_loaded_and_still_collects_new_cycles():
    before = gc.get_threshold()
    try:
        settle()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
        keep = [[] for _ in range(YOUNG * 3)]  # container allocations: young collections run on their own
        assert gone() is None
        assert len(keep) == YOUNG * 3
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_a_warmed_process_loads_nothing_at_its_first_search_entry():
    """`watcher run` warms before it settles: a first cycle's storage call used to import numpy (~0.17 s)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from watcher.text.search import token_text, warm\n"
        "assert 'numpy' not in sys.modules\n"
        "warm()\n"
        "before = set(sys.modules)\n"
        "token_text('关于做好第一项重点工作的通知' * 40)\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
