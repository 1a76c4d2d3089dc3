"""Titles, 文号 and URLs written to break what shows them: chat messages stay within each service's limits
and keep the page's text as text, building them stays linear, and the terminal never reads a title as
Rich markup (issue 14, item 12). The messages go to a real receiver; the CLI reads a real poll."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from notifiers.send import post_webhook
from notifiers.services import encode, service_for
from tests.faults.site import doc, listing, source
from tests.notify.world import sample_items
from watcher.cli import main
from watcher.config.channels import Channel
from watcher.crawl.transport import deadline_client

SERVICES = ["wecom", "dingtalk", "slack", "feishu", "webhook"]
HOSTILE_TITLE = (
    "<!channel> 请看[点我](http://evil.example/x) *粗体* <font color=red>红</font> <http://evil.example|假链接>"
)


def _send_all(hooks, kind: str, items) -> list[dict]:
    """Every message of `items` for the service, posted to the real receiver; returns what arrived."""
    path = f"/{kind}"
    hooks.answers[path] = (200, "ok") if kind == "slack" else (200, '{"errcode": 0, "code": 0}')
    ch = Channel(id=kind, type=kind, url_env="HOOK_URL", retries=0)
    with deadline_client() as client:
        for n, (_, body) in enumerate(service_for(kind).messages(items)):
            post_webhook(ch, body, f"k{n}", client)
    return [p for p in hooks.posts if p["path"] == path]


@pytest.mark.parametrize("kind", SERVICES)
def test_a_message_never_exceeds_the_services_limit_whatever_the_input(hooks, monkeypatch, kind):
    monkeypatch.setenv("HOOK_URL", hooks.url(f"/{kind}"))
    huge = "政" * 100_000
    items = sample_items(5)
    items[1] = replace(items[1], title=huge)
    items[2] = replace(items[2], url="https://example.gov.cn/" + "路径" * 50_000, issuer="局" * 100_000)
    items[3] = replace(items[3], relation="derived from " + "国发〔2024〕1号、" * 30_000, doc_no="号" * 50_000)
    posts = _send_all(hooks, kind, items)
    limit = service_for(kind).limit
    assert posts and all(len(p["raw"]) <= limit for p in posts), [len(p["raw"]) for p in posts]
    shown = "".join(p["raw"].decode() for p in posts)
    for i in items:  # every item announced, in order, none dropped
        assert f"第{i.event_id}号" in shown or i.event_id == 2
    if kind != "webhook":  # chat services show a cut title; the generic webhook sends data whole if it fits
        assert "政" * 300 not in shown and "…" in shown


@pytest.mark.parametrize("kind", SERVICES)
def test_building_messages_is_linear(kind, monkeypatch):
    """The work of splitting a batch into messages, counted as the bytes encoded while measuring bodies (every body
    rendered is encoded to be measured), grows with the items, not with their square: 8x the items, not 64x the
    work (the generic webhook once took 15 s for 1,296 items). Counted, not timed: the same on any machine."""
    import notifiers.services.base as base

    service = service_for(kind)
    small, large = sample_items(162), sample_items(1296)
    encoded = [0]

    def counting(body: dict) -> bytes:
        out = encode(body)
        encoded[0] += len(out)
        return out

    monkeypatch.setattr(base, "encode", counting)

    def work(items) -> int:
        encoded[0] = 0
        service.messages(items)
        return encoded[0]

    w_small, w_large = work(small), work(large)
    assert w_small > 0 and w_large < 16 * w_small, (w_small, w_large)
    msgs = service.messages(large)
    assert [i.event_id for batch, _ in msgs for i in batch] == [i.event_id for i in large]
    assert all(len(encode(body)) <= service.limit for _, body in msgs)


@pytest.mark.parametrize("kind", ["slack", "dingtalk", "wecom"])
def test_titles_are_escaped_for_each_services_markup(hooks, monkeypatch, kind):
    monkeypatch.setenv("HOOK_URL", hooks.url(f"/{kind}"))
    items = [replace(i, title=HOSTILE_TITLE, issuer="<!here>", relation="[关联](http://evil.example/y)")
             for i in sample_items(3)]  # fmt: skip
    items[0] = replace(items[0], url="https://example.gov.cn/a_(1)|x>y.html")
    [post] = _send_all(hooks, kind, items)
    if kind == "slack":
        texts = [b["text"]["text"] for b in post["json"]["blocks"][1:]]
        for text, item in zip(texts, items, strict=True):
            # One link, to the item's own URL; the mentions and fake links are plain text.
            assert re.findall(r"<([^<>]*)>", text) == [re.findall(r"<([^<>]*)>", text)[0]]
            target = re.findall(r"<([^<>|]*)\|", text)[0]
            assert target.replace("%7C", "|").replace("%3E", ">") == item.url
            assert "<!channel>" not in text and "<!here>" not in text and "&lt;!channel&gt;" in text
    else:
        text = post["json"]["markdown"]["text" if kind == "dingtalk" else "content"]
        links = re.findall(r"\[([^\[\]]*)\]\(([^()\s]*)\)", text)
        assert [u for _, u in links] == [items[0].url.replace("(", "%28").replace(")", "%29").replace(">", "%3E")] + [
            i.url for i in items[1:]
        ]
        assert "evil.example" not in "".join(u for _, u in links) and "<font" not in text
        assert "［点我］（http://evil.example/x）" in text  # shown as the page wrote it, in full-width form


MARKUP = "[/bold] [red]红[/red] [link=http://evil.example]点[/link] [bold"


def test_rich_markup_in_titles_urls_and_errors_is_never_read(portal, hooks, tmp_path, monkeypatch):
    own = doc(portal, "/art/1.html", f"关于{MARKUP}的通知")
    portal.add("/art/2.html", redirect="/art/2b.html")
    src = source(listing(portal, "/index.html", [own, portal.url("/art/[/bold].html")]))
    monkeypatch.setenv("HOOK_URL", hooks.url("/hook"))
    hooks.answers["/hook"] = (400, "[/bold] rejected [red]")
    cfg = tmp_path / "sources.yaml"
    YAML().dump(
        {
            "sources": [src.model_dump(mode="json", by_alias=True, exclude_none=True) | {"baseline": False}],
            "channels": [{"id": "team", "type": "webhook", "url_env": "HOOK_URL", "retries": 0}],
        },
        cfg,
    )
    base = ["-c", str(cfg), "--db", f"sqlite:///{tmp_path / 'w.db'}"]
    runs = {
        "poll": ["poll"],
        "status": ["status"],
        "search": ["search", "通知"],
        "docs list": ["docs", "list"],
        "docs show": ["docs", "show", "1"],
        "docs history": ["docs", "history", "1"],
        "docs links": ["docs", "links", "1"],
        "sources list": ["sources", "list"],
    }
    for name, args in runs.items():
        r = CliRunner().invoke(main, [*base, *args])
        assert r.exception is None or isinstance(r.exception, SystemExit), (name, r.exception)
        assert r.exit_code in (0, 1), (name, r.output)
        if name == "poll":
            assert "[/bold] rejected [red]" in r.output and "/art/[/bold].html: HTTP 404" in r.output, r.output
        if name in ("search", "docs list", "docs show", "docs history", "docs links"):
            assert "[/bold]" in r.output and "[link=http://evil.example]" in r.output, (name, r.output)
        if name == "status":
            assert "[/bold] rejected [red]" in r.output and "[/bold].html" in r.output, r.output
    assert json.loads(CliRunner().invoke(main, [*base, "search", "通知", "--json"]).output)[0]["title"] == (
        f"关于{MARKUP}的通知"
    )


def test_a_resent_batch_is_the_message_it_was():
    """body() is what messages() sent: a batch resent after a crash is built the same, cut the same (its
    number (1/3) aside: a resend does not know how many messages the crashed run had)."""
    from notifiers.services.text import Part

    items = sample_items(3)
    items[0] = replace(items[0], title="政" * 100_000)
    for kind in SERVICES:
        service = service_for(kind)
        msgs = service.messages(items)
        for k, (batch, body) in enumerate(msgs, 1):
            assert service.body(batch, Part(k, len(msgs)) if len(msgs) > 1 else None) == body
            assert len(encode(service.body(batch))) <= service.limit
