"""Text shared by the chat formats: the heading of a batch, an item's metadata line, a Markdown list."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Template

    from notifiers.items import Item


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


@cache
def _md_item() -> Template:
    # Late: the config loader imports the services to list their names, and needs no templates.
    from jinja2 import Environment

    return Environment(autoescape=False).from_string(
        "- [{{ i.title }}]({{ i.url }})\n  {{ [i.doc_no, i.issuer, i.published] | select | join(' · ') }}"
        "{% if i.relation != 'new' %}\n  {{ i.relation }}{% endif %}"
    )


def markdown(items: list[Item], title: str) -> str:
    return f"### {title}\n" + "\n".join(_md_item().render(i=i) for i in items)
