"""Search text: the fold that makes 綠色 and 绿色 one word, the tokens the search index stores, a query
parsed into terms, and the snippet that shows where the terms matched.

Chinese has no spaces, and FTS5's trigram tokenizer cannot match a two-character word (绿色, 金融)
through MATCH. The index therefore stores overlapping pairs: a run of Han characters c1…cn becomes the
bigrams c1c2 … c(n-1)cn and cn alone, one token per character, so a word of any length is a phrase of
bigrams and a one-character word a prefix. Letters and digits are words. Every 文号 is also one token
of its own, spelt as docno.py normalises it: 苏政发[2020]28号 and 苏政发（2020）28号 find 苏政发〔2020〕28号.

`fold` maps one character to one character (traditional to simplified, full width to half width,
upper to lower case), so a position in the folded text is the same position in the original: the
index keeps the folded text, the reader sees the original with the matches marked.

Changing `fold` or `tokens` changes what the index holds: it needs a migration that rebuilds it.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from typing import Any

from watcher.text.docno import find_docnos, normalise_docno
from watcher.text.script import table as script_table

# Han (with 〇) and kana: scripts written without spaces, indexed as character pairs.
_HAN = "\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUNS = re.compile(f"([{_HAN}]+)|([^\\W_{_HAN}]+)")
_CHUNK = re.compile(r"[^\W_]+")
_GAP = r"[\W_]*"  # between the chunks of a term: 苏政发[2020]28号 highlights 苏政发〔2020〕28号
_DOCNO_MARK = "文号"  # a 文号 token mixes Han and digits, which no word token does: it cannot collide
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SHORT = 64  # characters: below this numpy's cost per call is more than the loop's
_SPACE = ord(" ")


@functools.cache
def _fold_table() -> dict[int, str]:
    table = {c: chr(c - 0xFEE0).lower() for c in range(0xFF01, 0xFF5F)}  # full-width ASCII
    table[0x3000] = " "
    for c in range(0x41, 0x2000):  # Latin, Greek, Cyrillic: lower case where it stays one character
        low = chr(c).lower()
        if low != chr(c) and len(low) == 1:
            table[c] = low
    table.update(script_table())
    return table


@functools.cache
def _fold_finder() -> tuple[re.Pattern[str], dict[str, str]]:
    """The characters `fold` changes in the Basic Multilingual Plane as one class (a bitmap, which re scans fast;
    an astral member would rule it out), and what each becomes."""
    table = _fold_table()
    bmp = [chr(c) for c in sorted(table) if c < 0x10000]
    return re.compile("([" + "".join(map(re.escape, bmp)) + "])"), {c: table[ord(c)] for c in bmp}


def fold(text: str) -> str:
    """The text as the index compares it: simplified, half width, lower case; as long as `text`.

    Only the characters that change are looked up: str.translate looks every one up in the table, 4.5 times the
    time (1,000 bench notices: 0.18 s against 0.04 s; most changes are full-width punctuation, ，（）：)."""
    if _ASTRAL.search(text) is not None:
        return text.translate(_fold_table())
    finder, to = _fold_finder()
    parts = finder.split(text)  # the text between the characters to change, and each of them
    if len(parts) == 1:
        return text
    parts[1::2] = map(to.__getitem__, parts[1::2])
    return "".join(parts)


def tokens(folded: str) -> list[str]:
    """The index tokens of folded text: per Han run its bigrams and its last character; words."""
    out: list[str] = []
    extend, append = out.extend, out.append
    for m in _RUNS.finditer(folded):
        run = m.group(1)
        if run:
            extend(map(operator.add, run, run[1:]))  # the pairs, made in C: 15 % less than slicing each
            append(run[-1])
        else:
            append(m.group(2))
    return out


@functools.cache
def _classes() -> Any:
    """Per character of the Basic Multilingual Plane how `_RUNS` reads it: 0 between tokens, 1 a word character,
    2 Han (tabulated for numpy from the regex itself, once: 20 ms)."""
    import numpy as np

    out = np.zeros(0x10000, dtype=np.uint8)
    for c in range(0x10000):
        m = _RUNS.match(chr(c))
        if m is not None:
            out[c] = 2 if m.group(1) else 1
    return out


def warm() -> None:
    """Load now what a long-running process's first storage call would load mid-cycle: numpy and the character
    table of `token_text` (~0.17 s, on the poll's storage thread, holding the interpreter lock while the poll
    fetches: a cold ingest of 1,000 bench notices took 0.1-0.2 s of CPU less in `watcher run` warmed)."""
    _classes()
    "".encode("utf-32-le")  # its codec is a module too


def token_text(folded: str) -> str:
    """`" ".join(tokens(folded))`, what FTS5 is given, made by numpy on a long text: per character its own code,
    then the next one where the two are a Han pair, and a space where a token ends, each kept where it applies.
    1,000 bench notices: 0.44 s in the loop, 0.07 s this way. A short text, or one with a character outside the
    BMP, takes the loop."""
    if len(folded) < _SHORT or _ASTRAL.search(folded) is not None:
        return " ".join(tokens(folded))
    import numpy as np

    code = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    n = len(code)
    kind = _classes()[code]
    same = np.zeros(n, dtype=bool)  # the next character is of the same kind: the run goes on
    np.equal(kind[:-1], kind[1:], out=same[:-1])
    in_token = kind != 0
    pair = same & (kind == 2)
    ends = in_token & ~same  # a run's last character: a token ends after it
    last = n - 1 - int(np.argmax(in_token[::-1]))
    if not in_token[last]:
        return ""
    ends[last] = False  # no space after the text's last token
    out = np.empty((n, 3), dtype=np.uint32)
    out[:, 0] = code
    out[:-1, 1] = np.where(pair[:-1], code[1:], _SPACE)
    out[-1, 1] = _SPACE
    out[:, 2] = _SPACE
    keep = np.empty((n, 3), dtype=bool)
    keep[:, 0] = in_token
    keep[:, 1] = pair | ends
    keep[:, 2] = pair
    return out[keep].tobytes().decode("utf-32-le", "surrogatepass")


def canon(folded: str) -> str:
    """Folded text as runs of Han and words, each run between single spaces: what a phrase is looked for
    in with LIKE (PostgreSQL), where words stay whole and Han runs are searched inside."""
    return " " + " ".join(m.group() for m in _RUNS.finditer(folded)) + " "


def docno_token(docno: str) -> str:
    """The token of a normalised 文号: 苏政发〔2020〕28号 → 文号苏政发202028号 (the year has four digits)."""
    return _DOCNO_MARK + "".join(_CHUNK.findall(fold(docno)))


def docno_tokens(folded: str) -> list[str]:
    """A token for every 文号 in folded text."""
    return [docno_token(str(d)) for d in find_docnos(folded)]


@dataclass(frozen=True)
class Term:
    """One word of a query. `tokens` is a phrase; with `prefix`, its last token matches as a prefix."""

    text: str  # folded, a 文号 normalised: what is highlighted
    tokens: tuple[str, ...]
    prefix: bool = False
    docno: str | None = None  # the 文号 the term names, normalised

    def like(self) -> str | None:
        """A LIKE pattern over `canon` text for a term of several tokens (a phrase), else None: a word at
        either end must be whole there, a Han run may be part of a longer one."""
        if len(self.tokens) < 2 or self.docno:
            return None
        runs = list(_RUNS.finditer(self.text))
        head = "% " if runs[0].group(2) else "%"
        tail = " %" if runs[-1].group(2) else "%"
        return head + " ".join(m.group() for m in runs) + tail

    @property
    def pattern(self) -> re.Pattern[str]:
        """Where the term is in folded text, whatever separates its chunks there."""
        return re.compile(_GAP.join(map(re.escape, _CHUNK.findall(self.text))))


def _term(raw: str) -> Term | None:
    folded = fold(raw)
    docno = normalise_docno(folded)
    if docno and len(docno) >= len(folded.strip()) - 2:  # the term is a 文号, perhaps with 第 or a space
        return Term(fold(docno), (docno_token(docno),), docno=docno)
    runs = list(_RUNS.finditer(folded))
    out: list[str] = []
    prefix = False
    for i, m in enumerate(runs):
        run, last = m.group(1), i == len(runs) - 1
        if not run:
            out.append(m.group(2))
            continue
        out.extend(run[j : j + 2] for j in range(len(run) - 1))
        if not last:  # a run the query ends before a word: the text's run ends there too
            out.append(run[-1])
        elif len(run) == 1:  # one character at the end: the first half of a pair, or alone
            out.append(run)
            prefix = True
    return Term(folded.strip(), tuple(out), prefix) if out else None


@dataclass(frozen=True)
class Query:
    """Terms separated by spaces, all of which must match."""

    raw: str
    terms: tuple[Term, ...]

    @property
    def docno(self) -> str | None:
        """The first 文号 the query names: the notice with that 文号 ranks first."""
        return next((t.docno for t in self.terms if t.docno), None)

    def likes(self) -> list[str]:
        return [p for p in (t.like() for t in self.terms) if p]

    def fts5(self) -> str:
        """An FTS5 MATCH expression: each term a phrase (tokens are letters and digits, quoting is safe)."""
        return " AND ".join(f'"{" ".join(t.tokens)}"' + (" *" if t.prefix else "") for t in self.terms)

    def tsquery(self) -> str:
        """A PostgreSQL tsquery literal: every token of every term. Not a phrase (<->): positions stop at
        16383 in a tsvector, and a phrase would miss what a long text says late; `like` checks phrases."""
        parts = []
        for t in self.terms:
            for i, tok in enumerate(t.tokens):
                parts.append(f"'{tok}'" + (":*" if t.prefix and i == len(t.tokens) - 1 else ""))
        return " & ".join(parts)


def parse_query(text: str) -> Query:
    terms = tuple(t for t in map(_term, text.split()) if t is not None)
    return Query(text, terms)


Span = tuple[int, int]


@dataclass(frozen=True)
class Snippet:
    """An excerpt of the original text and the spans in it where a term matched."""

    text: str
    marks: tuple[Span, ...]

    def parts(self) -> list[tuple[str, bool]]:
        """The text cut at the marks: (piece, marked)."""
        out, at = [], 0
        for start, end in self.marks:
            if start > at:
                out.append((self.text[at:start], False))
            out.append((self.text[start:end], True))
            at = end
        if at < len(self.text):
            out.append((self.text[at:], False))
        return out


def _matches(text: str, query: Query) -> list[tuple[int, int, int]]:
    """(start, end, term index) of every match in text, in order."""
    folded = fold(text)
    found = [(m.start(), m.end(), i) for i, t in enumerate(query.terms) for m in t.pattern.finditer(folded)]
    return sorted(found)[:200]  # enough to place a window; a common term can match thousands of times


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def marks(text: str, query: Query) -> tuple[Span, ...]:
    """Every span of text a term matches."""
    return _merge([(s, e) for s, e, _ in _matches(text, query)])


def snippet(text: str, query: Query, width: int = 80) -> Snippet | None:
    """About `width` characters around the matches, the window that holds the most terms; None when
    no term is in the text. Line breaks become spaces, cut ends become …."""
    found = _matches(text, query)
    if not found:
        return None
    lead = width // 4

    def terms_near(anchor: int) -> int:
        return len({i for s, e, i in found if anchor <= s and e <= anchor + width - lead})

    best = max(range(len(found)), key=lambda k: (terms_near(found[k][0]), -k))
    start = max(0, min(found[best][0] - lead, len(text) - width))
    end = min(len(text), start + width)
    before, after = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
    shift = len(before) - start
    spans = [(max(s, start) + shift, min(e, end) + shift) for s, e, _ in found if s < end and e > start]
    body = re.sub(r"\s", " ", text[start:end])  # one character for one: the spans stay where they are
    return Snippet(before + body + after, _merge(spans))
