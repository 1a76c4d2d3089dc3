"""Labelled fields of a page: `发文字号：国发〔2019〕5号`, in one cell or a label cell then a value cell."""
from __future__ import annotations

import re

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
