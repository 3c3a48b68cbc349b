"""The terminal summary of a stage run: every count `_stats.json` holds is on it, skipped spans included."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from rich.console import Console

from corpus.stats import StageStats
from jobs import report


def printed(stats: StageStats, monkeypatch: pytest.MonkeyPatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(report, "console", Console(file=out, width=100, color_system=None))
    report.print_stats(stats, "out/ingest")
    return out.getvalue()


def test_skipped_spans_are_on_the_summary_with_where_to_find_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """A truncated file or a file of no known format was counted only in `_stats.json`: the summary said
    nothing, and a user saw no sign of the loss."""
    stats = StageStats(stage="ingest", docs_in=7, docs_out=5, dropped=Counter({"too_large": 2}), files_in=3)
    stats.skip("truncated_gzip", 1, 2_500_000)
    stats.skip("unknown_format", 2, 40)
    text = printed(stats, monkeypatch)
    lines = {" ".join(line.strip("│ ").split()) for line in text.splitlines()}
    assert {"dropped: too_large │ 2", "skipped spans (not records) │ 3"} <= lines, text
    assert {"skipped: truncated_gzip │ 1", "skipped: unknown_format │ 2", "skipped MB │ 2.50"} <= lines, text
    assert 'out/ingest/_stats.json ("skipped")' in text


def test_a_clean_run_shows_no_skipped_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    text = printed(StageStats(stage="date", docs_in=4, docs_out=4), monkeypatch)
    assert "skipped" not in text and "documents out" in text


def test_a_pipeline_s_table_names_what_each_stage_dropped_and_skipped() -> None:
    """`chronomix run` showed documents in and out only: the reasons were in _stats.json alone."""
    from jobs.run import _losses
    from jobs.runner import StageOutcome

    stats = {"dropped": {"bad_json": 10, "too_large": 3}, "skipped": {"by_reason": {"empty_file": 2}}}
    ran = StageOutcome("ingest", "ingest", "ran", 1.0, {"docs_in": 20, "docs_out": 7}, stats)
    assert _losses(ran) == "dropped bad_json 10, dropped too_large 3, skipped empty_file 2"
    assert _losses(StageOutcome("train", "train", "ran", 1.0, {"steps": 3}, None)) == ""


@pytest.mark.parametrize("output", ["runs/x[/]y", "runs/run [b] [red]"])
def test_an_output_path_is_printed_as_written_not_read_as_markup(output: str, monkeypatch) -> None:
    """`x[/]y` failed the command with a MarkupError after its output was written; `[b] [red]` vanished."""
    stats = StageStats(stage="date", docs_in=2, docs_out=2, files_in=1)
    stats.skip("truncated_gzip", 1, 10)
    out = io.StringIO()
    monkeypatch.setattr(report, "console", Console(file=out, width=200, color_system=None))
    report.print_stats(stats, output)
    assert f"date -> {output}" in out.getvalue() and f'{output}/_stats.json ("skipped")' in out.getvalue()


def test_the_results_table_gives_each_accuracy_its_interval_and_the_unseen_facts_their_chance() -> None:
    """The demo's table printed long-tail accuracies as bare percentages: 22.2% against 21.2% read as a
    difference, where their intervals overlap and both sit at chance."""
    measured = {
        "run": "raw-s0",
        "tokens": 1_501_184,
        "newest_month": "2023-12",
        "effective_cutoff": "2021-03",
        "cutoff_low": "2020-01",
        "cutoff_high": "2021-08",
        "gap_months": 33,
        "newest_version_share": 0.04,
        "newest_version_share_interval": (0.025, 0.06),
        "accuracy": 0.225,
        "accuracy_low": 0.2111,
        "accuracy_high": 0.2394,
        "acc 0": 0.213,
        "zero_exposure": {"probes": 1962, "accuracy": 0.213, "chance": 0.2077, "interval": (0.1951, 0.2312)},
    }
    older = {"run": "old-s0", "tokens": 10, "accuracy": 0.3, "acc 0": 0.2, "zero_exposure": None}
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(report.results_table([measured, older]))
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
        for line in out.getvalue().splitlines()
        if line.count("│") > 5
    }
    assert rows["raw-s0"][-3:] == ["22.5% [21.1, 23.9]", "21.3% [19.5, 23.1]", "20.8%"]
    assert rows["raw-s0"][2:5] == ["2021-03 [2020-01, 2021-08]", "33", "4.0% [2.5, 6.0]"]
    # a probe.json from before intervals were kept: the figures alone, nothing made up
    assert rows["old-s0"][-3:] == ["30.0%", "20.0%", "-"]
    header = next(line for line in out.getvalue().splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.split("┃")[-4:-1]] == [
        "accuracy [95%]",
        "acc at 0 docs [95%]",
        "chance",
    ]
