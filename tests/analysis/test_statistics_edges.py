"""The measurement functions on the inputs where a plausible wrong number is easiest: months in another
spelling, infinite scores, exact half-weight ties, all-correct buckets, NaN lags, resources without a version
in the newest month. Each is checked against a reference computed another way (scipy, exact fractions, by
hand)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from analysis.bins import LAG_EDGES_DAYS, bin_index
from analysis.cutoff import CurveMethod, bootstrap_cutoffs, newest_version_share
from analysis.intervals import wilson_interval
from analysis.months import month_range
from analysis.predict import curve_argmin, fit_matrix, predict_cutoff, predict_from_scores, weighted_median
from analysis.sample import check_fraction, sample_key


def test_months_are_ordered_as_months_and_other_spellings_refused() -> None:
    method = CurveMethod()
    resources = ["a", "a", "b", "b"]
    with pytest.raises(ValueError, match="month '2023-9': expected YYYY-MM"):
        method.normalised_matrix(resources, ["2023-9", "2023-10", "2023-9", "2023-10"], [1.0, 2.0, 1.0, 2.0])
    _, months, _, _ = method.normalised_matrix(
        resources, ["2023-11", "2023-09", "2023-11", "2023-09"], [1.0, 2.0, 1.0, 2.0]
    )
    assert months == ["2023-09", "2023-11"]


def test_a_histogram_month_is_read_as_its_version_or_refused() -> None:
    spans = {"a": {"2020-01": "2020-01", "2020-02": "2020-01", "2020-03": "2020-03"}}
    with pytest.raises(ValueError, match="month '2020-3': expected YYYY-MM"):
        fit_matrix({"a": [("2020-3", 10.0)]}, spans)
    # a month inside a span is its version's: tokens dated 2020-02 are the 2020-01 version's
    _, months, within = fit_matrix({"a": [("2020-02", 10.0), ("2020-03", 10.0)]}, spans)
    _, _, at_start = fit_matrix({"a": [("2020-01", 10.0), ("2020-03", 10.0)]}, spans)
    assert len(months) == 3 and np.array_equal(within, at_start, equal_nan=True)


def test_an_infinite_score_drops_its_resource_as_a_nan_does() -> None:
    months = ["2020-01", "2020-02", "2020-03"]
    resources = [r for r in ("a", "b", "c") for _ in months]
    values = [1.0, 2.0, 3.0, 3.0, 1.0, 2.0, 2.0, 1.0, 3.0]
    for normalisation in ("zscore", "center"):
        method = CurveMethod(normalisation=normalisation)
        kept, _, matrix, dropped = method.normalised_matrix(resources, months * 3, [math.inf, *values[1:]])
        assert kept == ["b", "c"] and dropped == {"a": "no_tokens"}
        assert np.isfinite(matrix).all()
    assert CurveMethod.argmin([3.0, math.nan, 1.0]) == 2  # NumPy's argmin gives the NaN's index, 1


def test_weighted_median_at_an_exact_half_weight_tie_is_the_lower_median() -> None:
    values, weights = [1, 4, 4, 2], [0.7, 1, 0.7, 1]
    # exact: the weight at or below 2 is 1.7, half of 3.4
    assert Fraction("0.7") + 1 == (Fraction("0.7") * 2 + 2) / 2
    assert weighted_median(values, weights) == 2.0
    with pytest.raises(ValueError, match="3 values, 4 weights"):
        weighted_median([1, 2, 3], [1, 1, 1, 1])


def test_wilson_interval_is_exact_at_the_ends_and_refuses_a_bad_quantile() -> None:
    for successes, trials in ((10, 10), (0, 1000), (3, 10)):
        reference = stats.binomtest(successes, trials).proportion_ci(method="wilson")
        low, high = wilson_interval(successes, trials)
        assert (low, high) == pytest.approx((reference.low, reference.high), abs=1e-12)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(0, 1000)[0] == 0.0
    with pytest.raises(ValueError, match=r"z -1\.96: expected a positive quantile"):
        wilson_interval(3, 10, -1.96)


def test_newest_version_share_reads_the_version_still_in_effect() -> None:
    # columns 2020-10, 2020-11, 2020-12 (newest); resource 0 has no snapshot in 2020-12: v1 is in effect
    values = np.array([[3.0, 1.0, np.nan], [3.0, 1.0, 1.0], [1.0, 3.0, 3.0]])
    versions = np.array([[0, 1, -1], [2, 3, 3], [4, 5, 5]])
    assert newest_version_share(values, versions, newest=2).tolist() == [True, True, False]
    none_yet = newest_version_share(np.array([[np.nan, 1.0]]), np.array([[-1, 7]]), newest=0)
    assert none_yet.tolist() == [False]


def test_levels_resamples_and_degenerate_inputs_are_refused_or_empty() -> None:
    scores = {"a": {"2020-01": 1.0, "2020-02": 2.0}, "b": {"2020-01": 1.0, "2020-02": 3.0}}
    for level in (-0.5, 0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="expected a probability in"):
            predict_from_scores(scores, level=level)
    with pytest.raises(ValueError, match="n_boot -1"):
        bootstrap_cutoffs(np.zeros((2, 2)), n_boot=-1)
    with pytest.raises(ValueError, match="no month columns"):
        curve_argmin(np.zeros((2, 0)))
    assert month_range([]) == []
    # an infinite token count is no count: the month it names does not move the prediction
    assert (
        predict_cutoff({"a": [("2020-05", 10.0), ("2021-01", math.inf)]}, statistic="mean").month == "2020-05"
    )


def test_bins_samples_and_fractions_take_only_what_they_can_read() -> None:
    assert bin_index(math.nan, LAG_EDGES_DAYS) is None and bin_index(None, LAG_EDGES_DAYS) is None
    assert check_fraction(np.float32(0.5)) == 0.5
    with pytest.raises(ValueError, match="--sample True"):
        check_fraction(True)
    with pytest.raises(ValueError, match="seed -1: expected 0 to"):
        sample_key("x", seed=-1)
