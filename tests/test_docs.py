"""The documentation tells the truth (sqlite-utils' test_docs): every registered portal kind, chat service and
command is in the README, the source example in it loads, and docs/architecture.md names only folders that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from notifiers.services import known_services
from watcher.cli import main
from watcher.config.loader import parse_config
from watcher.extract.kinds import known_kinds

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SERVICE_NAMES = {
    "webhook": "JSON webhook",
    "slack": "Slack",
    "dingtalk": "DingTalk",
    "wecom": "WeCom",
    "feishu": "Feishu",
}


@pytest.mark.parametrize("kind", known_kinds())
def test_every_kind_is_in_the_readme_table(kind):
    assert re.search(rf"^\| `{re.escape(kind)}` \|", README, re.M), (
        f"kind {kind!r} missing from the README's kinds table"
    )


@pytest.mark.parametrize("service", known_services())
def test_every_chat_service_is_named_in_the_readme(service):
    assert SERVICE_NAMES.get(service, service) in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_in_the_readme(command):
    assert re.search(rf"watcher (?:-c \S+ |--db \S+ )?{command}\b", README), (
        f"`watcher {command}` is not shown in README"
    )


def test_the_readme_source_example_loads():
    block = README[README.index("A source:") :]
    example = block[block.index("```yaml") + len("```yaml") : block.index("```", block.index("```yaml") + 7)]
    config = parse_config(yaml.safe_dump({"sources": yaml.safe_load(example)}, allow_unicode=True))
    assert config.errors == [] and [s.id for s in config.sources] == ["jiangsu-szfwj"]


def test_architecture_names_existing_folders():
    named = set(re.findall(r"`((?:watcher|storage|notifiers)/[\w/]*)`", ARCHITECTURE))
    assert named, "the architecture page names no folder"
    missing = sorted(n for n in named if not (ROOT / n).exists())
    assert missing == []
