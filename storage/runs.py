"""Sources and crawl runs: the configured sources mirrored into the database, one run row per poll."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, update
from sqlmodel import col
from sqlmodel import select as select_model

from storage.columns import errors_json
from storage.core import T_RUN, T_SOURCE, Repo, chunks, insert_new
from storage.models import CrawlRun, utcnow
from storage.records import FinishedRun


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


class RunRepo(Repo):
    def sync_sources(self, sources: Iterable) -> None:
        """Mirror the configured sources (pydantic Source objects) into the sources table."""
        now = utcnow()
        with self.engine.begin() as conn:
            existing = dict(conn.execute(select(T_SOURCE.c.id, T_SOURCE.c.config_json)).all())
            fresh = []
            for s in sources:
                config_json = s.model_dump_json(by_alias=True)
                values = dict(
                    name=s.name,
                    kind=s.kind,
                    region=s.region,
                    enabled=s.enabled,
                    config_json=config_json,
                    updated_at=now,
                )
                if s.id not in existing:
                    fresh.append(dict(id=s.id, created_at=now, **values))
                elif existing[s.id] != config_json:
                    conn.execute(update(T_SOURCE).where(T_SOURCE.c.id == s.id).values(**values))
            insert_new(conn, T_SOURCE, fresh, key=["id"])  # another process starting with the same file

    def start_runs(self, source_ids: Sequence[str]) -> dict[str, int]:
        """Open a 'running' crawl run per source, all in one transaction."""
        if not source_ids:
            return {}
        now = utcnow()
        with self.engine.begin() as conn:
            ids = (
                conn.execute(
                    insert(T_RUN).returning(T_RUN.c.id, sort_by_parameter_order=True),
                    [dict(source_id=sid, started_at=now, status="running", duration=0.0) for sid in source_ids],
                )
                .scalars()
                .all()
            )
        return dict(zip(source_ids, ids, strict=True))

    def finish_runs(self, runs: Sequence[FinishedRun]) -> None:
        """Close crawl runs, all in one transaction (the first 200 errors of each are kept)."""
        if not runs:
            return
        now = utcnow()
        rows = [
            dict(
                _id=r.run_id,
                _status=r.status,
                _pages=r.pages,
                _nm=r.not_modified,
                _new=r.counts.new,
                _changed=r.counts.changed,
                _unchanged=r.counts.unchanged,
                _failed=r.counts.failed,
                _duration=r.duration,
                _errors=errors_json(r.errors[:200]),
            )
            for r in runs
        ]
        with self.engine.begin() as conn:
            conn.execute(
                update(T_RUN)
                .where(T_RUN.c.id == bindparam("_id"))
                .values(
                    status=bindparam("_status"),
                    finished_at=now,
                    pages=bindparam("_pages"),
                    not_modified=bindparam("_nm"),
                    new=bindparam("_new"),
                    changed=bindparam("_changed"),
                    unchanged=bindparam("_unchanged"),
                    failed=bindparam("_failed"),
                    duration=bindparam("_duration"),
                    errors_json=bindparam("_errors"),
                ),
                rows,
            )

    def beat(self, run_ids: Sequence[int], elapsed: float) -> None:
        """A poll still running says so: until a run is closed, `duration` is the seconds it has run, last
        written here. A run whose last beat is older than a lease was cut off (mark_interrupted)."""
        if not run_ids:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(T_RUN).where(T_RUN.c.id.in_(list(run_ids)), T_RUN.c.status == "running").values(duration=elapsed)
            )

    def mark_interrupted(self, lease: timedelta | None = None) -> int:
        """Runs left 'running' by a crash or a kill: say so. With a lease, only runs that have not beaten
        for that long: another process polling the same database right now keeps its runs."""
        with self.engine.begin() as conn:
            running = T_RUN.c.status == "running"
            if lease is None:
                return conn.execute(update(T_RUN).where(running).values(status="interrupted")).rowcount
            now = utcnow()
            dead = [
                r.id
                for r in conn.execute(select(T_RUN.c.id, T_RUN.c.started_at, T_RUN.c.duration).where(running))
                if _aware(r.started_at) + timedelta(seconds=r.duration or 0) + lease < now
            ]
            for chunk in chunks(dead):
                conn.execute(update(T_RUN).where(T_RUN.c.id.in_(chunk), running).values(status="interrupted"))
            return len(dead)

    def last_runs(self, limit_per_source: int = 1) -> dict[str, CrawlRun]:
        with self.session() as s:
            latest = select(T_RUN.c.source_id, func.max(T_RUN.c.id).label("mid")).group_by(T_RUN.c.source_id).subquery()
            rows = s.exec(select_model(CrawlRun).join(latest, col(CrawlRun.id) == latest.c.mid)).all()
            return {r.source_id: r for r in rows}
