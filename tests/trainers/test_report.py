"""The grid's tables: every cell printed as what it is."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from trainers.report import BASE_COLUMNS, summarise_run, write_report, write_table


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


def test_a_run_whose_json_cannot_be_read_is_named(tmp_path: Path) -> None:
    """A probe.json cut short aborted a grid's report with a bare JSONDecodeError naming no file."""
    run, probe = tmp_path / "raw-s0", tmp_path / "raw-s0" / "probe"
    probe.mkdir(parents=True)
    info = {"mixture": "/m/raw-s0", "config": {"seed": 3}, "tokens_seen": 1000}
    (run / "run.json").write_text(json.dumps(info))
    (probe / "probe.json").write_text(json.dumps({"cutoff": {"effective_cutoff": "2020-04"}}))
    row = summarise_run(run)
    assert (row["mixture"], row["seed"], row["effective_cutoff"]) == ("raw-s0", 3, "2020-04")
    assert row["zero_exposure"] is None  # no long-tail probe
    assert row["predicted_cutoff"] is None  # no prediction.json: nothing predicted
    for path, text in (
        (probe / "probe.json", '{"cutoff": {"eff'),
        (probe / "prediction.json", "[1, 2]"),
        (run / "run.json", ""),
    ):
        good = path.read_text() if path.exists() else None
        path.write_text(text)
        said = f"^{re.escape(str(path))}: (not readable JSON|expected a JSON object)"
        with pytest.raises(ValueError, match=said):
            summarise_run(run)
        if good is not None:
            path.write_text(good)  # one broken file at a time


def test_a_report_of_no_curves_leaves_no_earlier_plot(tmp_path: Path) -> None:
    """A --finished-only report that left every run out kept the last report's cutoff_curves.png, a plot of
    runs its table no longer holds."""
    probe = tmp_path / "raw-s0" / "probe"
    probe.mkdir(parents=True)
    info = {"mixture": "/m/raw-s0", "config": {"seed": 0}, "tokens_seen": 10}
    (probe.parent / "run.json").write_text(json.dumps(info))
    (probe / "cutoff_curve.csv").write_text("month,score\n2020-01,0.5\n2020-02,-0.5\n")
    report = write_report({"raw-s0": probe.parent}, tmp_path / "out")
    assert report.paths["plot"] == tmp_path / "out" / "cutoff_curves.png" and report.paths["plot"].is_file()
    report = write_report({}, tmp_path / "out")
    assert "plot" not in report.paths and not (tmp_path / "out" / "cutoff_curves.png").exists()
    assert (tmp_path / "out" / "experiments.md").read_text().count("\n") == 2  # the header alone


def test_a_runs_row_carries_its_unseen_facts_for_the_grid_to_pool(tmp_path: Path) -> None:
    run, probe = tmp_path / "raw-s0", tmp_path / "raw-s0" / "probe"
    probe.mkdir(parents=True)
    info = {"mixture": "/m/raw-s0", "config": {"seed": 0}, "tokens_seen": 10}
    (run / "run.json").write_text(json.dumps(info))
    buckets = [
        {"bucket": "0", "lo": 0, "hi": 0, "n_probes": 1892, "accuracy": 0.21, "chance": 0.207},
        {"bucket": "1", "lo": 1, "hi": 1, "n_probes": 1253, "accuracy": 0.26, "chance": 0.208},
    ]
    (probe / "probe.json").write_text(json.dumps({"longtail": {"buckets": buckets}}))
    row = summarise_run(run)
    assert row["zero_exposure"] == {"probes": 1892, "accuracy": 0.21, "chance": 0.207, "interval": None}
    assert (row["acc 0"], row["acc 1"]) == (0.21, 0.26)
    # the probe's 95% intervals travel with the row, for the printed table
    with_intervals = [{**buckets[0], "low": 0.193, "high": 0.229}, buckets[1]]
    longtail = {"buckets": with_intervals, "accuracy": 0.23, "accuracy_interval": [0.22, 0.24]}
    (probe / "probe.json").write_text(json.dumps({"longtail": longtail}))
    row = summarise_run(run)
    assert row["zero_exposure"]["interval"] == (0.193, 0.229)
    assert (row["accuracy"], row["accuracy_low"], row["accuracy_high"]) == (0.23, 0.22, 0.24)
    assert row["newest_version_share_interval"] is None  # no cutoff probe
    for damaged_interval in ([0.24, 0.22], [0.2], "0.2,0.3", [0.2, 1.5], [True, 0.3], None):
        longtail = {"buckets": buckets, "accuracy": 0.23, "accuracy_interval": damaged_interval}
        (probe / "probe.json").write_text(json.dumps({"longtail": longtail}))
        row = summarise_run(run)  # an interval that is not two proportions in order is left out, not raised
        assert (row["accuracy_low"], row["accuracy_high"]) == (None, None), damaged_interval
    (probe / "probe.json").write_text(json.dumps({"longtail": {"buckets": buckets}}))
    for damaged in (
        {"n_probes": None},
        {"accuracy": None},
        {"chance": "0.2"},
        {"accuracy": 1.5},
        {"n_probes": 0},
    ):
        probe_json = {"longtail": {"buckets": [{**buckets[0], **damaged}, buckets[1]]}}
        (probe / "probe.json").write_text(json.dumps(probe_json))
        assert summarise_run(run)["zero_exposure"] is None, damaged  # nothing pooled, nothing raised
