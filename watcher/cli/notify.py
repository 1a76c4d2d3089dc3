"""`watcher notify …` and `watcher digest …`: the notifiers from the terminal."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher.cli.context import Ctx, cli_errors, emit, err_console, esc, json_option, out
from watcher.config.channels import Channel
from watcher.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from notifiers.dispatch import Dispatcher

# The messages of this module that are new, in one place for the gettext catalogs to come.
NO_EMAIL_CHANNEL = (
    "没有配置邮件渠道，摘要无处可发。请在 sources.yaml 的 channels: 下加一个 type: email 的渠道"
    "（smtp_host、to 等）；只想看看摘要，用 `watcher digest preview`。"
)
NOT_EMAIL = "渠道 {id} 是 {type}，不是邮件渠道：摘要只发往 type: email 的渠道。"


def dispatcher(obj: Ctx, *, reading: bool = False) -> Dispatcher:
    """The notifiers over this invocation's database; `reading`: a preview, which makes no database."""
    from notifiers.dispatch import Dispatcher

    return Dispatcher(obj.reader() if reading else obj.store(), obj.load())


def _channel(d: Dispatcher, channel_id: str) -> Channel:
    try:
        return d.channel(channel_id)
    except KeyError as exc:  # Dispatcher.channel says "no channel …" through KeyError
        raise NotFoundError(str(exc.args[0])) from None


@click.group()
def notify() -> None:
    """Webhook alerts to team chat (Slack, DingTalk, WeCom, Feishu, generic JSON).

    \b
    Example:
      watcher notify test dingtalk-team
    """


@notify.command("test")
@click.argument("channel_id")
@json_option("Print the answer as JSON.")
@click.pass_obj
@cli_errors
def notify_test(obj: Ctx, channel_id: str, as_json: bool) -> None:
    """Send a sample message to a channel and report the service's answer.

    \b
    Example:
      DINGTALK_URL=https://oapi.dingtalk.com/robot/send?access_token=… watcher notify test dingtalk-team
    """
    from watcher.errors import DeliveryError

    d = dispatcher(obj)
    try:
        answer = d.test(_channel(d, channel_id))
    except (DeliveryError, ConfigError) as exc:
        if as_json:  # the failure is the answer: print it as JSON too
            emit({"channel": channel_id, "ok": False, "error": str(exc)}, True, indent=None)
            sys.exit(1)
        raise
    emit(
        {"channel": channel_id, "ok": True, "answer": answer},
        as_json,
        lambda _: click.echo(f"{channel_id}: {answer}"),
        indent=None,
    )


@notify.command("send")
@json_option("Print the reports as JSON.")
@click.pass_obj
@cli_errors
def notify_send(obj: Ctx, as_json: bool) -> None:
    """Send what the webhook channels have not had yet (polls do this themselves).
    Exit status 1 when a delivery failed.

    \b
    Example:
      watcher notify send --json
    """
    reports = dispatcher(obj).send_webhooks()
    emit([r.as_dict() for r in reports], as_json, lambda _: _print_webhook_reports(reports))
    if any(r.failed for r in reports):
        sys.exit(1)


def _print_webhook_reports(reports: list) -> None:
    for r in reports:
        out.print(f"{esc(r.channel)}: {r.messages} messages, {r.items} items, {r.failed} failed", highlight=False)
        for e in r.errors:
            err_console.print(f"  [red]{esc(e)}[/]")


@click.group()
def digest() -> None:
    """The daily email digest.

    \b
    Example:
      watcher digest preview --out digest.html
    """


def _preview_channel(d: Dispatcher, channel_id: str | None) -> Channel:
    chans = [_channel(d, channel_id)] if channel_id else [c for c in d.config.channels if c.service == "email"]
    # Without an email channel, preview with defaults (everything, no recipients).
    return chans[0] if chans else Channel(id="preview", type="email", to=["preview@localhost"])


@digest.command("preview")
@click.option("--channel", "channel_id", help="Email channel (default: the first one).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only notices published since (YYYY-MM-DD).")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Write the HTML here.")
@click.option("--text", "as_text", is_flag=True, help="Print the plain-text version.")
@click.pass_obj
@cli_errors
def digest_preview(
    obj: Ctx, channel_id: str | None, since: datetime | None, out_file: str | None, as_text: bool
) -> None:
    """Render the next digest without sending it or marking anything as sent.

    \b
    Example:
      watcher digest preview --since 2024-01-01 --out /tmp/digest.html
    """
    d = dispatcher(obj, reading=True)
    ch = _preview_channel(d, channel_id)
    items, (subject, text, html) = d.digest(ch, since=since.date() if since else None)
    if out_file:
        Path(out_file).write_text(html, encoding="utf-8")
        err_console.print(f"wrote {esc(out_file)}")
    out.print(text if as_text else f"{subject}  ({len(items)} items)", markup=False, highlight=False, soft_wrap=True)


@digest.command("send")
@click.option("--channel", "channel_id", help="Only this email channel.")
@click.option("--dry-run", is_flag=True, help="Render and report, send nothing.")
@json_option("Print the reports as JSON.")
@click.pass_obj
@cli_errors
def digest_send(obj: Ctx, channel_id: str | None, dry_run: bool, as_json: bool) -> None:
    """Send the digest of everything since the channel's last successful digest.

    \b
    Example:
      SMTP_PASSWORD=… watcher digest send --channel compliance-mail
    """
    # No stand-in channel here (preview has one): its SMTP server, 127.0.0.1:587, is nobody's. Checked
    # before the database is opened.
    if not channel_id and not any(c.service == "email" for c in obj.load().channels):
        raise ConfigError(NO_EMAIL_CHANNEL, path=obj.config_path)
    d = dispatcher(obj)
    chans = [_channel(d, channel_id)] if channel_id else [c for c in d.config.channels if c.service == "email"]
    if chans[0].service != "email":
        raise ConfigError(NOT_EMAIL.format(id=channel_id, type=chans[0].service), path=obj.config_path)
    reports = [d.send_digest(ch, dry_run=dry_run) for ch in chans]
    emit([r.as_dict() for r in reports], as_json, lambda _: _print_digest_reports(reports))
    if any(r.failed for r in reports):
        sys.exit(1)


def _print_digest_reports(reports: list) -> None:
    for r in reports:
        out.print(f"{r.channel}: {r.items} items; " + "; ".join(r.answers + r.errors), markup=False, highlight=False)
