"""Helpers of the command-line tests: a document Parquet file for a stage's checks, and the one line a
command is refused with."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.cli import main


def _documents(folder: Path) -> Path:
    """A document Parquet file (what the stages read): enough for their checks, which read no rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"], "lang": ["en"]}), path)
    return path


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line `argv` is refused with (exit 2)."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2, err
    assert err.startswith("chronomix: error: ") and "\n" not in err, err
    return err
