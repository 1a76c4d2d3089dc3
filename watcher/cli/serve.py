"""`watcher serve`: the web view and the feeds; `watcher feeds`: the same feeds written as files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher.cli.context import Ctx, cli_errors, emit, json_option, out
from watcher.errors import ConfigError

if TYPE_CHECKING:
    from watcher.config.settings import Config

TOKEN_ENV = "WATCHER_WEB_TOKEN"


def server_token(host: str, token_env: str) -> str | None:
    """The token a server bound to `host` needs: none on loopback (unless one is set), else the value of the
    environment variable `token_env`, without which the server does not start."""
    from watcher.web.auth import is_loopback

    token = os.environ.get(token_env) or None
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without a token: set the environment variable {token_env} "
            "(or bind to 127.0.0.1)",
            field="--host",
        )
    if token is not None and len(token) < 16:
        raise ConfigError(f"the token in {token_env} is too short (16 characters at least)", field=token_env)
    return token


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free).")
@click.option(
    "--token-env",
    default=TOKEN_ENV,
    show_default=True,
    help="Environment variable holding the access token; required when --host is not a loopback address.",
)
@click.pass_obj
@cli_errors
def serve(obj: Ctx, host: str, port: int, token_env: str) -> None:
    """The web view: notices with filters and search, a notice's versions, links and diffs, sources, channels,
    feeds, and a JSON API beside the pages (/api/notices …).

    \b
    Bound to 127.0.0.1 by default. On any other address the token in --token-env is required: send it as
    `Authorization: Bearer TOKEN`, or open a page once with ?token=TOKEN (an HttpOnly cookie is set).
    \b
    Example:
      watcher --db watcher-demo/demo.db serve --port 8080
      WATCHER_WEB_TOKEN=$(openssl rand -hex 16) watcher serve --host 0.0.0.0
    """
    import uvicorn

    from watcher.web.app import create_app

    token = server_token(host, token_env)
    cfg = obj.load() if obj.config_given or Path(obj.config_path).exists() else _empty_config()
    app = create_app(cfg, obj.reader(), token=token)
    out.print(f"serving on http://{host}:{port}/" + (" (token required)" if token else ""), highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _empty_config() -> Config:
    """A configuration with no source, for a database opened without a sources.yaml."""
    from watcher.config.loader import parse_config

    return parse_config("sources: []\n")


@click.group()
def feeds() -> None:
    """Atom and JSON feeds per source, per tag and per saved filter (the `feeds:` section of sources.yaml).

    \b
    Example:
      watcher feeds write public/feeds
    """


@feeds.command("write")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--limit", default=50, show_default=True, help="Entries per feed.")
@json_option("Print the files written as JSON.")
@click.pass_obj
@cli_errors
def feeds_write(obj: Ctx, directory: str, limit: int, as_json: bool) -> None:
    """Write every feed as DIRECTORY/{source,tag,saved}/NAME.atom and .json (what `watcher serve` answers under
    /feeds/), to publish with any static file server. Entries link to `defaults.web_url` when it is set, else to
    the portal.

    \b
    Example:
      watcher -c sources.yaml feeds write /var/www/feeds --json
    """
    from watcher.i18n import use_locale
    from watcher.views import feeds as feed_views

    cfg, store = obj.load(), obj.reader()
    root = Path(directory)
    written: list[dict] = []
    with use_locale(cfg.defaults.locale):
        for spec in feed_views.every_feed(cfg):
            built = feed_views.build_feed(store, cfg, spec, limit)
            kind, name = spec.key.split("/", 1)
            base = root / kind / _file_name(name)
            base.parent.mkdir(parents=True, exist_ok=True)
            base.with_name(base.name + ".atom").write_bytes(feed_views.atom(built))
            base.with_name(base.name + ".json").write_bytes(feed_views.json_bytes(built))
            written.append(dict(feed=spec.key, title=spec.title, entries=len(built.entries)))
    emit(written, as_json, lambda rows: [out.print(f"{r['feed']}: {r['entries']} entries") for r in rows])


def _file_name(name: str) -> str:
    """A feed's name as one file name: a tag may hold a slash or start with a dot."""
    name = name.replace("/", "%2F").replace("\\", "%5C")
    return "%2E" + name[1:] if name.startswith(".") else name
