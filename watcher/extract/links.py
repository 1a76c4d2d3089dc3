"""Links of a page: absolute URLs and the attachment files a detail page offers."""

from __future__ import annotations

import functools
import re
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.extract.htmltext import segments
from watcher.extract.model import AttachmentRef


def node_text(node: LexborNode | None) -> str:
    return " ".join(segments(node))


def absolute(base: str, href: str | None) -> str | None:
    """The http(s) URL a link points to, without its fragment; None for scripts, mail and anchors."""
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "tel:", "#")):
        return None
    if href.startswith("/") and not href.startswith("//"):
        # A path from the root resolves against the base's scheme and host alone (urljoin reads nothing
        # else of the base then): the pages of one site share their menus' links in the cache.
        base = _site_root(base)
    return _resolved(base, href)


@functools.lru_cache(maxsize=1024)
def _site_root(base: str) -> str:
    """scheme://host/ of an http(s) base, else the base: asked for each root-relative link of a page (a
    urlsplit each, 2% of a page's extraction), of one base a page."""
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme in ("http", "https") else base


# urljoin parses both URLs and joins them again: 10 us a link, and a page's menus repeat on every page.
@functools.lru_cache(maxsize=4096)
def _resolved(base: str, href: str) -> str | None:
    url = urldefrag(urljoin(base, href))[0]
    return url if url.startswith(("http://", "https://")) else None


def base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(page_url, base.attributes.get("href") or "") if base else page_url


_FILE_EXT = r"\.(?:pdf|docx?|wps|ofd|xlsx?|zip|rar|et)"
_ATTACHMENT_EXT = re.compile(_FILE_EXT + r"(?:$|[?#&])", re.I)
_NAMED_FILE = re.compile(_FILE_EXT + r"\s*$", re.I)
# Download scripts of the common CMSs: /module/download/downfile.jsp?…, /attach/…, getFile.do?id=…
_DOWNLOAD_URL = re.compile(r"down(?:load|file)?|attach|fujian|getfile|file(?:id|name)?=|\bfid=", re.I)


def _is_attachment(url: str, text: str) -> bool:
    path_and_query = url.split("://", 1)[-1].split("/", 1)[-1]
    if _ATTACHMENT_EXT.search(path_and_query) or _NAMED_FILE.search(text):
        return True
    return "附件" in text and bool(_DOWNLOAD_URL.search(path_and_query))


def find_attachments(node: LexborNode | None, base: str, page: LexborHTMLParser | None = None) -> list[AttachmentRef]:
    """Links to attachment files: in the body, a link to a file or a 附件 link to a download script;
    elsewhere on the page (the 附件 block under the body), links whose URL or text names a file."""
    out: list[AttachmentRef] = []
    seen: set[str] = set()
    scopes = [(node, True)] if node is not None else []
    if page is not None and page.body is not None:
        scopes.append((page.body, False))
    for scope, in_body in scopes:
        for a in scope.css("a[href]"):
            url = absolute(base, a.attributes.get("href"))
            if not url or url in seen:
                continue  # before its text is read: scripts, anchors, a file already taken
            name = node_text(a) or (a.attributes.get("title") or "").strip()
            label = name + " " + (a.parent.text() if a.parent is not None and not in_body else "")[:40]
            if _is_attachment(url, name if in_body else label):
                seen.add(url)
                out.append(AttachmentRef(url, name))
    return out
