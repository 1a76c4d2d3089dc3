"""When a notice whose detail page failed is fetched again: never given up, less often the longer it fails.

A page that fails a few times is usually a portal's bad minute, so the first failures are retried on every
poll. One that keeps failing is retried after a wait that doubles up to a day: a portal that takes a page
down for a week and puts it back is caught within a day of its return, and a dead link costs one request a
day. The notices that keep failing are shown by `watcher poll` and `watcher status` (exit status 1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.records import NoticeState

RETRY_EVERY_RUN = 8  # failures retried on every poll before the waits begin
FIRST_WAIT = timedelta(hours=1)
LONGEST_WAIT = timedelta(days=1)


def retry_wait(attempts: int) -> timedelta:
    """How long after its last failure a notice that failed `attempts` times waits to be fetched again."""
    if attempts < RETRY_EVERY_RUN:
        return timedelta(0)
    doublings = min(attempts - RETRY_EVERY_RUN, 16)  # 2**16 hours is past any cap: no overflow
    return min(FIRST_WAIT * 2**doublings, LONGEST_WAIT)


def retry_due(st: NoticeState, now: datetime) -> bool:
    """Whether a notice never stored (pending, or failed so far) is fetched on this poll."""
    if st.attempts < RETRY_EVERY_RUN or st.last_checked is None:
        return True
    last = st.last_checked if st.last_checked.tzinfo else st.last_checked.replace(tzinfo=UTC)
    return now - last >= retry_wait(st.attempts)
