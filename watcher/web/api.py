"""The JSON API's one conversion: the pages' records (dataclasses, dates, times) as JSON values, field for field, so
`/api/…` answers with exactly what the page beside it shows."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any


def jsonable(value: Any) -> Any:
    """Dataclasses as objects of their fields, dates and times in ISO 8601, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    return value
