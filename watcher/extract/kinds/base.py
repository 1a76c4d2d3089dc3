"""Source kinds: how a portal's list and detail pages are read. Sources are data; behaviour is a
class registered under a `kind` name, so a new portal platform is one class."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from watcher.config.settings import DetailSelectors, Source
from watcher.extract.detail import parse_detail
from watcher.extract.listing import parse_list
from watcher.extract.model import Detail, ListItem, ListPage

_REGISTRY: dict[str, type[SourceKind]] = {}


def register(name: str) -> Callable[[type[SourceKind]], type[SourceKind]]:
    def deco(cls: type[SourceKind]) -> type[SourceKind]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def kind_class(name: str) -> type[SourceKind]:
    return _REGISTRY[name]


def kind_for(source: Source) -> SourceKind:
    return kind_class(source.kind)(source)


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceKind:
    """A kind reads a platform's list and detail pages. `Options` validates the source's `options:`."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, source: Source):
        self.source = source
        self.options = self.Options.model_validate(source.options)

    def start_urls(self) -> list[str]:
        return list(self.source.urls)

    def request_form(self, url: str) -> dict | None:
        """Form fields to POST for this list URL; None: a plain (conditional) GET."""
        return None

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        raise NotImplementedError

    def parse_detail(self, html: str, url: str, item: ListItem | None) -> Detail:
        raise NotImplementedError


@register("html")
class HtmlKind(SourceKind):
    """List and detail pages read with the CSS selectors given in sources.yaml."""

    def parse_list(self, html: str, url: str, page_index: int) -> ListPage:
        return parse_list(html, url, self.source.listing, self.source.pagination, page_index)

    def detail_selectors(self) -> DetailSelectors:
        return self.source.detail

    def parse_detail(self, html: str, url: str, item: ListItem | None) -> Detail:
        return parse_detail(
            html,
            url,
            self.detail_selectors(),
            list_title=item.title if item else None,
            list_date=item.date if item else None,
            source_issuer=self.source.issuer,
        )
