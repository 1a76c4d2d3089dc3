"""The token: not needed on 127.0.0.1; anywhere else `watcher serve` refuses to start without one and answers 401 to
a request without it; a Bearer header or a ?token= once (which sets an HttpOnly cookie) lets the reader in."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from tests.web.conftest import start_server, stop
from watcher.cli import main
from watcher.web.auth import is_loopback

TOKEN = "s3cret-token-for-tests-0123456789"


def test_only_the_loopback_names_need_no_token():
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "127.0.0.2", "192.168.1.4", "::", "example.org"))


def test_serve_refuses_other_addresses_without_a_token(served, monkeypatch):
    workdir = served[1]
    monkeypatch.delenv("WATCHER_WEB_TOKEN", raising=False)
    base = ["-c", str(workdir / "sources.yaml"), "--db", str(workdir / "web.db"), "serve", "--port", "1"]
    r = CliRunner().invoke(main, [*base, "--host", "0.0.0.0"])
    assert r.exit_code == 1 and "WATCHER_WEB_TOKEN" in r.output and "0.0.0.0" in r.output
    monkeypatch.setenv("MY_TOKEN", "short")
    r = CliRunner().invoke(main, [*base, "--host", "127.0.0.2", "--token-env", "MY_TOKEN"])
    assert r.exit_code == 1 and "too short" in r.output


def test_a_server_bound_elsewhere_answers_401_without_the_token(served):
    proc, base = start_server(served[1], "127.0.0.2", env={"WATCHER_WEB_TOKEN": TOKEN})
    try:
        for path in ("/notices", "/api/notices", "/feeds/source/js.atom"):
            r = httpx.get(base + path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
        assert httpx.get(base + "/api/notices", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(base + "/api/notices", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200 and ok.json()["notices"]
        once = httpx.get(base + "/notices", params={"token": TOKEN, "source": "js"})
        assert once.status_code == 303 and once.headers["location"] == "/notices?source=js"
        cookie = once.headers["set-cookie"]
        assert "HttpOnly" in cookie and "watcher_token=" in cookie and "samesite=strict" in cookie.lower()
        with httpx.Client(base_url=base) as c:
            c.cookies.set("watcher_token", TOKEN)
            assert c.get("/notices").status_code == 200
        assert httpx.get(base + "/notices", params={"token": "wrong"}).status_code == 401
    finally:
        stop(proc)
