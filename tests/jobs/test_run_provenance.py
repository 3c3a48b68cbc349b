"""An experiment continued after an upgrade names the runs other code trained or probed, in its rows and at
the top of its summary: a redefined figure (the newest-version share) set beside new ones flipped a paired
contrast's sign without a word."""

from __future__ import annotations

from pathlib import Path

from jobs.registry import stage
from jobs.run_provenance import runs_of_other_code
from jobs.runner import stage_code, write_marker
from trainers.grid_summary import write_summary


def _finished(run_dir: Path, train_code: str | None, probe_code: str | None) -> Path:
    """A run folder whose train and probe stages finished under the given code versions (None: no marker,
    "": a marker from before markers named their code)."""
    for folder, code in ((run_dir, train_code), (run_dir / "probe", probe_code)):
        if code is not None:
            write_marker(str(folder), "fingerprint", {}, 1.0, code=code)
    return run_dir


def test_runs_trained_or_probed_by_other_code_are_named(tmp_path: Path) -> None:
    train, probe = stage_code(stage("train")), stage_code(stage("probe"))
    runs = {
        "now-s0": _finished(tmp_path / "a", train, probe),
        "old_probe-s0": _finished(tmp_path / "b", train, "0123456789ab"),
        "old_model-s0": _finished(tmp_path / "c", "0123456789ab", probe),
        "before_codes-s0": _finished(tmp_path / "d", "", ""),
        "not_finished-s0": _finished(tmp_path / "e", None, None),
    }
    assert runs_of_other_code(runs) == ["before_codes-s0", "old_model-s0", "old_probe-s0"]


def test_the_summary_names_them_first(tmp_path: Path) -> None:
    summary = {"runs_of_other_code": ["raw-s0"], "cells": [], "contrasts": [], "audit_validation": {}}
    write_summary(summary, tmp_path)
    lines = (tmp_path / "summary.md").read_text().splitlines()
    assert lines[2].startswith("**1 of the runs below were trained or probed by other chronomix code**")
    assert "(raw-s0)" in lines[2]
    write_summary({**summary, "runs_of_other_code": []}, tmp_path)
    assert "other chronomix code" not in (tmp_path / "summary.md").read_text()
