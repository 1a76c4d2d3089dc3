"""Source kinds: how a portal's list and detail pages are read. Sources are data; behaviour is a
class registered under a `kind` name, so a new portal platform is one class."""
from __future__ import annotations

from typing import Callable, ClassVar

from .config import Source
from .extract import Detail, ListItem, ListPage, parse_detail, parse_list

_REGISTRY: dict[str, type["SourceKind"]] = {}


def register(name: str) -> Callable[[type["SourceKind"]], type["SourceKind"]]:
    def deco(cls: type["SourceKind"]) -> type["SourceKind"]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def kind_for(source: Source) -> "SourceKind":
    return _REGISTRY[source.kind](source)


class SourceKind:
    name: ClassVar[str] = ""

    def __init__(self, source: Source):
        self.source = source

    def start_urls(self) -> list[str]:
        return list(self.source.urls)

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        raise NotImplementedError

    def parse_detail(self, html: str, url: str, item: ListItem | None) -> Detail:
        raise NotImplementedError


@register("html")
class HtmlKind(SourceKind):
    """List and detail pages read with the CSS selectors given in sources.yaml."""

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        return parse_list(html, url, self.source.listing, self.source.pagination, page_index)

    def parse_detail(self, html: str, url: str, item: ListItem | None) -> Detail:
        return parse_detail(html, url, self.source.detail,
                            list_title=item.title if item else None, list_date=item.date if item else None,
                            source_issuer=self.source.issuer)
