"""`chronomix probe`'s checks of --probes and --output, before any model loads: document Parquet given as
dated versions failed with a TypeError once scored, and the results were written into any existing folder,
even the probes' own."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from jobs import progress
from jobs.probe import ProbeParams, check
from tests.jobs.cli_helpers import _refused

NEEDS = "needs columns text, month or created, and resource, url or id"


def _inputs(tmp_path: Path) -> dict[str, Path]:
    """A run (run.json naming its mixture), a world's probes/ (world.yaml beside it), and undated document
    Parquet with _stats.json, as a stage writes it: what the checks read, a model's config.json but no
    weights."""
    run, mixture, world, documents = (tmp_path / n for n in ("run1", "mixok", "w", "dd"))
    for folder in (run, mixture, world / "probes", documents):
        folder.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"mixture": str(mixture)}))
    (run / "config.json").write_text("{}")  # the checks ask only that a model is there
    pq.write_table(pa.table({"id": ["m0"], "text": ["x"]}), mixture / "part-00000.parquet")
    (world / "world.yaml").write_text("seed: 0\n")
    versions = pa.table({"resource": ["r", "r"], "month": ["2020-01", "2020-02"], "text": ["a", "b"]})
    pq.write_table(versions, world / "probes" / "temporal.parquet")
    undated = pa.table(
        {
            "id": ["d0"],
            "url": ["https://a/"],
            "text": ["t"],
            "created": pa.nulls(1, pa.timestamp("us", "UTC")),
        }
    )
    pq.write_table(undated, documents / "part-0.parquet")
    (documents / "_stats.json").write_text("{}")
    return {"run": run, "mixture": mixture, "world": world, "dd": documents}


def test_document_parquet_is_no_table_of_dated_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`probe run1 --probes dd` (never dated: created all null) exited 1 with `TypeError: unsupported operand
    type(s) for -: 'int' and 'NoneType'`; Parquet without the columns, and a file that is no Parquet, too."""
    paths = _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    err = _refused(["probe", "run1", "--probes", "dd", "-o", "out"], capsys)
    assert err == (
        "chronomix: error: Invalid value for --probes: 'dd': not a table of dated versions (no row has both "
        f"created and url set; {NEEDS})"
    )
    pq.write_table(pa.table({"id": ["d0"], "text": ["t"]}), tmp_path / "nodates.parquet")
    err = _refused(["probe", "run1", "--probes", "nodates.parquet", "-o", "out"], capsys)
    assert err == (
        "chronomix: error: Invalid value for --probes: 'nodates.parquet': not a table of dated versions "
        f"({NEEDS}; it has id, text)"
    )
    (tmp_path / "notes.txt").write_text("not parquet")
    err = _refused(["probe", "run1", "--probes", "notes.txt", "-o", "out"], capsys)
    assert err.startswith(
        "chronomix: error: Invalid value for --probes: 'notes.txt': not a table of dated versions (not "
        "readable Parquet: "
    ), err
    assert not (tmp_path / "out").exists() and paths["run"].exists()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "w/probes",
            "'w/probes' holds the --probes input 'w/probes/temporal.parquet'",
        ),
        ("w/probes/out", "'w/probes/out' lies inside the world of --probes 'w'"),
        ("mixok", "'mixok' is the mixture '{tmp}/mixok'"),
        ("run1", "'run1' is the run 'run1'"),
        (".", "'.' holds the run 'run1'"),
    ],
)
def test_an_output_that_is_holds_or_lies_inside_an_input_is_refused(
    output: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`-o w/probes` with `--probes w/probes/temporal.parquet` exited 0 with version_nll.parquet, CSVs and
    PNGs inside the probes folder; `-o mixok` (the run's own mixture) was taken too."""
    paths = _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    err = _refused(["probe", "run1", "--probes", "w/probes/temporal.parquet", "-o", output], capsys)
    assert err == (
        f"chronomix: error: Invalid value for --output: {expected.format(tmp=tmp_path)}: writing there would mix "
        "with or replace an input; choose another folder"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert paths["run"].is_dir()


def test_an_existing_folder_of_other_files_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _inputs(tmp_path)
    monkeypatch.chdir(tmp_path)
    err = _refused(["probe", "run1", "--probes", "w", "-o", "dd"], capsys)
    assert err == (
        "chronomix: error: Invalid value for --output: 'dd' is a folder of other files, not an earlier probe's "
        "results: choose a new or empty folder"
    )
    assert sorted(p.name for p in (tmp_path / "dd").iterdir()) == ["_stats.json", "part-0.parquet"]


def test_a_new_empty_or_earlier_probe_folder_passes_the_checks(tmp_path: Path) -> None:
    """What stays allowed: RUN/probe (the default, inside the run), a new or empty folder, and an earlier
    probe's folder (a pipeline's marker and the experiment's prediction beside its results) with --overwrite;
    without it an earlier probe's results are refused as before."""
    paths = _inputs(tmp_path)
    run, probes = str(paths["run"]), str(paths["world"])
    assert check(ProbeParams(run=run, probes=probes)).output == paths["run"] / "probe"
    (tmp_path / "empty").mkdir()
    for output in ("new", "empty"):
        assert check(ProbeParams(run=run, probes=probes, output=str(tmp_path / output))).versions is not None
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    for name in ("probe.json", "cutoff_curve.csv", "_complete.json", "prediction.json"):
        (earlier / name).write_text("{}")
    assert check(ProbeParams(run=run, probes=probes, output=str(earlier), overwrite=True)).output == earlier
    with pytest.raises(ValueError, match="already holds probe results"):
        check(ProbeParams(run=run, probes=probes, output=str(earlier)))


def test_a_run_json_older_than_run_format_2_is_refused_where_it_would_count_exposure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run.json's docs_read counted the rows read ahead before run format 2 (198 of a 198-row mixture where
    the model was given 26): probing such a run put 29 unseen facts in the seen buckets, without a word. A
    relative mixture path marks format 1 for certain; an absolute one without a format is said uncertain."""
    paths = _inputs(tmp_path)
    run, probes = paths["run"], str(paths["world"])
    monkeypatch.chdir(tmp_path)
    old = {"mixture": "mixok", "docs_read": 198}
    (run / "run.json").write_text(json.dumps(old))
    assert check(ProbeParams(run=str(run), probes=probes)).facts is None  # no fact probes: nothing counted
    pq.write_table(pa.table({"probe_id": ["fact:a/b/0"]}), paths["world"] / "probes" / "facts.parquet")
    with pytest.raises(ValueError, match=r"run1/run.json was written by a chronomix older than run format 2"):
        check(ProbeParams(run=str(run), probes=probes))
    for run_format, warned in ((None, True), (2, False)):
        stated = {"run_format": run_format} if run_format else {}
        (run / "run.json").write_text(json.dumps({**old, "mixture": str(paths["mixture"]), **stated}))
        said_to = io.StringIO()
        with progress.reporting(Console(file=said_to, width=300), live=False):
            assert check(ProbeParams(run=str(run), probes=probes)).facts is not None
        said = " ".join(said_to.getvalue().split())
        assert ("names no run format: trained before 5dd3c9d" in said) == warned
