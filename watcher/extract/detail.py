"""Detail page -> title, body, metadata, 文号, dates, citations, attachments.

Labels first, positions last: a field the page labels (发布日期：…, a 信息公开 table) wins over the
government-website <meta> tags, which win over what stands where (a date under the headline, the
signature block, a 文号 at the top of the text). Each field's origin is kept in Detail.provenance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.config.settings import DetailSelectors
from watcher.extract.cleantext import plain
from watcher.extract.generic import body_fallback, prune, remove_related_lists, strip_chrome, text_chars
from watcher.extract.headline import date_under_title, headline_text, title_fallback
from watcher.extract.htmltext import PageTexts, block_text, first_css
from watcher.extract.links import base_url, find_attachments
from watcher.extract.metadata import DOCUMENT_TABLE, META_FIELDS, PAGE_TABLE, gov_meta
from watcher.extract.model import AttachmentRef, Detail
from watcher.extract.scriptdata import ScriptRecord, record_body, record_fields, script_record
from watcher.text.docno import docno_key, find_docnos, find_titles, normalise_docno, parse_date

# How the name of an organ ends (人民代表大会常务委员会 ends in 委员会): a signer, and the issuer a title names.
_ORGAN_END = r"(?:人民政府|办公厅|办公室|委员会|[厅局部署委会院府])"
_SIGNER = re.compile(_ORGAN_END + "$")
_BRACKETED = re.compile(r"[（(].*?[)）]")
_PUNCTUATION = re.compile(r"[，。,；;:：]")  # a sentence, not a name
# A 公文 title names its issuer before 关于: 国务院办公厅关于…的通知, 全国人民代表大会常务委员会关于…的决议.
# One organ only (joint titles separate theirs with spaces, and do not match).
_TITLE_ISSUER = re.compile(rf"^(?P<organ>[\u4e00-\u9fff]{{2,30}}?{_ORGAN_END})关于.")
# A source label's value sometimes runs into the unlabelled date after it: 来源：广西日报 2024-10-17 08:03.
_DATE_KEYS = ("written", "published")
_TRAILING_DATE = re.compile(r"\s*(?:19|20)\d{2}\s*(?:年|[-/.]).*$")


def signature(lines: list[str]) -> tuple[str | None, date | None]:
    """Issuer and date from the closing signature block: `江苏省人民政府` then `2020年3月27日`."""
    tail = [line.strip() for line in lines[-8:] if line.strip()]
    for i in range(len(tail) - 1, -1, -1):
        when = parse_date(tail[i]) if len(tail[i]) <= 20 else None
        if when:
            signer = None
            for j in range(i - 1, max(i - 4, -1), -1):
                cand = _BRACKETED.sub("", tail[j]).strip()
                if 2 <= len(cand) <= 30 and _SIGNER.search(cand) and not _PUNCTUATION.search(cand):
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


@dataclass
class _Fields:
    """The page's metadata record and where each value came from."""

    values: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: str | None, origin: str) -> None:
        if value and key not in self.values:
            self.values[key] = value
            self.origin[key] = origin


def _read_fields(
    tree: LexborHTMLParser, texts: PageTexts, meta_segments: list[str] | None, tags: dict[str, str]
) -> _Fields:
    """Labels of the configured metadata block, then labels anywhere on the (pruned) page, then the
    government-website <meta> tags for what no label gives."""
    fields = _Fields()
    tables = [(DOCUMENT_TABLE, meta_segments)] if meta_segments else []
    for table, segs in [*tables, (PAGE_TABLE, texts.page(tree.body))]:
        for key, f in table.read(segs or []).items():
            value = _TRAILING_DATE.sub("", f.value) if key == "source" else f.value
            if key in _DATE_KEYS and parse_date(value) is None:
                continue  # an empty date cell read the next cell (the headline): the <meta> tag may say
            fields.put(key, value, f"label:{f.label}")
    for name, key in META_FIELDS.items():
        fields.put(key, tags.get(name), f"meta:{name}")
    return fields


def _title(
    tree: LexborHTMLParser, selected: str, fields: _Fields, tags: dict[str, str], list_title: str | None
) -> tuple[str, str]:
    if selected:
        return selected, "selector"
    if fields.values.get("title"):
        return fields.values["title"], fields.origin["title"]
    title, origin = title_fallback(tree, tags)
    if not title and list_title:
        return list_title, "list"
    return title, origin


def _published(
    tree: LexborHTMLParser, fields: _Fields, title: str, list_date: date | None, signed: date | None
) -> tuple[date | None, str | None]:
    """Labelled on the page, else the list page's date, else the PubDate tag, else under the headline
    (not the signing line of a short text: that is when it was written)."""
    origin = fields.origin.get("published", "")
    when = parse_date(fields.values.get("published"))
    if when and origin.startswith("label:"):
        return when, origin
    if list_date:
        return list_date, "list"
    if when:
        return when, origin
    when = date_under_title(tree, title)
    return (when, "position:under-headline") if when and when != signed else (None, None)


@dataclass
class _Read:
    """What a detail page gives before its fields are settled."""

    tree: LexborHTMLParser
    body: str
    fields: _Fields
    title: str
    title_origin: str
    attachments: list[AttachmentRef]


def parse_detail(
    html: str,
    page_url: str,
    sel: DetailSelectors,
    *,
    list_title: str | None = None,
    list_date: date | None = None,
    source_issuer: str | None = None,
) -> Detail:
    tree = LexborHTMLParser(html)
    for selector in sel.remove:
        for node in tree.css(selector):
            node.decompose()
    record = script_record(tree)  # before the scripts are pruned
    tags = gov_meta(tree)
    texts = PageTexts()  # the metadata block and the body, read again with the page
    meta_node = first_css(tree, sel.meta) if sel.meta else None
    meta_segments = texts.segments(meta_node) if meta_node is not None else None
    selected_title = headline_text(first_css(tree, sel.title)) if sel.title else ""
    body_node = first_css(tree, sel.body) if sel.body else None
    body = "\n".join(texts.segments(body_node)) if body_node is not None else ""
    if body_node is None:
        body_node = body_fallback(tree, texts)
        body = strip_chrome("\n".join(texts.segments(body_node)))
    body, body_node, from_script = _script_body(record, body, body_node)
    attachments = find_attachments(body_node, base_url(tree, page_url), tree)
    # What the reader does not see, and the lists of other items, give no field of this page.
    prune(tree, texts)
    remove_related_lists(tree, texts)
    fields = _read_fields(tree, texts, meta_segments, tags)
    for key, value in record_fields(record).items() if from_script and record is not None else ():
        fields.put(key, value, "position:script")  # what no label or tag on the page gives
    title, title_origin = _title(tree, selected_title, fields, tags, list_title)
    if from_script and record is not None and record.title and title_origin in _WEAK_TITLE:
        title, title_origin = record.title, "position:script"
    read = _Read(tree, body, fields, plain(title), title_origin, attachments)
    detail = _settle(page_url, read, list_date, source_issuer)
    if from_script:
        detail.provenance["body"] = "position:script"
    return detail


# Titles read from where a headline might stand, not from a label or a tag naming it: when the page's
# text is in a script, its headline element is empty too and the script's title is the better one.
_WEAK_TITLE = ("position:title", "position:h1", "position:h2", "none", "list")


def _script_body(
    record: ScriptRecord | None, body: str, node: LexborNode | None
) -> tuple[str, LexborNode | None, bool]:
    """The text a script carries, when the page's body element is empty or holds less than half of it
    (an empty container the script fills, a summary): (body, the element read, read from the script)."""
    if record is None or text_chars(body) * 2 >= record.text_chars():
        return body, node, False
    script_node = record_body(record).body
    text = strip_chrome(block_text(script_node))
    if text_chars(body) * 2 >= text_chars(text):
        return body, node, False
    return text, script_node, True


def _title_issuer(title: str, source_issuer: str | None) -> tuple[str | None, str]:
    m = _TITLE_ISSUER.match(title)
    return (m.group("organ"), "position:title") if m else (source_issuer, "source")


def _settle(page_url: str, read: _Read, list_date: date | None, source_issuer: str | None) -> Detail:
    """Each field from the first source that gives it, and where it came from."""
    lines = read.body.splitlines()
    signer, signed = signature(lines)
    meta, origin = read.fields.values, read.fields.origin
    doc_no = normalise_docno(meta["doc_no"]) if meta.get("doc_no") else None
    doc_no_origin = origin.get("doc_no") if doc_no else "position:top"
    doc_no = doc_no or _docno_at_top(lines)
    issuer, issuer_origin = (
        (meta["issuer"], origin["issuer"])
        if meta.get("issuer")
        else (signer, "position:signature")
        if signer
        else _title_issuer(read.title, source_issuer)
    )
    written = parse_date(meta.get("written"))
    written_origin = origin.get("written") if written else "position:signature"
    written = written or signed
    published, published_origin = _published(read.tree, read.fields, read.title, list_date, signed)
    provenance = {"title": read.title_origin}
    settled = (
        ("doc_no", doc_no, doc_no_origin),
        ("issuer", issuer, issuer_origin),
        ("written", written, written_origin),
        ("published", published, published_origin),
    )
    for key, value, where in settled:
        if value and where:
            provenance[key] = where
    # The other metadata keys: where each value was read (a settled field left empty has none).
    settled_keys = {key for key, _, _ in settled} | {"title"}
    provenance.update({k: v for k, v in origin.items() if k not in settled_keys})
    own = docno_key(doc_no)
    cited = [str(d) for d in find_docnos(read.body) if d.key != own]
    return Detail(
        url=page_url,
        title=read.title,
        body=read.body,
        metadata=meta,
        doc_no=doc_no,
        issuer=issuer,
        written=written,
        published=published,
        cited_docnos=cited,
        cited_titles=find_titles(read.body),
        attachments=read.attachments,
        provenance=provenance,
    )
