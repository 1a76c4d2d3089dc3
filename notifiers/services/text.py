"""Text shared by the chat formats: the heading of a batch, an item's metadata line, a Markdown list, and
what keeps a notice's own text from acting as markup.

Titles, 文号 and issuers come from portal pages: whatever they contain must reach a chat as text. Slack
mrkdwn reads `<!channel>` as a mention and `<url|text>` as a link; the Markdown of DingTalk and WeCom reads
`[text](url)`, `*`, `#` and `<font>`. So each format escapes the page's text for its own markup, and every
field is clipped (`clipped`), so that one item never outgrows a message.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifiers.items import Item

TITLE_MAX = 300  # characters of a title shown in a chat message
FIELD_MAX = 200  # of a 文号, an issuer, a relation line
URL_MAX = 2048

_SPACE = re.compile(r"\s+")
# Markdown (DingTalk, WeCom): the characters that open or close markup, as their full-width forms, which
# read the same in Chinese text and which no renderer interprets (a backslash escape shows on some).
_MD = str.maketrans("[]()<>*_`#~", "［］（）＜＞＊＿｀＃～")
# In a link target: what would end the target or the link early.
_MD_URL = {c: f"%{ord(c):02X}" for c in " ()<>[]\"'`\t\n\r"}
_SLACK_URL = {c: f"%{ord(c):02X}" for c in " <>|\t\n\r"}


def heading(items: list[Item]) -> str:
    new = sum(i.kind == "notice.new" for i in items)
    links = sum(i.kind == "link.new" for i in items)
    changed = sum(i.kind == "notice.version" for i in items)
    parts = [
        f"{new} 条新文件" if new else "",
        f"{changed} 条修订" if changed else "",
        f"{links} 条关联" if links else "",
    ]
    return "政策动态：" + "，".join(p for p in parts if p)


def meta(item: Item) -> str:
    return " · ".join(x for x in (item.doc_no, item.issuer, item.published) if x)


def _cut(text: str | None, n: int | None) -> str | None:
    if text is None or n is None or len(text) <= n:
        return text
    return text[: max(1, n - 1)] + "…"


def clipped(item: Item, title: int = TITLE_MAX, other: int = FIELD_MAX, url: int = URL_MAX) -> Item:
    """The item with its fields cut to these lengths, for showing in one message."""
    return replace(
        item,
        title=_cut(item.title, title) or "",
        doc_no=_cut(item.doc_no, other),
        issuer=_cut(item.issuer, other),
        relation=_cut(item.relation, other) or "",
        url=_cut(item.url, url) or "",
        relations=[_cut(r, other) or "" for r in item.relations[:20]],
        parents=[_cut(p, other) or "" for p in item.parents[:20]],
    )


def one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def md_text(text: str) -> str:
    """Page text for DingTalk and WeCom Markdown: one line, no character that starts markup."""
    return one_line(text).translate(_MD)


def md_url(url: str) -> str:
    """A link target that ends where the URL ends."""
    return "".join(_MD_URL.get(c, c) for c in url)


def slack_text(text: str) -> str:
    """Page text for Slack mrkdwn: &, < and > escaped as Slack asks, so `<!channel>` stays text."""
    return one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    """A URL inside `<url|text>`: no `|` or `>` to end it early."""
    return "".join(_SLACK_URL.get(c, c) for c in url)


def markdown(items: list[Item], title: str) -> str:
    lines = [f"### {title}"]
    for i in items:
        lines.append(f"- [{md_text(i.title)}]({md_url(i.url)})")
        lines.append(f"  {md_text(meta(i))}")
        if i.relation != "new":
            lines.append(f"  {md_text(i.relation)}")
    return "\n".join(lines)
