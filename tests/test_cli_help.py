"""The command line's help is Chinese by default and English under WATCHER_LOCALE=en (issue #13).

Click reads docstrings and `help=` at import; they are translated when the help is shown, through the
catalog (cli.po). Babel's extraction (tests/test_i18n.py) sees only `_()` calls, so this walks the commands.
"""

from __future__ import annotations

import inspect
import re

import click
import pytest
from click.testing import CliRunner

from watcher.cli import LocalizedContext, main, walk
from watcher.i18n import translations

CJK = re.compile(r"[\u4e00-\u9fff]")


def _paths(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _paths(cmd, (*prefix, name))
        else:
            yield (*prefix, name)


def _help_texts(command: click.Command) -> list[str]:
    ctx = click.Context(command)
    texts = [command.help, command.short_help] + [getattr(p, "help", None) for p in command.get_params(ctx)]
    return [inspect.cleandoc(t) for t in texts if t]


def test_every_help_text_has_a_chinese_entry():
    zh = translations("zh_CN")
    missing = [
        (command.name, text)
        for command in walk(main)
        for text in _help_texts(command)
        if re.search(r"[A-Za-z]", text) and zh.gettext(text) == text
    ]
    assert not missing, f"add these to watcher/locale/zh_CN/LC_MESSAGES/cli.po: {missing}"


def test_every_command_shows_its_help_through_the_localized_context():
    assert all(command.context_class is LocalizedContext for command in walk(main))


@pytest.mark.parametrize("path", list(_paths(main)), ids=lambda p: " ".join(p) or "watcher")
def test_help_is_chinese_by_default_with_the_examples_as_they_are(path):
    zh = CliRunner().invoke(main, [*path, "--help"])
    en = CliRunner(env={"WATCHER_LOCALE": "en"}).invoke(main, [*path, "--help"])
    assert zh.exit_code == 0 and en.exit_code == 0, zh.output + en.output
    assert "用法：" in zh.output and "示例：" in zh.output and "选项：" in zh.output
    assert "Usage:" in en.output and "Example" in en.output and "用法" not in en.output
    after = en.output.split("Example:")[1].split("Options:")[0]
    examples = [line.split(" #")[0].strip() for line in after.splitlines() if "watcher " in line]
    assert examples, en.output
    for example in examples:  # the command lines of the examples are kept inside the Chinese text
        assert example in zh.output


def test_english_help_of_watcher_and_a_subcommand():
    runner = CliRunner(env={"WATCHER_LOCALE": "en"})
    top = runner.invoke(main, ["--help"])
    assert "Policy Watcher: watch government portals for new policy notices." in top.output
    assert "Show this message and exit." in top.output and "Commands:" in top.output
    assert "Manage the source list (sources.yaml)" in top.output  # a subcommand's line in the listing
    add = runner.invoke(main, ["sources", "add", "--help"])
    assert "Inspect a list page, propose a source" in add.output
    assert "Id for the new source (default: from the host name)." in add.output
    assert not CJK.search(add.output)


def test_chinese_help_of_a_subcommand_and_its_options():
    result = CliRunner().invoke(main, ["sources", "add", "--help"])
    zh = translations("zh_CN")
    assert zh.gettext("Id for the new source (default: from the host name).") in result.output
    assert "检查一个列表页" in result.output and "Inspect a list page" not in result.output
    top = CliRunner().invoke(main, ["--help"])
    assert "[默认：sources.yaml]" in top.output and "命令：" in top.output


def test_an_unknown_watcher_locale_is_refused_with_its_value():
    result = CliRunner(env={"WATCHER_LOCALE": "fr"}).invoke(main, ["--help"])
    assert result.exit_code == 1
    assert "WATCHER_LOCALE='fr'" in result.output and "zh_CN" in result.output
