"""MinHash fingerprints of normalised text, computed with numpy.

A document is the set of its character k-shingles. Each shingle is hashed by a polynomial over its
code points (one vectorised pass over the whole text), and the hashes go through datasketch's
`affine32` permutations, so the result is exactly the MinHash that datasketch would compute with
that hash function — a real `datasketch.MinHash`, usable in `MinHashLSH` — only much faster.

The parameters are part of the data: they are stored with every signature, and signatures made
with different parameters are never compared.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from watcher.errors import ParamsMismatch

HASH_SCHEME = "poly31-utf32"
_BASE = np.uint32(1_000_003)
_SKIP = re.compile(r"[\s\u3000]+")
_SEARCH_RATIO = 16  # an array this many times smaller is binary-searched in the other, not merged with it


@dataclass(frozen=True)
class Params:
    k: int = 5
    num_perm: int = 128
    seed: int = 1
    hash: str = HASH_SCHEME
    scheme: str = "affine32"

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_key(cls, key: str) -> Params:
        return cls(**json.loads(key))

    def check(self, other: Params, what: str = "signature") -> None:
        if self != other:
            raise ParamsMismatch(f"{what} made with {other.key()} cannot be compared with {self.key()}")


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32), b.astype(np.uint32)


@lru_cache(maxsize=8)
def _perm_matrix(num_perm: int, seed: int) -> np.ndarray:
    return np.array(_permutations(num_perm, seed))


def _fmix32(h: np.ndarray) -> np.ndarray:
    # MurmurHash3's finalizer, as datasketch applies it before the affine permutations.
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def shingle_text(text: str) -> str:
    """What is shingled: the normalised text without whitespace (line breaks carry no content)."""
    out = text.replace("\n", "").replace(" ", "")  # all the whitespace normalise() leaves
    return _SKIP.sub("", out) if not out.isprintable() else out


def window_hashes(cps: np.ndarray, k: int) -> np.ndarray:
    """The 32-bit hash of every k-character window of code points `cps` (len(cps) >= k), in order: the one
    definition of a shingle's hash (hash_shingle computes the same for one window)."""
    n = len(cps) - k + 1
    h = cps[:n].copy()
    with np.errstate(over="ignore"):
        for j in range(1, k):
            h *= _BASE
            h += cps[j : j + n]
    return h


def run_starts(x: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts (bool per value): x[run_starts(x)] is
    np.unique(x), without its Python layers (five times faster on a text's shingles)."""
    starts = np.empty(len(x), dtype=bool)
    starts[:1] = True
    np.not_equal(x[1:], x[:-1], out=starts[1:])
    return starts


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array, in order."""
    return x[run_starts(x)]


def shingle_hashes(text: str, k: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the k-shingles of text (whitespace removed first)."""
    s = shingle_text(text)
    if not s:
        return np.zeros(0, dtype=np.uint32)
    cps = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32)
    if len(cps) < k:
        k = len(cps)
    h = window_hashes(cps, k)
    h.sort()
    return unique_sorted(h)


def hash_shingle(shingle: bytes) -> int:
    """The same hash for one shingle given as UTF-32-LE bytes (for datasketch's `hashfunc`)."""
    h = np.uint32(0)
    with np.errstate(over="ignore"):
        for c in np.frombuffer(shingle, dtype=np.uint32):
            h = h * _BASE + c
    return int(h)


def shingles(text: str, k: int = 5) -> list[bytes]:
    """The shingles themselves, as UTF-32-LE bytes (slow path: tests and the benchmark's baseline)."""
    s = shingle_text(text)
    k = min(k, len(s)) or 1
    return list({s[i : i + k].encode("utf-32-le") for i in range(max(0, len(s) - k + 1))})


@dataclass
class Signature:
    params: Params
    hashvalues: np.ndarray  # uint32[num_perm]
    size: int  # number of distinct shingles

    def minhash(self) -> MinHash:
        # Passing the permutations spares datasketch regenerating them from the seed every time.
        return MinHash(
            num_perm=self.params.num_perm,
            seed=self.params.seed,
            hashvalues=self.hashvalues,
            permutations=_perm_matrix(self.params.num_perm, self.params.seed),
            scheme=self.params.scheme,
        )

    def jaccard(self, other: Signature) -> float:
        self.params.check(other.params)
        return float(np.mean(self.hashvalues == other.hashvalues))

    def to_bytes(self) -> bytes:
        return self.hashvalues.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, params: Params, data: bytes, size: int) -> Signature:
        hv = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        if len(hv) != params.num_perm:
            raise ParamsMismatch(f"signature has {len(hv)} values, params say {params.num_perm}")
        return cls(params, hv, size)


def signature_of_hashes(hashes: np.ndarray, params: Params = Params()) -> Signature:
    a, b = _permutations(params.num_perm, params.seed)
    if not len(hashes):
        return Signature(params, np.full(params.num_perm, np.iinfo(np.uint32).max, dtype=np.uint32), 0)
    mixed = _fmix32(hashes.astype(np.uint32))
    buf = np.empty_like(mixed)
    out = np.empty(params.num_perm, dtype=np.uint32)
    # One contiguous pass per permutation beats a (shingles x permutations) matrix: no large temporaries.
    for i in range(params.num_perm):
        np.multiply(mixed, a[i], out=buf)
        buf += b[i]
        out[i] = buf.min()
    return Signature(params, out, int(len(hashes)))


def signatures_bulk(hash_arrays: list[np.ndarray], params: Params = Params()) -> list[Signature]:
    """Signatures of many documents at once: one pass per permutation over all their shingles, the
    minimum per document taken with `minimum.reduceat`. Three times faster than one by one."""
    a, b = _permutations(params.num_perm, params.seed)
    empty = np.iinfo(np.uint32).max
    keep = [i for i, h in enumerate(hash_arrays) if len(h)]
    out = np.full((params.num_perm, len(hash_arrays)), empty, dtype=np.uint32)
    if keep:
        allh = _fmix32(np.concatenate([hash_arrays[i] for i in keep]).astype(np.uint32))
        offsets = np.cumsum([0] + [len(hash_arrays[i]) for i in keep[:-1]])
        buf = np.empty_like(allh)
        rows = out if len(keep) == len(hash_arrays) else np.empty((params.num_perm, len(keep)), dtype=np.uint32)
        for p in range(params.num_perm):
            np.multiply(allh, a[p], out=buf)
            buf += b[p]
            np.minimum.reduceat(buf, offsets, out=rows[p])  # no list of columns converted per permutation
        if rows is not out:
            out[:, keep] = rows
    return [Signature(params, out[:, i].copy(), int(len(h))) for i, h in enumerate(hash_arrays)]


def signature(text: str, params: Params = Params()) -> Signature:
    return signature_of_hashes(shingle_hashes(text, params.k), params)


def intersection_size(a: np.ndarray, b: np.ndarray) -> int:
    """|a ∩ b| for sorted unique arrays. Of two arrays of like sizes, by merging them: a stable sort of two
    sorted runs is timsort's one merge, linear, and each shared value lies twice in a row (1,800 shingles
    against 1,800: ~3x faster than binary searches). A much smaller one is searched in the larger."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return 0
    if len(a) * _SEARCH_RATIO < len(b):
        idx = np.searchsorted(b, a)
        idx[idx == len(b)] = 0
        return int(np.count_nonzero(b[idx] == a))
    merged = np.concatenate((a, b))
    merged.sort(kind="stable")  # in place: np.sort's copy and wrapper cost ~8 % of a pair of 1,800
    return int(np.count_nonzero(merged[1:] == merged[:-1]))


def intersection_sizes(a: np.ndarray, others: list[np.ndarray]) -> list[int]:
    """|a ∩ b| for each b in others (sorted unique arrays)."""
    return [intersection_size(a, b) for b in others]


def scores_of(inter: int, n_a: int, n_b: int) -> tuple[float, float, float]:
    """Jaccard and containments from |A ∩ B|, |A| and |B| (exact_scores without the intersection)."""
    if not n_a or not n_b:
        return 0.0, 0.0, 0.0
    return inter / (n_a + n_b - inter), inter / n_a, inter / n_b


def exact_scores(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Exact Jaccard and containments (|A∩B|/|A|, |A∩B|/|B|) from two sorted unique hash arrays."""
    if not len(a) or not len(b):
        return 0.0, 0.0, 0.0
    inter = intersection_size(a, b)
    return inter / (len(a) + len(b) - inter), inter / len(a), inter / len(b)
