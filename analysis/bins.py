"""Histogram bins of the audit's figures (crawl-to-content lag, staleness, cluster sizes) and rates. The
Spark side computes the same bin index as a column expression (`jobs/audit_spark.py`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# Bins (lower edges, in days) of the lag between crawl date and content date and of staleness; the last bin
# is open-ended. Chosen to separate "fresh" (under a month), "this year", and the multi-year lags the Dated
# Data paper found.
LAG_EDGES_DAYS: tuple[int, ...] = (0, 1, 7, 31, 92, 183, 366, 731, 1827, 3653)
LAG_LABELS: tuple[str, ...] = (
    "< 1 day",
    "1-6 days",
    "1-4 weeks",
    "1-3 months",
    "3-6 months",
    "6-12 months",
    "1-2 years",
    "2-5 years",
    "5-10 years",
    "10+ years",
)
# Cluster sizes: 1 (singleton), 2, 3-4, 5-8, ..., powers of two, then open-ended.
CLUSTER_SIZE_EDGES: tuple[int, ...] = (1, 2, 3, 5, 9, 17, 33, 65, 129)
CLUSTER_SIZE_LABELS: tuple[str, ...] = ("1", "2", "3-4", "5-8", "9-16", "17-32", "33-64", "65-128", "129+")


def bin_index(value: float, edges: Sequence[float]) -> int | None:
    """Index of the bin [edges[i], edges[i+1]) holding `value` (the last is open); None below edges[0] and
    for no value (None, NaN)."""
    if value is None or math.isnan(value) or value < edges[0]:
        return None
    index = 0
    for i, edge in enumerate(edges):
        if value >= edge:
            index = i
    return index


def bins_table(
    counts: Mapping[int, int], labels: Sequence[str], key: str = "documents"
) -> list[dict[str, Any]]:
    """[{label, <key>}] for every bin in order, zero where `counts` (bin index -> count) has none."""
    return [{"label": label, key: int(counts.get(i, 0))} for i, label in enumerate(labels)]


def rate(part: int | float, whole: int | float, digits: int = 4) -> float | None:
    """part / whole rounded to `digits`, or None when whole is 0 (a rate of nothing is not 0)."""
    return round(float(part) / float(whole), digits) if whole else None
