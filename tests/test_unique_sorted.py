"""run_starts / unique_sorted: the one sorted-unique idiom of watcher/link, checked against np.unique."""

import numpy as np
import pytest

from watcher.link.fingerprint import run_starts, unique_sorted


@pytest.mark.parametrize("dtype", [np.uint32, np.uint64, np.int64])
def test_unique_sorted_is_np_unique(dtype):
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 7, 500):
        x = np.sort(rng.integers(0, 40, size=n).astype(dtype))
        got = unique_sorted(x)
        assert got.dtype == x.dtype
        assert np.array_equal(got, np.unique(x))


def test_run_starts_marks_the_first_of_each_run():
    x = np.array([2, 2, 3, 5, 5, 5, 9], dtype=np.uint32)
    assert run_starts(x).tolist() == [True, False, True, True, False, False, True]
    assert run_starts(x[:0]).dtype == bool and len(run_starts(x[:0])) == 0
    # where each run starts, and its length (what Index._ranked_compact counts bands with)
    first = np.flatnonzero(run_starts(x))
    assert first.tolist() == [0, 2, 3, 6]
    assert (np.diff(np.append(first, len(x)))).tolist() == [2, 1, 3, 1]
