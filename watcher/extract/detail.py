"""Detail page -> title, body, metadata, 文号, dates, citations, attachments."""
from __future__ import annotations

import re
from datetime import date

from selectolax.lexbor import LexborHTMLParser

from watcher.config.settings import DetailSelectors
from watcher.extract.generic import body_fallback, date_under_title, strip_chrome, title_fallback
from watcher.extract.htmltext import block_text, first_css, segments
from watcher.extract.links import base_url, find_attachments, node_text
from watcher.extract.metadata import metadata_from_segments
from watcher.extract.model import Detail
from watcher.text.docno import find_docnos, find_titles, normalise_docno, parse_date

_SIGNER = re.compile(r"(?:人民政府|办公厅|办公室|委员会|人民代表大会常务委员会|[厅局部署委会院府])$")


def signature(lines: list[str]) -> tuple[str | None, date | None]:
    """Issuer and date from the closing signature block: `江苏省人民政府` then `2020年3月27日`."""
    tail = [line.strip() for line in lines[-8:] if line.strip()]
    for i in range(len(tail) - 1, -1, -1):
        when = parse_date(tail[i]) if len(tail[i]) <= 20 else None
        if when:
            signer = None
            for j in range(i - 1, max(i - 4, -1), -1):
                cand = re.sub(r"[（(].*?[)）]", "", tail[j]).strip()
                if 2 <= len(cand) <= 30 and _SIGNER.search(cand) and not re.search(r"[，。,；;:：]", cand):
                    signer = cand
                    break
            return signer, when
    return None, None


def _docno_at_top(lines: list[str]) -> str | None:
    for line in lines[:6]:
        line = line.strip()
        if len(line) <= 30:
            d = normalise_docno(line)
            if d and len(line) - len(d) <= 4:
                return d
    return None


def parse_detail(html: str, page_url: str, sel: DetailSelectors, *, list_title: str | None = None,
                 list_date: date | None = None, source_issuer: str | None = None) -> Detail:
    tree = LexborHTMLParser(html)
    for selector in sel.remove:
        for node in tree.css(selector):
            node.decompose()
    meta_node = first_css(tree, sel.meta) if sel.meta else None
    meta = metadata_from_segments(segments(meta_node)) if meta_node is not None else {}
    body_node = first_css(tree, sel.body) if sel.body else None
    generic = body_node is None
    if generic:
        body_node = body_fallback(tree)
    if not meta:
        meta = metadata_from_segments(segments(tree.body))
    body = block_text(body_node)
    if generic:
        body = strip_chrome(body)
    title_node = first_css(tree, sel.title) if sel.title else None
    title = (node_text(title_node) if title_node is not None else "") or meta.get("title") \
        or title_fallback(tree) or (list_title or "")
    lines = body.splitlines()
    signer, signed = signature(lines)
    doc_no = normalise_docno(meta.get("doc_no")) if meta.get("doc_no") else _docno_at_top(lines)
    issuer = meta.get("issuer") or signer or source_issuer
    written = parse_date(meta.get("written")) or signed
    published = parse_date(meta.get("published")) or list_date or date_under_title(tree, title)
    if published is None:
        node = tree.css_first('meta[name="PubDate"]')
        published = parse_date(node.attributes.get("content")) if node is not None else None
    cited = [str(d) for d in find_docnos(body) if str(d) != doc_no]
    base = base_url(tree, page_url)
    return Detail(url=page_url, title=" ".join(title.split()), body=body, metadata=meta, doc_no=doc_no,
                  issuer=issuer, written=written, published=published, cited_docnos=cited,
                  cited_titles=find_titles(body), attachments=find_attachments(body_node, base, tree))
