"""How finely a measured effective cutoff resolves, and how many probe resources a finer one needs.

Reads the probes' `version_nll.parquet` (every version's NLL; trainers/probes.py writes it beside probe.json)
under a grid's output folder, so no model is loaded. For each run and each number n of probe resources, it
draws subsets of n resources without replacement and measures, on each subset, the cutoff's bootstrap noise:
the mean distance in months of the resampled cutoffs from the subset's own (`analysis.cutoff.
bootstrap_abs_deviation`, the mean absolute error expected of a perfect prediction). It prints the mean over
runs and subsets per n, fits noise ∝ n^-a on a log-log scale, and says how many resources would bring the
noise to the target. On the full set it also sets the bootstrap's figure beside the crude one that
trainers/grid_summary.py derives from a 95% interval alone (as if it were a normal's), run by run.

The bootstrap of an argmin is not guaranteed to be right, so a check that uses no bootstrap sits beside it:
split the resources into two random halves and take the distance between the halves' cutoffs. Two
independent measurements that each err by e about the truth differ by about e * sqrt(2) on average (exactly so
for normal errors), so the split-half distance / sqrt(2) should match the bootstrap's noise at half the
resources.

    python bench/cutoff_noise.py OUTPUT [--sizes 25,50,100] [--subsets 10] [--boot 200] [--target 3]
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from analysis.cutoff import CurveMethod, bootstrap_abs_deviation, bootstrap_cutoffs  # noqa: E402
from analysis.intervals import Z95, percentile_interval  # noqa: E402
from analysis.months import months_between  # noqa: E402


def normalised_matrix(path: Path, method: CurveMethod) -> tuple[list[str], np.ndarray]:
    """(months, normalised NLL[resource, month]) from a probe's version_nll.parquet, as the probe builds it;
    resources that say nothing about time (one month, constant, a version without tokens) are left out, as the probe
    leaves them out."""
    table = pq.read_table(path, columns=["resource", "month", "nll"]).to_pydict()
    _, months, scores, _ = method.normalised_matrix(table["resource"], table["month"], table["nll"])
    return months, scores


def cutoff_and_noise(
    scores: np.ndarray, months: list[str], method: CurveMethod, boot: int, seed: int
) -> tuple:
    """(cutoff month, bootstrap noise in months, 95% interval) of the curve over `scores`' rows."""
    best = method.argmin(method.curve(scores))
    cutoff = None if best is None else months[best]
    samples = bootstrap_cutoffs(scores, method, boot, seed=seed)
    low, high = percentile_interval(samples)
    return cutoff, bootstrap_abs_deviation(samples, months, cutoff), (months[int(low)], months[int(high)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output", type=Path, help="a grid's output folder (runs/*/*/probe/version_nll.parquet)"
    )
    parser.add_argument("--sizes", default="25,50,100", help="resource counts below the full set")
    parser.add_argument("--subsets", type=int, default=10, help="subsets drawn per run and size")
    parser.add_argument("--boot", type=int, default=200, help="bootstrap resamples per subset")
    parser.add_argument("--target", type=float, default=3.0, help="noise, in months, to size the probe for")
    args = parser.parse_args()
    paths = sorted(args.output.glob("runs/*/*/probe/version_nll.parquet"))
    if not paths:
        sys.exit(
            f"cutoff_noise: no probe/version_nll.parquet under {args.output}/runs (probe the runs again)"
        )
    method = CurveMethod()
    rng = np.random.default_rng(0)
    sizes = [int(s) for s in args.sizes.split(",")]
    noise: dict[int, list[float]] = {}
    split_half: list[float] = []  # |cutoff of one half - cutoff of the other| / sqrt(2), months
    half_noise: list[float] = []  # the bootstrap's noise on the same halves
    print("| run | resources | cutoff | 95% interval | bootstrap noise | from the interval as a normal's |")
    print("|---|---|---|---|---|---|")
    for path in paths:
        months, scores = normalised_matrix(path, method)
        full = len(scores)
        cutoff, full_noise, (low, high) = cutoff_and_noise(scores, months, method, 1000, seed=0)
        crude = months_between(low, high) / (2 * Z95) * math.sqrt(2 / math.pi)
        name = "/".join(path.parts[-4:-2])
        print(f"| {name} | {full} | {cutoff} | [{low}, {high}] | {full_noise:.1f} | {crude:.1f} |")
        noise.setdefault(full, []).append(full_noise)
        for _ in range(args.subsets):
            order = rng.permutation(full)
            halves = [scores[order[: full // 2]], scores[order[full // 2 : 2 * (full // 2)]]]
            found = [
                cutoff_and_noise(h, months, method, args.boot, int(rng.integers(1 << 31))) for h in halves
            ]
            if found[0][0] and found[1][0]:
                split_half.append(abs(months_between(found[0][0], found[1][0])) / math.sqrt(2))
                half_noise += [f[1] for f in found]
        for n in (s for s in sizes if s < full):
            for _ in range(args.subsets):
                subset = scores[rng.choice(full, n, replace=False)]
                found = cutoff_and_noise(subset, months, method, args.boot, seed=int(rng.integers(1 << 31)))[
                    1
                ]
                if found is not None:
                    noise.setdefault(n, []).append(found)
    print(
        f"\n{len(paths)} runs; per number of probe resources, the bootstrap noise (mean over runs and subsets):"
    )
    print("| resources | noise, months | values |")
    print("|---|---|---|")
    for n in sorted(noise):
        print(f"| {n} | {np.mean(noise[n]):.1f} | {len(noise[n])} |")
    if split_half:
        print(
            f"\nsplit-half check, halves of the full set: |cutoff A - cutoff B| / sqrt(2) = "
            f"{np.mean(split_half):.1f} months (mean over {len(split_half)} splits); the bootstrap's noise on the "
            f"same halves: {np.mean(half_noise):.1f} months"
        )
    ns = np.array(sorted(noise), dtype=np.float64)
    means = np.array([np.mean(noise[int(n)]) for n in ns])
    if len(ns) >= 2 and np.all(means > 0):
        slope, intercept = np.polyfit(np.log(ns), np.log(means), 1)
        print(f"\nfit: noise ∝ resources^{slope:.2f} (a mean's would be ^-0.50)")
        if slope < 0:
            needed = math.exp((math.log(args.target) - intercept) / slope)
            if needed <= 10 * ns.max():
                print(
                    f"noise of {args.target:g} months needs about {needed:,.0f} probe resources (extrapolated)"
                )
            else:
                print(
                    f"noise of {args.target:g} months would need about {needed:,.0f} probe resources by the fit, "
                    f"over ten times the largest set measured: an extrapolation too far to trust"
                )
        else:
            print("the noise does not fall with more resources here: no size can be extrapolated")


if __name__ == "__main__":
    main()
