"""Signature speed: the numpy path against datasketch's MinHash.update_batch with its default sha1
hash, on the same documents in one run. Both start from the normalised text; both build a MinHash of
the document's character 5-shingles with 128 permutations.

    python bench/signatures.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from watcher.demo.portal import seed_documents  # noqa: E402
from watcher.link.fingerprint import hash_shingle, shingle_hashes, shingles, signature, signatures_bulk  # noqa: E402
from watcher.text.normalise import normalise  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def corpus() -> list[str]:
    texts = [normalise(t) for _, t in seed_documents()[1]]
    texts += [normalise(p.read_text(encoding="utf-8")) for p in sorted((FIXTURES / "linking" / "laws").glob("*.md"))]
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = corpus()
    chars = sum(len(t) for t in texts)

    def shingle_bytes(t: str) -> list[bytes]:
        s = t.replace("\n", "").replace(" ", "")
        return [x.encode("utf-8") for x in {s[i : i + 5] for i in range(max(1, len(s) - 4))}]

    def baseline():
        for t in texts:
            MinHash(num_perm=128).update_batch(shingle_bytes(t))

    prepared = [shingle_bytes(t) for t in texts]

    def baseline_hash_only():
        for sh in prepared:
            MinHash(num_perm=128).update_batch(sh)

    def fast_one_by_one():
        for t in texts:
            signature(t).minhash()

    def fast():
        for sig in signatures_bulk([shingle_hashes(t) for t in texts]):
            sig.minhash()

    # Same MinHash as datasketch computes with our hash function: checked, not assumed.
    t0 = texts[0]
    ref = MinHash(num_perm=128, seed=1, hashfunc=hash_shingle)
    ref.update_batch(shingles(t0))
    assert np.array_equal(ref.hashvalues, signature(t0).hashvalues)
    assert np.array_equal(signatures_bulk([shingle_hashes(t0)])[0].hashvalues, ref.hashvalues)

    def best(fn):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    b, bh, f, f1 = best(baseline), best(baseline_hash_only), best(fast), best(fast_one_by_one)
    print(f"{len(texts)} documents, {chars} characters, best of {args.repeat}")
    print(f"datasketch update_batch (sha1): {b * 1000:8.1f} ms  {len(texts) / b:8.0f} docs/s")
    print(f"  update_batch alone (shingles prepared beforehand): {bh * 1000:8.1f} ms")
    print(f"numpy fingerprint, bulk       : {f * 1000:8.1f} ms  {len(texts) / f:8.0f} docs/s")
    print(f"numpy fingerprint, one by one : {f1 * 1000:8.1f} ms  ({b / f1:.1f}x)")
    print(f"speed-up: {b / f:.1f}x from text (target >= 10x); {bh / f:.1f}x against update_batch alone")


if __name__ == "__main__":
    main()
