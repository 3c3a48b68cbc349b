"""The experiment summary's arithmetic on hand-made rows: cells, paired contrasts, audit validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from analysis.intervals import wilson_interval
from trainers.grid_summary import (
    audit_validation,
    measurement_noise_months,
    paired_contrasts,
    pooled_zero_exposure,
    summarise_cells,
    summarise_grid,
    write_summary,
)


def _row(world: str, mixture: str, seed: int, gap: int, **extra: object) -> dict:
    return {
        "world": world,
        "mixture": mixture,
        "world_seed": seed,
        "mixture_seed": seed,
        "init_seed": seed,
        "gap_months": gap,
        **extra,
    }


def test_paired_contrasts_pair_by_seeds_and_skip_unpaired_runs() -> None:
    rows = [
        _row("s0", "raw", 0, 10),
        _row("s0", "raw", 1, 20),
        _row("s0", "keep", 0, 1),
        _row("s0", "keep", 1, 3),
        _row("s6", "raw", 0, 16),
        _row("s6", "raw", 1, 24),
        _row("s6", "raw", 2, 99),  # no partner in s0: left out of the pairs
    ]
    contrasts = {
        (c["a"]["world"], c["a"]["mixture"], c["b"]["world"], c["b"]["mixture"]): c
        for c in paired_contrasts(rows)
    }
    within = contrasts[("s0", "keep", "s0", "raw")]["difference"]
    assert within["mean"] == pytest.approx(-13.0) and within["n"] == 2
    across = contrasts[("s6", "raw", "s0", "raw")]["difference"]
    assert across["mean"] == pytest.approx(5.0) and across["n"] == 2
    assert ("s6", "keep", "s0", "keep") not in contrasts  # s6 has no keep runs


def test_contrasts_start_from_the_first_world_with_the_mixture_and_take_differences_of_differences() -> None:
    rows = [_row("history", "raw", s, 30 + s) for s in (0, 1)]
    rows += [_row("s0", "raw", s, g) for s, g in ((0, 10), (1, 20))]
    rows += [_row("s0", "keep", s, g) for s, g in ((0, 1), (1, 3))]
    rows += [_row("s6", "raw", s, g) for s, g in ((0, 16), (1, 24))]
    rows += [_row("s6", "keep", s, g) for s, g in ((0, 2), (1, 2))]
    contrasts = {
        (c["a"]["world"], c["a"]["mixture"], c["b"]["world"], c["b"]["mixture"]): c["difference"]
        for c in paired_contrasts(rows)
    }
    # keep has no history runs: its worlds are compared with s0, the first world that has it
    assert contrasts[("s6", "keep", "s0", "keep")]["mean"] == pytest.approx(0.0)
    # keep - raw: s0 -9 and -17, s6 -14 and -22; so it moves by -5 in both pairs from s0 to s6
    moved = contrasts[("s6", "keep - raw", "s0", "keep - raw")]
    assert (moved["mean"], moved["n"], moved["low"], moved["high"]) == (-5.0, 2, -5.0, -5.0)
    assert contrasts[("s6", "raw", "history", "raw")]["mean"] == pytest.approx(-10.5)  # 16-30, 24-31


def test_audit_validation_error_correlation_and_coverage() -> None:
    rows = [
        {
            "effective_cutoff": "2020-01",
            "cutoff_low": "2019-01",
            "cutoff_high": "2020-03",
            "predicted_cutoff": "2020-03",
            "predicted_low": "2019-12",
            "predicted_high": "2020-05",
        },
        {
            "effective_cutoff": "2021-06",
            "cutoff_low": "2021-05",
            "cutoff_high": "2021-09",
            "predicted_cutoff": "2021-06",
            "predicted_low": "2021-06",
            "predicted_high": "2021-07",
        },
        {
            "effective_cutoff": "2023-01",
            "predicted_cutoff": "2022-09",
            "predicted_low": "2022-08",
            "predicted_high": "2022-12",
        },
        {"effective_cutoff": "2023-01", "predicted_cutoff": None},
    ]
    v = audit_validation(rows)
    assert v["runs"] == 3
    assert v["mean_absolute_error_months"] == pytest.approx((2 + 0 + 4) / 3)
    assert v["mean_error_months"] == pytest.approx((2 + 0 - 4) / 3)
    assert v["rank_correlation"] == pytest.approx(1.0)
    assert v["inside_predicted_interval"] == pytest.approx(2 / 3)
    assert v["inside_interval"] == pytest.approx(list(wilson_interval(2, 3)))
    low, high = v["mean_absolute_error_interval"]  # the bootstrap over runs: means of resampled errors
    assert 0 <= low <= 2 <= high <= 4 and low < high
    assert v["measured_interval_median_months"] == pytest.approx((14 + 4) / 2)  # the third has no interval
    # noise from the intervals as normals: width / 3.92 * sqrt(2 / pi); the third run has no interval
    noise = [14 / 3.919928 * math.sqrt(2 / math.pi), 4 / 3.919928 * math.sqrt(2 / math.pi)]
    assert v["measurement_noise_runs"] == 2 and v["measurement_noise_from_bootstrap"] == 0
    assert v["measurement_noise_months"] == pytest.approx(sum(noise) / 2)
    assert v["mean_absolute_error_same_runs_months"] == pytest.approx((2 + 0) / 2)  # not the third's 4
    assert v["measurement_noise_bootstrap_months"] is None
    rows[0]["cutoff_abs_deviation_months"] = 2.5  # the probe's own bootstrap figure wins over its interval
    assert measurement_noise_months(rows[0]) == 2.5
    v = audit_validation(rows)
    assert v["measurement_noise_from_bootstrap"] == 1 and v["measurement_noise_bootstrap_months"] == 2.5
    assert v["measurement_noise_approximated_months"] == pytest.approx(noise[0])
    rows[1]["cutoff_abs_deviation_months"] = float("nan")  # no figure: the interval's stands in
    assert measurement_noise_months(rows[1]) == pytest.approx(noise[1])
    assert measurement_noise_months(rows[2]) is None
    assert audit_validation([]) == {"runs": 0}


def test_a_correlation_of_two_runs_is_null_in_json_and_a_dash_in_markdown(tmp_path: Path) -> None:
    """Two runs have no rank correlation (NaN); summary.json held `NaN`, which strict JSON readers refuse, and
    summary.md said "nan"."""
    rows = [
        _row("-", "raw", s, g, effective_cutoff=m, predicted_cutoff=p)
        for s, (g, m, p) in enumerate([(30, "2020-01", "2020-03"), (40, "2021-06", "2021-06")])
    ]
    json_path, md_path = write_summary(summarise_grid(rows), tmp_path)
    summary = json.loads(
        json_path.read_text(), parse_constant=lambda name: pytest.fail(f"{name} in summary.json")
    )
    assert (
        summary["audit_validation"]["runs"] == 2 and summary["audit_validation"]["rank_correlation"] is None
    )
    assert "rank correlation -," in md_path.read_text()


def test_cells_and_written_summary(tmp_path: Path) -> None:
    rows = [
        _row("-", "raw", s, g, newest_version_share=0.3, accuracy=0.4, zero_exposure_at_chance=s != 2)
        for s, g in enumerate([30, 40, 50])
    ]
    cells = summarise_cells(rows)
    assert (
        len(cells) == 1 and cells[0]["gaps"] == [30, 40, 50] and cells[0]["zero_exposure_at_chance"] == "2/3"
    )
    json_path, md_path = write_summary(summarise_grid(rows), tmp_path)
    assert json.loads(json_path.read_text())["cells"][0]["gap_months"]["mean"] == 40.0
    assert "| - | raw | 3 | 40.0 [" in md_path.read_text()
    for row, (measured, predicted) in zip(
        rows, [("2020-01", "2020-03"), ("2020-06", "2020-06"), ("2021-01", "2020-12")], strict=True
    ):
        row.update(effective_cutoff=measured, predicted_cutoff=predicted, cutoff_abs_deviation_months=3.0)
    _, md_path = write_summary(summarise_grid(rows), tmp_path)
    text = md_path.read_text()
    assert "3 runs: mean absolute error 1.0 months [" in text and "inside the predicted interval in" in text
    # the same figures per mixture: here one mixture, with the errors 2, 0 and 1
    by_mixture = json.loads(json_path.read_text())["audit_by_mixture"]
    assert [(g["mixture"], g["runs"], g["mean_absolute_error_months"]) for g in by_mixture] == [
        ("raw", 3, 1.0)
    ]
    assert "| raw | 3 | 1.0 [" in text
    assert (
        "by about 3.0 months on average" in text and "(3 of 3 runs; all from the probe's bootstrap)" in text
    )
    assert "The audit's mean absolute error over the same runs is 1.0 months." in text


def test_the_unseen_facts_of_a_cells_runs_are_pooled_against_chance(tmp_path: Path) -> None:
    """Three runs, one of which misses chance: 20 + 30 + 50 of 400 unseen facts right against a chance of
    0.2 is 0.25, 2.5 standard errors (sqrt(0.2 x 0.8 / 400) = 0.02) above it."""
    zero = [(100, 0.20, 0.2, True), (100, 0.30, 0.2, False), (200, 0.25, 0.2, True)]
    rows = [
        _row(
            "-",
            "raw",
            seed,
            40,
            zero_exposure_at_chance=at_chance,
            zero_exposure={"probes": n, "accuracy": accuracy, "chance": chance},
        )
        for seed, (n, accuracy, chance, at_chance) in enumerate(zero)
    ]
    pooled = pooled_zero_exposure(rows)
    assert pooled is not None
    assert (pooled["runs"], pooled["misses"], pooled["probes"]) == (3, 1, 400)
    assert pooled["p_misses"] == pytest.approx(1 - 0.95**3)
    assert (pooled["accuracy"], pooled["chance"], pooled["z"]) == pytest.approx((0.25, 0.2, 2.5))
    assert pooled["interval"] == pytest.approx(list(wilson_interval(100, 400)))
    # unequal chances are weighted by their probes
    rows[2]["zero_exposure"]["chance"] = 0.25
    assert pooled_zero_exposure(rows)["chance"] == pytest.approx((20 + 20 + 50) / 400)
    _, md_path = write_summary(summarise_grid(rows), tmp_path)
    assert "| - | raw | 1/3 | 0.14 | 400 | 0.250 [0.210, 0.295] | 0.225 | +1.2 |" in md_path.read_text()
    assert pooled_zero_exposure([_row("-", "raw", 0, 40, zero_exposure_at_chance=True)]) is None
    rows[0]["zero_exposure_at_chance"] = False  # two misses of three: rarer by chance alone
    assert pooled_zero_exposure(rows)["p_misses"] == pytest.approx(1 - 0.95**3 - 3 * 0.05 * 0.95**2)
    for row in rows:
        row["zero_exposure_at_chance"] = True
    assert pooled_zero_exposure(rows)["p_misses"] == 1.0
    rows[2]["zero_exposure"].update(accuracy=0.195, chance=0.2452)  # 89 of 400 against 89.04 expected
    assert pooled_zero_exposure(rows)["z"] == pytest.approx(-0.0048, abs=1e-4)
    _, md_path = write_summary(summarise_grid(rows), tmp_path)
    assert "| 0.223 | +0.0 |" in md_path.read_text()  # printed +0.0, not -0.0
