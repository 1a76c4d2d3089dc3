"""Policy Watcher: watches Chinese government portals for new policy documents.

The life of one notice, stage by stage, is in docs/architecture.md; each stage is a folder here."""

__version__ = "0.2.0"
