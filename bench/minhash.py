"""MinHash signature throughput on real text, one core: our batched kernel against datasketch.

Documents: the wikipedia_versions revisions (../shared/data), repeated to
`--docs`. Parameters: 128 permutations, word 5-grams, seed 1, datasketch's legacy scheme (mod 2^61-1).

Baselines, measured in this process:
- datasketch: one `MinHash` per document, `update_batch` over its shingles (default sha1_hash32), with the
  shingles made beforehand and not timed (so the ratio is conservative: our timings include normalising and
  shingling the raw text);
- datasketch with our 64-bit shingle hash as `hashfunc` (the configuration we are bit-identical to);
- rensa `RMinHash` (Rust), if installed, shingles made beforehand.

Prints documents/s and the ratio to the datasketch baseline. Run: python bench/minhash.py [--docs 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from datasketch import MinHash  # noqa: E402

from dedup.minhash import SignatureConfig, batch_signatures  # noqa: E402
from dedup.normalize import tokens  # noqa: E402
from dedup.shingles import HAVE_NUMBA, shingle_hash, shingles  # noqa: E402


def load_texts(n: int) -> list[str]:
    shared = ROOT.parent / "shared" / "data" / "versions" / "wikipedia_versions" / "pages"
    if not shared.is_dir():
        sys.exit(f"minhash: {shared} is absent (the real sample pages; see ../shared/data/README.md)")
    texts = [p.read_text(encoding="utf-8") for p in sorted(shared.glob("*/*.txt"))]
    return (texts * (n // len(texts) + 1))[:n]


def timed(fn, repeat: int = 3) -> float:
    """Best of `repeat` wall times (s): the machine is shared, the minimum is the least disturbed run."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--baseline-docs", type=int, default=300, help="datasketch is slow: fewer documents")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    texts = load_texts(args.docs)
    grams = [shingles(tokens(t), 5) for t in texts[: args.baseline_docs]]
    print(
        f"{len(texts)} documents, {np.mean([len(g) for g in grams]):.0f} shingles each on average; 128 perms"
    )

    def datasketch_default() -> None:
        for g in grams:
            m = MinHash(num_perm=128, seed=1, scheme="legacy")
            m.update_batch([s.encode("utf-8") for s in g])

    def datasketch_ours() -> None:
        for g in grams:
            m = MinHash(num_perm=128, seed=1, scheme="legacy", hashfunc=shingle_hash)
            m.update_batch(g)

    base = len(grams) / timed(datasketch_default, 2)
    results = {
        "datasketch (sha1_hash32)": base,
        "datasketch (our 64-bit hash)": len(grams) / timed(datasketch_ours, 2),
    }
    column = pa.array(texts)
    engines = (["numba"] if HAVE_NUMBA else []) + ["numpy"]
    for engine in engines:
        config = SignatureConfig(engine=engine)
        batch_signatures(column.slice(0, 50), config)  # warm-up (numba compiles or loads its cache)
        chunks = [column.slice(i, 2000) for i in range(0, len(column), 2000)]
        results[f"chronomix {engine} (from raw text)"] = len(texts) / timed(
            lambda c=config, ch=chunks: [batch_signatures(x, c) for x in ch]
        )
    try:
        import rensa

        all_grams = [shingles(tokens(t), 5) for t in texts]

        def run_rensa() -> None:
            for g in all_grams:
                m = rensa.RMinHash(num_perm=128, seed=1)
                m.update(g)
                m.digest()

        results["rensa RMinHash (shingles given)"] = len(texts) / timed(run_rensa)
    except ImportError:
        print("rensa is not installed: skipped")
    for name, rate in results.items():
        print(f"{name:<36} {rate:>10,.0f} documents/s   {rate / base:>6.1f}x datasketch")
    print(f"load average: {os.getloadavg()[0]:.2f} (the machine is shared; figures are depressed by it)")


if __name__ == "__main__":
    main()
