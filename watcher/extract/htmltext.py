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


def segments(node: LexborNode | None) -> list[str]:
    """Text of node split at block boundaries; whitespace collapsed, empty segments dropped."""
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
                text = _joined(buf)
                if text:
                    out.append(text)
                buf.clear()
            continue
        tag = cur.tag
        if tag == "-text":
            buf.append(cur.text_content or "")
            continue
        if tag in _PASSED:
            continue
        if tag in BLOCK_TAGS:
            if buf:
                text = _joined(buf)
                if text:
                    out.append(text)
                buf.clear()
            push(None)
        child = cur.last_child
        while child is not None:
            push(child)
            child = child.prev
    if buf and (text := _joined(buf)):
        out.append(text)
    return out


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
