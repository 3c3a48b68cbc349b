"""Dating scored against known content times: how far `created` sits from when the content it holds was
written, and whether that time lies within the document's bounds. Used by bench/dating_world.py on the
generated world's truth (`world/truth/documents.parquet`'s `content_time`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DAY = timedelta(days=1)


@dataclass(frozen=True)
class CreatedScores:
    """`created` against the true content time, over `documents` (those with a true time)."""

    documents: int
    undated: int  # no `created` at all
    within_one_day: float  # share within a day either side (a date without its time, time zones)
    within_31_days: float
    median_abs_error_days: float  # over the dated ones
    mean_error_days: float  # signed: > 0 where `created` is later than the content
    inside_bounds: float  # share whose true time lies within [date_lower, date_upper], a day of slack


def created_scores(
    created: Sequence[datetime | None],
    lower: Sequence[datetime | None],
    upper: Sequence[datetime | None],
    truth: Sequence[datetime],
) -> CreatedScores:
    """Scores of `created` (and the bounds) against each document's true content time. An open bound (None)
    holds every time on its side; bounds get a day of slack, as a date known to the day does."""
    if any(true is None for true in truth):
        raise ValueError("truth: every document scored needs a true content time (soft-404s have none)")
    n = len(truth)
    if not n:
        return CreatedScores(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0)
    errors: list[float] = []  # days
    inside = 0
    for made, low, high, true in zip(created, lower, upper, truth, strict=True):
        if made is not None:
            errors.append((made - true) / DAY)
        inside += (low is None or low - DAY <= true) and (high is None or true <= high + DAY)
    return CreatedScores(
        documents=n,
        undated=n - len(errors),
        within_one_day=sum(abs(e) <= 1 for e in errors) / n,
        within_31_days=sum(abs(e) <= 31 for e in errors) / n,
        median_abs_error_days=statistics.median(abs(e) for e in errors) if errors else 0.0,
        mean_error_days=statistics.fmean(errors) if errors else 0.0,
        inside_bounds=inside / n,
    )
