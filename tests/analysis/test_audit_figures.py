"""The audit's pure figures (analysis/): the deterministic sample, bins, months, the weighted median and
the predicted effective cutoff, checked by hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from analysis import bins, months, predict, sample
from jobs.audit import AuditConfig
from jobs.contract import UsageError


def test_sample_key_is_deterministic_uniform_and_seeded() -> None:
    ids = [f"doc-{i}" for i in range(4000)]
    keys = [sample.sample_key(i) for i in ids]
    assert keys == [sample.sample_key(i) for i in ids]
    assert all(0 <= k < 1 for k in keys)
    assert abs(np.mean(np.array(keys) < 0.25) - 0.25) < 0.03  # 4000 draws: 3 sigma is about 0.021
    assert keys != [sample.sample_key(i, seed=1) for i in ids]


def test_in_sample_batch_marks_exactly_the_keys_below_the_fraction() -> None:
    ids = [f"id{i}" for i in range(200)] + [None]
    batch = pa.RecordBatch.from_pydict({"id": pa.array(ids, pa.string()), "text": ["x"] * len(ids)})
    marked = sample.in_sample_batch(batch, 0.3)
    assert marked.schema.names == ["id", "text", sample.IN_SAMPLE]
    expected = [i is not None and sample.sample_key(i) < 0.3 for i in ids]
    assert marked.column(sample.IN_SAMPLE).to_pylist() == expected
    assert sample.in_sample_batch(batch, 1.0).column(sample.IN_SAMPLE).to_pylist() == [
        i is not None for i in ids
    ]


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), "half"])
def test_bad_sample_fraction_is_refused_naming_the_option(bad: object) -> None:
    with pytest.raises(ValueError, match="--sample"):
        sample.check_fraction(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--sample"):
        AuditConfig(sample=bad).check()  # type: ignore[arg-type]


def test_bins_months_and_weighted_median() -> None:
    edges = bins.LAG_EDGES_DAYS
    assert bins.bin_index(-1, edges) is None
    assert [bins.bin_index(v, edges) for v in (0, 1, 6, 7, 30, 31, 365, 366, 3652, 3653, 99999)] == [
        0,
        1,
        1,
        2,
        2,
        3,
        5,
        6,
        8,
        9,
        9,
    ]
    assert len(bins.LAG_LABELS) == len(edges) and len(bins.CLUSTER_SIZE_LABELS) == len(
        bins.CLUSTER_SIZE_EDGES
    )
    assert months.month_name(months.month_index("2019-12")) == "2019-12"
    assert months.months_between("2019-11", "2021-02") == 15
    with pytest.raises(ValueError, match="2019-13"):
        months.month_index("2019-13")
    # weights 1,1,5 on 1,2,3: half of 7 is reached at 3
    assert predict.weighted_median([2, 1, 3], [1, 1, 5]) == 3
    assert predict.weighted_median([1, 2, 3], [3, 1, 1]) == 1
    assert predict.resource_month([5, 7, 9], [1, 4, 4], "mode") == 7  # ties go to the earliest month
    assert predict.resource_month([0, 10], [1, 3], "mean") == 7.5
    assert bins.rate(1, 0) is None and bins.rate(1, 3) == 0.3333


def test_predicted_cutoff_per_resource_and_bootstrap_interval() -> None:
    # Three resources whose token mass sits in 2019-01, 2019-03 and 2020-01: the trimmed mean (nothing is
    # trimmed from 3 values) of months 0, 2 and 12 after 2019-01 is 4.67 -> 2019-06 (rounded half up: 5).
    histograms = {
        "a": [("2019-01", 900), ("2021-01", 100)],
        "b": [("2018-06", 10), ("2019-03", 500), ("2019-04", 20)],
        "c": [("2020-01", 50)],
        "empty": [("2020-01", 0)],
    }
    prediction = predict.predict_cutoff(histograms, n_boot=500, seed=0)
    assert prediction.per_resource == {"a": "2019-01", "b": "2019-03", "c": "2020-01"}
    assert prediction.resources == 3
    assert prediction.month == "2019-06"
    low, high = prediction.interval
    assert months.month_index("2019-01") <= months.month_index(low) <= months.month_index("2019-06")
    assert months.month_index("2019-06") <= months.month_index(high) <= months.month_index("2020-01")
    assert predict.predict_cutoff(histograms, n_boot=500, seed=0).interval == prediction.interval
    assert predict.predict_cutoff({"x": []}).month is None
    with pytest.raises(ValueError, match="statistic"):
        predict.predict_cutoff(histograms, statistic="max")


def test_predicted_cutoff_from_the_probe_curve() -> None:
    # Two resources, months 2020-01..2020-04. Resource a's text changes in 2020-03 (spans: 01, 01, 03, 03);
    # the data holds 300 tokens of its 2020-01 text and 100 of its 2020-03 text. Resource b changes every
    # month; the data holds only its 2020-02 text. Fit (-share): a = -.75, -.75, -.25, -.25 -> z -1, -1, 1, 1;
    # b = 0, -1, 0, 0 -> z = 1/sqrt(3) * (1, -3, 1, 1). Mean curve: 2020-02 is the minimum.
    histograms = {"a": [("2020-01", 300), ("2020-03", 100)], "b": [("2020-02", 50)]}
    spans = {
        "a": {"2020-01": "2020-01", "2020-02": "2020-01", "2020-03": "2020-03", "2020-04": "2020-03"},
        "b": {m: m for m in ("2020-01", "2020-02", "2020-03", "2020-04")},
    }
    resources, month_indices, scores = predict.fit_matrix(histograms, spans)
    assert resources == ["a", "b"] and [months.month_name(m) for m in month_indices] == [
        "2020-01",
        "2020-02",
        "2020-03",
        "2020-04",
    ]
    np.testing.assert_allclose(scores[0], [-1, -1, 1, 1])
    np.testing.assert_allclose(scores[1], np.array([1, -3, 1, 1]) / math.sqrt(3))
    prediction = predict.predict_cutoff(histograms, statistic="curve", spans=spans, n_boot=200)
    assert prediction.month == "2020-02" and prediction.statistic == "curve"
    assert prediction.per_resource == {"a": "2020-01", "b": "2020-02"}
    # Resampling picks a alone (minimum 2020-01), b alone (2020-02) or both (2020-02).
    assert prediction.interval[0] in ("2020-01", "2020-02") and prediction.interval[1] == "2020-02"
    # A resource whose data holds every version equally says nothing about time and is dropped.
    flat = {"c": [("2020-01", 10), ("2020-02", 10)]}
    flat_spans = {"c": {"2020-01": "2020-01", "2020-02": "2020-02"}}
    assert predict.predict_cutoff(flat, statistic="curve", spans=flat_spans).month is None
    with pytest.raises(ValueError, match="spans"):
        predict.predict_cutoff(histograms, statistic="curve")


def test_a_monthly_reference_counts_versions_not_months() -> None:
    """A reference of monthly snapshots repeats each text month after month: `versions_available` counted the
    months (96 for 23 versions), and a corpus holding the newest version was said to lag by the months since
    that version began."""
    from analysis.reference import reference_figures, version_spans

    rows = [("r", f"2020-{m:02d}", "A" if m <= 3 else "B") for m in range(1, 7)]
    spans = version_spans(rows)
    available = {"r": [month for _, month, _ in rows]}
    figures = reference_figures("ref", {("r", "2020-04"): (1, 100)}, available, spans, "curve", n_boot=0)
    resource = figures["resources"][0]
    assert (resource["versions_available"], resource["newest_available"]) == (2, "2020-04")
    assert resource["versions_held"] == ["2020-04"] and resource["months_behind"] == 0
    # without texts (no spans) every month is a version, as before
    plain = reference_figures("ref", {("r", "2020-04"): (1, 100)}, available, None, "median", n_boot=0)
    assert plain["resources"][0]["versions_available"] == 6 and plain["resources"][0]["months_behind"] == 2


def test_month_index_takes_exactly_four_ascii_digits_a_dash_and_two() -> None:
    """A trailing newline and full-width digits passed ('$' matches before a final newline; \\d is Unicode)."""
    from analysis.months import month_index

    assert month_index("2024-01") == 2024 * 12 and month_index("0001-12") == 23
    for bad in ("2024-01\n", "２０２４-01", "2024-1", " 2024-01", "2024-13", "2024-00"):
        with pytest.raises(ValueError, match="expected YYYY-MM"):
            month_index(bad)


def test_a_text_in_effect_again_after_a_revert_is_current() -> None:
    """A, B, A: a corpus holding A was said to be a month behind the newest version (B), where A is the
    text in effect now."""
    from analysis.reference import reference_figures, version_spans

    rows = [("r", "2023-01", "A"), ("r", "2023-02", "B"), ("r", "2023-03", "A")]
    spans = version_spans(rows)
    available = {"r": [month for _, month, _ in rows]}

    def held(month: str) -> dict:
        figures = reference_figures("ref", {("r", month): (1, 100)}, available, spans, "curve", n_boot=0)
        return figures["resources"][0]

    current = held("2023-01")  # the matcher dates a copy of A to A's first month
    assert (current["newest_available"], current["months_behind"]) == ("2023-03", 0)
    assert current["versions_available"] == 2
    assert held("2023-02")["months_behind"] == 1  # B, replaced by A again a month later


def test_mode_adds_up_a_month_given_twice_and_scores_skip_what_is_not_finite() -> None:
    """The mode took the single heaviest row (2023-01's 3 over 2023-05's 2 + 2), and one infinite score
    failed the prediction with 'All-NaN slice encountered'."""
    jan, may = months.month_index("2023-01"), months.month_index("2023-05")
    assert predict.resource_month([jan, may, may], [3, 2, 2], "mode") == may
    assert predict.resource_month([jan, may], [2, 2], "mode") == jan  # a tie: the earliest
    scores = {
        "r1": {"2023-01": 1.0, "2023-02": math.inf, "2023-03": 0.5},
        "r2": {"2023-01": 2.0, "2023-02": 1.0, "2023-03": 3.0},
        "r3": {"2023-01": 2.0, "2023-02": 1.5, "2023-03": 3.5},
    }
    finite = {**scores, "r1": {"2023-01": 1.0, "2023-03": 0.5}}
    assert (
        predict.predict_from_scores(scores, n_boot=0).month
        == predict.predict_from_scores(finite, n_boot=0).month
    )


def test_most_held_month_sums_a_month_given_twice_and_takes_the_earliest_on_a_tie() -> None:
    from analysis.reference import most_held_month, reference_figures

    assert most_held_month([("2020-04", 30), ("2019-01", 50), ("2020-04", 30)]) == "2020-04"
    assert most_held_month([("2021-01", 40), ("2019-06", 40)]) == "2019-06"
    assert most_held_month([("2021-01", 0)]) is None
    # median: the predictor's month is the token-weighted median, the most-held month is apart from it
    per_version = {("r", "2019-01"): (1, 40), ("r", "2020-01"): (1, 35), ("r", "2021-01"): (1, 25)}
    available = {"r": ["2019-01", "2020-01", "2021-01"]}
    figures = reference_figures("ref", per_version, available, None, "median", n_boot=0)
    (row,) = figures["resources"]
    assert (row["most_held_month"], row["predicted_month"]) == ("2019-01", "2020-01")


def test_the_ngram_prediction_is_one_for_the_audit_and_the_experiment() -> None:
    """Both take their prediction from analysis.reference.with_ngram_prediction: the n-gram fit's month as
    the cutoff and as each resource's own month, the token shares' kept aside; none where nothing matched."""
    from analysis.reference import reference_figures, with_ngram_prediction

    available = {"r": ["2020-01", "2020-07"], "s": ["2020-01", "2020-07"]}
    held = {("r", "2020-01"): (3, 300), ("s", "2020-01"): (1, 100)}
    # the n-grams fit July best for both resources, though the copies held are January's
    scores = {"r": {"2020-01": 2.0, "2020-07": 1.0}, "s": {"2020-01": 2.0, "2020-07": 1.0}}
    figures = reference_figures("ref", held, available, None, "median", n_boot=0)
    out = with_ngram_prediction(figures, scores, n_boot=0)
    assert out["token_share_cutoff"]["month"] == "2020-01" == figures["predicted_cutoff"]["month"]
    assert out["predicted_cutoff"]["month"] == "2020-07"
    assert [(r["resource"], r["predicted_month"], r["most_held_month"]) for r in out["resources"]] == [
        ("r", "2020-07", "2020-01"),
        ("s", "2020-07", "2020-01"),
    ]
    unmatched = with_ngram_prediction(
        reference_figures("ref", {}, available, None, "median", n_boot=0), scores
    )
    assert unmatched["predicted_cutoff"]["month"] is None
    assert unmatched["predicted_cutoff"]["unmatched_fit"]["month"] == "2020-07"
