"""The 文号 grammar: where document numbers stand in a text, and which characters before them are the
issuer code.

Three forms:
  bracket       code 〔year〕 number 号       苏政发〔2020〕28号, 沪府办发〔1998〕8号、55号 (two numbers)
  announcement  code year 年第 number 号      国家税务总局公告2015年第41号
  order         code 令第 number 号          中华人民共和国国务院令第558号, 北京市人民政府第15号令

The issuer code is the run of CJK characters right before the year (or before 第 in an order). In a
title or a sentence the run also holds the words before the code; they are cut off as a class:
the verbs and prepositions that introduce a 文号 (关于, 废止, 根据, 以 …), and, after another number,
that number's 号 (…27号豫政办〔2005〕110号) or a date's 日 (…4月9日中华人民共和国国务院令第76号).
Words that also occur inside codes (规划, 办法, 和) are not cut at: 沪规划资源乡, 国中医药办法监发,
中华人民共和国.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from watcher.text.script import simplified

# „‟ (U+201E, U+201F): 〔〕 garbled by a wrong code page (国办发„2009‟3号).
_OPEN = "〔\\[［【(（〈<{｛〖﹝〘„"
_CLOSE = "〕\\]］】)）〉>}｝〗﹞〙‟"
_CJK = "\u4e00-\u9fff"
# \d matches full-width digits too, so the text need not be NFKC-normalised first (slow on long texts).
_YEAR = r"(?P<year>(?:19|20|１９|２０)\d{2})"
_NUM = r"(?P<num>\d{1,5})"
# A bracket 文号's tail; more numbers of the same code and year may follow: 〔1998〕8号、55号, 〔2018〕108、109号.
_BRACKET = re.compile(
    r"["
    + _OPEN
    + r"]\s*"
    + _YEAR
    + r"\s*["
    + _CLOSE
    + r"]\s*[(（]?\s*(?:第\s*)?(?P<nums>\d{1,5}(?:\s*[、,，]\s*\d{1,5})*)\s*号"
)
_SAID_ONCE = re.compile(r"(?:[\s、,，和及]|and)*")
_MORE = re.compile(r"\s*[、,，和及]\s*(?:第\s*)?(\d{1,5})\s*号")
# After 公告, 通告 or 令. Each word is searched as a literal and the year after it matched (group `at`): a
# pattern that starts with a lookbehind is tried at every character (150 us for a page of 2,400
# characters), one that starts with a literal skips to it (5 us). No match holds 告 or 令 after its
# first character, so the matches of the two are those of the one pattern with a lookbehind.
_YEAR_NUMBER = r"(?P<at>\s*" + _YEAR + r"\s*年\s*(?:第\s*)?" + _NUM + r"\s*号)"
_AFTER_NOTICE = re.compile("告" + _YEAR_NUMBER)  # 公告, 通告: the character before is checked
_AFTER_ORDER = re.compile("令" + _YEAR_NUMBER)
# Year and number joined by a dash, no brackets: 湘政发2011-8号.
_DASHED = re.compile(_YEAR + r"\s*[-－—]\s*" + _NUM + r"\s*号")
_DOC_TYPE_END = "发函字办规电通复令文"
_ORDER = re.compile(r"令\s*第\s*(?P<num>\d{1,5}|[〇零一二三四五六七八九十百千]{1,8})\s*号")
_ORDER_AFTER = re.compile(r"第\s*" + _NUM + r"\s*号\s*令")
# Code characters: CJK and Latin (a few codes carry letters: 国税函〔2009〕3号, 苏ICP…), never digits.
_CODE_CHARS = "[" + _CJK + "A-Za-zＡ-Ｚａ-ｚ]"
_RUN = re.compile(_CODE_CHARS + r"+$")
_MAX_CODE = 24
# Spaces between the code and the year: 行政监管措施决定书   〔2021〕2号 (a title padded for layout).
_GAP_BEFORE = re.compile(r"[ \t\u3000\xa0]+$")
_MAX_GAP = 40

# Words that introduce a 文号 in running text and are never part of an issuer code: verbs of citing,
# prepositions, document-type nouns that end a title before its number, particles.
_LEAD_VERBS = (
    "按照 根据 依据 依照 参照 遵照 对照 关于 对于 结合 贯彻 落实 印发 转发 批转 执行 废止 废除 修改 修订 "
    "明确 调整 停止 撤销 暂停 延长 延期 继续 宣布 取消 实施 公布 发布 下发 发出 通过 适用 "
    "符合 包括 包含 涵盖 引用 替代 代替 取代 后续 详见 参见 文号 含 列 "
    "以 按 据 及 与 或 见 将 对 在 是 为 由 于 的 即 等 了 把 被 从 向 凡 其 另 该 此"
).split()
# Document-type nouns end a title written right before its number (…的通知国办发〔…〕). A code that ends
# in 书 is itself such a title (…行政监管措施决定书〔2021〕1号): the issuer's whole name is the code.
_LEAD_NOUNS = "通知 意见 决定 规定 条例 细则 措施 方案 批复 报告 请示 复函 公告 通告 文件 精神 要求".split()


def _alternation(words: list[str]) -> re.Pattern[str]:
    # A lead may name the document as former: 替代原鲁财综〔2018〕31号 (原 alone also ends 太原, 中原).
    return re.compile("(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + ")原?")


_LEAD = _alternation(_LEAD_VERBS + _LEAD_NOUNS)
_LEAD_IN_TITLE = _alternation(_LEAD_VERBS)
# What a run starts with after another number or a date: its 号 / 日, then the words joining the next.
_AFTER_NUMBER = re.compile(r"^(?:号文件|号文|号令|号|日|年|月)(?:文件|文)?")
_JOINERS = re.compile(r"^[和及与或、]+")
# Issuers written out before an order's 令 may be long (中华人民共和国国家发展和改革委员会令).
_ORDER_ISSUER = 20
# Joint announcements name several issuers separated by spaces: 财政部 税务总局公告2019年第39号.
_JOINT_PART = re.compile(r"(?:^|(?<=[^" + _CJK + r"]))([" + _CJK + r"]{2,12}(?:部|局|署|委|会|院|行|厅|办))\s+$")


# ---- one key for the forms of one issuer ---------------------------------------------------------
# Orders and announcements name their issuer in words, and the same organ is written several ways:
# 国令 and 中华人民共和国国务院令, 税务总局公告 and 国家税务总局公告, 人社部令 and 中华人民共和国人力资源和
# 社会保障部令, 北京市政府令 and 北京市人民政府令. Their key drops the state's name (中华人民共和国, 中国,
# 国家 before a national organ), the 和 of the organs' full names, 委员会 for 委 and 人民政府 for 政府, and
# spells the established short names out. Bracket codes (国发, 国办发) are codes already: their key is
# the number as printed.
_ISSUED_BY_NAME = ("公告", "通告", "令")
_STATE_NAMES = re.compile(r"^(?:中华人民共和国|中国|国家)+")
# Short names of national organs, as they stand in orders and announcements, folded as above.
_SHORT_ORGANS = {
    "国": "国务院",
    "人社部": "人力资源社会保障部",
    "住建部": "住房城乡建设部",
    "工信部": "工业信息化部",
    "发改委": "发展改革委",
    "卫健委": "卫生健康委",
    "证监会": "证券监督管理委",
    "银保监会": "银行保险监督管理委",
    "银监会": "银行业监督管理委",
    "保监会": "保险监督管理委",
    "市场监管总局": "市场监督管理总局",
    "质检总局": "质量监督检验检疫总局",
    "工商总局": "工商行政管理总局",
    "网信办": "互联网信息办公室",
    "民航局": "民用航空局",
}


def _organ_key(organ: str) -> str:
    organ = _STATE_NAMES.sub("", organ) or organ
    organ = organ.replace("和", "").replace("人民政府", "政府")
    organ = re.sub(r"委员会$", "委", organ)
    return _SHORT_ORGANS.get(organ, organ)


def issuer_key(code: str) -> str:
    """The issuer part of a 文号 as matched: one spelling for the forms of one organ (see above)."""
    suffix = next((s for s in _ISSUED_BY_NAME if code.endswith(s)), "")
    if not suffix or len(code) == len(suffix):
        return code
    organs = code[: -len(suffix)].split(" ")
    return " ".join(_organ_key(o) for o in organs) + suffix


@dataclass(frozen=True)
class DocNo:
    code: str  # as printed (brackets and digits normalised)
    year: int | None
    number: int

    def __str__(self) -> str:
        if self.year is None:
            return f"{self.code}第{self.number}号"
        if self.code.endswith(_ISSUED_BY_NAME):
            return f"{self.code}{self.year}年第{self.number}号"
        return f"{self.code}〔{self.year}〕{self.number}号"

    @property
    def key(self) -> str:
        """The number as matched: 国令第707号 and 中华人民共和国国务院令第707号 share 国务院令第707号."""
        folded = issuer_key(self.code)
        return str(self) if folded == self.code else str(DocNo(folded, self.year, self.number))


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


# A place or an organisation written out before the code it issued: 岳阳市岳财发, 国家发改价格规,
# 国家中医药管理局卫医政发. Cut only where at least three characters name it (穗市监规, 鄂州政办发 are codes)
# and what is left ends as a code does; 联 continues a joint code (工信部联企业).
_NAMED_ISSUER = re.compile(
    r"^(?:国家|["
    + _CJK
    + r"]{2,}?(?:自治区|省|市|县|区|州|盟|旗))|^["
    + _CJK
    + r"]{2,}?(?:管理局|总局|部|局|厅|委|办公室)"
)
_CODE_END = re.compile(r"^[^联][" + _CJK + r"]*[发函字办规电通复令文]$")


def _without_named_issuer(code: str) -> str:
    while (m := _NAMED_ISSUER.match(code)) and (len(m.group()) >= 3 or m.group() == "国家"):
        rest = code[m.end() :]
        if len(rest) < 2 or not _CODE_END.match(rest):
            break
        code = rest
    return code


def issuer_code(text: str, end: int, *, limit: int = _MAX_CODE) -> str:
    """The issuer code that ends at `end`: the CJK run before it, less the words that lead into it."""
    gap = _GAP_BEFORE.search(text, max(0, end - _MAX_GAP), end)
    if gap:
        end = gap.start()
    m = _RUN.search(text, max(0, end - limit), end)
    if not m:
        return ""
    start, code = m.start(), m.group()
    if start > 0 and text[start - 1].isdigit():
        code = _AFTER_NUMBER.sub("", code)
    cut = 0
    for lead in (_LEAD_IN_TITLE if code.endswith("书") else _LEAD).finditer(code):
        if len(code) - lead.end() >= 2:
            cut = max(cut, lead.end())
    return _nfkc(_JOINERS.sub("", code[cut:]))


def _joint(text: str, start: int, code: str) -> str:
    """Issuers before `code`, separated by spaces: 财政部 税务总局公告 (announcements only)."""
    while True:
        m = _JOINT_PART.search(text, max(0, start - 16), start)
        if not m:
            return code
        part = issuer_code(text, m.end(1))
        if not part:
            return code
        code = f"{part} {code}"
        start = m.end(1) - len(part)


def _cn_int(s: str) -> int | None:
    digits = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in digits:
            cur = cur * 10 + digits[ch] if ch in "〇零" or cur == 0 else digits[ch]
        else:
            unit = {"十": 10, "百": 100, "千": 1000}[ch]
            total += (cur or 1) * unit
            cur = 0
    return total + cur or None


def _bracket_hits(text: str) -> list[tuple[int, int, DocNo]]:
    hits: list[tuple[int, int, DocNo]] = []
    prev_end, prev_code = -1, ""
    for m in _BRACKET.finditer(text):
        code = _without_named_issuer(issuer_code(text, m.start()))
        if code.isascii():
            code = ""  # letters of a sentence around the number, not a code
        if not code and prev_code and _SAID_ONCE.fullmatch(text, prev_end, m.start()):
            code = prev_code  # 国发〔2018〕38号、〔2019〕3号: the code is said once
        if not code:
            continue
        year = int(m.group("year"))
        nums = [int(n) for n in re.findall(r"\d+", m.group("nums"))]
        end = m.end()
        while more := _MORE.match(text, end):
            nums.append(int(more.group(1)))
            end = more.end()
        hits.extend((m.start(), end, DocNo(code, year, n)) for n in nums)
        prev_end, prev_code = end, code
    return hits


def _announcement_hits(text: str) -> list[tuple[int, int, DocNo]]:
    """公告2015年第41号, and orders numbered within their year: 交通运输部令2019年第1号."""
    hits = []
    found = [m for m in _AFTER_NOTICE.finditer(text) if m.start() and text[m.start() - 1] in "公通"]
    found += _AFTER_ORDER.finditer(text)
    for m in sorted(found, key=lambda m: m.start()) if found else ():
        start = m.start("at")
        code = issuer_code(text, start, limit=_ORDER_ISSUER)
        if code.endswith(("公告", "通告", "令")) and len(code) > 2:
            code = _joint(text, start - len(code), code)
            hits.append((start, m.end(), DocNo(code, int(m.group("year")), int(m.group("num")))))
    return hits


def _dashed_hits(text: str) -> list[tuple[int, int, DocNo]]:
    hits: list[tuple[int, int, DocNo]] = []
    if "-" not in text and "－" not in text and "—" not in text:
        return hits  # no dash, no match: the pattern, which starts with a digit, is tried at every digit
    for m in _DASHED.finditer(text):
        code = _without_named_issuer(issuer_code(text, m.start()))
        if code and code[-1] in _DOC_TYPE_END and not code.isascii():
            hits.append((m.start(), m.end(), DocNo(code, int(m.group("year")), int(m.group("num")))))
    return hits


def _order_hits(text: str) -> list[tuple[int, int, DocNo]]:
    hits = []
    for m in _ORDER.finditer(text):
        code = issuer_code(text, m.start() + 1, limit=_ORDER_ISSUER)
        num = _cn_int(m.group("num"))
        if code.endswith("令") and num:
            hits.append((m.start(), m.end(), DocNo(code, None, num)))
    for m in _ORDER_AFTER.finditer(text):
        code = issuer_code(text, m.start(), limit=_ORDER_ISSUER)
        if code:
            hits.append((m.start(), m.end(), DocNo(code + "令", None, int(m.group("num")))))
    return hits


def find_docnos(text: str, limit: int | None = None) -> list[DocNo]:
    """Every 文号 in text, in order of appearance, without repeats (two forms of one number are one).
    Full-width digits, letters and brackets count as their ASCII forms, traditional script as simplified
    (國函〔2016〕204號 is 国函〔2016〕204号)."""
    text = simplified(text)
    if "号" not in text:
        return []  # every form ends in 号: a line, a name or a title without one is answered at once
    hits = _bracket_hits(text) + _announcement_hits(text) + _dashed_hits(text) + _order_hits(text)
    hits.sort(key=lambda h: h[0])
    out: list[DocNo] = []
    seen: set[str] = set()
    for _, _, d in hits:
        if d.key not in seen:  # one order cited by its full and its short name: the first form read
            seen.add(d.key)
            out.append(d)
            if limit and len(out) >= limit:
                break
    return out
