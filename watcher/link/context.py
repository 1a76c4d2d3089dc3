"""What one linking pass works with: the new document, what it says, its transaction, and the stored
documents it is compared with (loaded by the linker, which caches them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

from storage.records import Member, StoredSignature
from watcher.link.instruments import Version, VersionChain

if TYPE_CHECKING:
    from storage.linksession import LinkSession
    from watcher.link.citing import Want
    from watcher.link.classify import Doc, Thresholds
    from watcher.link.purpose import Reading
    from watcher.link.writer import LinkWriter


class Docs(Protocol):
    def doc(self, notice_id: int) -> Doc | None:
        """A stored notice as the linker compares it (its newest text), None when it has no version."""
        ...

    def signatures_of(self, tx: LinkSession, notice_ids: list[int]) -> dict[int, StoredSignature]:
        """The newest stored signature of each of these notices (kept in memory, else read in tx)."""
        ...


@dataclass
class Pass:
    tx: LinkSession
    writer: LinkWriter
    docs: Docs
    th: Thresholds
    doc: Doc
    reading: Reading
    wants: list[Want]
    aliases: set[str] = field(default_factory=set)  # former titles, from its amendment history
    linked: set[int] = field(default_factory=set)  # notices linked to it in this pass
    repost: bool = False  # it joined a repost cluster: nothing else is linked
    repost_displaced: int | None = None  # it is an earlier copy of this canonical, which now reposts it


def chain_of(members: list[Member]) -> VersionChain:
    return VersionChain(sorted((Version(m.id, m.when) for m in members), key=_order))


def _order(v: Version) -> tuple[date, int]:
    return (v.when or date.max, v.id)


def same_version(a: date | None, b: date | None, days: int) -> bool:
    """Two texts of one instrument dated this close (or both undated) are one version: copies."""
    if a is None or b is None:
        return a is None and b is None
    return abs((a - b).days) <= days
