"""Text shared by the chat formats: a batch grouped into one entry per notice, the heading of a message, an
entry's metadata, relation and change lines, a Markdown list, and what keeps a notice's own text from acting as
markup.

One notice often has several events in one batch (notice.new, then the link.new of its linking pass; a
notice.version and its links): a reader sees ONE entry — title, 文号 · 发文机关 · 日期, then each event's relation
line and a revision's changed places beneath. The grouping is in the formatting only: each event keeps its own
delivery row.

Titles, 文号 and issuers come from portal pages: whatever they contain must reach a chat as text. Slack
mrkdwn reads `<!channel>` as a mention and `<url|text>` as a link; the Markdown of DingTalk and WeCom reads
`[text](url)`, `*`, `#` and `<font>`. So each format escapes the page's text for its own markup, and every
field is clipped (`clipped`), so that one entry never outgrows a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from watcher.i18n import _, ngettext
from watcher.text.changes import Change

if TYPE_CHECKING:
    from notifiers.items import Item

TITLE_MAX = 300  # characters of a title shown in a chat message
FIELD_MAX = 200  # of a 文号, an issuer, a relation line
URL_MAX = 2048
CHANGES_MAX = 3  # changed places shown under a revision
SENTENCE_MAX = 60  # characters of the sentence around a change
_LEVELS = {"info": 0, "notice": 1, "important": 2}

_SPACE = re.compile(r"\s+")
# Markdown (DingTalk, WeCom): the characters that open or close markup, as their full-width forms, which
# read the same in Chinese text and which no renderer interprets (a backslash escape shows on some).
_MD = str.maketrans("[]()<>*_`#~", "［］（）＜＞＊＿｀＃～")
# In a link target: what would end the target or the link early.
_MD_URL = {c: f"%{ord(c):02X}" for c in " ()<>[]\"'`\t\n\r"}
_SLACK_URL = {c: f"%{ord(c):02X}" for c in " <>|\t\n\r"}


@dataclass(frozen=True)
class Part:
    """The place of a message among those one batch was split into: shown as (1/3)."""

    index: int
    total: int


@dataclass(frozen=True)
class Entry:
    """The events of one notice in a batch, in their order: shown as one entry."""

    items: tuple[Item, ...]

    @property
    def head(self) -> Item:
        return self.items[0]

    @property
    def level(self) -> str:
        return max((i.level for i in self.items), key=lambda lv: _LEVELS.get(lv, 1))

    def relations(self) -> list[str]:
        """Each event's relation line, once: a new notice needs none (its title is the news)."""
        out: list[str] = []
        for i in self.items:
            if i.kind != "notice.new" and i.relation and i.relation not in out:
                out.append(i.relation)
        return out

    def changes(self) -> list[Change]:
        return [c for i in self.items if i.kind == "notice.version" for c in i.changes][:CHANGES_MAX]


def entries(items: list[Item]) -> list[Entry]:
    """One entry per notice, in the order of each notice's first event."""
    groups: dict[int, list[Item]] = {}
    for i in items:
        groups.setdefault(i.notice_id, []).append(i)
    return [Entry(tuple(g)) for g in groups.values()]


def kind_counts(items: list[Item]) -> list[str]:
    new = sum(i.kind == "notice.new" for i in items)
    changed = sum(i.kind == "notice.version" for i in items)
    links = sum(i.kind == "link.new" for i in items)
    parts = [
        ngettext("{n} new notice", "{n} new notices", new).format(n=new) if new else "",
        ngettext("{n} revision", "{n} revisions", changed).format(n=changed) if changed else "",
        ngettext("{n} new link", "{n} new links", links).format(n=links) if links else "",
    ]
    return [p for p in parts if p]


def heading(items: list[Item], part: Part | None = None) -> str:
    """`政策动态：3 条新文件，2 条关联（1/3）`: what the message holds, and its place when a batch was split."""
    text = _("Policy updates: {counts}").format(counts=_(", ").join(kind_counts(items)))
    if part is not None and part.total > 1:
        text += _(" ({index}/{total})").format(index=part.index, total=part.total)
    return text


def meta(item: Item) -> str:
    """文号 · 发文机关 · 日期 (发布, else 成文)."""
    return " · ".join(x for x in (item.doc_no, item.issuer, item.published or item.written) if x)


def change_line(c: Change) -> str:
    """`10家 → 20家：“到2025年，支持20家企业……”`; 删除/新增 when one side is empty."""
    if c.old and c.new:
        what = _("{old} → {new}").format(old=c.old, new=c.new)
    elif c.new:
        what = _("added: {new}").format(new=c.new)
    else:
        what = _("removed: {old}").format(old=c.old)
    sentence = _cut(one_line(c.sentence), SENTENCE_MAX) or ""
    if not sentence or sentence in (c.old, c.new):
        return what
    return _("{change} in “{sentence}”").format(change=what, sentence=sentence)


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
        changes=[
            Change(_cut(c.old, other) or "", _cut(c.new, other) or "", _cut(c.sentence, other) or "")
            for c in item.changes[:CHANGES_MAX]
        ],
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


def entry_lines(e: Entry) -> list[str]:
    """The plain lines under an entry's title: metadata, relation lines, quoted changes."""
    return [x for x in (meta(e.head), *e.relations(), *(change_line(c) for c in e.changes())) if x]


def markdown_entry(e: Entry) -> list[str]:
    head = e.head
    lines = [f"- [{md_text(head.title)}]({md_url(head.url)})"]
    lines.append(f"  {md_text(meta(head))}")
    lines += [f"  {md_text(r)}" for r in e.relations()]
    lines += [f"  > {md_text(change_line(c))}" for c in e.changes()]
    return lines


def markdown(items: list[Item], title: str) -> str:
    """DingTalk's and WeCom's Markdown: the heading, then an entry per notice."""
    lines = [f"### {md_text(title)}"]
    for e in entries(items):
        lines += markdown_entry(e)
    return "\n".join(lines)
