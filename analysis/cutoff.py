"""The effective-cutoff curve: one implementation for the probe (`trainers/probes.py`, which scores a model's
NLL of every month's version of a resource) and the audit's predictor (`analysis/predict.py`, which scores
the share of a resource's tokens a dataset holds of the version in effect each month), so the two cannot
drift apart.

The curve (Cheng et al., "Dated Data", COLM 2024): each resource has a score per month, lower meaning the
model fits that month's version better. Resources differ in how predictable their text is at all, so each
resource's scores are normalised across its months (`CurveMethod.normalise`: a z-score with the population
standard deviation by default, or only centred); a resource with fewer than two months, or (z-score) the same
score in every month, says nothing about time and is dropped. Per month, the curve is the trimmed mean of the
normalised scores of the resources that have one (`CurveMethod.point`: 2.5% cut off each tail, as
scipy.stats.trim_mean); the effective cutoff is the month of its minimum, the earliest on a tie
(`CurveMethod.argmin`).

To change the science, change `CurveMethod` (or add a field to it): both callers take one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.months import month_index

TRIM = 0.025  # 2.5% off each tail
NORMALISATIONS = ("zscore", "center")
# Why a resource was left out of the curve.
SINGLE_MONTH = "single_month"
CONSTANT = "constant"
NO_TOKENS = "no_tokens"


def trimmed_mean(values: Sequence[float] | np.ndarray, proportion: float = TRIM) -> float:
    """Mean after cutting int(proportion * n) values from each end (as scipy.stats.trim_mean); NaN for no
    values."""
    if not 0 <= proportion < 0.5:
        raise ValueError(f"trim: must be in [0, 0.5), got {proportion}")
    x = np.sort(np.asarray(values, dtype=np.float64))
    if len(x) == 0:
        return math.nan
    cut = int(proportion * len(x))
    return float(x[cut : len(x) - cut].mean())


@dataclass(frozen=True)
class CurveMethod:
    """How per-resource, per-month scores (lower = fits better) become the effective-cutoff curve."""

    normalisation: str = "zscore"  # zscore | center
    trim: float = TRIM  # fraction cut off each tail of the per-month values

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(
                f"normalisation: unknown method {self.normalisation!r} "
                f"(choose from {', '.join(NORMALISATIONS)})"
            )
        if not 0 <= self.trim < 0.5:
            raise ValueError(f"trim: must be in [0, 0.5), got {self.trim}")

    def normalise(self, scores: np.ndarray) -> np.ndarray | str:
        """One resource's scores across its months, normalised; or the reason it is dropped
        (`single_month`, or `constant` for a z-score of equal scores)."""
        if len(scores) < 2:
            return SINGLE_MONTH
        if self.normalisation == "center":
            return scores - scores.mean()
        # Equal scores: their float std is rounding noise (1.4e-17 for [0.1, 0.1, 0.1]), and z-scoring it
        # gave a resource that fits every month alike a z of -1 everywhere.
        if np.all(scores == scores[0]) or scores.std() <= 1e-12 * max(1.0, float(np.abs(scores).max())):
            return CONSTANT
        return (scores - scores.mean()) / scores.std()

    def normalise_resources(
        self, resources: Sequence[str], values: Sequence[float]
    ) -> tuple[np.ndarray, dict[str, str]]:
        """`values` (one per row) normalised within each resource (`resources[i]` names row i's). Returns the
        normalised values, NaN for rows of dropped resources, and the dropped resources with their reason;
        a resource with a NaN or infinite value (no tokens scored, or a score that says nothing) is dropped as
        `no_tokens`."""
        values_array = np.asarray(values, dtype=np.float64)
        out = np.full(len(values_array), np.nan)
        dropped: dict[str, str] = {}
        groups: dict[str, list[int]] = {}
        for i, resource in enumerate(resources):
            groups.setdefault(resource, []).append(i)
        for resource, index in groups.items():
            x = values_array[index]
            normalised = NO_TOKENS if not np.isfinite(x).all() else self.normalise(x)
            if isinstance(normalised, str):
                dropped[resource] = normalised
            else:
                out[index] = normalised
        return out, dropped

    def normalised_matrix(
        self, resources: Sequence[str], months: Sequence[str], values: Sequence[float]
    ) -> tuple[list[str], list[str], np.ndarray, dict[str, str]]:
        """One score per row (`resources[i]`, `months[i]`, `values[i]`) as the normalised matrix the curve is
        taken over: (kept resources, all months ascending, normalised[kept resource, month] with NaN where a
        resource has no score, dropped resources with their reason as `normalise_resources` gives them).
        Months are YYYY-MM (ValueError otherwise: as text, 2023-9 would sort after 2023-11)."""
        normalised, dropped = self.normalise_resources(resources, values)
        kept = sorted(set(resources) - set(dropped))
        month_list = sorted(set(months), key=month_index)
        row = {r: i for i, r in enumerate(kept)}
        column = {m: j for j, m in enumerate(month_list)}
        matrix = np.full((len(kept), len(month_list)), np.nan)
        for resource, month, value in zip(resources, months, normalised, strict=True):
            if resource in row:
                matrix[row[resource], column[month]] = value
        return kept, month_list, matrix, dropped

    def point(self, values: np.ndarray) -> float | None:
        """The curve in one month: the trimmed mean of the resources' normalised scores (NaN ignored); None
        when no resource has one."""
        present = values[~np.isnan(values)]
        return trimmed_mean(present, self.trim) if len(present) else None

    def curve(self, scores: np.ndarray) -> np.ndarray:
        """The curve over the columns (months) of `scores[resource, month]` (normalised, NaN where a resource
        has no score): `point` of every month, +inf for a month without any score."""
        return resampled_curves(scores, np.arange(scores.shape[0])[None, :], self.trim)[0]

    @staticmethod
    def argmin(curve: Sequence[float] | np.ndarray) -> int | None:
        """Index of the curve's minimum, the earliest on a tie; None for an empty curve. A NaN point is no
        point (NumPy's argmin would return its index)."""
        values = np.asarray(curve, dtype=np.float64)
        return int(np.argmin(np.where(np.isnan(values), np.inf, values))) if len(values) else None


def bootstrap_cutoffs(
    scores: np.ndarray, method: CurveMethod = CurveMethod(), n_boot: int = 1000, seed: int = 0
) -> np.ndarray:
    """The curve's argmin column over `n_boot` resamples of the resources (rows of the normalised
    `scores[resource, month]`, with replacement): the percentile bootstrap's samples of the cutoff."""
    if n_boot < 0:
        raise ValueError(f"n_boot {n_boot}: expected 0 or more resamples")
    rows = scores.shape[0]
    if rows == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    # one draw per resample, as a loop of `method.curve` over them made them (a single draw of them all
    # would give other resamples: numpy discards a call's unused random bits)
    resamples = np.stack([rng.integers(0, rows, rows) for _ in range(n_boot)]) if n_boot else None
    if resamples is None or scores.shape[1] == 0:
        return np.full(n_boot, np.nan)
    out = np.empty(n_boot, dtype=np.float64)
    chunk = max(1, RESAMPLE_CELLS // (rows * scores.shape[1]))
    for start in range(0, n_boot, chunk):
        curves = resampled_curves(scores, resamples[start : start + chunk], method.trim)
        out[start : start + chunk] = np.argmin(np.where(np.isnan(curves), np.inf, curves), axis=1)
    return out


# Values in one batch of resampled score matrices (64 MB of float64; the batch is copied twice to sort it).
RESAMPLE_CELLS = 8_000_000


def resampled_curves(scores: np.ndarray, resamples: np.ndarray, trim: float = TRIM) -> np.ndarray:
    """The curve (`CurveMethod.point` of every month, +inf for a month without scores) of `scores[rows]` for
    each row of `resamples` (resample x resource indices), at once: [resample, month]. Each trimmed mean is
    taken over the same sorted, contiguous values as `trimmed_mean` takes, so NumPy sums them in the same
    order and the curve equals `point`'s to the last bit; the bootstrap takes a thousand curves per
    interval."""
    b, m, rows = len(resamples), scores.shape[1], resamples.shape[1]
    # [resample, month, resource], each month's values sorted: NaN (no score) sorts last
    ordered = np.sort(np.ascontiguousarray(scores[resamples].transpose(0, 2, 1)), axis=2).reshape(b * m, rows)
    present = np.count_nonzero(~np.isnan(ordered), axis=1)
    cut = (trim * present).astype(np.int64)  # int(proportion * n), as trimmed_mean
    kept = present - 2 * cut
    curves = np.full(b * m, np.inf)
    for length in np.unique(kept[present > 0]):
        which = np.flatnonzero((kept == length) & (present > 0))
        values = np.take_along_axis(ordered[which], cut[which, None] + np.arange(length), axis=1)
        curves[which] = values.mean(axis=1)
    return curves.reshape(b, m)


def bootstrap_abs_deviation(samples: np.ndarray, months: Sequence[str], cutoff: str | None) -> float | None:
    """Mean distance, in months, of the bootstrap's cutoffs (`samples`: columns of `months`; NaN for a sample
    without one) from the measured `cutoff`: the bootstrap's estimate of how far the measurement falls, on
    average, from the cutoff the model would show on an unlimited set of such resources, i.e. the mean
    absolute error expected of a perfect prediction. None without samples or cutoff."""
    found = samples[~np.isnan(samples)]
    if cutoff is None or not len(found):
        return None
    index = np.array([month_index(m) for m in months], dtype=np.float64)
    return float(np.mean(np.abs(index[found.astype(np.int64)] - month_index(cutoff))))


# Two versions' NLLs this close are the same scored tokens, apart from the arithmetic of their batches.
TIE_RTOL = 1e-6


def best_columns(values: np.ndarray) -> np.ndarray:
    """Each row's own argmin column (the earliest on a tie, NaN ignored); -1 for a row without values."""
    filled = np.where(np.isnan(values), np.inf, values)
    best = np.argmin(filled, axis=1)
    return np.where(np.isinf(filled[np.arange(len(values)), best]), -1, best)


def newest_version_share(
    values: np.ndarray, versions: np.ndarray, newest: int, rtol: float = TIE_RTOL
) -> np.ndarray:
    """Per resource (row), the credit its best fit gives the version in effect at column `newest` (the
    newest month of the training data): 1 where that version fits best, 0 where another does, and 1/t
    where t versions tie for best, the newest among them (within `rtol`: versions whose scored tokens are
    the same, as when a window of k tokens cuts them before they differ). Counting such a tie for the
    earliest version biased the share low (0.154 where ties held 0.359). `versions[resource, month]` names
    each month's version (the same number for the same text: months of one version are no tie). The mean
    is a cutoff statistic that is stable under near-ties of the curve: it asks each resource for its own
    best version instead of taking one argmin of an average. A resource without a version in the `newest`
    month (version -1 there: no snapshot that month) has the last one before it in effect; one with none
    at or before it scores 0."""
    rows = np.arange(len(values))
    known = versions[:, : newest + 1] >= 0
    last = np.where(known.any(axis=1), newest - np.argmax(known[:, ::-1], axis=1), -1)
    in_effect = np.where(last >= 0, versions[rows, np.maximum(last, 0)], -2)
    filled = np.where(np.isnan(values), np.inf, values)
    low = filled.min(axis=1, keepdims=True) if len(values) else np.zeros((0, 1))
    tied = np.isfinite(filled) & np.isclose(filled, low, rtol=rtol, atol=0.0)
    credit = np.zeros(len(values))
    for row in rows:
        best = set(versions[row, tied[row]].tolist())
        if in_effect[row] in best:
            credit[row] = 1.0 / len(best)
    return credit
