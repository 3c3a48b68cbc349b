"""Spreads for the measurements: binomial intervals of accuracies, percentile bootstraps, and rank
correlation. Pure NumPy, so the probe, the audit and the experiment's summaries all use the same ones."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion (95% by default); None for no trials. Unlike the
    normal approximation it stays inside [0, 1] and is sound for accuracies near 0 or 1 and small buckets."""
    if not z > 0:
        raise ValueError(f"z {z!r}: expected a positive quantile")
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes {successes} out of range for {trials} trials")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # exact at the ends: 10 of 10 gave 0.9999999999999999, so all-correct probes of chance 1 were "not at chance"
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def percentile_interval(samples: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap `samples` (nearest observed values, so months stay months)."""
    if not 0 < level < 1:
        raise ValueError(f"level {level!r}: expected a probability in (0, 1)")
    values = np.asarray(samples, dtype=np.float64)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], method="nearest")
    return float(low), float(high)


def bootstrap_rows(
    statistic: Callable[[np.ndarray], float], rows: int, n_boot: int = 1000, seed: int = 0
) -> np.ndarray:
    """`statistic(index)` over `n_boot` resamples, with replacement, of `rows` row indices (e.g. resources):
    the percentile bootstrap's samples. Seeded, so a measurement's interval is reproducible."""
    rng = np.random.default_rng(seed)
    return np.array([statistic(rng.integers(0, rows, rows)) for _ in range(n_boot)], dtype=np.float64)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN with fewer than three points (two points
    are always ±1, which says nothing) or a constant series."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(a) != len(b):
        raise ValueError(f"x has {len(a)} values, y {len(b)}")
    if len(a) < 3:
        return math.nan
    if a.std() == 0 or b.std() == 0:
        return math.nan
    from scipy import stats  # here, not at import: scipy.stats costs every command ~0.5 s to load

    return float(stats.spearmanr(a, b).statistic)
