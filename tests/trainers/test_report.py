"""The grid's tables: every cell printed as what it is."""

from __future__ import annotations

import csv
from pathlib import Path

from trainers.report import BASE_COLUMNS, write_table


def test_table_cells_print_booleans_as_words_and_numbers_as_numbers(tmp_path: Path) -> None:
    rows = [
        {
            "run": "raw-s0",
            "tokens": 1501184,
            "gap_months": 33,
            "accuracy": 0.229,
            "zero_exposure_at_chance": False,
        },
        {"run": "keep_newest-s0", "tokens": 12, "gap_months": 0, "zero_exposure_at_chance": True},
    ]
    md, table = write_table(rows, tmp_path)
    header, _, *cells = (line.strip("|").split(" | ") for line in md.read_text().splitlines())
    assert [c.strip() for c in header] == BASE_COLUMNS
    printed = [dict(zip(BASE_COLUMNS, (c.strip() for c in row), strict=True)) for row in cells]
    assert printed[0]["zero_exposure_at_chance"] == "no" and printed[1]["zero_exposure_at_chance"] == "yes"
    assert (printed[0]["tokens"], printed[0]["gap_months"], printed[0]["accuracy"]) == (
        "1,501,184",
        "33",
        "0.229",
    )
    assert printed[1]["gap_months"] == "0" and printed[1]["accuracy"] == "-"
    with table.open() as handle:  # the CSV keeps Python's own spelling, for readers that parse it
        assert [r["zero_exposure_at_chance"] for r in csv.DictReader(handle)] == ["False", "True"]
