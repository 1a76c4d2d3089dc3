"""Labelled fields of a page: `发文字号：国发〔2019〕5号`, in one cell or a label cell then a value cell, in a
信息公开 table or in the info bar under a headline (`时间：2024-10-14 10:17 来源：省厅 字号：默认 小 大`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser

from watcher.extract.cleantext import plain

# Canonical metadata keys and the labels portals use for them. Order matters: longer labels first
# so that 发文字号 wins over 文号.
LABELS: dict[str, tuple[str, ...]] = {
    "index_no": ("索引号", "索取号"),
    "topic": ("主题分类", "信息分类", "组配分类", "分类"),
    "issuer": ("发文机关", "发文单位", "发布机构", "发布单位", "发文机构", "制发机关", "成文单位", "公开主体"),
    "written": ("成文日期", "成文时间", "印发日期", "发文日期"),
    "published": ("发布日期", "发布时间", "公开日期", "公布日期", "生成日期", "时间", "日期"),
    "doc_no": ("发文字号", "发文文号", "文号"),
    "title": ("标题", "文件名称", "名称"),
    "keywords": ("主题词", "关键词"),
    "validity": ("有效性", "时效性", "有效期"),
}
# The info bar's own labels: the item's source (来源 is where the text came from, not its issuer), and
# labels read only so that the value before them ends there.
INFO_LABELS: dict[str, tuple[str, ...]] = {
    "source": ("信息来源", "文章来源", "稿件来源", "来源"),
    "author": ("作者", "责任编辑", "编辑"),
    "-": ("浏览次数", "访问次数", "点击数", "阅读数", "字号", "字体", "分享到", "分享"),
}
# Labels that say less than their kin: a page's 发布日期 wins over a bare 日期 wherever each stands.
_WEAK = {"生成日期": 1, "时间": 2, "日期": 2, "名称": 2, "分类": 2}
_EMPTY_VALUES = {"", "无", "-", "--", "/", "暂无", "空"}
# Where one field ends and the next starts inside a segment: a gap, then a label and a colon.
_GAP = " |丨　"
# A number's value is one token: any `词：` after a gap ends it (文号：X 文件登记号：Y gives X).
_NUMBER_KEYS = {"doc_no", "index_no"}
# Any short word and a colon after a gap starts a field, known or not (文件登记号：, 浏览量：). The gap is
# matched, not looked behind at (a pattern that starts with a lookbehind is tried at every character):
# the field starts where group `word` does.
_ANY_LABEL = re.compile(r"[ |丨　](?P<word>[\u4e00-\u9fff]{2,6}\s*[:：])")
_COLON = re.compile("[:：]")
# Segments up to this long are searched whole; in longer ones only around their colons (see _label_matches).
_SEARCH_WHOLE = 40


@dataclass(frozen=True)
class Labelled:
    key: str
    label: str  # as the page spells it, spaces removed: 发布日期
    value: str


def _alternation(labels: list[str]) -> str:
    # A label may be spelled with spaces between its characters: 索 引 号, 标　　题.
    return "|".join(r"\s*".join(map(re.escape, lab)) for lab in labels)


class LabelTable:
    """Reads label/value pairs with a set of labels. `any_label_ends_value`: in free text (an info bar)
    an unknown `词：` after a gap ends the value before it; in a metadata table values run to the next
    known label."""

    def __init__(self, labels: dict[str, tuple[str, ...]], *, any_label_ends_value: bool):
        self.key_of = {lab: key for key, labs in labels.items() for lab in labs}
        ordered = sorted(self.key_of, key=len, reverse=True)
        self.label_re = re.compile(r"(?P<label>" + _alternation(ordered) + r")\s*[:：]")
        self.label_only = re.compile(r"^(?P<label>" + _alternation(ordered) + r")\s*[:：]?$")
        self.any_label_ends_value = any_label_ends_value
        # How far before its colon a label match may start, in text whose spaces are single: the label's
        # characters with a space between each, a space, the colon.
        self.reach = 2 * max(map(len, self.key_of)) + 2

    def _key(self, raw: str) -> tuple[str, str]:
        label = "".join(raw.split())
        return self.key_of[label], label

    def _value_end(self, seg: str, start: int, end: int, key: str) -> int:
        if self.any_label_ends_value or key in _NUMBER_KEYS:
            # The gap may stand just before `start` (a lookbehind would see it there).
            other = _ANY_LABEL.search(seg, max(start - 1, 0), end)
            if other is not None:
                return other.start("word")
        return end

    def _label_matches(self, seg: str) -> list[re.Match[str]]:
        """label_re.finditer(seg), searched only near the colons of a long segment: the label pattern tries
        each character that starts a label (时, 日, 分, 名 are common in running text: 120 ns a character of
        text, most of reading a page's fields). A match ends at a colon and starts at most `reach` before
        it (spaces single), so the matches in the windows before the colons, windows that overlap
        searched as one, are the matches in the whole segment. `occurrences` passes only segments with a colon."""
        if len(seg) <= _SEARCH_WHOLE or " ".join(seg.split()) != seg:
            return list(self.label_re.finditer(seg))
        found: list[re.Match[str]] = []
        lo = hi = -1
        for colon in _COLON.finditer(seg):
            start = max(colon.start() - self.reach, 0)
            if hi < start:
                if hi >= 0:
                    found += self.label_re.finditer(seg, lo, hi)
                lo = start
            hi = colon.end()
        found += self.label_re.finditer(seg, lo, hi)
        return found

    def _in_segment(self, seg: str) -> list[Labelled]:
        # Mid-segment labels count only where they start the segment or follow a gap.
        matches = [m for m in self._label_matches(seg) if m.start() == 0 or seg[m.start() - 1] in _GAP]
        found = []
        for j, m in enumerate(matches):
            key, label = self._key(m.group("label"))
            end = self._value_end(seg, m.end(), matches[j + 1].start() if j + 1 < len(matches) else len(seg), key)
            found.append(Labelled(key, label, seg[m.end() : end].strip()))
        return found

    def occurrences(self, segs: list[str]) -> list[Labelled]:
        """Every labelled field in document order, empty values ('无', '-') left out."""
        out: list[Labelled] = []
        label_only = self.label_only.match
        i = 0
        while i < len(segs):
            seg = segs[i]
            i += 1
            only = label_only(seg)
            if only:
                key, label = self._key(only.group("label"))
                value = ""
                nxt = segs[i] if i < len(segs) else None
                if nxt is not None and not label_only(nxt) and not self.label_re.match(nxt):
                    value = nxt
                    i += 1
                found = [Labelled(key, label, value.strip())]
            elif ":" in seg or "：" in seg:  # every field in a segment has its colon
                found = self._in_segment(seg)
            else:
                continue
            out += [f for f in found if f.value not in _EMPTY_VALUES and f.key != "-"]
        return out

    def read(self, segs: list[str]) -> dict[str, Labelled]:
        """One field per key: the strongest label's first value (a bare 日期 only when no 发布日期 is shown)."""
        best: dict[str, Labelled] = {}
        for f in self.occurrences(segs):
            held = best.get(f.key)
            if held is None or _WEAK.get(f.label, 0) < _WEAK.get(held.label, 0):
                best[f.key] = f
        return best


DOCUMENT_TABLE = LabelTable(LABELS, any_label_ends_value=False)
PAGE_TABLE = LabelTable({**LABELS, **INFO_LABELS}, any_label_ends_value=True)


def metadata_from_segments(segs: list[str]) -> dict[str, str]:
    """Label/value pairs from a metadata block's segments: `标题：X` in one cell, or a label cell then a
    value cell."""
    return {key: f.value for key, f in DOCUMENT_TABLE.read(segs).items()}


# The <meta> tags of government websites (GB/T 42147-2022, after the 2017 政府网站网页设计规范): the
# page's title, publication time, source, site and column, whether or not the page shows them.
GOV_META = (
    "ArticleTitle",
    "PubDate",
    "ContentSource",
    "SiteName",
    "SiteDomain",
    "SiteIDCode",
    "ColumnName",
    "ColumnType",
    "Keywords",
    "Description",
    "Author",
    "Url",
    "Image",
)
_GOV_META_NAME = {name.lower(): name for name in GOV_META}
# Fields of the metadata record the tags fill when no label on the page does.
META_FIELDS = {
    "PubDate": "published",
    "ContentSource": "source",
    "SiteName": "site",
    "SiteIDCode": "site_id",
    "ColumnName": "column",
}
# The page's generation time, which some CMSs also write into PubDate: <meta name="others"
# content="页面生成时间 2022-10-14 10:16:14">, <meta name="Maketime" …>.
_GENERATED = re.compile(r"页面生成时间\s*(.+)")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def gov_meta(tree: LexborHTMLParser) -> dict[str, str]:
    """The government-website tags the page carries, by their standard names (matched without case).
    A PubDate that is the page's generation time to the second is left out: it is not when the item
    was published."""
    out: dict[str, str] = {}
    generated: set[str] = set()
    for node in tree.css("meta[name][content]"):
        raw_name = (node.attributes.get("name") or "").strip()
        value = plain(node.attributes.get("content") or "")
        stamp = _GENERATED.search(value) if raw_name.lower() == "others" else None
        if stamp or raw_name.lower() == "maketime":
            generated.add(_digits(stamp.group(1) if stamp else value))
        name = _GOV_META_NAME.get(raw_name.lower())
        if name and value and name not in out:
            out[name] = value
    if "PubDate" in out and len(_digits(out["PubDate"])) >= 12 and _digits(out["PubDate"]) in generated:
        del out["PubDate"]
    return out
