"""The effective-cutoff curve maths that the probe and the audit's predictor share (analysis/cutoff.py):
the trimmed mean against scipy, and the two callers giving the same curve for the same scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from analysis.cutoff import CurveMethod, bootstrap_abs_deviation, trimmed_mean
from analysis.months import month_name
from analysis.predict import curve_argmin, fit_matrix
from trainers.probes import cutoff_curve


def test_trimmed_mean_exact_and_as_scipy() -> None:
    values = [1000.0, -1000.0, *range(38)]  # 40 values: int(0.025 * 40) = 1 cut from each end
    assert trimmed_mean(values) == 18.5
    assert trimmed_mean([5.0, -100.0, 7.0]) == pytest.approx(-88 / 3)  # under 40 values nothing is cut
    assert trimmed_mean([*range(80), 1e9, 1e9], 0.025) == pytest.approx(np.mean(range(2, 80)))
    scipy_stats = pytest.importorskip("scipy.stats")  # the reference implementation
    rng = np.random.default_rng(0)
    for n in (1, 39, 40, 41, 200, 1001):
        x = rng.standard_cauchy(n)
        assert trimmed_mean(x, 0.025) == pytest.approx(scipy_stats.trim_mean(x, 0.025), rel=1e-12)
    assert np.isnan(trimmed_mean([]))
    with pytest.raises(ValueError, match=r"^trim:"):
        trimmed_mean([1.0], 0.5)


def test_probe_and_predictor_compute_the_same_curve_from_the_same_scores() -> None:
    # The predictor's fit matrix for two resources, fed to the probe as if the scores were NLLs: the curves and
    # the argmin month must be the same numbers, bit for bit (one implementation).
    histograms = {"a": [("2020-01", 300), ("2020-03", 100)], "b": [("2020-02", 50)], "c": [("2020-04", 7)]}
    spans = {
        "a": {"2020-01": "2020-01", "2020-02": "2020-01", "2020-03": "2020-03", "2020-04": "2020-03"},
        "b": {m: m for m in ("2020-01", "2020-02", "2020-03", "2020-04")},
        "c": {"2020-03": "2020-03", "2020-04": "2020-04"},
    }
    raw = {}  # resource -> month -> -fit (the predictor's score before normalisation)
    for resource, by_month in spans.items():
        tokens = dict(histograms[resource])
        total = sum(tokens.values())
        raw[resource] = {m: -tokens.get(start, 0) / total for m, start in by_month.items()}
    resources, months, scores = fit_matrix(histograms, spans)
    best, curve = curve_argmin(scores)
    rows = [(r, m, v) for r in sorted(raw) for m, v in sorted(raw[r].items())]
    nll = pa.table(
        {"resource": [r for r, _, _ in rows], "month": [m for _, m, _ in rows], "nll": [v for *_, v in rows]}
    )
    probe_curve, dropped = cutoff_curve(nll)
    assert dropped == {} and resources == ["a", "b", "c"]
    assert [r["month"] for r in probe_curve] == [month_name(m) for m in months]
    assert [r["score"] for r in probe_curve] == curve.tolist()
    assert min(probe_curve, key=lambda r: r["score"])["month"] == month_name(months[best])


def test_curve_method_refuses_unknown_settings_and_drops_what_says_nothing_about_time() -> None:
    with pytest.raises(ValueError, match=r"^normalisation:"):
        CurveMethod(normalisation="minmax")
    with pytest.raises(ValueError, match=r"^trim:"):
        CurveMethod(trim=0.5)
    method = CurveMethod()
    assert method.normalise(np.array([1.0])) == "single_month"
    assert method.normalise(np.array([2.0, 2.0])) == "constant"
    # equal scores whose float std is not exactly 0 (1.4e-17): dropped too, not z-scored to -1 everywhere
    assert method.normalise(np.array([0.1, 0.1, 0.1])) == "constant"
    assert method.normalise(np.array([3.0, 1.0, 2.0])).tolist() == pytest.approx([1.2247449, -1.2247449, 0.0])
    assert CurveMethod("center").normalise(np.array([2.0, 2.0])).tolist() == [0.0, 0.0]
    assert method.point(np.array([np.nan, np.nan])) is None
    assert method.curve(np.array([[1.0, np.nan], [3.0, np.nan]])).tolist() == [2.0, np.inf]
    assert method.argmin([2.0, 1.0, 1.0]) == 1 and method.argmin([]) is None


def test_normalised_matrix_places_each_score_and_leaves_out_what_the_curve_drops() -> None:
    # e (listed first) and a: z-scored over their months; b: one month only; c: a NaN (no tokens scored);
    # d: constant
    resources = ["e", "e", "a", "a", "b", "c", "c", "d", "d"]
    months = [
        "2020-02",
        "2020-01",
        "2020-03",
        "2020-01",
        "2020-02",
        "2020-01",
        "2020-03",
        "2020-01",
        "2020-02",
    ]
    values = [1.0, 2.0, 5.0, 3.0, 1.0, np.nan, 2.0, 4.0, 4.0]
    kept, axis, matrix, dropped = CurveMethod().normalised_matrix(resources, months, values)
    assert kept == ["a", "e"] and axis == ["2020-01", "2020-02", "2020-03"]
    assert dropped == {"b": "single_month", "c": "no_tokens", "d": "constant"}
    np.testing.assert_array_equal(matrix, [[-1.0, np.nan, 1.0], [1.0, -1.0, np.nan]])
    # the probe's curve over the same rows is this matrix's curve
    nll = pa.table({"resource": resources, "month": months, "nll": values})
    assert [row["score"] for row in cutoff_curve(nll)[0]] == [0.0, -1.0, 1.0]
    assert CurveMethod().curve(matrix).tolist() == [0.0, -1.0, 1.0]


def test_bootstrap_abs_deviation_is_the_mean_distance_in_calendar_months() -> None:
    months = ["2019-11", "2019-12", "2020-01", "2020-03"]  # a gap: columns are not months apart
    samples = np.array([1.0, 2.0, 3.0, np.nan, 1.0])  # NaN: a sample without a cutoff
    # from 2019-12: 0, 1, 3, 0 months -> 1.0
    assert bootstrap_abs_deviation(samples, months, "2019-12") == pytest.approx(1.0)
    assert bootstrap_abs_deviation(samples, months, None) is None
    assert bootstrap_abs_deviation(np.zeros(0), months, "2019-12") is None
    assert bootstrap_abs_deviation(np.array([np.nan]), months, "2019-12") is None
