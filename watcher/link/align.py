"""Clause alignment: split two texts into articles and pair them up.

Articles are the numbered items of the document — 第X条, （一）…（三十三）, 一、… or 1. — whichever
numbering divides it into the most pieces; plain paragraphs otherwise. Pairs are found by text
similarity, not by number, because an implementing document renumbers the items it keeps.

Linking aligns the same parent with many children (a law and its implementing measures): a text's
articles and their shingles are kept for the texts aligned last (`articles_of`). Character diffs of
modified articles use cydifflib, difflib's algorithm compiled (the same opcodes, ~8x faster).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from cydifflib import SequenceMatcher

from watcher.link.fingerprint import intersection_size, shingle_hashes
from watcher.text.normalise import paragraphs

_MARKERS = {
    "article": re.compile(r"^第[一二三四五六七八九十百零〇\d]+条"),
    "paren": re.compile(r"^[(（][一二三四五六七八九十百]+[)）]"),
    "section": re.compile(r"^[一二三四五六七八九十百]+、"),
    "number": re.compile(r"^\d{1,3}[.、．]"),
}
VERBATIM = 0.97
MODIFIED = 0.3


@dataclass
class Article:
    label: str
    text: str


@dataclass
class Pair:
    status: str  # reused | modified | added | removed
    child: str | None  # labels
    parent: str | None
    similarity: float = 0.0
    diff: list = field(default_factory=list)  # [(op, parent_text, child_text)] for modified pairs

    def as_dict(self) -> dict:
        # dataclasses.asdict deep-copies every diff tuple: a third of aligning a law
        return {
            "status": self.status,
            "child": self.child,
            "parent": self.parent,
            "similarity": self.similarity,
            "diff": list(self.diff),  # of tuples, which are immutable: no copy
        }


def split_articles(text: str) -> list[Article]:
    paras = paragraphs(text)
    numbering, best_count = None, 2  # the article numbering style most paragraphs start with
    for style, rx in _MARKERS.items():
        count = sum(1 for p in paras if rx.match(p))
        if count > best_count:
            numbering, best_count = style, count
    if numbering is None:
        return [Article(f"¶{i + 1}", p) for i, p in enumerate(paras) if len(p) >= 10]
    rx = _MARKERS[numbering]
    out: list[Article] = []
    for p in paras:
        m = rx.match(p)
        if m:
            out.append(Article(m.group(0).rstrip("、.．"), p))
        elif out:
            out[-1].text += "\n" + p  # continuation of the current article
    return out


@dataclass(frozen=True)
class Articles:
    """A text's articles with their character 3-shingles, as align compares them."""

    items: tuple[Article, ...]
    hashes: tuple[np.ndarray, ...]


@lru_cache(maxsize=256)
def articles_of(text: str) -> Articles:
    """split_articles with the shingles of each article, for the texts aligned last (treat as read-only)."""
    items = tuple(split_articles(text))
    return Articles(items, tuple(shingle_hashes(a.text, 3) for a in items))


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) or not len(b):
        return 0.0
    return intersection_size(a, b) / max(len(a), len(b))


def similarities(ch: list[np.ndarray], ph: list[np.ndarray]) -> np.ndarray:
    """_similarity of every child article with every parent article, [child, parent], in one pass over
    the shingles (a law has a hundred articles: ten thousand pairs compared one by one cost ~100 ms)."""
    out = np.zeros((len(ch), len(ph)))
    len_c = np.array([len(h) for h in ch], dtype=np.int64)
    len_p = np.array([len(h) for h in ph], dtype=np.int64)
    if not len(ch) or not len(ph) or not len_c.sum() or not len_p.sum():
        return out
    c_all, c_id = np.concatenate(ch), np.repeat(np.arange(len(ch)), len_c)
    p_all, p_id = np.concatenate(ph), np.repeat(np.arange(len(ph)), len_p)
    order = np.argsort(p_all, kind="stable")
    p_all, p_id = p_all[order], p_id[order]
    lo = np.searchsorted(p_all, c_all, "left")
    n = np.searchsorted(p_all, c_all, "right") - lo  # parent articles holding each child shingle
    # every (child article, parent article) sharing a shingle, once per shingle: |A ∩ B| by counting
    starts = np.repeat(lo - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    inter = np.bincount(np.repeat(c_id, n) * len(ph) + p_id[starts], minlength=len(ch) * len(ph))
    denom = np.maximum.outer(len_c, len_p)
    ok = (len_c[:, None] > 0) & (len_p[None, :] > 0)
    out[ok] = inter.reshape(len(ch), len(ph))[ok] / denom[ok]
    return out


def char_diff(old: str, new: str) -> list[tuple[str, str, str]]:
    sm = SequenceMatcher(a=old, b=new, autojunk=False)
    return [(tag, old[i1:i2], new[j1:j2]) for tag, i1, i2, j1, j2 in sm.get_opcodes()]


def _greedy_order(sims: np.ndarray) -> list[tuple[int, int]]:
    """The (child, parent) pairs at least MODIFIED alike, most alike first; ties as sorting the tuples
    (similarity, child, parent) in reverse would order them. Only those pairs are sorted: a law of a
    hundred articles has ten thousand pairs and about a hundred alike."""
    ii, jj = np.nonzero(sims >= MODIFIED)
    order = np.lexsort((-jj, -ii, -sims[ii, jj]))
    return list(zip(ii[order].tolist(), jj[order].tolist(), strict=True))


def align(parent_text: str, child_text: str) -> dict:
    """Pair the child's articles with the parent's; returns a JSON-able summary with the pairs."""
    parent, child = articles_of(parent_text), articles_of(child_text)
    pa, ca = parent.items, child.items
    sims = similarities(list(child.hashes), list(parent.hashes))
    pairs: list[Pair] = []
    used: set[int] = set()
    match: dict[int, tuple[int, float]] = {}
    for i, j in _greedy_order(sims):  # each parent article is used once
        if i in match or j in used:
            continue
        match[i] = (j, float(sims[i, j]))
        used.add(j)
    # Same-numbered articles left over on both sides are one article rewritten, not one removed and
    # one added: the numbering is the evidence when the wording has changed too much.
    free_parent = {pa[j].label: j for j in range(len(pa)) if j not in used}
    for i, art in enumerate(ca):
        same_label = free_parent.pop(art.label, None)
        if i not in match and same_label is not None:
            match[i] = (same_label, float(sims[i, same_label]))
            used.add(same_label)
    for i, art in enumerate(ca):
        if i in match:
            j, s = match[i]
            if s >= VERBATIM:
                pairs.append(Pair("reused", art.label, pa[j].label, round(s, 3)))
            else:
                pairs.append(
                    Pair(
                        "modified",
                        art.label,
                        pa[j].label,
                        round(s, 3),
                        [d for d in char_diff(pa[j].text, art.text) if d[0] != "equal"][:50],
                    )
                )
        else:
            pairs.append(Pair("added", art.label, None))
    for j, art in enumerate(pa):
        if j not in used:
            pairs.append(Pair("removed", None, art.label))
    counts = {k: sum(p.status == k for p in pairs) for k in ("reused", "modified", "added", "removed")}
    return {"parent_articles": len(pa), "child_articles": len(ca), **counts, "pairs": [p.as_dict() for p in pairs]}


def summary_line(al: dict) -> str:
    kept = al["reused"] + al["modified"]
    return (
        f"{kept} of {al['parent_articles']} articles reused ({al['reused']} verbatim, "
        f"{al['modified']} modified), {al['added']} added, {al['removed']} removed"
    )
