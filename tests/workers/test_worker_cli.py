"""`watcher worker` on a database that is not PostgreSQL: refused with its reason, nothing created."""

from __future__ import annotations

from click.testing import CliRunner

from tests.workers.cluster import write_config
from watcher.cli import main


def test_worker_refuses_sqlite(tmp_path):
    cfg = write_config(tmp_path / "sources.yaml", [])
    db = tmp_path / "w.db"
    res = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "-c", str(cfg), "worker"])
    assert res.exit_code == 1
    assert "工作进程需要 PostgreSQL" in res.output and "sqlite" in res.output
    assert not db.exists()


def test_worker_help_has_an_example():
    res = CliRunner(env={"WATCHER_LOCALE": "en"}).invoke(main, ["worker", "--help"])
    assert res.exit_code == 0 and "Example:" in res.output and "--schedule-only" in res.output
