"""The one retry rule: which HTTP answers are worth asking again, and how long the server asks us to wait.

Used by the fetcher (its in-run retries), by `HTTPStatusError.retryable` (so the attachments stage
keeps no validators and tries again on the next visit) and by the notifiers (a delivery is retried).
A leaf: no project imports, so the error tree may use it.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

# 5xx: the server's own trouble, usually passing (a portal's overloaded CMS, a gateway restarting).
# 408 Request Timeout: the server gave up waiting for us and closed; the same request can succeed.
# 429 Too Many Requests: asked to slow down, with a Retry-After that the fetcher honours.
# Every other 4xx says the request itself is wrong (404, 403, 410) and repeats the same answer.
RETRYABLE_STATUS: frozenset[int] = frozenset({408, 429, *range(500, 600)})


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
