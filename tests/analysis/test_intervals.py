"""Intervals and rank correlation: exact values, edge cases and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.cutoff import (
    CurveMethod,
    best_columns,
    bootstrap_cutoffs,
    newest_version_share,
    resampled_curves,
)
from analysis.intervals import bootstrap_rows, percentile_interval, spearman, wilson_interval


def test_wilson_interval_matches_the_formula_and_stays_in_range() -> None:
    low, high = wilson_interval(20, 100)
    # Wilson's interval for 20/100 at 95% (e.g. statsmodels' proportion_confint(method="wilson"))
    assert (low, high) == pytest.approx((0.1333, 0.2888), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="out of range"):
        wilson_interval(11, 10)


def test_spearman_equals_scipy_with_ties() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 40), rng.normal(size=40)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert math.isnan(spearman([1], [2])) and math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman([0.0, 1 / 30], [0, 1]))  # two points are always ±1: no evidence of anything
    with pytest.raises(ValueError, match="values"):
        spearman([1, 2], [1])


def test_percentile_interval_and_bootstrap_are_seeded() -> None:
    values = np.arange(100.0)
    boots = bootstrap_rows(lambda index: float(values[index].mean()), 100, n_boot=500, seed=3)
    assert np.array_equal(boots, bootstrap_rows(lambda index: float(values[index].mean()), 100, 500, 3))
    low, high = percentile_interval(boots)
    assert low < 49.5 < high and high - low < 15
    assert percentile_interval([1.0, float("nan"), 2.0, 3.0], 0.5) == (1.0, 3.0)
    with pytest.raises(ValueError, match="level"):
        percentile_interval([1.0], 1.5)


def test_cutoff_bootstrap_is_narrow_for_agreeing_resources_and_wide_for_a_flat_curve() -> None:
    rng = np.random.default_rng(1)
    sharp = rng.normal(0, 0.1, (60, 12))
    sharp[:, 7] -= 3  # every resource fits month 7 best
    flat = rng.normal(0, 1, (60, 12))  # no month stands out
    method = CurveMethod()
    sharp_samples = bootstrap_cutoffs(sharp, method, 300)
    flat_samples = bootstrap_cutoffs(flat, method, 300)
    assert set(sharp_samples.tolist()) == {7.0}
    low, high = percentile_interval(flat_samples)
    assert high - low >= 5


def _curve_month_by_month(scores: np.ndarray, method: CurveMethod) -> np.ndarray:
    """The curve as defined, the reference: `method.point` (a trimmed mean) of each month in turn."""
    points = [method.point(column) for column in scores.T]
    return np.array([np.inf if p is None else p for p in points], dtype=np.float64)


def _bootstrap_one_curve_at_a_time(
    scores: np.ndarray, method: CurveMethod, n_boot: int, seed: int
) -> np.ndarray:
    """The bootstrap as it was written first, the reference: one curve, month by month, per resample."""
    rng = np.random.default_rng(seed)
    rows = scores.shape[0]
    resamples = [scores[rng.integers(0, rows, rows)] for _ in range(n_boot)]
    return np.array([method.argmin(_curve_month_by_month(sample, method)) for sample in resamples])


def test_resampled_curves_equal_one_curve_at_a_time_to_the_last_bit() -> None:
    """The batched curves (2.2-20.8x faster in the bootstrap: bench/bootstrap_curves.py) equal the curve
    taken month by month, bit for bit, so no cutoff or interval moves: ties, missing scores, every trim, and
    months with more than 128 resources (where NumPy's pairwise sum splits the values)."""
    rng = np.random.default_rng(1)
    for trial in range(120):
        rows, months = int(rng.integers(1, 320)), int(rng.integers(1, 30))
        trim = float(rng.choice([0.0, 0.025, 0.1, 0.3, 0.49]))
        scores = rng.normal(size=(rows, months))
        if trial % 3 == 0:
            scores = np.round(scores, 1)  # ties within a month and between months
        scores[rng.random((rows, months)) < rng.random()] = np.nan  # up to every score missing
        method = CurveMethod(trim=trim)
        resamples = np.stack([rng.integers(0, rows, rows) for _ in range(4)])
        expected = np.stack([_curve_month_by_month(scores[r], method) for r in resamples])
        assert np.array_equal(resampled_curves(scores, resamples, trim), expected), (rows, months, trim)
        assert np.array_equal(method.curve(scores), _curve_month_by_month(scores, method))
        ours = bootstrap_cutoffs(scores, method, 40, seed=trial)
        assert np.array_equal(ours, _bootstrap_one_curve_at_a_time(scores, method, 40, trial)), (rows, months)
    no_months = bootstrap_cutoffs(np.zeros((3, 0)), CurveMethod(), 5)  # no curve: no cutoff in any resample
    assert len(no_months) == 5 and np.isnan(no_months).all()
    assert len(bootstrap_cutoffs(np.ones((3, 2)), CurveMethod(), 0)) == 0


def test_newest_version_share_asks_each_resource_for_its_best_version() -> None:
    values = np.array([[3.0, 1.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0], [np.nan, 5.0, 4.0, 4.0]])
    versions = np.array([[0, 1, 1, 2], [3, 3, 4, 5], [-1, 6, 7, 7]])
    assert best_columns(values).tolist() == [1, 0, 2]
    # newest month = column 2: resource 0's best (column 1) is the same text as column 2; resource 1's is
    # older; resource 2 fits its newest version best.
    assert newest_version_share(values, versions, 2).tolist() == [True, False, True]
    assert best_columns(np.full((1, 3), np.nan)).tolist() == [-1]


def test_a_tie_of_versions_shares_the_newest_version_credit() -> None:
    """Versions cut to the same first tokens score the same NLL (up to their batches' arithmetic): the tie
    went to the earliest month, so the newest version lost every tie."""
    values = np.array(
        [
            [2.0, 1.0, 1.0 + 1e-9, 1.0],  # versions 1, 2, 3 tie; 3 is newest: a third
            [2.0, 1.0, 3.0, 1.0],  # versions 1 and 3 tie: a half
            [2.0, 1.0, 1.0, 1.5],  # the tie holds only old versions: none
            [2.0, 1.0, 1.001, 1.0],  # 1.001 is no tie: versions 1 and 3, a half
        ]
    )
    versions = np.array([[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, 3]])
    assert newest_version_share(values, versions, 3).tolist() == pytest.approx([1 / 3, 0.5, 0.0, 0.5])
    # months of one version are no tie of versions
    assert newest_version_share(np.array([[2.0, 1.0, 1.0]]), np.array([[0, 1, 1]]), 2).tolist() == [1.0]
    assert newest_version_share(np.zeros((0, 3)), np.zeros((0, 3), np.int64), 2).tolist() == []
