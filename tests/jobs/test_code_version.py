"""Which code wrote a stage (jobs/code_version.py), and what a pipeline rerun does with a stage that other
code finished: kept, said in one line with how to rebuild it, and marked in the run's table."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from rich.console import Console

from jobs import progress
from jobs.code_version import PACKAGES, imported_closure
from jobs.runner import MARKER, StageSpec, run_stages
from tests.jobs.test_runner import COPY, CopyParams, _no_spark

ROOT = Path(__file__).resolve().parents[2]


def test_a_stage_s_code_is_its_module_and_what_that_imports_in_turn() -> None:
    ingest = imported_closure("jobs.ingest")
    assert {"jobs.ingest", "jobs.stage", "corpus.warc", "corpus.html_text", "dating.html_meta"} <= ingest
    assert not any(name.startswith(("trainers", "dedup", "world")) for name in ingest)
    train = imported_closure("jobs.train")
    assert any(name.startswith("trainers.") for name in train)
    assert not any(name.startswith(("dating", "dedup")) for name in train)


def _versions(path: Path, modules: list[str]) -> list[str]:
    code = f"from jobs.code_version import code_version; print(*[code_version(m) for m in {modules!r}])"
    done = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(path)}, capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_version_moves_with_the_code_a_stage_runs_and_reads_the_same_from_a_zip(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    modules = ["jobs.ingest", "jobs.train", "jobs.audit"]
    ingest, train, audit = _versions(tree, modules)
    assert len(ingest) == 12 and len({ingest, train, audit}) == 3
    archive = tmp_path / "chronomix.zip"  # what executors and a spark-submit driver import (--py-files)
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in sorted(tree.rglob("*")):
            if file.is_file():
                zipped.write(file, file.relative_to(tree).as_posix())
    assert _versions(archive, modules) == [ingest, train, audit]
    dater = tree / "dating" / "html_meta.py"
    dater.write_text(
        dater.read_text() + "\n# a change to the page dater, which ingest runs and train does not\n"
    )
    moved_ingest, same_train, _ = _versions(tree, modules)
    assert moved_ingest != ingest and same_train == train
    template = tree / "analysis" / "templates" / "report.html.j2"  # a data file of a package audit imports
    template.write_bytes(template.read_bytes() + b"\n")
    assert _versions(tree, modules)[1:] != [train, audit]
    assert _versions(tree, modules)[1] == train


def test_a_stage_finished_by_other_code_is_kept_and_said_with_how_to_rebuild_it(
    tmp_path: Path, capsys
) -> None:
    source = tmp_path / "source.txt"
    source.write_text("abc")
    spec = StageSpec("first", COPY, CopyParams(str(source), str(tmp_path / "first")))
    assert [o.status for o in run_stages([spec], _no_spark)] == ["ran"]
    marker_path = tmp_path / "first" / MARKER
    marker = json.loads(marker_path.read_text())
    fresh = marker["code"]
    assert len(fresh) == 12
    assert [(o.status, o.other_code) for o in run_stages([spec], _no_spark)] == [("skipped", False)]
    for recorded, said in (
        (" 0123456789ab", "code 0123456789ab, this is "),
        (None, "older than code versions"),
    ):
        if recorded is None:
            marker.pop("code")
        else:
            marker["code"] = recorded.strip()
        marker_path.write_text(json.dumps(marker))
        said_to = io.StringIO()
        with progress.reporting(Console(file=said_to, width=300), live=False):
            assert [(o.status, o.other_code) for o in run_stages([spec], _no_spark)] == [("skipped", True)]
        err = " ".join(said_to.getvalue().split())
        assert "first: kept as finished, written by other chronomix code (" in err and said in err
        assert "--from first rebuilds it" in err
        assert (tmp_path / "first" / "copy.txt").read_text() == "abc"  # kept, not rerun
    assert [o.status for o in run_stages([spec], _no_spark, start="first")] == ["ran"]
    assert json.loads(marker_path.read_text())["code"] == fresh  # rebuilt by this code


def test_a_command_without_from_says_how_it_rebuilds_a_stage_other_code_finished(tmp_path: Path) -> None:
    """experiment, train-runs and the audit have no --from: their line named one all the same."""
    from jobs.runner import REMOVED_REBUILDS

    source = tmp_path / "source.txt"
    source.write_text("abc")
    spec = StageSpec("first", COPY, CopyParams(str(source), str(tmp_path / "first")))
    run_stages([spec], _no_spark)
    marker_path = tmp_path / "first" / MARKER
    marker_path.write_text(json.dumps({**json.loads(marker_path.read_text()), "code": "0123456789ab"}))
    said_to = io.StringIO()
    with progress.reporting(Console(file=said_to, width=300), live=False):
        run_stages([spec], _no_spark, rebuild=REMOVED_REBUILDS)
    err = " ".join(said_to.getvalue().split())
    assert (
        f"removing {tmp_path / 'first'} and the outputs made from it makes the same command rebuild them"
        in err
        and "--from" not in err
    )
