"""The audit's arguments refused before Spark starts, with exit status 2 and one line naming them as given: a
report path that cannot be made, a probe.json that is not a probe's; and an earlier report in an input
folder, whose files are bookkeeping, not data. Each was found only after the Spark work, or read as input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.audit import AuditParams, check
from jobs.audit_checks import REPORT_FILES
from tests.jobs.cli_helpers import _refused as refused_line

WORDS = "the council met again to discuss the budget for the coming year"


def _dataset(tmp_path: Path) -> Path:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "a", "text": WORDS}) + "\n")
    return path


def _refused(argv: list[str], capsys) -> str:
    err = refused_line(argv, capsys)  # exit 2, one line
    assert ".work-" not in err, err  # the user's path, not the hidden work folder
    return err


def test_a_report_path_that_cannot_be_made_is_refused_before_spark(
    tmp_path: Path, capsys, no_spark: None, monkeypatch
) -> None:
    """`-o afile.txt/sub` (afile.txt a file) and `-o /proc/rep` failed only after Spark started (~14 s),
    naming the hidden `.sub.work-...` folder."""
    data = _dataset(tmp_path)
    (tmp_path / "afile.txt").write_text("x")
    monkeypatch.chdir(tmp_path)
    err = _refused(["audit", str(data), "-o", "afile.txt/sub"], capsys)
    assert "--output 'afile.txt/sub'" in err and "is a file" in err, err
    err = _refused(["audit", str(data), "-o", "/proc/rep"], capsys)
    assert "--output '/proc/rep': cannot be made in '/proc'" in err, err
    err = _refused(["audit", str(data), "-o", "rep", "--work", "afile.txt/w"], capsys)
    assert "--work 'afile.txt/w'" in err, err
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize(
    ("probe", "needle"),
    [
        (
            {"cutoff": {"effective_cutoff": "March 2017"}},
            "cutoff.effective_cutoff 'March 2017' is not a month",
        ),
        ([{"cutoff": {"effective_cutoff": "2017-03"}}], "holds no cutoff.effective_cutoff"),
        ({"cutoff": "2017-03"}, "holds no cutoff.effective_cutoff"),
        ({"cutoff": {"effective_cutoff": "2017-03"}, "newest_month": "2017"}, "newest_month '2017'"),
        ({"cutoff": {"effective_cutoff": "2017-03", "gap_months": "4"}}, "cutoff.gap_months '4'"),
    ],
)
def test_a_bad_probe_json_is_refused_before_spark(
    tmp_path: Path, capsys, no_spark: None, probe: object, needle: str
) -> None:
    """A probe.json whose cutoff is no month, or that is a list, passed the check: the audit ran its Spark
    work, then failed with exit 1 (`ValueError: month 'March 2017'`, `AttributeError: 'list' object ...`)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "probe.json").write_text(json.dumps(probe))
    err = _refused(["audit", str(_dataset(tmp_path)), "-o", str(tmp_path / "r"), "--run", str(run)], capsys)
    assert err.startswith("chronomix: error: --run") and str(run / "probe.json") in err and needle in err, err


def test_an_earlier_report_in_an_input_folder_is_not_data(tmp_path: Path) -> None:
    """A folder holding an earlier audit report: its summary.json was an `empty_text` reject and its PNGs
    and report.html `unknown_format` spans. A summary.json of the user's, without report.html, is data."""
    folder = tmp_path / "in"
    (folder / "old").mkdir(parents=True)
    (folder / "data.jsonl").write_text(json.dumps({"id": "a", "text": WORDS}) + "\n")
    for name in REPORT_FILES:
        (folder / "old" / name).write_bytes(b"{}" if name.endswith(".json") else b"\x89PNG")
    (folder / "other").mkdir()
    (folder / "other" / "summary.json").write_text(json.dumps({"id": "b", "text": WORDS}))
    files = check(AuditParams(input=[str(folder)], output=str(tmp_path / "r"))).files
    assert sorted(Path(f.uri).relative_to(folder).as_posix() for f in files) == [
        "data.jsonl",
        "other/summary.json",
    ]
    # named one by one, a report's file is what the user asked for
    named = str(folder / "old" / "summary.json")
    assert [f.uri for f in check(AuditParams(input=[named], output=str(tmp_path / "r"))).files] == [named]
