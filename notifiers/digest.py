"""The daily email digest: HTML for phones and desktops (one fluid column up to 720 px, inline CSS, what mail clients
render) and a plain-text twin, in the current locale (a channel's `locale:`; watcher/i18n.py).

The top says what the digest holds (counts by issuer and by relation); each notice links to its page in the web view
when `defaults.web_url` is set, and a revision quotes what changed (`「…支持20家企业…」 10家 → 20家`). The templates
are notifiers/templates/digest.html and digest.txt.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from notifiers.items import Item, change_line
from watcher.i18n import _, current_locale, install, ngettext
from watcher.link.explain import relation_name
from watcher.text.changes import Change

TEMPLATES = Path(__file__).with_name("templates")
_html_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
_text_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=False, trim_blocks=True, lstrip_blocks=True)
for _env in (_html_env, _text_env):
    install(_env)

_DEL = "color:#a40000;text-decoration:line-through"
_INS = "color:#006b2d;font-weight:bold;text-decoration:none"


@dataclass
class Entry:
    """One notice in the digest: its events merged into lines, its changed places quoted."""

    notice_id: int
    title: str
    url: str  # the page on the portal
    page: str | None  # its page in the web view (defaults.web_url), else None
    meta: str  # 文号 · issuer · dates
    group: str
    published: str
    lines: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    @property
    def href(self) -> str:
        return self.page or self.url

    def _first_in_sentence(self) -> list[bool]:
        """Whether each change is the first of its sentence (the sentence is quoted once)."""
        return [k == 0 or c.sentence != self.changes[k - 1].sentence for k, c in enumerate(self.changes)]

    def change_lines(self) -> list[str]:
        return [change_line(c, sentence=s) for c, s in zip(self.changes, self._first_in_sentence(), strict=True)]

    def change_html(self) -> list[Markup]:
        return [change_markup(c, sentence=s) for c, s in zip(self.changes, self._first_in_sentence(), strict=True)]


@dataclass
class Digest:
    subject: str
    day: str
    headline: str  # `5 条新文件，1 条修订，4 条关联`
    by_issuer: list[tuple[str, int]]
    by_relation: list[tuple[str, int]]
    groups: dict[str, list[Entry]]
    count: int
    lang: str

    @staticmethod
    def counts(pairs: list[tuple[str, int]]) -> str:
        return " · ".join(f"{name} {n}" for name, n in pairs)


def change_markup(c: Change, *, sentence: bool = True) -> Markup:
    """A changed place in HTML: the translated sentence with the phrases marked (struck out, bold)."""
    old = Markup('<del style="{}">{}</del>').format(_DEL, c.old)
    new = Markup('<ins style="{}">{}</ins>').format(_INS, c.new)
    if c.old and c.new and not sentence:
        return Markup(_("{old} → {new}")).format(old=old, new=new)
    if c.old and c.new:
        return Markup(_("“{sentence}” {old} → {new}")).format(sentence=c.sentence, old=old, new=new)
    if c.old:
        return Markup(_("deleted “{old}”")).format(old=old)
    return Markup(_("added “{new}”")).format(new=new)


def _dates(i: Item) -> str:
    written = _("written {date}").format(date=i.written) if i.written else ""
    published = _("published {date}").format(date=i.published) if i.published else ""
    return " / ".join(x for x in (written, published) if x)


def _entries(items: list[Item], web_url: str | None) -> dict[int, Entry]:
    """One entry per notice, its events merged into lines, in the order the items came."""
    per_notice: dict[int, Entry] = {}
    base = web_url.rstrip("/") if web_url else None
    for i in items:
        e = per_notice.get(i.notice_id)
        if e is None:
            meta = " · ".join(x for x in (i.doc_no, i.issuer, _dates(i)) if x)
            page = f"{base}/notices/{i.notice_id}" if base and i.notice_id else None
            group = i.issuer or i.source_id
            e = per_notice[i.notice_id] = Entry(i.notice_id, i.title, i.url, page, meta, group, i.published or "")
        if i.relation != "new" and i.relation not in e.lines:
            e.lines.append(i.relation)
        e.changes.extend(c for c in i.changes if c not in e.changes)
    return per_notice


def _by_relation(items: list[Item]) -> list[tuple[str, int]]:
    """What happened, counted: new notices, revisions, and each relation the linked notices are in."""
    counts: Counter[str] = Counter()
    for i in items:
        if i.kind == "notice.new":
            counts[_("new notice")] += 1
        elif i.kind == "notice.version":
            counts[_("revised")] += 1
        elif i.level != "info":
            for r in i.relations or ["derived"]:
                counts[relation_name(r)] += 1
    return counts.most_common()


def build_digest(items: list[Item], day: date, web_url: str | None = None) -> Digest:
    new = sum(i.kind == "notice.new" for i in items)
    revised = sum(i.kind == "notice.version" for i in items)
    linked = sum(i.kind == "link.new" and i.level != "info" for i in items)
    headline = _("{new} new, {revised} revised, {linked} linked").format(new=new, revised=revised, linked=linked)
    if items:
        subject = _("Policy digest {day}: {summary}").format(day=day.isoformat(), summary=headline)
    else:
        subject = _("Policy digest {day}: nothing new").format(day=day.isoformat())
    entries = sorted(_entries(items, web_url).values(), key=lambda e: e.published, reverse=True)
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault(e.group, []).append(e)
    by_issuer = sorted(((g, len(es)) for g, es in groups.items()), key=lambda x: -x[1])
    lang = "zh-CN" if current_locale().startswith("zh") else "en"
    return Digest(subject, day.isoformat(), headline, by_issuer, _by_relation(items), groups, len(items), lang)


def render_digest(items: list[Item], day: date, store=None, *, web_url: str | None = None) -> tuple[str, str, str]:
    """(subject, text, html) in the current locale. `store` is kept for callers that pass it."""
    d = build_digest(items, day, web_url)
    footer = ngettext("Policy Watcher · {n} item", "Policy Watcher · {n} items", d.count).format(n=d.count)
    ctx = dict(d=d, footer=footer)
    return (
        d.subject,
        _text_env.get_template("digest.txt").render(**ctx),
        _html_env.get_template("digest.html").render(**ctx),
    )
