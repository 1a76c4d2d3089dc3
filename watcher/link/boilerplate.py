"""Text common to many documents: portal templates, salutations, closing lines.

Such text is not reuse. 此件公开发布, 各市、县（区）人民政府，省各委办厅局, a portal's 打印本页 关闭窗口,
结合本省实际，制定本办法: two notices sharing them share nothing. The filter counts, for every clause
of every document it observes, how many documents contain it, and strips the clauses seen in many
documents before reuse is measured.

Clauses, not shingles: a clause is the text between two marks (line breaks, 。；：，、 and brackets),
reduced to its letters (digits, dates and punctuation dropped, so 2023年5月6日 varies freely). A
document has a few hundred clauses against thousands of shingles, so the counts stay exact enough in
a small table at any scale, and a clause is the unit a template repeats.

Counts live in a count-min sketch (depth x width counters, conservative update): memory is fixed,
observing or stripping one document costs O(its clauses) whatever the number of documents stored.
An estimate is never below the true count; collisions can only raise it. With the default table
(4 x 2^21 uint16, 16 MB), after 100k documents of 300 clauses that never repeat (the worst case), a
clause never seen is estimated at 6 (p99 7, max 8), far below the threshold of 50 documents. `age()`
halves every counter (and the document count): called every `window` documents, it keeps the counts
to recent documents, so a template that a portal dropped stops counting and collisions never pile up.

The caller decides what to observe: one document per repost cluster (its canonical copy), so that a
text reposted by 500 portals is not mistaken for a template.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from typing import NamedTuple

import numpy as np

from watcher.link.fingerprint import unique_sorted
from watcher.text.script import simplified

_MARKS = '\n\r。！？!?；;：:，,、（）()【】[]“”"「」『』<>《》〈〉|｜\t'  # what ends a clause
# Each character of the BMP as a clause sees it: 2 a mark, 1 a letter (what a clause's key is made of:
# CJK ideographs and A-Z, a-z), 0 anything else (digits, dates and punctuation vary freely).
_CLASS = np.zeros(0x10000, dtype=np.uint8)
_CLASS[0x4E00:0xA000] = 1
_CLASS[ord("A") : ord("Z") + 1] = 1
_CLASS[ord("a") : ord("z") + 1] = 1
_CLASS[[ord(c) for c in _MARKS]] = 2
_TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"  # what pinyin a mis-encoding printed carries (see _PINYIN)
_CLASS[[ord(c) for c in _TONE_MARKS]] = 3  # neither a mark nor a letter: found in the same pass
_NO_KEYS = np.zeros(0, dtype=np.uint32)
_MIN_CLAUSE = 4  # shorter clauses (一、 附件 第三条) carry no template and no reuse either
_U16_MAX = np.iinfo(np.uint16).max
# What a page does to a text without changing what it says, undone before it is read: traditional
# script (根據…制定本條例), the pinyin a mis-encoding printed after characters (發(fā), 關(guān)), and the
# closing bracket of a 文号 lost with a font (国函〔2009130号 for 国函〔2009〕130号).
_PINYIN = re.compile(r"(?<=[\u3400-\u9fff])\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)")
_LOST_BRACKET = re.compile(r"〔((?:19|20)\d{2})(\d{1,4}号)")
_TONE = re.compile(f"[{_TONE_MARKS}]")
_PINYIN_CLAUSE = re.compile(f"[a-zü]*[{_TONE_MARKS}][a-zü]*")  # what is left of 發(fā) as a clause


class Clause(NamedTuple):
    start: int
    end: int
    key: int  # crc32 of its letters


class ClauseTable(NamedTuple):
    """The clauses of a text as columns (what the linker uses: no object per clause)."""

    starts: list[int]
    ends: list[int]
    keys: np.ndarray  # uint32: crc32 of each clause's letters
    tone: bool | None = None  # the text holds a tone mark (_TONE); None: not looked for


def plain(text: str) -> str:
    """The text as it is read and compared: simplified script, no pinyin a mis-encoding printed
    after characters, a 文号's lost closing bracket restored (see _PINYIN)."""
    if _TONE.search(text):  # each pass only where it can change something: most texts need none
        text = _PINYIN.sub("", text)
    if "〔" in text:
        text = _LOST_BRACKET.sub(r"〔\1〕\2", text)
    return simplified(text)


@lru_cache(maxsize=256)
def plain_text(text: str) -> str:
    """plain(text) of a whole text, kept for the texts read last: the linker strips the texts it prepares
    together (strip asks), then reads each (purpose.read asks again); a look for traditional script and pinyin is
    ~0.1 ms a bench notice."""
    return plain(text)


def clause_table(text: str) -> ClauseTable:
    """The clauses of text (runs of characters between marks) with at least _MIN_CLAUSE letters: their
    offsets and keys. Every character is classed in one numpy pass, and only the keys are computed one
    clause at a time (a regex substitution and a Clause per clause cost 0.6 ms per bench document)."""
    if not text:
        return ClauseTable([], [], _NO_KEYS, False)
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    cls = _CLASS.take(np.minimum(cps, 0xFFFF))  # nothing past the BMP is a mark or a letter
    inside = np.zeros(len(cps) + 2, dtype=bool)
    inside[1:-1] = cls != 2
    edges = np.flatnonzero(inside[1:] != inside[:-1])  # where each run of non-marks starts, and ends
    letter = cls == 1
    before = np.zeros(len(cps) + 1, dtype=np.intp)  # letters before each offset
    np.cumsum(letter, out=before[1:])
    first, last = before[edges[0::2]], before[edges[1::2]]
    keep = last - first >= _MIN_CLAUSE
    letters = cps[letter].tobytes().decode("utf-32-le")
    spans = zip(first[keep].tolist(), last[keep].tolist(), strict=True)
    keys = np.fromiter((zlib.crc32(letters[a:b].encode("utf-8")) for a, b in spans), dtype=np.uint32)
    # _TONE.search(text) from the classes: ~30 us a bench notice less
    return ClauseTable(edges[0::2][keep].tolist(), edges[1::2][keep].tolist(), keys, bool((cls == 3).any()))


def clauses(text: str) -> list[Clause]:
    """The clauses of text with their offsets; clauses too short to mean anything are left out."""
    t = clause_table(text)
    return [Clause(*c) for c in zip(t.starts, t.ends, t.keys.tolist(), strict=True)]


def clause_keys(cs: list[Clause] | ClauseTable) -> np.ndarray:
    if isinstance(cs, ClauseTable):
        return cs.keys
    return np.fromiter((c.key for c in cs), dtype=np.uint32, count=len(cs))


class CountMinSketch:
    """depth x width saturating uint16 counters; multiply-shift hashing of 32-bit keys."""

    def __init__(self, width_bits: int = 21, depth: int = 4, seed: int = 20240611):
        self.width_bits = width_bits
        self.depth = depth
        self.seed = seed
        self.table = np.zeros((depth, 1 << width_bits), dtype=np.uint16)
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, 1 << 63, size=depth, dtype=np.uint64) | np.uint64(1)  # odd multipliers
        self._b = rng.integers(0, 1 << 63, size=depth, dtype=np.uint64)

    def _cells(self, keys: np.ndarray) -> np.ndarray:
        """[depth, keys]: each key's counter in each row, as an offset into the flattened table (a gather
        from one flat array costs a third of one indexed by (row, column) pairs)."""
        with np.errstate(over="ignore"):
            h = keys.astype(np.uint64) * self._a[:, None]
        h += self._b[:, None]
        h >>= np.uint64(64 - self.width_bits)
        h += (np.arange(self.depth, dtype=np.uint64) << np.uint64(self.width_bits))[:, None]
        return h.view(np.int64)

    def _flat(self) -> np.ndarray:
        flat = self.table.view()
        flat.shape = (-1,)  # raises rather than copy: add writes through it
        return flat

    def estimate(self, keys: np.ndarray) -> np.ndarray:
        if not len(keys):
            return np.zeros(0, dtype=np.uint16)
        return self._flat()[self._cells(keys)].min(axis=0)

    def add(self, keys: np.ndarray) -> None:
        """Count each key once. Conservative update: only the cells at the key's current minimum rise,
        which keeps collisions from inflating the other cells."""
        if not len(keys):
            return
        keys = unique_sorted(np.sort(keys))
        cells = self._cells(keys)
        flat = self._flat()
        est = flat[cells].min(axis=0).astype(np.int64)
        new = np.minimum(est + 1, _U16_MAX).astype(np.uint16)
        for r in range(self.depth):  # one call per row: one call for all rows takes numpy's slow path (~20x)
            np.maximum.at(flat, cells[r], new)

    def halve(self) -> None:
        self.table >>= 1

    def to_bytes(self) -> bytes:
        return self.table.astype("<u2").tobytes()

    def load(self, data: bytes) -> None:
        table = np.frombuffer(data, dtype="<u2").astype(np.uint16)
        if table.size != self.table.size:
            raise ValueError(f"sketch of {table.size} counters, expected {self.table.size}")
        self.table = table.reshape(self.table.shape).copy()


@dataclass
class BoilerplateFilter:
    """Strips the clauses seen in many documents. A clause is boilerplate when at least
    max(min_docs, share x documents observed) documents contain it."""

    min_docs: int = 50
    share: float = 0.005
    window: int = 100_000  # age() after this many documents (0: never)
    sketch: CountMinSketch = field(default_factory=CountMinSketch)
    docs: float = 0.0

    @property
    def threshold(self) -> int:
        return max(self.min_docs, math.ceil(self.share * self.docs))

    def observe(self, text: str) -> None:
        """Count the distinct clauses of one document."""
        self.observe_keys(clause_table(text).keys)

    def observe_keys(self, keys: np.ndarray) -> None:
        """observe, from the clause keys of a document already split (clause_table(text).keys)."""
        self.sketch.add(keys)
        self.docs += 1
        if self.window and self.docs >= self.window:
            self.age()

    def age(self) -> None:
        self.sketch.halve()
        self.docs /= 2

    def common(self, text: str) -> list[Clause]:
        """The clauses of text that are boilerplate: those kept() does not keep."""
        t = clause_table(text)
        cs = zip(t.starts, t.ends, t.keys.tolist(), self.kept(t).tolist(), strict=True)
        return [Clause(a, b, key) for a, b, key, keep in cs if not keep]

    def kept(self, t: ClauseTable) -> np.ndarray:
        """Which of a text's clauses are not boilerplate now (bool per clause): what strip keeps."""
        if not len(t.keys):
            return np.zeros(0, dtype=bool)
        return self.sketch.estimate(t.keys) < self.threshold

    def strip(self, text: str, cs: list[Clause] | ClauseTable | None = None, keep: np.ndarray | None = None) -> str:
        """The clauses of text that are not boilerplate, one per line. Marks and clauses too short to
        count go too, so two texts made only of boilerplate strip to nothing alike; compare stripped
        texts with stripped texts. cs: the clauses of text, when they are at hand; keep: kept(cs), when known.
        What is kept is plain(): a copy in traditional script, or with a mis-encoding's pinyin, is compared as
        the text it copies."""
        t = clause_table(text) if cs is None else cs
        if not isinstance(t, ClauseTable):
            t = ClauseTable([c.start for c in t], [c.end for c in t], clause_keys(t))
        if not len(t.keys):
            return ""
        mask = (self.kept(t) if keep is None else keep).tolist()
        # map and compress iterate in C: a comprehension over a document's ~190 clauses cost ~25 us more
        kept = list(map(text.__getitem__, map(slice, compress(t.starts, mask), compress(t.ends, mask))))
        tone = t.tone if t.tone is not None else _TONE.search(text) is not None
        if tone:  # what is left of 發(fā) goes: only where a tone mark is
            kept = [k for k in kept if not _PINYIN_CLAUSE.fullmatch(k)]
        joined = "\n".join(kept)
        # Clauses are pieces of text holding no mark (no bracket, no line break): when plain() changes nothing
        # in text (it hands back text itself), it has nothing to change in them, and the text's look is shared.
        return joined if plain_text(text) is text else plain(joined)

    def share_of(self, text: str) -> float:
        """Share of text's clause characters that are boilerplate (for evidence and tests)."""
        t = clause_table(text)
        lengths = [b - a for a, b in zip(t.starts, t.ends, strict=True)]
        total = sum(lengths)
        return sum(compress(lengths, (~self.kept(t)).tolist())) / total if total else 0.0
