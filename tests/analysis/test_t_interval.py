"""The mean over replicates with its t-interval: exact values and the edges (one value, none, bounds)."""

from __future__ import annotations

import pytest

from analysis.t_interval import mean_interval


def test_mean_interval_is_student_t() -> None:
    stat = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    # mean 3, sd 1.5811, t(4) = 2.776: half-width 1.963
    assert stat["mean"] == 3.0 and stat["n"] == 5
    assert (stat["low"], stat["high"]) == pytest.approx((1.0369, 4.9631), abs=1e-3)
    assert mean_interval([7.0]) == {"mean": 7.0, "low": None, "high": None, "n": 1}
    assert mean_interval([None, float("nan")])["mean"] is None
    # An accuracy of 0.0 in one run and 1.0 in the other gave [-5.85, 6.85]: a share's interval stays in [0, 1].
    both = mean_interval([0.0, 1.0], bounds=(0.0, 1.0))
    assert both["mean"] == 0.5 and (both["low"], both["high"]) == (0.0, 1.0)
    assert mean_interval([0.02, 0.06], bounds=(0.0, 1.0))["low"] == 0.0
