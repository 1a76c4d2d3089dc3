"""Message bodies per service, within each service's size limit (long batches become several messages)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Callable

from jinja2 import Environment

from .items import Item

# Bytes of the serialised body each service accepts (documented limits, with a margin).
LIMITS = {"slack": 35_000, "dingtalk": 19_000, "wecom": 4_000, "feishu": 28_000, "webhook": 1_000_000}
SLACK_MAX_BLOCKS = 48

_md = Environment(autoescape=False)
_MD_ITEM = _md.from_string(
    "- [{{ i.title }}]({{ i.url }})\n  {{ [i.doc_no, i.issuer, i.published] | select | join(' · ') }}"
    "{% if i.relation != 'new' %}\n  {{ i.relation }}{% endif %}")


def _markdown(items: list[Item], heading: str) -> str:
    return f"### {heading}\n" + "\n".join(_MD_ITEM.render(i=i) for i in items)


def heading(items: list[Item]) -> str:
    new = sum(i.kind == "notice.new" for i in items)
    links = sum(i.kind == "link.new" for i in items)
    changed = sum(i.kind == "notice.version" for i in items)
    parts = [f"{new} 条新文件" if new else "", f"{changed} 条修订" if changed else "", f"{links} 条关联" if links else ""]
    return "政策动态：" + "，".join(p for p in parts if p)


def slack(items: list[Item]) -> dict:
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": heading(items)[:150]}}]
    for i in items[:SLACK_MAX_BLOCKS]:
        meta = " · ".join(x for x in (i.doc_no, i.issuer, i.published) if x)
        text = f"*<{i.url}|{i.title}>*\n{meta}" + (f"\n_{i.relation}_" if i.relation != "new" else "")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    return {"text": heading(items), "blocks": blocks}


def dingtalk(items: list[Item]) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": heading(items), "text": _markdown(items, heading(items))}}


def wecom(items: list[Item]) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": _markdown(items, heading(items))}}


def feishu(items: list[Item]) -> dict:
    content = []
    for i in items:
        content.append([{"tag": "a", "text": i.title, "href": i.url}])
        meta = " · ".join(x for x in (i.doc_no, i.issuer, i.published) if x)
        content.append([{"tag": "text", "text": meta + (f"\n{i.relation}" if i.relation != "new" else "")}])
    return {"msg_type": "post", "content": {"post": {"zh_cn": {"title": heading(items), "content": content}}}}


def webhook(items: list[Item]) -> dict:
    return {"heading": heading(items), "items": [i.as_dict() for i in items]}


BUILDERS: dict[str, Callable[[list[Item]], dict]] = {
    "slack": slack, "dingtalk": dingtalk, "wecom": wecom, "feishu": feishu, "webhook": webhook}


def _size(body: dict) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8"))


def messages(kind: str, items: list[Item]) -> list[tuple[list[Item], dict]]:
    """Split items into messages that each fit the service's limit (and Slack's block count)."""
    build, limit = BUILDERS[kind], LIMITS[kind]
    out: list[tuple[list[Item], dict]] = []
    batch: list[Item] = []
    for item in items:
        trial = batch + [item]
        too_many = kind == "slack" and len(trial) > SLACK_MAX_BLOCKS
        if batch and (too_many or _size(build(trial)) > limit):
            out.append((batch, build(batch)))
            batch = [item]
        else:
            batch = trial
    if batch:
        body = build(batch)
        if _size(body) > limit:   # one item alone too long: shorten its relation line
            batch[0].relation = batch[0].relation[:200]
            body = build(batch)
        out.append((batch, body))
    return out


# ---- signing --------------------------------------------------------------------------------------
def sign_generic(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_dingtalk(secret: str, timestamp_ms: int | None = None) -> tuple[str, str]:
    """(timestamp, sign) for the query string: HmacSHA256 of "timestamp\\nsecret", base64."""
    ts = str(timestamp_ms or int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return ts, base64.b64encode(digest).decode()


def sign_feishu(secret: str, timestamp_s: int | None = None) -> tuple[str, str]:
    """(timestamp, sign) for the body: HmacSHA256 keyed by "timestamp\\nsecret" over nothing, base64."""
    ts = str(timestamp_s or int(time.time()))
    digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return ts, base64.b64encode(digest).decode()
