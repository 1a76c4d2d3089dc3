"""Builders of the notifier tests: a copy of the demo database with channels, channel entries, items."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from sqlalchemy import text

from notifiers.dispatch import Dispatcher
from notifiers.items import Item
from storage.repo import Store
from tests.receivers import HookReceiver, SMTPReceiver
from watcher.config.loader import load_config
from watcher.config.settings import Config

TOKEN = "tok-9f8e7d-secret"  # appears in webhook URLs; must never reach logs, status or errors


def world(
    tmp_path: Path, demo_db: tuple[Path, list[dict]], channels: list[dict], *, from_start: bool = True
) -> tuple[Config, Store, Path]:
    """A copy of the demo database and a config with these channels. from_start: the channels were
    configured before the notices arrived (a channel added later starts with later events)."""
    db, entries = demo_db
    target = tmp_path / "w.db"
    target.write_bytes(db.read_bytes())
    cfg_path = tmp_path / "sources.yaml"
    YAML().dump({"sources": entries, "channels": channels}, cfg_path)
    cfg = load_config(cfg_path)
    assert not cfg.errors, cfg.errors
    store = Store.open(f"sqlite:///{target}")
    Dispatcher(store, cfg).close()
    if from_start:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE channels SET start_event_id = 0"))
    return cfg, store, cfg_path


def hook(
    monkeypatch, recv: HookReceiver, ch_id: str, type_: str, path: str, secret: str | None = None, **extra
) -> dict:
    """A webhook channel entry whose URL (with a token) and secret are in the environment."""
    env = f"HOOK_{ch_id.upper().replace('-', '_')}"
    monkeypatch.setenv(env, recv.url(path) + f"?access_token={TOKEN}")
    ch = dict(id=ch_id, type=type_, url_env=env, retries=1, **extra)
    if secret:
        monkeypatch.setenv(env + "_SECRET", secret)
        ch["secret_env"] = env + "_SECRET"
    return ch


def mail(smtp: SMTPReceiver, **extra) -> dict:
    return dict(
        id="mail",
        type="email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        security="starttls",
        verify_tls=False,
        username="watcher",
        password_env="SMTP_PW",
        sender="watcher@example.org",
        to=["analyst@example.org", "compliance@example.org"],
        **extra,
    )


def sample_items(n: int, title_len: int = 60) -> list[Item]:
    return [
        Item(
            event_id=i,
            kind="notice.new",
            notice_id=i,
            source_id="s",
            title=f"第{i}号" + "政" * title_len,
            url=f"https://example.gov.cn/art/{i}.html",
            doc_no=f"测发〔2024〕{i}号",
            issuer="测试局",
            written=None,
            published="2024-05-01",
            relation="new",
        )
        for i in range(1, n + 1)
    ]
