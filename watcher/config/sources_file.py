"""Edits to sources.yaml that keep its comments, key order and layout, validated before an atomic write.

Every change is applied to the round-trip document, the new text is validated as a whole, and only a
valid file replaces the old one (write to a temporary file in the same folder, then rename).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import IO, Any, overload

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from watcher.config.loader import parse_config
from watcher.config.settings import Config
from watcher.errors import ConfigError


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


@overload
def dump_yaml(data: Any, stream: None = None) -> str: ...
@overload
def dump_yaml(data: Any, stream: IO[str]) -> None: ...


def dump_yaml(data: Any, stream: IO[str] | None = None) -> str | None:
    """YAML in this file's layout, to a stream or as a string."""
    if stream is not None:
        _yaml().dump(data, stream)
        return None
    buf = io.StringIO()
    _yaml().dump(data, buf)
    return buf.getvalue()


def parse_value(text: str) -> Any:
    """`--set key=value` values are YAML: 2h, true, [a, b], {pages: 3}."""
    value = YAML(typ="safe").load(text)
    return text if value is None and text.strip() not in ("null", "~", "") else value


class SourcesFile:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            data = _yaml().load(self.path.read_text(encoding="utf-8")) if self.path.exists() else None
        except Exception as exc:  # noqa: BLE001 - ruamel raises several unrelated types
            raise ConfigError(f"not valid YAML: {exc}", path=str(self.path)) from None
        self.data: CommentedMap = CommentedMap(sources=CommentedSeq()) if data is None else data
        if not isinstance(self.data.get("sources"), list):
            self.data["sources"] = CommentedSeq()

    @property
    def sources(self) -> CommentedSeq:
        return self.data["sources"]

    def index(self, source_id: str) -> int:
        for i, s in enumerate(self.sources):
            if isinstance(s, dict) and s.get("id") == source_id:
                return i
        raise ConfigError("no such source", source_id=source_id, path=str(self.path))

    def entry(self, source_id: str) -> CommentedMap:
        return self.sources[self.index(source_id)]

    # ---- changes ------------------------------------------------------------------------------
    def add(self, entry: dict) -> None:
        if any(isinstance(s, dict) and s.get("id") == entry.get("id") for s in self.sources):
            raise ConfigError(
                "a source with this id exists already", source_id=entry.get("id"), field="id", path=str(self.path)
            )
        self.sources.append(_commented(entry))

    def remove(self, source_id: str) -> None:
        del self.sources[self.index(source_id)]

    def set(self, source_id: str, dotted: str, value: Any) -> None:
        node = self.entry(source_id)
        keys = dotted.split(".")
        for k in keys[:-1]:
            if not isinstance(node.get(k), dict):
                node[k] = CommentedMap()
            node = node[k]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value

    # ---- writing ------------------------------------------------------------------------------
    def text(self) -> str:
        return dump_yaml(self.data)

    def validate(self, source_id: str | None = None) -> Config:
        """The whole new file must parse, and the changed source must be valid."""
        cfg = parse_config(self.text(), self.path)
        for err in cfg.errors:
            if source_id is None or err.source_id == source_id or err.source_id is None:
                raise err
        return cfg

    def save(self, source_id: str | None = None) -> Config:
        cfg = self.validate(source_id)
        text = self.text()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".sources-", suffix=".yaml", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o777)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return cfg


def _commented(value: Any) -> Any:
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _commented(v)
        return m
    if isinstance(value, list):
        seq = CommentedSeq(_commented(v) for v in value)
        if all(isinstance(v, (str, int, float)) for v in value):
            seq.fa.set_flow_style()
        return seq
    return value
