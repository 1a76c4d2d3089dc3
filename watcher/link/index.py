"""The LSH index over the latest signature of each notice: which stored notices may resemble a new one."""

from __future__ import annotations

import pickle
from collections import Counter
from typing import cast

import numpy as np
from datasketch import MinHashLSH

from watcher.link.classify import Thresholds
from watcher.link.fingerprint import Params, ParamsMismatch, Signature, run_starts
from watcher.link.lshstore import attach, bucket_keys, query_bucket_keys

BUCKET_CAP = 256  # entries read per bucket by a ranked query: its cost stays flat as buckets grow


class Index:
    """datasketch MinHashLSH over the latest signature of each notice. Storage `memory` (compact numpy
    tables, watcher/link/lshstore.py), `redis` (datasketch's), or `dict` (datasketch's own in-memory
    storage: the benchmark's baseline)."""

    def __init__(
        self,
        params: Params,
        th: Thresholds,
        storage: str = "memory",
        redis_url: str | None = None,
        basename: str = "watcher",
    ):
        self.params = params
        config = None
        if storage == "redis":
            from urllib.parse import urlsplit

            u = urlsplit(redis_url or "redis://127.0.0.1:6379/0")
            config = {
                "type": "redis",
                "basename": f"{basename}:{params.num_perm}:{params.seed}".encode(),
                "redis": {
                    "host": u.hostname or "127.0.0.1",
                    "port": u.port or 6379,
                    "db": int((u.path or "/0").strip("/") or 0),
                },
            }
            self._check_redis_params(config, params)
        elif storage not in ("memory", "dict"):
            raise ValueError(f"unknown index storage {storage!r} (memory or redis)")
        self.lsh = MinHashLSH(num_perm=params.num_perm, params=(th.lsh_bands, th.lsh_rows), storage_config=config)
        self.compact = attach(self.lsh) if storage == "memory" else None
        self._last: tuple[Signature, list[int]] | None = None  # the signature queried last and its bucket keys

    @staticmethod
    def _check_redis_params(config: dict, params: Params) -> None:
        import redis  # the optional `redis` extra, imported only for a Redis index

        r = redis.Redis(**config["redis"])
        key = config["basename"] + b":params"
        stored = cast("bytes | None", r.get(key))  # bytes: the client does not decode responses
        if stored is None:
            r.set(key, params.key())
        elif stored.decode() != params.key():
            raise ParamsMismatch(
                f"redis index {config['basename'].decode()} holds signatures made with "
                f"{stored.decode()}, not {params.key()}"
            )

    def load(self, items: list[tuple[str, Signature]]) -> None:
        if self.compact is not None:
            # The session's work, vectorised: every band key of every signature in one numpy pass.
            fresh = [(k, s) for k, s in items if k not in self.compact.slot_of]
            for _, sig in fresh:
                self.params.check(sig.params, "signature")
            if fresh:
                matrix = np.stack([s.hashvalues for _, s in fresh])  # the dtype MinHashLSH hashes
                self.compact.bulk([k for k, _ in fresh], bucket_keys(matrix, self.lsh.r, self.lsh.b))
            return
        with self.lsh.insertion_session(buffer_size=50_000) as session:
            for key, sig in items:
                self.params.check(sig.params, "signature")
                if not self.lsh.keys.has_key(key):
                    session.insert(key, sig.minhash(), check_duplication=False)

    def put(self, key: str, sig: Signature) -> None:
        self.params.check(sig.params, "signature")
        if self.lsh.keys.has_key(key):
            self.lsh.remove(key)
        if self.compact is not None:  # MinHashLSH.insert's work, without a MinHash and its band bytes
            self.compact.add(key, self._bucket_keys(sig))
            return
        self.lsh.insert(key, sig.minhash(), check_duplication=False)

    def remove(self, key: str) -> None:
        if self.lsh.keys.has_key(key):
            self.lsh.remove(key)

    def query(self, sig: Signature) -> list[str]:
        self.params.check(sig.params, "signature")
        return list(self.lsh.query(sig.minhash()))

    def ranked(self, sig: Signature, limit: int) -> list[tuple[str, int]]:
        """The `limit` neighbours sharing the most bands with sig (each with that number, most first;
        ties: the earlier indexed first). The number of shared bands grows with the Jaccard
        similarity (P(band) = J^rows), so it ranks candidates before any text is read; keeping the
        first `limit` bounds the exact verification however many documents share a bucket."""
        self.params.check(sig.params, "signature")
        if self.compact is not None:
            return self._ranked_compact(sig, limit)
        counts: Counter[str] = Counter()
        hv = sig.minhash().hashvalues
        for (start, end), table in zip(self.lsh.hashranges, self.lsh.hashtables, strict=True):
            found = table.get(self.lsh._H(hv[start:end]))
            # datasketch pickles the keys it stores in Redis (they are ours: notice ids as strings)
            counts.update([pickle.loads(k) for k in found] if self.lsh.prepickle else found)
        return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]

    def _bucket_keys(self, sig: Signature) -> list[int]:
        """query_bucket_keys of sig; the linker puts the signature it has just queried (the same object)."""
        if self._last is None or self._last[0] is not sig:
            self._last = (sig, query_bucket_keys(sig.hashvalues, self.lsh.r, self.lsh.b))
        return self._last[1]

    def _ranked_compact(self, sig: Signature, limit: int) -> list[tuple[str, int]]:
        """The same over the numpy tables, reading at most BUCKET_CAP entries of any bucket."""
        assert self.compact is not None
        keys = self._bucket_keys(sig)
        slots = self.compact.gather(keys, BUCKET_CAP)
        slots = slots[~self.compact.dead[slots]]
        if not len(slots):
            return []
        # np.unique(slots, return_counts=True), without its Python layers (~30 us a query): sort, cut at changes
        slots.sort()
        first = np.flatnonzero(run_starts(slots))
        uniq, counts = slots[first], np.concatenate((first[1:], [len(slots)])) - first
        order = np.lexsort((uniq, -counts))[:limit]  # most bands first, then the earliest indexed
        key_of = self.compact.key_of
        return [(key_of[u], c) for u, c in zip(uniq[order].tolist(), counts[order].tolist(), strict=True)]
