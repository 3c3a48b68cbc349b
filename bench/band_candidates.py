"""Candidate pairs from LSH band keys: the numba hash-table kernel against the NumPy sort path, same run.

Band keys like the dedup's at 128 permutations (32 bands): `--texts` texts with random 64-bit keys, of which
12% are near-copies of another text that share each of its band keys with probability 0.87 (the banding's
candidate probability at Jaccard 0.5) and 0.3% fall in one boilerplate bucket per band. Times
`dedup.lsh.band_candidates` (numba: one hash-table pass per band) and the NumPy path it falls back to
without numba (a sort of each band's keys, then `candidate_pairs` on the repeated rows), on one thread and
on every usable core, best of `--repeat`; checks that both give the same pairs and prints the ratio.

    python bench/band_candidates.py [--texts 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dedup.lsh import DEFAULT_ANCHORS, band_candidates, usable_cores  # noqa: E402
from dedup.shingles import HAVE_NUMBA  # noqa: E402

BANDS = 32


def band_keys(texts: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(int64[texts, BANDS] keys, sorted distinct int64 nodes) as described in the module doc."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(-(2**63), 2**63 - 1, (texts, BANDS), dtype=np.int64)
    copies = rng.choice(texts, int(0.12 * texts), replace=False)
    sources = rng.integers(0, texts, len(copies))
    shared = rng.random((len(copies), BANDS)) < 0.87
    keys[copies] = np.where(shared, keys[sources], keys[copies])
    boilerplate = rng.choice(texts, int(0.003 * texts), replace=False)
    keys[boilerplate] = np.arange(BANDS, dtype=np.int64) * 7919 + 1
    nodes = np.sort(rng.choice(2**62, texts, replace=False).astype(np.int64))
    return keys, nodes


def best_seconds(repeat: int, engine: str, keys: np.ndarray, nodes: np.ndarray, threads: int) -> tuple:
    times, pairs = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        pairs = band_candidates(keys, nodes, DEFAULT_ANCHORS, threads=threads, engine=engine)
        times.append(time.perf_counter() - started)
    return min(times), pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not HAVE_NUMBA:
        sys.exit("band_candidates: numba is not installed; only the NumPy path exists here")
    keys, nodes = band_keys(args.texts)
    band_candidates(keys[:1000], nodes[:1000], DEFAULT_ANCHORS)  # compile (or load) the kernel first
    print(f"{args.texts:,} texts x {BANDS} bands, anchors {DEFAULT_ANCHORS}; best of {args.repeat}")
    print(f"{'threads':>7} {'numba s':>8} {'NumPy s':>8} {'NumPy/numba':>11} {'pairs':>10}")
    for threads in sorted({1, usable_cores()}):
        fast, fast_pairs = best_seconds(args.repeat, "numba", keys, nodes, threads)
        slow, slow_pairs = best_seconds(args.repeat, "numpy", keys, nodes, threads)
        same = all(np.array_equal(a, b) for a, b in zip(fast_pairs, slow_pairs, strict=True))
        if not same:
            sys.exit("band_candidates: the numba and NumPy paths found different pairs")
        print(f"{threads:>7} {fast:>8.2f} {slow:>8.2f} {slow / fast:>11.2f} {len(fast_pairs[0]):>10,}")


if __name__ == "__main__":
    main()
