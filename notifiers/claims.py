"""Who claims a delivery, and when a claim left `sending` was abandoned by a worker that died."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta

from storage.models import utcnow

# Who claims a delivery: host, PID and a token of this process. The token tells this process from an
# earlier one with the same host and PID: a restarted container is PID 1 on the same hostname again.
TOKEN = secrets.token_hex(6)
OWNER = f"{socket.gethostname()}:{os.getpid()}:{TOKEN}"
LEASE = timedelta(hours=1)  # every claim expires: longer than any delivery with its retries takes


def _owner_parts(owner: str) -> tuple[str, str, str | None]:
    """(host, pid, token) of a claim's owner; token None for the `host:pid` of earlier releases."""
    parts = owner.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], parts[1], parts[2]
    host, _, pid = owner.rpartition(":")
    return host, pid, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def abandoned(owner: str | None, claimed_at: datetime | None) -> bool:
    """Whether a `sending` claim was left by a worker that died. Every claim expires after LEASE; before
    that, a claim of this host is dead when its process is gone, or when it names this very PID with
    another token (this process's earlier incarnation). A claim held by a live worker is left alone."""
    if claimed_at is None:
        return True
    if claimed_at.tzinfo is None:
        claimed_at = claimed_at.replace(tzinfo=UTC)
    if utcnow() - claimed_at > LEASE:
        return True
    host, pid, token = _owner_parts(owner or "?:0")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host's worker: only its lease tells
    if int(pid) == os.getpid():
        return token is not None and token != TOKEN
    return not _alive(int(pid))
