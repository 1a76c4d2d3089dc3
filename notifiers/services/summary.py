"""A batch too large for a chat, as one message: counts by relation and issuer, the first few titles (the
important first), and where to read the rest (the digest, the web view).

A busy poll (a new column, a portal re-publishing its archive) would otherwise be dozens of messages; a chat
shows one, and the events it covers count as delivered.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from notifiers.services.text import _LEVELS, Entry, entries, heading
from watcher.i18n import _, ngettext

if TYPE_CHECKING:
    from notifiers.items import Item

TOP = 5  # titles shown
ISSUERS = 5  # issuers named; the others are counted together


@dataclass(frozen=True)
class Pointers:
    """Where the whole batch can be read: a digest channel is configured, the web view's base URL."""

    digest: bool = False
    web_url: str | None = None  # defaults.web_url


def relation_name(relation: str) -> str:
    names = {
        "derived": _("derived"),
        "revision": _("revision"),
        "repost": _("repost"),
        "cites": _("cites"),
        "sibling": _("sibling"),
    }
    return names.get(relation, relation)


@dataclass
class Summary:
    """What a summary message says, as plain lines (page text inside: each format escapes them) and the
    top entries (each format makes their titles links)."""

    heading: str
    event_ids: list[int]
    lines: list[str]
    top: list[Entry]
    more: str | None  # "and 25 more notices"
    pointers: Pointers = field(default_factory=Pointers)

    def pointer_lines(self) -> list[str]:
        """Plain lines naming where the rest is; the web view's URL is added by each format as a link."""
        return [_("Every notice is in the daily digest.")] if self.pointers.digest else []


def summarise(items: list[Item], pointers: Pointers, top: int = TOP) -> Summary:
    es = entries(items)
    lines = [
        ngettext(
            "{n} notice in this batch, too many to list one by one.",
            "{n} notices in this batch, too many to list one by one.",
            len(es),
        ).format(n=len(es))
    ]
    relations = Counter(r for e in es for r in {r for i in e.items for r in i.relations})
    if relations:
        counts = " · ".join(f"{relation_name(r)} {n}" for r, n in relations.most_common())
        lines.append(_("Links: {counts}").format(counts=counts))
    issuers = Counter(e.head.issuer or _("issuer unknown") for e in es)
    named = issuers.most_common(ISSUERS)
    counts = " · ".join(f"{name} {n}" for name, n in named)
    others = sum(issuers.values()) - sum(n for _name, n in named)
    if others:
        counts += " · " + _("others {n}").format(n=others)
    lines.append(_("Issuers: {counts}").format(counts=counts))
    ranked = sorted(range(len(es)), key=lambda k: (-_LEVELS.get(es[k].level, 1), k))[:top]
    rest = len(es) - len(ranked)
    more = ngettext("… and {n} more notice", "… and {n} more notices", rest).format(n=rest) if rest else None
    return Summary(heading(items), [i.event_id for i in items], lines, [es[k] for k in sorted(ranked)], more, pointers)


def summary_markdown(s: Summary) -> str:
    """DingTalk's and WeCom's Markdown of a summary."""
    from notifiers.services.text import markdown_entry, md_text, md_url

    lines = [f"### {md_text(s.heading)}", *(md_text(x) for x in s.lines)]
    for e in s.top:
        lines += markdown_entry(e)[:2]
    if s.more:
        lines.append(md_text(s.more))
    lines += [md_text(x) for x in s.pointer_lines()]
    if s.pointers.web_url:
        lines.append(f"[{md_text(_('Open the web view'))}]({md_url(s.pointers.web_url)})")
    return "\n".join(lines)
