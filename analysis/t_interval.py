"""The mean of a figure over replicates (runs of other seeds) with its 95% Student t-interval: how the
experiment summary and its dose-response give every figure's spread. Its own module, outside the probe's
imports, so that a change here does not mark finished runs as made by other code (jobs/run_provenance.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def mean_interval(values: Sequence[float], bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """Mean, 95% t-interval over the values (None with fewer than two) and n; the interval clipped to
    `bounds`, the values' possible range (a share or an accuracy: [0, 1]), where given."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=np.float64)
    if len(x) == 0:
        return {"mean": None, "low": None, "high": None, "n": 0}
    if len(x) == 1:
        return {"mean": float(x[0]), "low": None, "high": None, "n": 1}
    from scipy import stats  # here, not at import: scipy.stats costs every command ~0.5 s to load

    t = float(stats.t.ppf(0.975, len(x) - 1))
    half = t * x.std(ddof=1) / math.sqrt(len(x))
    low, high = float(x.mean() - half), float(x.mean() + half)
    if bounds is not None:
        low, high = max(bounds[0], low), min(bounds[1], high)
    return {"mean": float(x.mean()), "low": low, "high": high, "n": len(x)}
