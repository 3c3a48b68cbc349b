"""`chronomix train`'s table of what the run did: a budget that covers 13% of the mixture said "epochs over
the mixture: 1", and nothing said how many documents the model was given."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from jobs.train import print_run
from trainers.train import TrainResult

RUN = {
    "config": {"preset": "tiny"},
    "parameters": 1000,
    "vocab_size": 512,
    "steps": 16,
    "tokens_seen": 4096,
    "final_loss": 6.5,
    "newest_month": "2023-12",
    "tokens_per_s": None,
    "mfu": None,
    "device_name": "cpu",
    "seconds": 1.0,
}


@pytest.mark.parametrize(
    ("read", "rows", "shown"),
    [
        (26, 198, "26 of 198 rows (13%)"),
        (199, 200, "199 of 200 rows (99%)"),
        (200, 200, "200 of 200 rows (100%)"),
        (396, 198, "396 (2.0 epochs of 198 rows)"),
        (26, None, "26"),  # a run.json from before it counted the mixture's rows
    ],
)
def test_the_table_says_how_much_of_the_mixture_the_model_was_given(
    tmp_path: Path, read: int, rows: int | None, shown: str
) -> None:
    info = {**RUN, "docs_read": read, "epochs": 1, **({"mixture_rows": rows} if rows else {})}
    (tmp_path / "run.json").write_text(json.dumps(info))
    out = io.StringIO()
    print_run(TrainResult(tmp_path, 16, 4096, 6.5, "2023-12", 1.0, True), Console(file=out, width=200))
    line = next(line for line in out.getvalue().splitlines() if "documents trained on" in line)
    assert shown in line and "epochs over the mixture" not in out.getvalue()
