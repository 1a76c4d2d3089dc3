"""List page -> items; detail page -> title, body, metadata, 文号, dates, citations."""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from urllib.parse import urljoin, urldefrag

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.config.settings import DetailSelectors, ListSelectors, Pagination
from watcher.text.docno import find_docnos, find_titles, normalise_docno, parse_date
from watcher.extract.htmltext import block_text, first_css, segments, split_selectors
from watcher.text.normalise import nfkc

# Canonical metadata keys and the labels portals use for them. Order matters: longer labels first
# so that 发文字号 wins over 文号.
LABELS: dict[str, tuple[str, ...]] = {
    "index_no": ("索引号", "索取号"),
    "topic": ("主题分类", "信息分类", "组配分类", "分类"),
    "issuer": ("发文机关", "发文单位", "发布机构", "发布单位", "发文机构", "制发机关", "成文单位", "公开主体"),
    "written": ("成文日期", "成文时间", "印发日期"),
    "published": ("发布日期", "发布时间", "公开日期", "公布日期", "时间", "日期"),
    "doc_no": ("发文字号", "发文文号", "文号"),
    "title": ("标题", "文件名称", "名称"),
    "keywords": ("主题词", "关键词"),
    "validity": ("有效性", "时效性", "有效期"),
}
_LABEL_TO_KEY = {lab: key for key, labs in LABELS.items() for lab in labs}
_ALL_LABELS = sorted(_LABEL_TO_KEY, key=len, reverse=True)
# A label may be spelled with spaces between its characters: 索 引 号, 标　　题.
_LABEL_RE = re.compile(
    r"(?P<label>" + "|".join(r"\s*".join(map(re.escape, lab)) for lab in _ALL_LABELS) + r")\s*[:：]")
_LABEL_ONLY = re.compile(r"^(?P<label>" + "|".join(r"\s*".join(map(re.escape, lab)) for lab in _ALL_LABELS)
                         + r")\s*[:：]?$")
_EMPTY_VALUES = {"", "无", "-", "--", "/", "暂无", "空"}
_SIGNER = re.compile(r"(?:人民政府|办公厅|办公室|委员会|人民代表大会常务委员会|[厅局部署委会院府])$")


@dataclass
class ListItem:
    url: str
    title: str
    date: date | None = None


@dataclass
class ListPage:
    items: list[ListItem]
    next_urls: list[str]
    region_hash: str


@dataclass
class Detail:
    url: str
    title: str
    body: str
    metadata: dict[str, str] = field(default_factory=dict)
    doc_no: str | None = None
    issuer: str | None = None
    written: date | None = None
    published: date | None = None
    cited_docnos: list[str] = field(default_factory=list)
    cited_titles: list[str] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["written"] = self.written.isoformat() if self.written else None
        d["published"] = self.published.isoformat() if self.published else None
        return d


def _label_key(raw: str) -> str:
    return _LABEL_TO_KEY["".join(raw.split())]


def metadata_from_segments(segs: list[str]) -> dict[str, str]:
    """Label/value pairs from text segments: `标题：X` in one cell, or a label cell then a value cell."""
    meta: dict[str, str] = {}
    i = 0
    while i < len(segs):
        seg = segs[i]
        only = _LABEL_ONLY.match(seg)
        if only:
            key = _label_key(only.group("label"))
            value = ""
            if i + 1 < len(segs):
                nxt = segs[i + 1]
                if not _LABEL_ONLY.match(nxt) and not _LABEL_RE.match(nxt):
                    value = nxt
                    i += 1
            if value.strip() not in _EMPTY_VALUES:
                meta.setdefault(key, value.strip())
            i += 1
            continue
        matches = list(_LABEL_RE.finditer(seg))
        # Mid-segment labels count only where they start the segment or follow a gap.
        matches = [m for m in matches if m.start() == 0 or seg[m.start() - 1] in " |丨　"]
        for j, m in enumerate(matches):
            end = matches[j + 1].start() if j + 1 < len(matches) else len(seg)
            value = seg[m.end():end].strip()
            if value not in _EMPTY_VALUES:
                meta.setdefault(_label_key(m.group("label")), value)
        i += 1
    return meta


def _node_text(node: LexborNode | None) -> str:
    return " ".join(segments(node))


def _absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    if href.startswith(("javascript:", "mailto:", "tel:", "#")):
        return None
    url = urldefrag(urljoin(base, href))[0]
    return url if url.startswith(("http://", "https://")) else None


def base_url(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(page_url, base.attributes.get("href") or "") if base else page_url


_DATE_IN_TEXT = re.compile(r"(?:19|20)\d{2}\s*(?:年|[-/.])\s*\d{1,2}\s*(?:月|[-/.])\s*\d{1,2}")


def _generic_items(tree: LexborHTMLParser) -> list[LexborNode]:
    """Without an item selector: the largest group of same-shaped containers holding a link and a date."""
    groups: dict[tuple, list[LexborNode]] = {}
    for a in tree.css("a[href]"):
        node = a
        for _ in range(3):
            node = node.parent
            if node is None:
                break
            if node.tag in ("li", "tr", "dd", "p", "div") and _DATE_IN_TEXT.search(node.text() or ""):
                parent = node.parent
                key = (node.tag, node.attributes.get("class"), parent.mem_id if parent else 0)
                bucket = groups.setdefault(key, [])
                if not bucket or bucket[-1].mem_id != node.mem_id:
                    bucket.append(node)
                break
    # Most items first; among equals the tightest containers (a list row, not the column around it).
    return max(groups.values(), key=lambda g: (len(g), -sum(len(n.text() or "") for n in g) / len(g))) \
        if groups else []


def parse_list(html: str, page_url: str, sel: ListSelectors, pagination: Pagination,
               page_index: int = 0) -> ListPage:
    tree = LexborHTMLParser(html)
    base = base_url(tree, page_url)
    region = first_css(tree, sel.region) if sel.region else None
    scope = region or tree
    nodes: list[LexborNode] = []
    if sel.item:
        for part in split_selectors(sel.item):
            nodes.extend(scope.css(part))
    else:
        nodes = _generic_items(tree)
    items: list[ListItem] = []
    seen: set[str] = set()
    for node in nodes:
        link = node if (node.tag == "a" and sel.link == "a") else first_css(node, sel.link)
        if link is None:
            continue
        url = _absolute(base, link.attributes.get("href"))
        if not url or url in seen:
            continue
        title_node = first_css(node, sel.title) if sel.title else None
        title = (_node_text(title_node) if title_node else
                 (link.attributes.get("title") or "").strip() or _node_text(link))
        date_node = first_css(node, sel.date) if sel.date else None
        when = parse_date(_node_text(date_node) if date_node else _node_text(node))
        seen.add(url)
        items.append(ListItem(url=url, title=title, date=when))
    region_hash = (hashlib.sha256((region.html or "").encode("utf-8")).hexdigest() if region is not None
                   else items_digest(items))
    return ListPage(items=items, next_urls=_next_pages(tree, base, page_url, pagination, page_index),
                    region_hash=region_hash)


def items_digest(items: list[ListItem]) -> str:
    """What a list page says, as a hash: the same items again mean the page need not be walked."""
    digest = hashlib.sha256()
    for it in items:
        digest.update(f"{it.url}\t{it.title}\t{it.date}\n".encode("utf-8"))
    return digest.hexdigest()


def _next_pages(tree: LexborHTMLParser, base: str, page_url: str, p: Pagination, page_index: int) -> list[str]:
    if page_index + 1 >= p.pages:
        return []
    if p.template:
        return [urljoin(page_url, p.template.format(n=p.start + page_index))]
    node = first_css(tree, p.next) if p.next else None
    if node is None and p.next_text:
        for a in tree.css("a[href]"):
            if p.next_text in (a.text() or ""):
                node = a
                break
    url = _absolute(base, node.attributes.get("href")) if node is not None else None
    return [url] if url and url != page_url else []


def _title_fallback(tree: LexborHTMLParser) -> str:
    for sel in ('meta[name="ArticleTitle"]', 'meta[property="og:title"]', 'meta[name="title"]'):
        node = tree.css_first(sel)
        if node is not None and (node.attributes.get("content") or "").strip():
            return node.attributes["content"].strip()
    for sel in ("h1", "h2"):
        node = tree.css_first(sel)
        if node is not None and len(_node_text(node)) >= 6:
            return _node_text(node)
    node = tree.css_first("title")
    if node is not None:
        parts = re.split(r"\s*[_|｜—-]\s*", node.text().strip())
        return max(parts, key=len) if parts else ""
    return ""


# Not <form>: ASP.NET portals wrap the whole page in <form id="form1">.
_CHROME_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "select", "button", "iframe")
_HIDDEN = ('[style*="display:none"]', '[style*="display: none"]', '[style*="visibility:hidden"]', "[hidden]")
_PARAGRAPH = {"p", "-text", "br", "span", "font", "strong", "b", "section"}
# Page chrome that sits inside or beside the text: font size, print, close, share, QR code.
_CHROME_LINE = re.compile(r"^[【\[]?(?:字号|字体|文字大小)[:：]?.{0,12}$|^.{0,6}(?:打印本页|打印|关闭窗口|关闭本页|关闭当前页面|"
                          r"扫一扫在手机打开当前页|分享到|分享)[:：】\]]?.{0,12}$|^[大中小\s]{3,}$")


def _body_fallback(tree: LexborHTMLParser) -> LexborNode | None:
    """The element whose own paragraphs hold the most text, hidden and chrome elements left out.
    Any tag counts (CMSs wrap text in their own: <ucapcontent>, <founder-content>); text in links
    does not (navigation and related-link lists are mostly links)."""
    for selector in (*_CHROME_TAGS, *_HIDDEN):
        for node in tree.css(selector):
            node.decompose()
    best, best_score = None, 0
    root = tree.body
    if root is None:
        return None
    for node in root.traverse():
        if node.tag in ("-text", "a", "p", "br", "span", "font", "strong", "b", "li", "img"):
            continue
        score = 0
        child = node.child
        while child is not None:
            if child.tag in _PARAGRAPH:
                text = (child.text(deep=True) or "").strip()
                links = sum(len((a.text() or "").strip()) for a in child.css("a")) if child.tag != "-text" else 0
                score += max(0, len(text) - 2 * links)
            child = child.next
        if score > best_score:
            best, best_score = node, score
    return best or tree.body


def _strip_chrome(body: str) -> str:
    return "\n".join(line for line in body.splitlines() if not (len(line) <= 24 and _CHROME_LINE.search(line.strip())))


def _date_under_title(tree: LexborHTMLParser, title: str) -> date | None:
    """The date in the info bar under the headline (标题 / 2020年09月15日 来源：…), as readers see it."""
    if not title or tree.body is None:
        return None
    text = " ".join((tree.body.text(separator=" ") or "").split())
    at = text.find(title[:20])
    if at < 0:
        return None
    window = text[at + len(title[:20]): at + len(title) + 160]
    m = _DATE_IN_TEXT.search(window)
    return parse_date(m.group(0)) if m else None


def _signature(lines: list[str]) -> tuple[str | None, date | None]:
    """Issuer and date from the closing signature block: `江苏省人民政府` then `2020年3月27日`."""
    tail = [l.strip() for l in lines[-8:] if l.strip()]
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
        body_node = _body_fallback(tree)
    if not meta:
        meta = metadata_from_segments(segments(tree.body))
    body = block_text(body_node)
    if generic:
        body = _strip_chrome(body)
    title_node = first_css(tree, sel.title) if sel.title else None
    title = (_node_text(title_node) if title_node is not None else "") or meta.get("title") \
        or _title_fallback(tree) or (list_title or "")
    lines = body.splitlines()
    signer, signed = _signature(lines)
    doc_no = normalise_docno(meta.get("doc_no")) if meta.get("doc_no") else _docno_at_top(lines)
    issuer = meta.get("issuer") or signer or source_issuer
    written = parse_date(meta.get("written")) or signed
    published = parse_date(meta.get("published")) or list_date or _date_under_title(tree, title)
    if published is None:
        node = tree.css_first('meta[name="PubDate"]')
        published = parse_date(node.attributes.get("content")) if node is not None else None
    cited = [str(d) for d in find_docnos(body) if str(d) != doc_no]
    base = base_url(tree, page_url)
    return Detail(url=page_url, title=" ".join(title.split()), body=body, metadata=meta, doc_no=doc_no,
                  issuer=issuer, written=written, published=published, cited_docnos=cited,
                  cited_titles=find_titles(body), attachments=find_attachments(body_node, base, tree))


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


def find_attachments(node: LexborNode | None, base: str, page: LexborHTMLParser | None = None) -> list[dict]:
    """Links to attachment files: in the body, a link to a file or a 附件 link to a download script;
    elsewhere on the page (the 附件 block under the body), links whose URL or text names a file."""
    out: list[dict] = []
    seen: set[str] = set()
    scopes = [(node, True)] if node is not None else []
    if page is not None and page.body is not None:
        scopes.append((page.body, False))
    for scope, in_body in scopes:
        for a in scope.css("a[href]"):
            url = _absolute(base, a.attributes.get("href"))
            name = _node_text(a) or (a.attributes.get("title") or "").strip()
            if not url or url in seen:
                continue
            label = name + " " + (a.parent.text() if a.parent is not None and not in_body else "")[:40]
            if _is_attachment(url, name if in_body else label):
                seen.add(url)
                out.append({"url": url, "name": name})
    return out
