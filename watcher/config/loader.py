"""Reading sources.yaml: YAML to the `Config` value object, with every error naming file, line and field.

A source or channel that fails validation is reported and left out; the others still run. Only a file
that cannot be read at all raises. The loader sits above the kinds registry (a source's `kind` and its
`options` are checked against it), so it is imported by those who load a file (the CLI, the scheduler,
the demo) and by nobody below them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from notifiers.services import known_services
from watcher.config.channels import Channel, SavedFeed
from watcher.config.settings import Config, Defaults, Source
from watcher.errors import ConfigError
from watcher.extract.kinds import kind_class, known_kinds

Loc = tuple[str | int, ...]


def _line_of(node: Any, loc: Loc) -> int | None:
    """1-based line of the deepest key in loc that ruamel can place."""
    line = None
    for key in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        try:
            if isinstance(key, int):
                line = lc.item(key)[0] + 1
            else:
                line = lc.key(key)[0] + 1
        except (KeyError, IndexError, TypeError):
            break
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _first_error(exc: ValidationError) -> tuple[Loc, str]:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    return loc, msg


class _Lines:
    """Line numbers for error messages. The fast C loader keeps none, so the round-trip loader
    re-reads the text only when an error needs placing."""

    def __init__(self, text: str):
        self.text = text
        self._doc: Any = None

    def __call__(self, *loc: str | int) -> int | None:
        """The line of the deepest key of loc found, falling back to shorter prefixes of it."""
        if self._doc is None:
            reader = YAML(typ="rt")
            reader.allow_duplicate_keys = True  # reported by _Loader, with both lines; placing others goes on
            try:
                self._doc = reader.load(self.text) or {}
            except YAMLError:
                return None
        return _line_of(self._doc, loc)


class _Reader:
    """One file's validation: where errors point, and the errors collected so far."""

    def __init__(self, text: str, where: str | None, doc: _Document | None = None):
        self.where = where
        self.line_of = _Lines(text)
        self.errors: list[ConfigError] = []
        self.doc = doc or _Document({})

    def twice(self, section: str, index: int, source_id: str | None = None) -> bool:
        """Report the keys written twice in entry `index` of `section`; True when there are any."""
        found = self.doc.duplicates_in(section, index)
        for d in found:
            where = d.key if section == "sources" else f"{section}[{index}].{d.key}"
            self.errors.append(ConfigError(d.message(), source_id=source_id, field=where, path=self.where, line=d.line))
        return bool(found)

    def fail(
        self, message: str, *, loc: Loc = (), field: str | None = None, source_id: str | None = None, at: Loc = ()
    ) -> ConfigError:
        """A ConfigError at the line of `at` + `loc` (or of `at` when loc cannot be placed)."""
        line = (self.line_of(*at, *loc) or self.line_of(*at)) if at else self.line_of(*loc)
        return ConfigError(message, source_id=source_id, field=field, path=self.where, line=line)

    def report(self, message: str, **kw: Any) -> None:
        self.errors.append(self.fail(message, **kw))


def _dotted(loc: Loc) -> str:
    return ".".join(map(str, loc))


@dataclass
class _Duplicate:
    key: str
    line: int
    first: int

    def message(self) -> str:
        return f"key {self.key!r} written twice (first at line {self.first}): which one is meant?"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader that notes every key written twice in one mapping: PyYAML silently keeps
    the last one, so a source would run with a value its author may not have meant."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[_Duplicate] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    self.duplicates.append(_Duplicate(key_node.value, line, seen[key_node.value]))
                seen.setdefault(key_node.value, line)
        return super().construct_mapping(node, deep)


@dataclass
class _Document:
    data: Any
    duplicates: list[_Duplicate] = field(default_factory=list)
    # Per list section ("sources", "channels"): the first and last line of each entry.
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    def duplicates_in(self, section: str, index: int) -> list[_Duplicate]:
        spans = self.spans.get(section, [])
        if index >= len(spans):
            return []
        first, last = spans[index]
        return [d for d in self.duplicates if first <= d.line <= last]

    def stray_duplicate(self) -> _Duplicate | None:
        """A duplicate outside every source and channel: the whole file is in doubt."""
        inside = {
            id(d) for sec, spans in self.spans.items() for i in range(len(spans)) for d in self.duplicates_in(sec, i)
        }
        return next((d for d in self.duplicates if id(d) not in inside), None)


def _spans(root: Any) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.SequenceNode):
                out[key.value] = [(n.start_mark.line + 1, n.end_mark.line + 1) for n in value.value]
    return out


def _read_yaml(text: str, where: str | None) -> _Document:
    loader = _Loader(text)
    try:
        # libyaml is ten times faster than the pure-Python round-trip loader on a large file.
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
        return _Document(data or {}, loader.duplicates, _spans(root))
    except yaml.YAMLError:
        try:
            return _Document(YAML(typ="rt").load(text) or {})
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise ConfigError(
                f"not valid YAML: {getattr(exc, 'problem', exc)}", path=where, line=mark.line + 1 if mark else None
            ) from None
    finally:
        loader.dispose()


def _source_base(raw_defaults: dict) -> dict:
    """What every source inherits from `defaults:`, before its own keys are merged over it."""
    base = {
        "fetch": raw_defaults.get("fetch") or {},
        "schedule": raw_defaults.get("schedule") or {},
        "attachments": raw_defaults.get("attachments") or {},
    }
    if "recheck_after" in raw_defaults:
        base["recheck_after"] = raw_defaults["recheck_after"]
    return base


def _validate_source(r: _Reader, i: int, raw: Any, base: dict, seen: set[str]) -> Source | None:
    """sources[i] merged over the defaults and checked against its kind; None (and an error) when invalid."""
    at: Loc = ("sources", i)
    if not isinstance(raw, dict):
        r.report("each source must be a mapping", loc=at)
        return None
    if r.twice("sources", i, source_id=str(raw.get("id")) if raw.get("id") is not None else None):
        return None
    merged = _merge(base, raw)
    own_schedule = raw.get("schedule") or {}
    if isinstance(own_schedule, dict) and isinstance(merged.get("schedule"), dict):
        # A source's own cron replaces an inherited interval, and the other way round.
        for mine, other in (("cron", "interval"), ("interval", "cron")):
            if mine in own_schedule and other not in own_schedule:
                merged["schedule"].pop(other, None)
    try:
        src = Source.model_validate(merged)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        r.report(msg, source_id=raw.get("id"), field=_dotted(loc), at=at, loc=loc)
        return None
    if src.id in seen:
        r.report("duplicate source id", source_id=src.id, field="id", loc=(*at, "id"))
        return None
    kinds = known_kinds()
    if src.kind not in kinds:
        r.report(
            f"unknown kind {src.kind!r} (known: {', '.join(kinds)})", source_id=src.id, field="kind", loc=(*at, "kind")
        )
        return None
    try:
        kind_class(src.kind).Options.model_validate(src.options)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        r.report(
            f"{msg} (kind {src.kind})", source_id=src.id, field=_dotted(("options", *loc)), at=at, loc=("options", *loc)
        )
        return None
    return src


def _validate_channel(r: _Reader, i: int, raw: Any) -> Channel | None:
    """channels[i]; None (and an error at its line) when invalid."""
    at: Loc = ("channels", i)
    try:
        ch = Channel.model_validate(raw)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        r.report(msg, field=f"channels[{i}].{_dotted(loc)}", at=at, loc=loc)
        return None
    services = sorted(["email", *known_services()])
    if ch.service not in services:
        r.report(
            f"unknown channel type {ch.service!r} (known: {', '.join(services)})",
            field=f"channels[{i}].type",
            at=at,
            loc=("type",),
        )
        return None
    if ch.service != "email" and not ch.url_env:
        r.report("webhook channels need url_env", field=f"channels[{i}].url_env", at=at, loc=("url_env",))
        return None
    if ch.service == "email" and not ch.to:
        r.report("email channels need recipients", field=f"channels[{i}].to", at=at, loc=("to",))
        return None
    return ch


def _channels(r: _Reader, raw: Any) -> list[Channel]:
    if not isinstance(raw, list):
        # Reported, not raised: the sources still run when the channels are wrong.
        r.report("'channels' must be a list", field="channels", loc=("channels",))
        return []
    out: list[Channel] = []
    for i, entry in enumerate(raw):
        if r.twice("channels", i) or (ch := _validate_channel(r, i, entry)) is None:
            continue
        if any(c.id == ch.id for c in out):
            # Deliveries are kept per channel id: two channels under one would share (and steal) them.
            r.report("duplicate channel id", field=f"channels[{i}].id", at=("channels", i), loc=("id",))
            continue
        out.append(ch)
    return out


def _feeds(r: _Reader, raw: Any) -> list[SavedFeed]:
    """The `feeds:` section: saved filters served as feeds; an invalid one is reported at its line and left out."""
    if not isinstance(raw, list):
        r.report("'feeds' must be a list", field="feeds", loc=("feeds",))
        return []
    out: list[SavedFeed] = []
    for i, entry in enumerate(raw):
        try:
            feed = SavedFeed.model_validate(entry)
        except ValidationError as exc:
            loc, msg = _first_error(exc)
            r.report(msg, field=f"feeds[{i}].{_dotted(loc)}", at=("feeds", i), loc=loc)
            continue
        if r.twice("feeds", i) or any(f.id == feed.id for f in out):
            r.report("duplicate feed id", field=f"feeds[{i}].id", at=("feeds", i), loc=("id",))
            continue
        out.append(feed)
    return out


def parse_config(text: str, path: str | Path | None = None) -> Config:
    """Parse sources.yaml text. Raises ConfigError only when nothing can be read at all."""
    where = str(path) if path else None
    doc = _read_yaml(text, where)
    data = doc.data
    r = _Reader(text, where, doc)
    if (stray := doc.stray_duplicate()) is not None:
        raise ConfigError(stray.message(), field=stray.key, path=where, line=stray.line)
    if not isinstance(data, dict):
        raise ConfigError("top level must be a mapping with 'defaults' and 'sources'", path=where)
    unknown = set(data) - {"defaults", "sources", "channels", "feeds"}
    if unknown:
        k = sorted(unknown)[0]
        raise r.fail("unknown top-level key", field=k, loc=(k,))
    raw_defaults = data.get("defaults") or {}
    try:
        defaults = Defaults.model_validate(raw_defaults)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise r.fail(msg, field="defaults." + _dotted(loc), loc=("defaults", *loc)) from None
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise r.fail("'sources' must be a list", field="sources", loc=("sources",))
    base = _source_base(raw_defaults)
    sources: list[Source] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_sources):
        src = _validate_source(r, i, raw, base, seen)
        if src is not None:
            seen.add(src.id)
            sources.append(src)
    channels = _channels(r, data.get("channels") or [])
    feeds = _feeds(r, data.get("feeds") or [])
    return Config(
        path=Path(path) if path else None,
        defaults=defaults,
        sources=sources,
        errors=r.errors,
        channels=channels,
        feeds=feeds,
    )


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(p)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=str(p)) from None
    except OSError as exc:  # a directory, no permission, a file being replaced
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", path=str(p)) from None
    return parse_config(text, p)


def file_digest(path: str | Path) -> str | None:
    """The file's SHA-256: a long-running process reloads sources.yaml when it changes. None when it cannot be
    read (load_config reports why)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
