"""The train and probe commands end to end (through typer, as the CLI runs them) and the experiment report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobs.probe import probe
from jobs.train import train
from tests.trainers.conftest import MONTHS, month_of, wiki_pages, write_mixture
from trainers.report import write_report


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(train)
    app.command()(probe)
    return app


def test_train_probe_and_report(app: typer.Typer, tmp_path: Path, versions_file: Path) -> None:
    pages = wiki_pages(chars=300)[:10]
    runner = CliRunner()
    runs = {}
    for name, month in (("early", 1), ("late", 4)):
        mixture = write_mixture(
            tmp_path / f"mix-{name}",
            [title for title, _ in pages],
            [texts[month] for _, texts in pages],
            [month_of(month)] * len(pages),
        )
        run = tmp_path / f"run-{name}"
        args = ["train", str(mixture), "--output", str(run), "--tokens", "1024", "--seq-len", "32"]
        args += ["--batch-size", "4", "--vocab-size", "300", "--device", "cpu"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "tokens seen" in result.output and "1,024" in result.output
        assert json.loads((run / "run.json").read_text())["newest_month"] == f"2020-{month + 1:02d}"
        result = runner.invoke(app, ["probe", str(run), "--probes", str(versions_file), "--k-tokens", "16"])
        assert result.exit_code == 0, result.output
        assert "effective cutoff" in result.output
        probe_json = json.loads((run / "probe" / "probe.json").read_text())
        assert probe_json["cutoff"]["months"] == MONTHS
        assert probe_json["newest_month"] == f"2020-{month + 1:02d}"
        runs[name] = run
    again = runner.invoke(app, ["probe", str(runs["late"]), "--probes", str(versions_file)])
    assert again.exit_code != 0 and "--overwrite" in again.output
    bad = runner.invoke(
        app, ["train", str(tmp_path / "mix-late"), "--output", str(tmp_path / "x"), "--preset", "huge"]
    )
    assert bad.exit_code != 0 and "unknown preset 'huge'" in bad.output

    report = write_report(runs, tmp_path / "report", mixtures={"early": "only-early"})
    paths = report.paths
    assert [r["mixture"] for r in report.rows] == ["only-early", "mix-late"]
    with paths["csv"].open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["run"] for r in rows] == ["early", "late"]
    assert [r["newest_month"] for r in rows] == ["2020-02", "2020-05"]
    for row, run in zip(rows, runs.values(), strict=True):
        cutoff = json.loads((run / "probe" / "probe.json").read_text())["cutoff"]
        assert row["effective_cutoff"] == cutoff["effective_cutoff"]
        assert int(row["gap_months"]) == cutoff["gap_months"]
        assert row["tokens"] == "1024"
    markdown = paths["markdown"].read_text().splitlines()
    assert markdown[0].startswith("| run | mixture | seed | tokens | newest_month | effective_cutoff")
    assert len(markdown) == 4 and markdown[2].startswith("| early | only-early | 0 | 1,024 | 2020-02 |")
    assert paths["plot"].stat().st_size > 10_000
