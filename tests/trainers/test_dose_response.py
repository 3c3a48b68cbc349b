"""The grid summary's dose-response: slopes of a replicate's gap over its worlds' stale shares, on hand-made
rows whose slopes are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.trainers.test_grid_summary import _row as grid_row
from trainers.dose_response import dose_response, dose_response_lines
from trainers.grid_summary import summarise_grid, write_summary

SHARES = {"stale_00": 0.0, "stale_20": 0.2, "stale_40": 0.4, "stale_60": 0.6}
PLAIN = json.dumps({"preset": "tiny"})


def _row(world: str, seed: int, gap: float | None, mixture: str = "raw", **extra: object) -> dict:
    settings = {"stale_share": SHARES.get(world, 0.0), "world_settings": PLAIN, **extra}
    return grid_row(world, mixture, seed, gap, run=f"{world}-w{seed}/{mixture}-s{seed}", **settings)


def test_each_replicates_slope_is_its_least_squares_line_per_ten_points() -> None:
    # replicate s: gap = 40 + s + (10 * s) * share, so its slope is s months per 10 points of share
    rows = [_row(w, s, 40 + s + 10 * s * share) for s in range(1, 6) for w, share in SHARES.items()]
    (family,) = dose_response(rows)
    assert family["mixture"] == "raw" and family["field"] == "gap_months"
    assert family["worlds"] == ["stale_00", "stale_20", "stale_40", "stale_60"]
    assert family["shares"] == [0.0, 0.2, 0.4, 0.6]
    assert family["slopes"] == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])
    slope = family["slope_per_10_points"]
    assert slope["mean"] == pytest.approx(3.0) and slope["n"] == 5
    # t(0.975, 4) = 2.776; the slopes' standard deviation is sqrt(2.5)
    assert slope["high"] - slope["mean"] == pytest.approx(2.776445 * (2.5**0.5) / 5**0.5, rel=1e-5)
    assert family["positive"] == 5


def test_worlds_that_differ_in_more_than_their_share_are_families_of_their_own() -> None:
    history = json.dumps({"preset": "tiny", "recrawl_unchanged": False})
    rows = [_row(w, s, 50 - 10 * share) for s in range(3) for w, share in SHARES.items()]
    rows += [_row("history_only", s, 99.0, world_settings=history) for s in range(3)]  # one share alone
    rows += [_row(w, s, 7.0, mixture="keep_newest") for s in range(3) for w in ("stale_00", "stale_60")]
    rows += [_row("stale_20", 9, None), _row("stale_40", 9, float("nan"))]  # no gap: left out
    rows += [_row("stale_00", 8, 1.0), _row("stale_60", 8, 2.0)]  # two shares: no slope of its own
    (family,) = dose_response(rows)  # keep_newest has two shares, history_only one: no family
    assert family["worlds"] == ["stale_00", "stale_20", "stale_40", "stale_60"]
    assert family["slopes"] == pytest.approx([-1.0, -1.0, -1.0])
    assert family["slope_per_10_points"]["low"] == pytest.approx(-1.0)
    assert family["positive"] == 0


def test_rows_without_worlds_or_shares_give_no_section() -> None:
    rows = [{**_row("stale_00", s, 10.0), "stale_share": None} for s in range(3)]
    assert dose_response(rows) == [] and dose_response_lines([]) == []


def test_the_written_summary_holds_both_fields_slopes(tmp_path: Path) -> None:
    rows = []
    for s in range(4):
        for w, share in SHARES.items():
            rows.append(_row(w, s, 30 + 20 * share + s, newest_version_share=0.05 - 0.01 * share))
    summary = summarise_grid(rows)
    fields = [(f["field"], f["mixture"]) for f in summary["dose_response"]]
    assert fields == [("gap_months", "raw"), ("newest_version_share", "raw")]
    _, md = write_summary(summary, tmp_path)
    text = md.read_text()
    assert "## Dose response" in text
    assert (
        "| gap_months | raw | stale_00 (0), stale_20 (0.2), stale_40 (0.4), stale_60 (0.6) | +2.0 [+2.0, +2.0] "
        "| 4 | 4/4 |" in text
    )
    assert (
        "| newest_version_share | raw | stale_00 (0), stale_20 (0.2), stale_40 (0.4), stale_60 (0.6) | -0.001"
        in text
    )
    assert json.loads((tmp_path / "summary.json").read_text())["dose_response"][0]["positive"] == 4


def test_two_worlds_of_one_family_at_one_share_are_two_points_of_each_line() -> None:
    # "default" is stale_40's config again (same settings, share 0.4): its gaps are points, not overwrites
    rows = [_row(w, s, 10 * share) for s in range(3) for w, share in SHARES.items()]
    rows += [_row("default", s, 4.0 + 6.0 * (s % 2), stale_share=0.4) for s in range(3)]
    (family,) = dose_response(rows)
    assert family["worlds"] == ["stale_00", "stale_20", "default", "stale_40", "stale_60"]
    assert family["shares"] == [0.0, 0.2, 0.4, 0.4, 0.6]
    assert family["slopes"][0] == pytest.approx(1.0)  # replicate 0's extra point (0.4, 4) is on its line
    # replicate 1's (0.4, 10) sits 6 above it: least squares over the five points gives 2.56 / 0.208 per unit of
    # share (x mean 0.32, sum of squares 0.208), 16/13 per 10 points
    assert family["slopes"][1] == pytest.approx(16 / 13)
