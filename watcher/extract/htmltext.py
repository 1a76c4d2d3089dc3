"""HTML -> text with block structure kept: one line per paragraph, cell or list item."""

from __future__ import annotations

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


def segments(node: LexborNode | None) -> list[str]:
    """Text of node split at block boundaries; whitespace collapsed, empty segments dropped."""
    if node is None:
        return []
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            # str.split() already splits on \xa0, \u3000 and every other Unicode space.
            text = " ".join("".join(buf).split())
            if "\u200b" in text or "\ufeff" in text or "\u200c" in text or "\u200d" in text:
                text = " ".join(text.translate(_INVISIBLE).split())
            if text:
                out.append(text)
            buf.clear()

    # Explicit stack rather than recursion: malformed pages can nest thousands deep.
    stack: list[tuple[LexborNode, bool]] = [(node, False)]
    while stack:
        cur, leaving = stack.pop()
        tag = cur.tag
        if leaving:
            flush()
            continue
        if tag == "-text":
            buf.append(cur.text_content or "")
            continue
        if tag in SKIP_TAGS or tag == "-comment" or tag is None:
            continue
        block = tag in BLOCK_TAGS
        if block:
            flush()
            stack.append((cur, True))
        children = []
        child = cur.child
        while child is not None:
            children.append(child)
            child = child.next
        for ch in reversed(children):
            stack.append((ch, False))
    flush()
    return out


def block_text(node: LexborNode | None) -> str:
    return "\n".join(segments(node))


def first_css(tree: LexborHTMLParser | LexborNode, selector: str | None) -> LexborNode | None:
    """First node matching any of the comma-separated selectors, in selector order."""
    if not selector:
        return None
    for part in split_selectors(selector):
        node = tree.css_first(part)
        if node is not None:
            return node
    return None


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
