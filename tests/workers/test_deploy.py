"""deploy/ checked against the project, without a container daemon (none on CI): the image copies every package
the project installs, installs extras that exist and runs as a non-root user with the console script as entry;
every command the compose file and the systemd unit give parses with the real CLI."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest
from ruamel.yaml import YAML

from watcher.cli import main

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PYPROJECT = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text(encoding="utf-8"))


def _parses(args: list[str]) -> click.Context:
    """The CLI's own parser on the arguments (options checked, nothing run)."""
    ctx = main.make_context("watcher", list(args), resilient_parsing=False)
    # Click 8.2 keeps the command's name apart (protected, deprecated to read); Click 9 leaves it in args.
    rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
    name, cmd, rest = main.resolve_command(ctx, rest)
    assert cmd is not None, f"no command {name}"
    return cmd.make_context(name, rest, parent=ctx)


def test_image_copies_every_package_and_runs_unprivileged():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    copied = {m.group(1) for m in re.finditer(r"^COPY (\w+) \./\1$", text, re.M)}
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= copied, f"the image misses {packages - copied}"
    extras = re.search(r"pip install '\.\[([\w,]+)\]'", text)
    assert extras and set(extras.group(1).split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    entry = re.search(r"^ENTRYPOINT (\[.*\])", text, re.M)
    assert entry and YAML().load(entry.group(1))[0] in PYPROJECT["project"]["scripts"]


def test_compose_commands_parse_with_the_cli():
    compose = YAML(typ="safe").load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    entry = YAML().load(re.search(r"^ENTRYPOINT (\[.*\])", (DEPLOY / "Dockerfile").read_text(), re.M).group(1))
    roles = {name: s for name, s in compose["services"].items() if s.get("image") == "policy-watcher"}
    assert {"scheduler", "worker"} <= set(roles)
    for name, service in roles.items():
        ctx = _parses([*entry[1:], *service["command"]])
        assert ctx.info_name == "worker", name
    assert _parses([*entry[1:], *roles["scheduler"]["command"]]).params["schedule_only"] is True
    assert _parses([*entry[1:], *roles["worker"]["command"]]).params["schedule"] is False
    for service in ("postgres", "redis"):
        assert service in compose["services"]
    env = roles["worker"]["environment"]
    assert env["WATCHER_DATABASE_URL"].startswith("postgresql://") and env["WATCHER_REDIS_URL"].startswith("redis://")


@pytest.mark.parametrize("instance", ["1", "scheduler"])
def test_systemd_unit_commands_parse_with_the_cli(instance):
    unit = (DEPLOY / "policy-watcher-worker@.service").read_text(encoding="utf-8")
    exec_start = re.search(r"^ExecStart=/bin/sh -c '(.*)'$", unit, re.M).group(1)
    args_env = re.search(r'WATCHER_WORKER_ARGS=([^"]*)"', unit).group(1)
    script = exec_start.replace("%i", instance).replace("%H", "host").replace("$$WATCHER_WORKER_ARGS", args_env)
    branch = script.split("; else ")[0 if instance == "scheduler" else 1]
    argv = shlex.split(branch.split("exec ", 1)[1].removesuffix("; fi"))
    assert argv[0].endswith("/watcher")
    ctx = _parses(argv[1:])
    assert ctx.info_name == "worker" and ctx.params["schedule_only"] is (instance == "scheduler")
