"""The cutoff's bootstrap (analysis.cutoff.bootstrap_cutoffs), batched, against one curve per resample.

Every measured and predicted cutoff carries a percentile-bootstrap interval over its resources: 1,000
resamples, each a curve of trimmed means per month. Taken one resample at a time and month by month (the first
implementation, kept as the reference in tests/analysis/test_intervals.py) that cost about a second per
interval, twice per prediction. Both run here on the same matrices, in one run, at the presets' sizes; the
table gives seconds per 1,000 resamples (the fastest and slowest of --repeats runs), the ratio of the fastest,
and whether the samples are identical.

    python bench/bootstrap_curves.py [--boot 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from analysis.cutoff import CurveMethod, bootstrap_cutoffs  # noqa: E402

# (resources, months): the reduced demo's probes, the tiny world's 200, and a larger preset's
SIZES = ((15, 60), (40, 100), (200, 100), (400, 160))


def one_curve_at_a_time(scores: np.ndarray, method: CurveMethod, n_boot: int, seed: int) -> np.ndarray:
    """The reference: per resample, the curve month by month (`CurveMethod.point`) and its argmin."""
    rng = np.random.default_rng(seed)
    rows, samples = scores.shape[0], []
    for _ in range(n_boot):
        points = [method.point(column) for column in scores[rng.integers(0, rows, rows)].T]
        samples.append(method.argmin([np.inf if p is None else p for p in points]))
    return np.array(samples)


def timed(
    repeats: int, bootstrap: Callable[..., np.ndarray], *args: object
) -> tuple[list[float], np.ndarray]:
    """(wall seconds of each of `repeats` calls of `bootstrap(*args)`, its samples)."""
    times, samples = [], np.zeros(0)
    for _ in range(repeats):
        started = time.perf_counter()
        samples = bootstrap(*args)
        times.append(time.perf_counter() - started)
    return times, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--boot", type=int, default=1000, help="resamples per interval")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each: their fastest and slowest are shown, the ratio is of the fastest",
    )
    args = parser.parse_args()
    method, rng = CurveMethod(), np.random.default_rng(0)
    print(f"{'resources':>9} {'months':>6} {'one at a time (s)':>18} {'batched (s)':>12} {'ratio':>6} same")
    for rows, months in SIZES:
        scores = rng.normal(size=(rows, months))
        scores[rng.random((rows, months)) < 0.3] = np.nan  # resources without a version some months
        slow, expected = timed(args.repeats, one_curve_at_a_time, scores, method, args.boot, 0)
        fast, samples = timed(args.repeats, bootstrap_cutoffs, scores, method, args.boot, 0)
        same = "yes" if np.array_equal(samples, expected) else "NO"
        spans = [f"{min(t):.3f}-{max(t):.3f}" for t in (slow, fast)]
        print(f"{rows:>9} {months:>6} {spans[0]:>18} {spans[1]:>12} {min(slow) / min(fast):>5.1f}x {same}")


if __name__ == "__main__":
    main()
