"""The amendment history at the head of a law or regulation, and what it says about versions.

Laws and local regulations open with their history, one event per date:

    1988年1月21日第六届全国人民代表大会常务委员会第二十四次会议通过
    2002年8月29日第九届全国人民代表大会常务委员会第二十九次会议修订
    根据2016年7月2日…会议《关于修改〈中华人民共和国节约能源法〉等六部法律的决定》第二次修正

The same shape serves national laws and local regulations (批准 by the province for a city's rule).
What the linker takes from it:
- the text is a revised version (修正/修订 after the first 通过), and the dates of the earlier ones;
- the decisions named there are how it was amended, never what it implements: a batch decision
  names another law first (关于修改〈野生动物保护法〉等十五部法律的决定), a single one names the
  instrument itself, sometimes under a former title (关于修改〈河南省水法实施办法〉的决定);
- the block's extent, so that the purpose sentence is looked for after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from watcher.link.instruments import fold_title
from watcher.text.docno import find_title_spans

_DATE = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_DATE_PARTS = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ACTION = re.compile(r"(?:第(?P<ord>[一二三四五六七八九十]+)次)?(?P<act>修正|修订|通过|批准|公布|施行|颁布|发布)")
# An event is adopted by a body: a session, a standing committee, an order. A date followed by 施行
# in running text (本办法自2020年1月1日起施行) is no event of the history.
_BODY = re.compile(r"会议|委员会|人民代表大会|国务院|政府|令|公告")
_SINGLE_DECISION = re.compile(r"^关于修改(?P<inner>.+?)的决定$")
_AMENDMENT_ACT = re.compile(r"^(?P<inner>.+?)修正案$")
_BATCH = re.compile(r"等[一二三四五六七八九十百\d]+(?:部|件|个|项)")
_HEAD = 1200  # the history starts within this many characters of the text
_MAX_EVENT = 260  # one event is a date, a body and an action: never a paragraph
_ADOPTING = ("通过", "修正", "修订")
_ORDER = re.compile(r"令\s*第\s*\d+\s*号")
# A title broken over two lines (a PDF or a narrow column) is joined before events are cut at lines.
_BROKEN_TITLE = re.compile(r"《[^》\n]{0,120}\n\s*[^》\n]{0,120}》")
# An event never runs past a line, a sentence or the first article.
_STOP = re.compile(r"[\n。]|第一章|第一条|目\s*录")
# The history is over where the articles begin: a date in an article (…会议通过的《X》同时废止, the
# repeal of a former regulation in the last article of a short text) is no event of it.
_ARTICLES = re.compile(r"第一[章条]")


@dataclass(frozen=True)
class AmendmentEvent:
    when: date
    action: str  # 通过 修正 修订 批准 公布 施行 颁布 发布
    ordinal: int | None  # 第二次修正 → 2
    decisions: tuple[str, ...]  # titles of the decisions named in the event, as written


@dataclass
class History:
    events: list[AmendmentEvent] = field(default_factory=list)
    start: int = 0
    end: int = 0  # offset after the block: the document proper starts here

    @property
    def amended(self) -> bool:
        """This text is a revised version: something was adopted after the first adoption."""
        adopted = [e for e in self.events if e.action in _ADOPTING]
        return len(adopted) >= 2 or any(e.action in ("修正", "修订") for e in adopted)

    @property
    def version_date(self) -> date | None:
        """When this version was adopted: the last 通过/修正/修订 (批准 and 施行 follow it)."""
        adopted = [e.when for e in self.events if e.action in _ADOPTING]
        return max(adopted) if adopted else None

    def earlier_dates(self) -> set[date]:
        """Dates of events before this version's adoption: an earlier version is dated by one of them."""
        last = self.version_date
        return {e.when for e in self.events if last is None or e.when < last}

    def lists(self, when: date | None) -> bool:
        """The history records an event on that date before this version: a stored text of that date
        is an earlier version of this one."""
        return when is not None and when in self.earlier_dates()

    def decisions(self) -> list[str]:
        return [d for e in self.events for d in e.decisions]

    def decision_keys(self) -> set[str]:
        """Folded titles of every decision named: never a parent of this document."""
        return {fold_title(d) for d in self.decisions()}

    def own_titles(self) -> set[str]:
        """Folded titles this instrument had, read from decisions that amend it alone:
        关于修改〈河南省水法实施办法〉的决定 → 河南省水法实施办法; …条例修正案 → …条例. A batch
        (关于修改〈X〉等六部法律的决定, 关于修改部分地方性法规的决定) names no title of its own."""
        out: set[str] = set()
        for d in self.decisions():
            d = d.strip()
            if _BATCH.search(d):
                continue
            m = _SINGLE_DECISION.match(d)
            if m:
                spans = find_title_spans(m.group("inner"))
                # the instrument itself, quoted first; 〈X〉第三十条、第三十一条 still amends X alone
                if len(spans) == 1 and spans[0].start == 0:
                    out.add(fold_title(spans[0].raw))
                continue
            m = _AMENDMENT_ACT.match(d)
            if m and not find_title_spans(m.group("inner")):
                out.add(fold_title(m.group("inner")))
        return out

    def named_instruments(self) -> set[str]:
        """Every instrument a decision names, the first of a batch included (关于修改〈X〉等六部法律的
        决定 → X): what the history mentions, which the text itself does not cite."""
        out: set[str] = set()
        for d in self.decisions():
            m = _SINGLE_DECISION.match(d.strip())
            if m:
                out |= {fold_title(s.raw) for s in find_title_spans(m.group("inner"))}
            else:
                out.add(fold_title(d))  # the instrument itself, quoted in its own history
        return out


def version_keys(own_key: str | None, history: History) -> set[str]:
    """The keys under which earlier versions of a document are stored: its own title's key and the
    titles its history says it had (河南省实施《水法》办法 was 河南省水法实施办法)."""
    return ({own_key} if own_key else set()) | history.own_titles()


def _to_date(s: str) -> date | None:
    m = _DATE_PARTS.search(s)
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    except ValueError:
        return None


_CN_ORD = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def _ordinal(s: str | None) -> int | None:
    if not s:
        return None
    if len(s) == 1:
        return _CN_ORD.get(s)
    if s[0] == "十":
        return 10 + _CN_ORD.get(s[1], 0)
    return _CN_ORD.get(s[0], 0) * 10 + (_CN_ORD.get(s[-1], 0) if s[-1] != "十" else 0)


def _event(segment: str) -> AmendmentEvent | None:
    """One event from the text between its date and the next date."""
    when = _to_date(segment)
    head = segment[:_MAX_EVENT]
    if when is None:
        return None
    if not _BODY.search(head):
        # 2009年5月1日 施行: a bare date and action line belongs to the block too
        short = _DATE.sub("", head, count=1).strip(" \u3000)）")
        if not (len(short) <= 4 and _ACTION.fullmatch(short)):
            return None
    spans = find_title_spans(head)
    # The action is the last one in the segment: …会议通过的《…决定》第二次修正 is a 修正.
    last = None
    actions = list(_ACTION.finditer(head))
    for m in actions:
        if not any(s.start <= m.start() < s.end for s in spans):
            last = m
    if last is None and actions:
        last = actions[-1]  # 《关于修改…的决定修正》: the action slipped inside the quotes
    if last is None:
        if _ORDER.search(head):  # 国务院令第692号: an order is how the text was promulgated
            return AmendmentEvent(when, "公布", None, tuple(s.raw for s in spans))
        return None
    decisions = tuple(s.raw for s in spans if s.end <= last.end())
    return AmendmentEvent(when, last.group("act"), _ordinal(last.group("ord")), decisions)


def parse_history(text: str) -> History:
    """The amendment history at the head of text (an empty History when there is none)."""
    head = text[: _HEAD + _MAX_EVENT * 12]
    # same length, so offsets into head are offsets into text
    head = _BROKEN_TITLE.sub(lambda m: re.sub(r"\s", " ", m.group()), head)
    articles = _ARTICLES.search(head)
    dates = [m for m in _DATE.finditer(head) if articles is None or m.start() < articles.start()]
    if not dates or dates[0].start() > _HEAD:
        return History()
    events: list[AmendmentEvent] = []
    start: int | None = None
    end = 0
    for i, m in enumerate(dates):
        nxt = dates[i + 1].start() if i + 1 < len(dates) else len(head)
        seg_start = m.start() - 2 if head[max(0, m.start() - 2) : m.start()] == "根据" else m.start()
        segment = _STOP.split(head[m.start() : nxt], maxsplit=1)[0]
        ev = _event(segment)
        if ev is None:
            if events:
                break  # the history is one block: the first date that is no event ends it
            if m.start() > _HEAD:
                break
            continue
        if events and seg_start - end > 40:
            break  # a gap of text between events: what follows is the document itself
        events.append(ev)
        start = seg_start if start is None else start
        act = list(_ACTION.finditer(segment[:_MAX_EVENT]))
        end = m.start() + (act[-1].end() if act else len(segment))
        # a closing bracket right after the last action belongs to the block: （…修订）
        while end < len(head) and head[end] in "）)】 \u3000":
            end += 1
    if not events:
        return History()
    return History(events, start or 0, end)
