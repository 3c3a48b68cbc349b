"""Scoring `created` against known content times, on hand-made values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dating.evaluate import created_scores

T = datetime(2020, 5, 3, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_errors_windows_and_bounds_against_the_true_times() -> None:
    created = [T, T + 10 * DAY, T - 40 * DAY, None]
    lower = [T - DAY, None, T - 50 * DAY, T + 3 * DAY]  # the last one's bounds miss the truth
    upper = [T, T + 20 * DAY, T - 30 * DAY, None]
    scores = created_scores(created, lower, upper, [T, T, T, T])
    assert scores.documents == 4 and scores.undated == 1
    assert scores.within_one_day == 0.25  # the undated one counts as a miss
    assert scores.within_31_days == 0.5
    assert scores.median_abs_error_days == 10.0
    assert scores.mean_error_days == pytest.approx(-10.0)
    # the third's upper bound is 30 days early; the fourth's lower bound 3 days late (a day of slack only)
    assert scores.inside_bounds == 0.5


def test_a_day_of_slack_on_bounds_and_no_documents() -> None:
    scores = created_scores([T], [T + DAY], [T - DAY], [T])
    assert scores.inside_bounds == 1.0 and scores.within_one_day == 1.0
    empty = created_scores([], [], [], [])
    assert empty.documents == 0 and empty.inside_bounds == 0.0
    with pytest.raises(ValueError, match=r"argument 2 is shorter than argument 1"):  # no bounds for one
        created_scores([T], [], [], [T])
    with pytest.raises(ValueError, match=r"argument 4 is longer than arguments 1-3"):  # a truth too many
        created_scores([T], [None], [None], [T, T])
    with pytest.raises(ValueError, match="true content time"):
        created_scores([T], [None], [None], [None])
