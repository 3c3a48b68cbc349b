"""Calendar months as `YYYY-MM` strings and as integer indices (months since 0000-01), so that month
differences are integer subtractions. One validation rule for the whole project: exactly four digits, a dash,
two digits, month 01-12."""

from __future__ import annotations

import re
from collections.abc import Sequence

# matched from the start; \Z, not $, so that a final newline does not pass
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})\Z", re.ASCII)


def month_index(month: str) -> int:
    """'YYYY-MM' -> months since 0000-01 (consecutive months differ by 1); ValueError naming the value."""
    match = MONTH_PATTERN.match(month) if isinstance(month, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"month {month!r}: expected YYYY-MM")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_name(index: int) -> str:
    """Months since 0000-01 -> 'YYYY-MM' (the inverse of `month_index`)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(earlier: str, later: str) -> int:
    """`later` minus `earlier`, in months."""
    return month_index(later) - month_index(earlier)


def month_range(months: Sequence[str]) -> list[str]:
    """Every month from the earliest to the latest of `months`, in order (gaps filled in); none for none."""
    indices = [month_index(m) for m in months]
    return [month_name(i) for i in range(min(indices), max(indices) + 1)] if indices else []
