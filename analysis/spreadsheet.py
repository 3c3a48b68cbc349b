"""CSV files that a spreadsheet opens as data: a text cell that would start a formula is written as text.

Resource names come from probe and reference tables (page titles, URLs, downloaded references): a name such
as `=HYPERLINK("http://...")` or `+cmd|' /C calc'!A0` was written as is into cutoff_resources.csv, and a
spreadsheet runs it. Following OWASP's advice on CSV injection, such a cell gets a leading apostrophe, which
spreadsheets show as text and do not display.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """`value`, or, for a text that a spreadsheet would read as a formula, that text after an apostrophe
    (numbers, and a text that reads as one such as "-0.5", are kept)."""
    if not isinstance(value, str) or len(value) < 2 or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def write_csv(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Write `rows` (the `columns` of each, in that order) as a CSV file with a header, every text cell
    spreadsheet_safe."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows({c: spreadsheet_safe(row.get(c)) for c in columns} for row in rows)
