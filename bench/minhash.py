"""MinHash on real text, one core: speed of each scheme against rensa and datasketch, and the Jaccard
estimation error of each scheme against exact shingle Jaccard.

Documents: the wikipedia_versions revisions (../shared/data), repeated to `--docs`; 128 permutations, word
5-grams. Speed (best of 3, documents/s, one core pinned):
- rensa `RMinHash` and `CMinHash` (Rust), the shingles made beforehand and not timed (the anchor of the
  issues: rensa is given its shingles, so it does no normalising or tokenising);
- datasketch `MinHash` (legacy scheme) with the shingles made beforehand, on `--baseline-docs` documents;
- chronomix's schemes, timed twice: from token hashes (the signature engine alone: shingles, signatures
  and exact-text hashes; tokenising not timed, the counterpart of rensa given its shingles) and from raw
  text (normalise, tokenise, shingle, sign: everything a dedup run pays).

Estimation error: every pair of revisions of one article (exact Jaccard from the shingle sets), estimated
by each scheme's signatures and, for the two chronomix schemes, by the 8-bit sketches dedup verifies with;
root mean square error and mean bias over all pairs and over the pairs near the default threshold
(0.3 <= J <= 0.7), for `--seeds` seeds (median and range over the seeds).

Run: python bench/minhash.py [--docs 2000] [--seeds 1,2,3,4,5,6,7,8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from datasketch import MinHash  # noqa: E402

from dedup.minhash import SignatureConfig, batch_signatures  # noqa: E402
from dedup.normalize import tokens  # noqa: E402
from dedup.shingles import HAVE_NUMBA, document_hashes, shingles  # noqa: E402
from dedup.verify import estimated_similarity, sketches  # noqa: E402

PAGES = ROOT.parent / "shared" / "data" / "versions" / "wikipedia_versions" / "pages"


def articles() -> list[list[str]]:
    """The revisions of each article, oldest first."""
    if not PAGES.is_dir():
        sys.exit(f"minhash: {PAGES} is absent (the real sample pages; see ../shared/data/README.md)")
    return [
        [p.read_text(encoding="utf-8") for p in sorted(d.glob("*.txt"), key=lambda p: int(p.stem))]
        for d in sorted(PAGES.iterdir())
        if d.is_dir()
    ]


def timed(fn, repeat: int = 3) -> float:
    """Best of `repeat` wall times (s): the machine is shared, the minimum is the least disturbed run."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def speed(texts: list[str], baseline_docs: int) -> dict[str, float]:
    """Documents/s of every engine (see the module doc)."""
    grams = [shingles(tokens(t), 5) for t in texts]
    results: dict[str, float] = {}
    try:
        import rensa

        for name in ("RMinHash", "CMinHash"):
            cls = getattr(rensa, name)

            def run(cls=cls) -> None:
                for g in grams:
                    m = cls(num_perm=128, seed=1)
                    m.update(g)
                    m.digest()

            results[f"rensa {name} (shingles given)"] = len(texts) / timed(run)
    except ImportError:
        print("rensa is not installed: skipped")
    few = grams[:baseline_docs]

    def datasketch() -> None:
        for g in few:
            m = MinHash(num_perm=128, seed=1, scheme="legacy")
            m.update_batch([s.encode("utf-8") for s in g])

    results["datasketch MinHash (shingles given)"] = len(few) / timed(datasketch, 2)
    column = pa.array(texts)
    chunks = [column.slice(i, 2000) for i in range(0, len(column), 2000)]
    if HAVE_NUMBA:
        from dedup.byte_tokens import document_tokens_numba

        tokenised = [document_tokens_numba(c) for c in chunks]
        results["tokenise only (numba, from raw text)"] = len(texts) / timed(
            lambda: [document_tokens_numba(c) for c in chunks]
        )
    for scheme in ("oph", "datasketch"):
        for engine in (["numba"] if HAVE_NUMBA else []) + ["numpy"]:
            config = SignatureConfig(scheme=scheme, engine=engine)
            batch_signatures(column.slice(0, 50), config)  # warm-up (numba compiles or loads its cache)
            if engine == "numba":
                results[f"chronomix {scheme} {engine} (token hashes given)"] = len(texts) / timed(
                    lambda c=config: [_from_tokens(tok, off, c) for tok, off in tokenised]
                )
            results[f"chronomix {scheme} {engine} (from raw text)"] = len(texts) / timed(
                lambda c=config: [batch_signatures(x, c) for x in chunks]
            )
    return results


def _from_tokens(tok: np.ndarray, offsets: np.ndarray, config: SignatureConfig) -> np.ndarray:
    """Signatures and exact-text hashes from token hashes (what batch_signatures does after tokenising)."""
    from dedup.minhash import minhash_signatures
    from dedup.oph import oph_from_tokens_nb, salts
    from dedup.shingles import shingle_hashes

    document_hashes(tok, offsets)
    if config.scheme == "oph":
        value_salt, probe_salt = salts(config.seed)
        out = np.empty((len(offsets) - 1, config.num_perm), dtype=np.uint64)
        oph_from_tokens_nb(tok, offsets, config.ngram, config.num_perm, np.uint64(value_salt),
                           np.uint64(probe_salt), out)  # fmt: skip
        return out
    sh, sh_offsets = shingle_hashes(tok, offsets, config.ngram)
    return minhash_signatures(sh, sh_offsets, config.num_perm, config.seed)


def estimation_errors(groups: list[list[str]], seeds: list[int]) -> dict[str, dict[str, list[float]]]:
    """Per estimator, per figure (rmse, bias, rmse_near, bias_near), one value per seed."""
    texts = [t for group in groups for t in group]
    sets = [frozenset(shingles(tokens(t), 5)) for t in texts]
    pairs, start = [], 0
    for group in groups:
        pairs += list(combinations(range(start, start + len(group)), 2))
        start += len(group)
    left, right = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    exact = np.array([len(sets[i] & sets[j]) / max(1, len(sets[i] | sets[j])) for i, j in pairs])
    near = (exact >= 0.3) & (exact <= 0.7)
    column = pa.array(texts)
    figures: dict[str, dict[str, list[float]]] = {}

    def add(name: str, estimate: np.ndarray) -> None:
        error = estimate - exact
        entry = figures.setdefault(name, {"rmse": [], "bias": [], "rmse_near": [], "bias_near": []})
        entry["rmse"].append(float(np.sqrt(np.mean(error**2))))
        entry["bias"].append(float(np.mean(error)))
        entry["rmse_near"].append(float(np.sqrt(np.mean(error[near] ** 2))))
        entry["bias_near"].append(float(np.mean(error[near])))

    schemes = ["oph", "datasketch"]
    try:
        import rensa  # noqa: F401

        schemes.append("rensa")
    except ImportError:
        pass
    for seed in seeds:
        for scheme in schemes:
            sigs = batch_signatures(column, SignatureConfig(scheme=scheme, seed=seed)).signatures
            add(f"{scheme} signature", (sigs[left] == sigs[right]).mean(axis=1))
            if scheme != "rensa":
                sk = sketches(sigs)
                add(f"{scheme} 8-bit sketch", estimated_similarity(sk.take(left), sk.take(right), 128))
    print(
        f"estimation error: {len(pairs)} revision pairs of {len(groups)} articles ({int(near.sum())} with "
        f"0.3 <= J <= 0.7), k = 128, seeds {','.join(map(str, seeds))}; median [min, max] over seeds"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--baseline-docs", type=int, default=300, help="datasketch is slow: fewer documents")
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    groups = articles()
    flat = [t for g in groups for t in g]
    texts = (flat * (args.docs // len(flat) + 1))[: args.docs]
    mean_shingles = np.mean([len(shingles(tokens(t), 5)) for t in texts[:500]])
    print(f"speed: {len(texts)} documents, {mean_shingles:.0f} shingles each on average; 128 perms; one core")
    rates = speed(texts, args.baseline_docs)
    anchor = max((r for n, r in rates.items() if n.startswith("rensa")), default=None)
    for name, rate in rates.items():
        ratio = f"{rate / anchor:>6.2f}x best rensa" if anchor else ""
        print(f"  {name:<46} {rate:>10,.0f} documents/s   {ratio}")
    seeds = [int(s) for s in args.seeds.split(",")]
    for name, entry in estimation_errors(groups, seeds).items():
        cells = "  ".join(
            f"{key} {statistics.median(values):.4f} [{min(values):.4f}, {max(values):.4f}]"
            for key, values in entry.items()
        )
        print(f"  {name:<24} {cells}")
    print(f"load average: {os.getloadavg()[0]:.2f} (the machine is shared; figures are depressed by it)")


if __name__ == "__main__":
    main()
