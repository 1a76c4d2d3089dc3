"""Health for people: per source (from sources.yaml and the database) and recent failures, as JSON-able
rows (the shape `watcher status --json` and `watcher sources list --json` print)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage import reads
from watcher.i18n import _

if TYPE_CHECKING:
    from storage.repo import Store
    from watcher.config.settings import Config, Source

# Rich colour of a run status; None is a source never polled.
_COLOURS = {"ok": "green", "partial": "yellow", None: "dim"}


def status_colour(status: str | None) -> str:
    return _COLOURS.get(status, "red")


def status_text(status: str | None) -> str:
    """A run status as people read it (the JSON keeps the status word)."""
    words = {"ok": _("ok"), "partial": _("partial"), "failed": _("failed"), None: _("never")}
    return words.get(status, status or "")


def schedule_text(s: Source) -> str:
    sc = s.schedule
    if sc.cron:
        return _("cron {cron}").format(cron=sc.cron)
    hours = sc.every / 3600
    if hours >= 1:
        return _("every {hours:g} h").format(hours=hours)
    return _("every {minutes:g} min").format(minutes=sc.every / 60)


def source_status(cfg: Config, store: Store | None) -> list[dict]:
    """One row per source of sources.yaml, in its order, with what the database knows of it (nothing
    when there is no database yet)."""
    activity = reads.source_activity(store) if store is not None else {}
    rows = []
    for s in cfg.sources:
        a = activity.get(s.id) or reads.SourceActivity(source_id=s.id)
        rows.append(
            dict(
                id=s.id,
                name=s.name,
                enabled=s.enabled,
                schedule=schedule_text(s),
                last_poll=a.last_poll.isoformat(timespec="seconds") if a.last_poll else None,
                last_status=a.last_status,
                last_error=a.last_errors[0].message if a.last_errors else None,
                notices=a.notices,
                failing=a.failing,
            )
        )
    return rows


def recent_failures(store: Store, limit: int = 10) -> list[dict]:
    return [
        dict(source_id=f.source_id, url=f.url, error=f.error, attempts=f.attempts)
        for f in reads.recent_failures(store, limit)
    ]
