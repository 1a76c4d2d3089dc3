"""Portal kinds: how a platform's list and detail pages are read (one class per platform, registered by
name). Importing this package fills the registry: the platform modules are listed here, explicitly."""

from watcher.extract.kinds import platforms as _platforms  # noqa: F401  (registers hanweb, gkmlpt, feed, govcn)
from watcher.extract.kinds.base import HtmlKind, NoOptions, SourceKind, kind_class, kind_for, known_kinds, register

__all__ = ["HtmlKind", "NoOptions", "SourceKind", "kind_class", "kind_for", "known_kinds", "register"]
