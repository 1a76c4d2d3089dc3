"""HTML -> text with block structure kept: one line per paragraph, cell or list item."""

from __future__ import annotations

import functools

from selectolax.lexbor import LexborHTMLParser, LexborNode

BLOCK_TAGS = frozenset(
    "address article aside blockquote body br caption center dd div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot "
    "th thead title tr ul".split()
)
SKIP_TAGS = frozenset(
    "script style noscript template iframe object embed svg canvas select option button input textarea head".split()
)
_INVISIBLE = str.maketrans({"\u200b": "", "\ufeff": "", "\u200c": "", "\u200d": ""})


def parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


# What a walk passes over: what the reader does not see, comments, nodes that are not elements (None).
_PASSED = SKIP_TAGS | {"-comment", None}


def _joined(buf: list[str]) -> str:
    # str.split() already splits on \xa0, \u3000 and every other Unicode space.
    text = " ".join("".join(buf).split())
    if "\u200b" in text or "\ufeff" in text or "\u200c" in text or "\u200d" in text:
        text = " ".join(text.translate(_INVISIBLE).split())
    return text


def _flush(buf: list[str], out: list[str]) -> None:
    """The text gathered since the last block boundary, as one segment (none when it is only white space)."""
    text = _joined(buf)
    if text:
        out.append(text)
    buf.clear()


def segments(
    node: LexborNode | None, known: dict[int, list[str]] | None = None, visited: set[int] | None = None
) -> list[str]:
    """Text of node split at block boundaries; whitespace collapsed, empty segments dropped. `known`: the
    segments of blocks read before and unchanged since, by mem_id, taken as they are; `visited` collects the
    mem_ids of the elements read (see PageTexts)."""
    if node is None:
        return []
    out: list[str] = []
    buf: list[str] = []
    # Explicit stack rather than recursion: malformed pages can nest thousands deep. None on the stack
    # marks the end of a block; children are pushed last first (last_child, prev), so no list of them is
    # built and reversed (with the marker in place of a (node, leaving) pair: 25-45% less time a walk).
    stack: list[LexborNode | None] = [node]
    pop, push = stack.pop, stack.append
    while stack:
        cur = pop()
        if cur is None:
            if buf:
                _flush(buf, out)
            continue
        tag = cur.tag
        if tag == "-text":
            buf.append(cur.text_content or "")
            continue
        if tag in _PASSED:
            continue  # nothing in it is read, so removing it changes no segment: not visited
        if visited is not None:
            visited.add(cur.mem_id)
        if tag in BLOCK_TAGS:
            if buf:
                _flush(buf, out)
            # A block's segments are those of a walk of it alone: it starts and ends with an empty buffer.
            if known and (seen := known.get(cur.mem_id)) is not None:
                out += seen
                continue
            push(None)
        child = cur.last_child
        while child is not None:
            push(child)
            child = child.prev
    if buf:
        _flush(buf, out)
    return out


class PageTexts:
    """The segments of one page's blocks as read (the metadata block, the body), for the walk of the whole
    page after its pruning to take as they are rather than walk them again (a third of that walk on a
    generated page). A removal forgets each block it changes: one it removes an element of (a node of the
    block's walk), the block itself, one it detaches (an element around it)."""

    def __init__(self) -> None:
        self._known: dict[int, list[str]] = {}
        self._inside: dict[int, set[int]] = {}  # block -> the elements its walk read
        self._around: dict[int, set[int]] = {}  # block -> its ancestors

    def segments(self, node: LexborNode | None) -> list[str]:
        if node is None or node.tag not in BLOCK_TAGS:
            return segments(node)
        inside: set[int] = set()
        found = segments(node, visited=inside)
        around: set[int] = set()
        up = node.parent
        while up is not None:
            around.add(up.mem_id)
            up = up.parent
        key = node.mem_id
        self._known[key], self._inside[key], self._around[key] = found, inside, around
        return list(found)

    def page(self, node: LexborNode | None) -> list[str]:
        """segments(node), the blocks read before taken as they are."""
        return segments(node, self._known)

    def forget(self, removed: LexborNode) -> None:
        """Before `removed` is decomposed."""
        if not self._known:
            return
        key = removed.mem_id
        for block in [b for b in self._known if b == key or key in self._inside[b] or key in self._around[b]]:
            del self._known[block], self._inside[block], self._around[block]


def block_text(node: LexborNode | None) -> str:
    return "\n".join(segments(node))


def first_css(tree: LexborHTMLParser | LexborNode, selector: str | None) -> LexborNode | None:
    """First node matching any of the comma-separated selectors, in selector order."""
    if not selector:
        return None
    for part in _split(selector):  # a source's selectors, split once
        node = tree.css_first(part)
        if node is not None:
            return node
    return None


@functools.lru_cache(maxsize=256)
def _split(selector: str) -> tuple[str, ...]:
    return tuple(split_selectors(selector))


def split_selectors(selector: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in selector:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]
