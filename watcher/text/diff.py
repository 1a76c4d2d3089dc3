"""Paragraph diffs between versions of a notice."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from watcher.text.normalise import paragraphs


@dataclass
class DiffOp:
    op: str  # equal | insert | delete | replace
    old: list[str]
    new: list[str]


def paragraph_diff(old_text: str, new_text: str) -> list[DiffOp]:
    """Diff two texts paragraph by paragraph (normalised, so width and spacing changes do not count)."""
    a, b = paragraphs(old_text), paragraphs(new_text)
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [DiffOp(tag, a[i1:i2], b[j1:j2]) for tag, i1, i2, j1, j2 in sm.get_opcodes()]


def changed_paragraphs(ops: list[DiffOp]) -> int:
    return sum(max(len(o.old), len(o.new)) for o in ops if o.op != "equal")


def render_unified(ops: list[DiffOp], context: int = 1) -> str:
    """A terminal-readable diff: '-' removed, '+' added paragraphs, with a little context."""
    lines: list[str] = []
    for o in ops:
        if o.op == "equal":
            keep = o.old if len(o.old) <= 2 * context else o.old[:context] + ["…"] + o.old[-context:]
            lines.extend("  " + p for p in keep)
            continue
        lines.extend("- " + p for p in o.old)
        lines.extend("+ " + p for p in o.new)
    return "\n".join(lines)
