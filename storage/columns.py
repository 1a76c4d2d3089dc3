"""The JSON columns as records: encoded on the way in and decoded on the way out here, and nowhere
above storage, so the stages and views only ever see `Citations`, `AttachmentRecord` and `PollError`.

Encoding keeps the stored text as it always was (keys, their order, non-ASCII characters as such):
old rows and new ones read the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.records import AttachmentRecord, Citations, PollError


def metadata_json(metadata: dict[str, str]) -> str:
    return json.dumps(metadata, ensure_ascii=False)


def metadata_of(raw: str | None) -> dict[str, str]:
    return json.loads(raw or "{}")


# Where each field came from: a field -> origin map, stored as the metadata is.
provenance_json = metadata_json
provenance_of = metadata_of


def citations_json(citations: Citations) -> str:
    return json.dumps({"docnos": citations.docnos, "titles": citations.titles}, ensure_ascii=False)


def citations_of(raw: str | None) -> Citations:
    data = json.loads(raw or "{}")
    return Citations(docnos=list(data.get("docnos", [])), titles=list(data.get("titles", [])))


def attachments_json(records: Sequence[AttachmentRecord]) -> str:
    return json.dumps([a.as_dict() for a in records], ensure_ascii=False)


def attachments_of(raw: str | None) -> list[AttachmentRecord]:
    return [AttachmentRecord.from_dict(a) for a in json.loads(raw or "[]")]


def errors_json(errors: Sequence[PollError]) -> str:
    return json.dumps([e.as_dict() for e in errors], ensure_ascii=False)


def errors_of(raw: str | None) -> list[PollError]:
    return [PollError.from_dict(e) for e in json.loads(raw or "[]")]
