"""Compact in-memory storage for datasketch's MinHashLSH.

datasketch's dict storage keeps a Python set per bucket and a list of band hashes per key: about
22 kB per document at 64 bands, so a million notices would need 22 GB. Here each band is a sorted
numpy array of 64-bit bucket keys beside an array of int32 slots (12 bytes per band per document),
plus a short append buffer for inserts since the last merge. MinHashLSH itself is unchanged: it
hashes bands, calls `insert`/`get` on these tables and does the query.

A bucket key is the band's bytes (what MinHashLSH hands the storage) read as a big-endian integer,
modulo the Mersenne prime 2^61-1. Two buckets sharing a key only add a candidate, and every
candidate is verified against the stored text anyway.

Removal tombstones the key's slot (band hashes are not kept per key); a re-inserted key gets a new
slot, and merges drop dead entries.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

M61 = (1 << 61) - 1
MERGE_AT = 4096  # buffered entries per band before they are merged into the sorted arrays


def bucket_key(band: bytes) -> int:
    return int.from_bytes(band, "big") % M61


def _times_pow2(x: np.ndarray, s: int) -> np.ndarray:
    """x * 2^s mod 2^61-1 for x < 2^61: a rotation within 61 bits, so nothing overflows."""
    s %= 61
    if s == 0:
        return x
    m = np.uint64(M61)
    return ((x << np.uint64(s)) & m) | (x >> np.uint64(61 - s))


def query_bucket_keys(hashvalues: np.ndarray, rows: int, bands: int) -> list[int]:
    """bucket_key of every band of one signature: Python integers over its big-endian bytes, which
    for one signature is several times faster than the vectorised bucket_keys."""
    hv = np.asarray(hashvalues)
    if hv.dtype.itemsize == 4 and rows == 2 and len(hv) >= 2 * bands:
        # A band of two 32-bit words is one 64-bit number, high word first: ~5 us in numpy, ~40 us in Python.
        pairs = hv[: 2 * bands].astype(np.uint64).reshape(bands, 2)
        return ((pairs[:, 0] << np.uint64(32) | pairs[:, 1]) % np.uint64(M61)).tolist()
    width = hv.dtype.itemsize * rows
    raw = hv.byteswap().tobytes() if hv.dtype.byteorder in ("=", "<") else hv.tobytes()
    return [int.from_bytes(raw[b * width : (b + 1) * width], "big") % M61 for b in range(bands)]


def bucket_keys(hashvalues: np.ndarray, rows: int, bands: int) -> np.ndarray:
    """bucket_key of every band of every signature, vectorised: [n, bands] uint64.

    A band of r words of w bits, read big-endian, is a number in base 2^w; Horner's rule modulo
    2^61-1 with the multiplications done as rotations."""
    hv = np.asarray(hashvalues)
    bits = hv.dtype.itemsize * 8
    hv = hv.reshape(len(hv), -1).astype(np.uint64)
    m = np.uint64(M61)
    out = np.zeros((hv.shape[0], bands), dtype=np.uint64)
    for b in range(bands):
        acc = np.zeros(hv.shape[0], dtype=np.uint64)
        for r in range(rows):
            acc = (_times_pow2(acc, bits) + hv[:, b * rows + r] % m) % m
        out[:, b] = acc
    return out


class CompactTables:
    """State shared by the band tables and the key table of one index."""

    def __init__(self, bands: int):
        self.slot_of: dict = {}  # key -> live slot
        self.key_of: list = []  # slot -> key
        self.dead = np.zeros(0, dtype=bool)  # slot -> removed
        self.bands = [BandTable(self) for _ in range(bands)]
        self.keys = KeyTable(self, bands)

    def new_slot(self, key) -> int:
        if key in self.slot_of:
            raise ValueError(f"key {key!r} is already indexed")
        slot = len(self.key_of)
        self.key_of.append(key)
        self.slot_of[key] = slot
        if slot >= len(self.dead):
            self.dead = np.concatenate([self.dead, np.zeros(max(1024, len(self.dead)), dtype=bool)])
        return slot

    def kill(self, key) -> None:
        slot = self.slot_of.pop(key, None)
        if slot is not None:
            self.dead[slot] = True

    def add(self, key, bucket_keys: list[int]) -> None:
        """Add one key: bucket_keys[b] is its bucket key in band b (query_bucket_keys)."""
        slot = self.new_slot(key)
        for k, table in zip(bucket_keys, self.bands, strict=True):
            table.buffer(k, slot)

    def gather(self, keys: list[int], cap: int, bands: list[BandTable] | None = None) -> np.ndarray:
        """The slots in bucket keys[b] of each band b, at most `cap` a band, the earliest inserted first
        (dead ones included: the caller drops them), all bands in one array. One loop over the bands and
        one array in the end: a method call and an array per band cost ~8 us, 64 per query."""
        merged: list[np.ndarray] = []
        buffered: list[int] = []
        bounds: np.ndarray | None = None
        for b, (k, t) in enumerate(zip(keys, self.bands if bands is None else bands, strict=True)):
            n = 0
            h = t.h
            if len(h):
                if bounds is None:
                    # A bucket's bounds in one search: [k, k + 1) (a bucket key is below 2^61), made for every
                    # band at once as uint64 (a Python int would make numpy promote (copy) the whole array).
                    # Two searches and a comparison of numpy scalars a band cost ~35 % more.
                    bounds = np.array(keys, dtype=np.uint64)
                    bounds = np.stack((bounds, bounds + np.uint64(1)), axis=1)
                lo, hi = h.searchsorted(bounds[b]).tolist()
                if hi > lo:
                    merged.append(t.s[lo : min(hi, lo + cap)])
                    n = len(merged[-1])
            more = t.buf_map.get(k)
            if more and n < cap:
                buffered += more[: cap - n]
        if not merged:
            return np.array(buffered, dtype=np.int32)
        return np.concatenate([*merged, np.array(buffered, dtype=np.int32)])

    def bulk(self, keys: list, bucket_matrix: np.ndarray) -> None:
        """Add many keys at once: bucket_matrix[i, b] is key i's bucket key in band b."""
        slots = np.array([self.new_slot(k) for k in keys], dtype=np.int32)
        for b, table in enumerate(self.bands):
            table.add_many(bucket_matrix[:, b], slots)


class BandTable:
    """One band: bucket key -> slots. Implements the part of datasketch's UnorderedStorage that
    MinHashLSH uses."""

    def __init__(self, shared: CompactTables):
        self.shared = shared
        self.h = np.zeros(0, dtype=np.uint64)
        self.s = np.zeros(0, dtype=np.int32)
        self.buf_h = array("Q")
        self.buf_s = array("i")
        self.buf_map: dict[int, list[int]] = {}  # the buffer by bucket key: a query reads it in O(1)
        self.buffer_size = MERGE_AT

    # -- writes --
    def insert(self, band: bytes, key, buffer: bool = False) -> None:
        self.buffer(bucket_key(band), self.shared.slot_of[key], merge=not buffer)

    def buffer(self, k: int, slot: int, merge: bool = True) -> None:
        self.buf_h.append(k)
        self.buf_s.append(slot)
        self.buf_map.setdefault(k, []).append(slot)
        # In an insertion session the buffer is merged once, when the session closes.
        if merge and len(self.buf_h) >= MERGE_AT:
            self.merge()

    def add_many(self, hs: np.ndarray, slots: np.ndarray) -> None:
        self.merge(np.asarray(hs, dtype=np.uint64), np.asarray(slots, dtype=np.int32))

    def merge(self, extra_h: np.ndarray | None = None, extra_s: np.ndarray | None = None) -> None:
        parts_h = [self.h, np.frombuffer(self.buf_h, dtype=np.uint64)]
        parts_s = [self.s, np.frombuffer(self.buf_s, dtype=np.int32)]
        if extra_h is not None and extra_s is not None:
            parts_h.append(extra_h)
            parts_s.append(extra_s)
        h, s = np.concatenate(parts_h), np.concatenate(parts_s)
        live = ~self.shared.dead[s]
        h, s = h[live], s[live]
        order = np.argsort(h, kind="stable")  # timsort: a sorted run plus a short tail merges in ~linear time
        self.h, self.s = h[order], s[order]
        self.buf_h, self.buf_s, self.buf_map = array("Q"), array("i"), {}

    def empty_buffer(self) -> None:
        if len(self.buf_h):
            self.merge()

    def remove_val(self, band: bytes, key, buffer: bool = False) -> None:
        self.shared.kill(key)

    def remove(self, *bands, buffer: bool = False) -> None:
        pass  # empty buckets cost nothing here

    # -- reads --
    def get(self, band: bytes) -> list:
        if not band:
            return []
        k = np.uint64(bucket_key(band))  # a Python int would make numpy promote (copy) the whole array
        h = self.h
        # Most lookups miss: one search and a comparison; the bucket's end only on a hit.
        lo = h.searchsorted(k)
        dead, key_of = self.shared.dead, self.shared.key_of
        out = []
        if lo < len(h) and h[lo] == k:
            out = [key_of[x] for x in self.s[lo : h.searchsorted(k, "right")].tolist() if not dead[x]]
        out += [key_of[x] for x in self.buf_map.get(int(k), ()) if not dead[x]]
        return out

    def size(self) -> int:
        return len(self.shared.slot_of)

    def itemcounts(self) -> dict:
        self.empty_buffer()
        keys, counts = np.unique(self.h[~self.shared.dead[self.s]], return_counts=True)
        return dict(zip(keys.tolist(), counts.tolist(), strict=True))


class KeyTable:
    """Which keys are indexed. Implements the part of datasketch's OrderedStorage that MinHashLSH uses;
    the band hashes are not kept, so `[key]` gives empty placeholders and removal tombstones the slot."""

    def __init__(self, shared: CompactTables, bands: int):
        self.shared = shared
        self.nbands = bands
        self.buffer_size = MERGE_AT

    def insert(self, key, *bands, buffer: bool = False) -> None:
        self.shared.new_slot(key)

    def __contains__(self, key) -> bool:
        return key in self.shared.slot_of

    def has_key(self, key) -> bool:
        return key in self.shared.slot_of

    def __getitem__(self, key) -> list[bytes]:
        if key not in self.shared.slot_of:
            raise KeyError(key)
        return [b""] * self.nbands

    get = __getitem__

    def remove(self, *keys, buffer: bool = False) -> None:
        for k in keys:
            self.shared.kill(k)

    def empty_buffer(self) -> None:
        pass

    def keys(self) -> Iterable:
        return self.shared.slot_of.keys()

    def __iter__(self):
        return iter(self.shared.slot_of)

    def __len__(self) -> int:
        return len(self.shared.slot_of)

    def size(self) -> int:
        return len(self.shared.slot_of)


def attach(lsh) -> CompactTables:
    """Give a MinHashLSH (built with dict storage, still empty) the compact tables."""
    tables = CompactTables(lsh.b)
    lsh.hashtables = tables.bands
    lsh.keys = tables.keys
    return tables
