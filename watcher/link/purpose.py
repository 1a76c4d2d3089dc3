"""What a document says it implements, read from its purpose sentence and its own title.

Chinese official documents state their parent once, in one sentence near the top:

    第一条 为了…，根据《中华人民共和国水法》和有关法律、法规，结合本省实际，制定本办法。
    为贯彻落实《国务院关于…的指导意见》（国发〔2021〕4号），…，现结合我市实际，特制定本实施方案。

The purpose sentence is the first sentence (after the amendment history) in which a governing verb
(根据 依据 依照 按照 遵照 贯彻 落实 实施 执行) is later followed by a closing (制定 制订 提出 出台,
结合…实际, 如下, 本办法/本方案…). What it cites between the verb and the closing is what the
document implements; a citation elsewhere is only cited. This replaces a window of characters,
which in a short notice covered nearly everything.

Never a parent: the document itself (its own title cited in its text), what it carries (关于印发《X》
的通知, 现将《X》印发给你们, 附件：X), the decisions that amended it, and short forms (以下简称《水法》).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain

from watcher.link.amendments import History, parse_history
from watcher.link.boilerplate import plain, plain_text
from watcher.link.instruments import (
    carried_title,
    fold_title,
    forwarded_title,
    implemented_by_title,
    instrument_key,
    is_distinctive,
    is_legislation,
    kind_of,
)
from watcher.text.docno import find_docnos, find_title_spans

_SCAN = 20_000  # the purpose sentence is near the top: never read further for it
# The opening is over at the second article or section, or after the sentence in which the document
# says it is made (为了…，制定本法) when that sentence cites no parent: a later article is never it.
_PAST_OPENING = re.compile(
    r"^\s*(?:第[二三四五六七八九十]+[条章]|[二三四五六七八九十]+、|[(（][二三四五六七八九十]+[)）])"
)
_MADE = re.compile(r"(?:制定|制订)本|特制定")
_MAX_SENTENCES = 80
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
# 实施 before a kind word is a noun (实施方案, 实施意见), and 执行中 a circumstance: neither governs.
# 参照《X省人民政府工作规则》 names a model: implemented when it is an instrument of the document's
# own kind (a 规则 made 参照 another government's 规则), else a citation (Reading.follows).
_GOVERN = re.compile(
    r"根据|依据|依照|按照|遵照|遵循|贯彻|落实|参照|实施(?!方案|意见|细则|办法|条例|计划|规划|规定)|执行(?!中)"
)
_BASIS = re.compile(r"根据|依据|依照|遵照|遵循")
# A government's own rules (工作规则, 程序规定) cited under 根据 are the model a lower government's rules
# follow, not legislation it is made under: only laws, 条例, 办法 and 细则 are legal basis.
_MODEL_RULE = re.compile(r"(?:规则|规定)$")
_PROGRAMME = re.compile(r"(?:纲要|纲领)$")
# With no closing formula, 总体要求是：深入贯彻《X》（文号）精神 still states what the text implements.
_SPIRIT = re.compile(r"(?:贯彻|落实)[^。]*?精神")
# The subject of a regulation: its title without the issuer (山东省, 北京市人民政府) and the kind
# (条例, 法, 实施办法): 山东省突发事件应对条例 and 突发事件应对法 are one subject.
_ISSUER_HEAD = re.compile(
    r"^(?:中华人民共和国|[\u4e00-\u9fff]{1,8}?(?:省|自治区|特别行政区|市|自治州|县|自治县))"
    r"(?:人民代表大会常务委员会|人民政府)?"
)
_KIND_TAIL = re.compile(r"(?:实施)?(?:若干规定|条例|法|办法|细则|规定|规则)$")
# A draft is the rule it proposes: 吉林省优化营商环境条例（修订草案修改稿）（征求意见稿）.
_DRAFT_TAIL = re.compile(r"(?:[(（][^()（）]*(?:草案|意见稿|送审稿)[^()（）]*[)）])+$")
# The closing says the document is being made: 制定本办法, 提出以下意见, 通知如下. An instruction
# (各地要按照《方案》要求，结合实际制定实施方案) has a verb and 结合实际 but makes nothing here.
_KIND_WORDS = (
    r"(?:办法|规定|条例|细则|规则|方案|意见|措施|通知|决定|计划|规划|准则|标准|法|实施意见|实施方案|实施细则|实施办法)"
)
_CLOSE = re.compile(
    r"(?:制定|制订|提出|出台|拟定|形成)了?(?:本|如下|以下|下列|此)|本(?:实施)?"
    + _KIND_WORDS
    + r"|(?:通知|意见|规定|措施|要求)如下|如下(?:意见|措施|通知|规定|方案|决定)"
)
# 以下简称《水法》, （以下称道路交通安全法）: a short form of the citation before it, not another one.
_ALIAS = re.compile(r"[(（]\s*(?:以下简称|以下称|下称|简称)[^()（）]{0,40}[)）]")
# 现将《X》印发给你们 / 《X》已经市政府同意，现予印发 / 现将《X》转发给你们: the text carries or forwards X.
_CARRY_AFTER = re.compile(
    r"^(?:[^。；;《]{0,50}?(?:同意|通过|审定|研究)[^。；;《]{0,10}?)?[，,\s]*"
    r"(?:现予|予以|现|特)?(?P<verb>印发|发布|公布|转发)(?:给|你们|如下|，|,|。|$)"
)
# 附件：1.X办法 / 附件2：Y / a numbered list under 附件：: the text's own attachments.
_ATTACHMENT = re.compile(
    r"(?m)^[ \t\u3000]*(?:附\s*件\s*\d*\s*[:：]?|\d{1,2}\s*[.、．])\s*(?:\d{1,2}\s*[.、．]\s*)?"
    r"(?P<title>[^\n]{4,80})$"
)
# Where a line may open an _ATTACHMENT: 附 or a digit first. re finds a literal line break fast, where the
# pattern's (?m)^ is tried at every character (~60 us a bench notice).
_ATTACHMENT_LEAD = re.compile(r"\n[ \t\u3000]*[附\d]")
_PAIRED = re.compile(r"\s*[(（]\s*([^()（）]{4,30}?号)\s*(?:[,，;；][^()（）]{0,30})?[)）]")
# Bare law names in a governed span: 根据宪法、立法法和地方各级人民代表大会和地方各级人民政府组织法.
_BARE_END = re.compile(r"(?:法|条例)(?=$|[、，,和及与以等的》）)\s])")
_BARE_BREAK = re.compile(r"[、，,；;：:。()（）\s]")
_BARE_JOIN = re.compile(r"(?<!人民共)和|及|与|以及")  # 中华人民共和国 is no list


@dataclass(frozen=True)
class Cite:
    raw: str  # as written
    key: str  # folded title, or the normalised 文号
    kind: str  # "title", "docno", or "bare" (an unquoted law name: resolve it, never keep it unresolved)
    start: int  # offset in the text
    docno: str | None = None  # 《title》（文号）: the 文号 naming the same document
    verb: str = ""  # the verb governing it in the purpose sentence (根据, 贯彻落实, 实施 …)

    @property
    def implementing(self) -> bool:
        """Governed by a verb of implementing (贯彻 落实 实施 执行 按照), or cites a policy document
        (an 意见, a 通知, a 方案). 根据/依据/依照 before a law or regulation names its legal basis:
        a local regulation made 根据《立法法》《监督法》 is not derived from them."""
        if self.verb == "参照":
            return False
        return not _BASIS.fullmatch(self.verb) or not is_legislation(self.key) or bool(_MODEL_RULE.search(self.key))


def _share_words(a: str, b: str, least: int = 4) -> bool:
    """a and b have a run of `least` characters in common, 关于 aside (深化预算管理制度改革)."""
    a, b = a.replace("关于", "|"), b.replace("关于", "|")
    return any(a[i : i + least] in b for i in range(len(a) - least + 1) if "|" not in a[i : i + least])


def subject(key: str, issuer: bool = True) -> str:
    """What a regulation is about: its folded title without the kind (条例, 法, 实施办法) and, with
    issuer, the issuer before it (山东省突发事件应对条例 → 突发事件应对)."""
    head = _ISSUER_HEAD.sub("", _DRAFT_TAIL.sub("", key), count=1) if issuer else key
    return _KIND_TAIL.sub("", head, count=1)


@dataclass
class Reading:
    """What a document says about its parents."""

    own: set[str] = field(default_factory=set)  # keys that are the document itself or what it carries
    by_title: list[str] = field(default_factory=list)  # what its title says it implements
    forwards: list[str] = field(default_factory=list)  # what a 转发 notice forwards
    sentence: str | None = None  # the purpose sentence
    sentence_start: int = -1
    implements: list[Cite] = field(default_factory=list)  # cited in the purpose sentence
    history: History = field(default_factory=History)
    subject: str = ""  # what the document's own title is about (see subject())
    kind: str | None = None  # the kind word its own title ends with (规则, 条例 …)

    def follows(self, c: Cite) -> bool:
        """参照 names the model the document copies: an instrument of its own kind (清远市人民政府工作规则
        made 参照《广东省人民政府工作规则》); 参照 a rule of another kind cites it."""
        return c.verb == "参照" and self.kind is not None and kind_of(c.key) == self.kind

    def same_subject(self, c: Cite) -> bool:
        """A law the document is the local rule of: 山东省突发事件应对条例 made 根据《突发事件应对法》
        implements it (a document on another subject made under it cites it as legal basis)."""
        return len(self.subject) >= 2 and c.kind != "docno" and subject(c.key, issuer=False) == self.subject

    def parent_keys(self, title_first: bool = False) -> list[str]:
        """Keys of what the document implements: what its title names (上海市实施《X》办法 → X) and
        what its purpose sentence cites under a verb of implementing (为了实施《X》和《X实施条例》 →
        both). A law cited as legal basis (根据《X法》) is not implemented (see Cite.implementing).
        With title_first, a title that names what it implements is the only authority."""
        keys = list(self.by_title)
        if not (title_first and keys):
            keys += [
                c.key
                for c in self.implements
                if (c.implementing and not self.among_laws(c)) or self.same_subject(c) or self.follows(c)
            ]
        return list(dict.fromkeys(k for k in keys if k not in self.own))

    def among_laws(self, c: Cite) -> bool:
        """A programme (…纲要) named under 根据 in a list of laws is legal basis like them, unless it is
        on the document's own subject: 阿拉山口市人民政府工作规则 made 根据《宪法》、《组织法》、《全面推进
        依法行政实施纲要》、《国务院工作规则》 cites the 纲要 (and follows the 规则, a model of its own
        kind). A directive in such a list is carried out (山东省…深化预算管理制度改革的实施意见 made
        根据《预算法》、《国务院关于深化预算管理制度改革的决定》和《…关于深化财税体制改革的意见》), and
        a programme named with no law beside it is what the text implements (依据《…规划纲要》制定本规划)."""
        if not _BASIS.fullmatch(c.verb) or not _PROGRAMME.search(c.key):
            return False
        laws = [o for o in self.implements if o is not c and _BASIS.fullmatch(o.verb) and is_legislation(o.key)]
        return bool(laws) and not _share_words(self.subject, c.key)

    def basis_keys(self) -> list[str]:
        """What the purpose sentence cites without the document implementing it: a `cites` link."""
        parents = set(self.parent_keys())
        return list(dict.fromkeys(c.key for c in self.implements if c.key not in parents))

    def parents(self) -> list[str]:
        """What the linker derives the document from. A title that names what it implements is the
        authority (上海市实施《X法》办法 derives from X, whatever else its first article cites), and so
        are the regulations implementing that same law that it says it implements too (为了实施《X法》
        和《X法实施条例》); otherwise what the purpose sentence cites under a verb of implementing."""
        if not self.by_title:
            return self.parent_keys()
        named = set(self.by_title)
        same_law = [
            c.key
            for c in self.implements
            if c.implementing and c.kind != "docno" and named & set(implemented_by_title(c.raw))
        ]
        return list(dict.fromkeys(k for k in [*self.by_title, *same_law] if k not in self.own))

    def basis(self) -> list[str]:
        """What the purpose sentence cites that the linker does not derive the document from: a
        `cites` link (its legal basis, or what a title-named parent leaves over)."""
        parents = set(self.parents())
        return list(dict.fromkeys(c.key for c in self.implements if c.key not in parents))


def own_keys(title: str | None, text: str, history: History) -> set[str]:
    """Keys a citation may not point at: the document's own title, what it carries, its attachments,
    its former titles and the decisions that amended it."""
    own: set[str] = set()
    if title:
        own.add(fold_title(title))
        key = instrument_key(title)
        if key:
            own.add(key.title)
        carried = carried_title(title)
        if carried:
            own.add(fold_title(carried))
    # The decisions that amended it are never its parent. (What a batch decision names besides it is
    # not excluded: the purpose sentence is read after the history, where those names do not occur.)
    own |= history.own_titles() | history.decision_keys()
    own |= {k for k, verb in _carried_in_text(text) if verb != "转发"}
    for m in _attachments(text):
        line = m.group(0).strip()
        # a numbered line counts only right under 附件 (a list of attachments), not in the body
        if line.startswith("附") or _after_attachment_heading(text, m.start()):
            own.add(fold_title(m.group("title").strip("：: 《》")))
    return {k for k in own if k}


def _attachments(text: str) -> Iterator[re.Match[str]]:
    """_ATTACHMENT.finditer(text): tried only at the line starts where it can match (a match opens a line with
    附 or a digit), each after the end of the match before it (a match may run over several lines)."""
    end = 0
    for pos in chain((0,), (m.start() + 1 for m in _ATTACHMENT_LEAD.finditer(text))):
        if pos >= end and (m := _ATTACHMENT.match(text, pos)) is not None:
            end = m.end()
            yield m


def _after_attachment_heading(text: str, pos: int) -> bool:
    """pos is on a numbered line of the list that follows a 附件： line."""
    head = text[max(0, pos - 400) : pos]
    before = (head[:-1] if head.endswith("\n") else head).split("\n")
    for line in reversed(before):
        line = line.strip()  # a blank line ends the list
        if re.match(r"^附\s*件", line):
            return True
        if not re.match(r"^\d{1,2}\s*[.、．]", line):
            return False
    return False


@lru_cache(maxsize=4)
def _carried_in_text(text: str) -> tuple[tuple[str, str], ...]:
    """(key, verb) of every title the text hands on: 现将《X》印发给你们 → (X, 印发). Kept for the texts read
    last: read() and own_keys() both ask (scanning the text's quoted titles twice cost ~40 us a document)."""
    head = text[:_SCAN]
    out = []
    for span in find_title_spans(head):
        m = _CARRY_AFTER.match(head[span.end : span.end + 80])
        if m:
            out.append((fold_title(span.raw), m.group("verb")))
    return tuple(out)


def _aliases(sentence: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _ALIAS.finditer(sentence)]


def _cites_in(sentence: str, offset: int, lo: int, hi: int) -> list[Cite]:
    """Citations in sentence[lo:hi]: quoted titles (with a 文号 in brackets right after them),
    文号 on their own, and bare law names."""
    aliases = _aliases(sentence)

    def aliased(pos: int) -> bool:
        return any(a <= pos < b for a, b in aliases)

    out: list[Cite] = []
    spans = [s for s in find_title_spans(sentence) if lo <= s.start < hi and not aliased(s.start)]
    paired: set[str] = set()
    for s in spans:
        key = fold_title(s.raw)
        # 《X》（国发〔2021〕4号） or 《X》（中办发〔2016〕8号，以下简称《意见》）: the same document
        m = _PAIRED.match(sentence[s.end : s.end + 60])
        found = find_docnos(m.group(1), limit=1) if m else []
        if found:
            paired.add(str(found[0]))
        if is_distinctive(key):
            out.append(Cite(s.raw, key, "title", offset + s.start, str(found[0]) if found else None))
    for d in find_docnos(sentence[lo:hi]):
        if str(d) not in paired:
            out.append(Cite(str(d), str(d), "docno", offset + lo + sentence[lo:hi].find(str(d).split("〔")[0])))
    covered = [(s.start, s.end) for s in spans] + aliases
    out += _bare(sentence, offset, lo, hi, covered)
    verbs = [(m.start(), m.group()) for m in _governing(sentence, 0, hi)]
    with_verbs = []
    for c in out:
        before = [v for p, v in verbs if p < c.start - offset]
        with_verbs.append(Cite(c.raw, c.key, c.kind, c.start, c.docno, before[-1] if before else ""))
    return sorted(with_verbs, key=lambda c: c.start)


def _bare(sentence: str, offset: int, lo: int, hi: int, covered: list[tuple[int, int]]) -> list[Cite]:
    """Unquoted law names after a governing verb: every candidate ending in 法 or 条例, from the last
    break (、，) or from after a 和/及 inside it; the linker keeps only those that resolve."""
    out: list[Cite] = []
    for m in _BARE_END.finditer(sentence, lo, hi):
        end = m.end()
        if any(a <= m.start() < b for a, b in covered):
            continue
        start = end
        while start > lo and not _BARE_BREAK.match(sentence[start - 1]) and sentence[start - 1] not in "《》〈〉":
            start -= 1
        chunk = sentence[start:end]
        gov = list(_GOVERN.finditer(chunk))
        if gov:  # 根据宪法: the verb is no part of the name
            chunk, start = chunk[gov[-1].end() :], start + gov[-1].end()
        starts = [0] + [j.end() for j in _BARE_JOIN.finditer(chunk)]
        for s in starts:
            name = chunk[s:]
            key = fold_title(name)
            if 2 <= len(name) <= 40 and is_distinctive(key):
                out.append(Cite(name, key, "bare", offset + start + s))
    return out


def _governing(sentence: str, lo: int = 0, hi: int | None = None) -> list[re.Match[str]]:
    """Governing verbs of sentence[lo:hi], none inside a quoted title (《全面推进依法行政实施纲要》)."""
    end = len(sentence) if hi is None else hi
    if _GOVERN.search(sentence, lo, end) is None:
        return []  # most sentences: no verb, and no need to find their titles
    spans = [(s.start, s.end) for s in find_title_spans(sentence)]
    return [m for m in _GOVERN.finditer(sentence, lo, end) if not any(a <= m.start() < b for a, b in spans)]


def purpose_sentence(text: str, start: int = 0) -> tuple[int, str, list[Cite]] | None:
    """The first purpose sentence at or after `start`: (offset, sentence, what it implements). With
    none, the first sentence of the opening that says it carries out the spirit of a cited text
    (深入贯彻《X》（文号）精神) with no closing formula."""
    region = text[start : start + _SCAN]
    spirit: tuple[int, str, list[Cite]] | None = None
    for n, m in enumerate(_SENTENCE.finditer(region)):
        if n >= _MAX_SENTENCES:
            break
        sentence = m.group()
        if _PAST_OPENING.match(sentence):
            break
        govs = _governing(sentence)
        if not govs:
            if _MADE.search(sentence):
                break
            continue
        gov, offset = govs[0], start + m.start()
        closes = [c for c in _CLOSE.finditer(sentence, gov.end())]
        if closes:
            return offset, sentence, _cites_in(sentence, offset, gov.start(), closes[-1].start())
        if spirit is None:
            spirit = _spirit(sentence, offset)
    return spirit


def _spirit(sentence: str, offset: int) -> tuple[int, str, list[Cite]] | None:
    """贯彻…精神 naming what it carries out (a quoted title or a 文号 before 精神), or None."""
    found = [m for m in _SPIRIT.finditer(sentence) if _governing(sentence, m.start(), m.start() + 2)]
    if not found:
        return None
    cites = _cites_in(sentence, offset, found[0].start(), found[-1].end())
    return (offset, sentence, cites) if any(c.kind != "bare" for c in cites) else None


def read(title: str | None, text: str, doc_no: str | None = None) -> Reading:
    """Everything a document says about its parents (see the module docstring). doc_no is the
    document's own 文号: a text that quotes its own number does not cite itself. Title and text are
    read in simplified script, as plain() gives them."""
    title, text = (plain(title) if title else title), plain_text(text)
    history = parse_history(text)
    own = own_keys(title, text, history)
    if doc_no:
        own.add(doc_no)
    key = instrument_key(title)
    reading = Reading(own=own, history=history, subject=subject(key.title) if key else "")
    reading.kind = kind_of(key.title) if key else None
    reading.by_title = [k for k in implemented_by_title(title) if k not in own]
    fwd = forwarded_title(title) if title else None
    forwards = ([fold_title(fwd)] if fwd else []) + [k for k, verb in _carried_in_text(text) if verb == "转发"]
    reading.forwards = [k for k in dict.fromkeys(forwards) if is_distinctive(k) and k not in own]
    found = purpose_sentence(text, history.end)
    if found:
        reading.sentence_start, reading.sentence, cites = found
        reading.implements = [c for c in cites if c.key not in own and c.key not in reading.forwards]
    return reading
