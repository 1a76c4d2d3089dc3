"""Script checks: an answer that is a script and no content, which only a browser gets past.

Anti-bot gateways in front of many portals answer a first request with a small page whose only content is
a script: it computes a cookie, sets it and reloads. The status is often 412 or 202, sometimes 200, 403 or
521. An HTTP client sees an empty page, and reading it as a list with no items would hide the cause, so the
fetcher reports it as `NeedsBrowser` instead (source and URL attached like any fetch error).

The rule is about the page's shape, never about a named portal or gateway:

- 412 or 202 answered with HTML holding a `<script>` and no content;
- 200, 403 or 521 answered with a small HTML body (at most `SMALL`) that is mostly script — at least half
  of its bytes inline script, or no more than `TINY` bytes with a script in them — and no content.

"No content" is at most `MAX_TEXT` characters of visible text (a "please enable JavaScript" line), no
link, and no data block (`<script type="text/xml">` or JSON holding records, as CMS column pages embed
them); only scripts that run count as script. A page that shows a heading and a menu and builds its list
by JavaScript has links, so it is not a script check: it is read as a list, and found empty (`fetch:
{browser: true}` reads it).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

CHECK_STATUS = frozenset({202, 412})
SHAPE_STATUS = frozenset({200, 403, 521})
SMALL = 64_000  # bytes: a script check bigger than this is not one a small rule should guess at
TINY = 2_048  # bytes: a page this small with a script in it is all script
MAX_TEXT = 200  # visible characters
SCRIPT_SHARE = 0.5
_SPACE = re.compile(r"\s+")
# b"<script" in body.lower(), without the lowered copy of every page (12 us -> 6 us a 10 KB page): a bytes
# pattern ignores the case of ASCII letters only, as bytes.lower() changes only those.
_SCRIPT_TAG = re.compile(rb"<script", re.IGNORECASE)
JS_TYPES = frozenset(
    {"", "text/javascript", "application/javascript", "application/x-javascript", "module", "text/ecmascript"}
)


def is_script_check(status: int, body: bytes, content_type: str | None) -> bool:
    """Whether an answer is a script and no content (see the module's rule)."""
    if status not in CHECK_STATUS and status not in SHAPE_STATUS:
        return False
    if not body or len(body) > SMALL or _SCRIPT_TAG.search(body) is None:
        return False
    if content_type and "html" not in content_type.lower():
        return False
    tree = LexborHTMLParser(body.decode("utf-8", "replace"))
    scripts, data = [], 0
    for node in tree.css("script"):
        if (node.attributes.get("type") or "").strip().lower() in JS_TYPES:
            scripts.append(len((node.text(deep=True) or "").encode("utf-8")))
        else:
            data += len(node.text(deep=True) or "")
    if not scripts or data > MAX_TEXT:  # records carried in a data block (text/xml, JSON) are content
        return False
    inline = sum(scripts)
    links = [a for a in tree.css("a[href]") if not (a.attributes.get("href") or "").lower().startswith("javascript:")]
    tree.strip_tags(["script", "style", "noscript", "template"])
    text = _SPACE.sub("", tree.body.text(deep=True) if tree.body is not None else "")
    if links or len(text) > MAX_TEXT:
        return False
    if status in CHECK_STATUS:
        return True
    return inline >= SCRIPT_SHARE * len(body) or len(body) <= TINY
