"""What extraction gives: the items of a list page and the fields of a detail page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass
class ListItem:
    url: str
    title: str
    date: date | None = None


@dataclass
class ListPage:
    items: list[ListItem]
    next_urls: list[str]
    region_hash: str


@dataclass(frozen=True)
class AttachmentRef:
    """A link to an attachment file, as the page offers it: the attachments stage reads it."""

    url: str
    name: str = ""  # the link's text


@dataclass
class Detail:
    url: str
    title: str
    body: str
    metadata: dict[str, str] = field(default_factory=dict)
    doc_no: str | None = None
    issuer: str | None = None
    written: date | None = None
    published: date | None = None
    cited_docnos: list[str] = field(default_factory=list)
    cited_titles: list[str] = field(default_factory=list)
    attachments: list[AttachmentRef] = field(default_factory=list)
    # Where each field came from: 'selector', 'label:发布日期', 'meta:PubDate', 'list' (the list page),
    # 'position:<where>' (under the headline, the signature, the top of the text), 'source' (sources.yaml).
    provenance: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["written"] = self.written.isoformat() if self.written else None
        d["published"] = self.published.isoformat() if self.published else None
        return d
