"""The train and probe commands end to end (through typer, as the CLI runs them) and the experiment report."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from safetensors.torch import load_file
from typer.testing import CliRunner

from jobs.cli import main
from jobs.probe import probe
from jobs.train import train
from tests.jobs.cli_helpers import _refused
from tests.trainers.conftest import MONTHS, month_of, wiki_pages, write_mixture
from trainers.report import write_report
from trainers.train import TrainConfig
from trainers.train import train as train_run


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


def _mixture(folder: Path) -> Path:
    pages = wiki_pages(chars=300)[:10]
    return write_mixture(
        folder, [title for title, _ in pages], [texts[1] for _, texts in pages], [month_of(1)] * 10
    )


TRAIN_ARGS = [
    "--tokens",
    "1024",
    "--seq-len",
    "32",
    "--batch-size",
    "4",
    "--vocab-size",
    "300",
    "--device",
    "cpu",
]


def test_train_refuses_an_output_that_is_holds_or_is_inside_its_mixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train MIX -o MIX --overwrite` deleted the mixture's shards (then failed reading them), `-o cp` with
    the mixture in cp/mix deleted cp/mix and cp/notes.txt, and `-o MIX/run` was accepted."""
    mixture = _mixture(tmp_path / "cp" / "mix")
    (tmp_path / "cp" / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / "cp")
    before = sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    outputs = [mixture, tmp_path / "cp", mixture / "run", tmp_path / "link", mixture / "sub" / ".."]
    for output in outputs:
        for overwrite in (["--overwrite"], []):
            err = _refused(["train", str(mixture), "-o", str(output), *TRAIN_ARGS, *overwrite], capsys)
            assert "--output" in err and f"{output} " in err and " the mixture " in err, err
    assert sorted((str(p), p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()) == before
    assert not (mixture / "run").exists()


def test_train_stopped_by_sigterm_resumes_from_its_last_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--checkpoint-every defaults to 0: a run stopped by SIGTERM (timeout, Slurm, Kubernetes) started again
    from step 0, though the help said it resumes from its checkpoint, and resuming said nothing."""
    mixture = _mixture(tmp_path / "mix")
    main(["train", str(mixture), "-o", str(tmp_path / "straight"), *TRAIN_ARGS])
    update, calls = torch.optim.AdamW.step, []

    def updating(optimizer: torch.optim.AdamW, *args: Any, **kwargs: Any) -> Any:
        done = update(optimizer, *args, **kwargs)
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGTERM)  # the CLI's handler raises Terminated: here, mid-step
        return done

    monkeypatch.setattr(torch.optim.AdamW, "step", updating)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as done:
        main(["train", str(mixture), "-o", str(run), *TRAIN_ARGS])
    assert done.value.code == 143 and "chronomix: terminated" in capsys.readouterr().err
    monkeypatch.undo()
    main(["train", str(mixture), "-o", str(run), *TRAIN_ARGS])
    assert f"resuming from step 3 of 8 (checkpoint {run / 'checkpoint'})" in capsys.readouterr().out
    a, b = load_file(tmp_path / "straight" / "model.safetensors"), load_file(run / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)


def test_train_names_a_checkpoint_that_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated trainer_state.pt: "chronomix: failed: RuntimeError: PytorchStreamReader failed reading zip
    archive", exit 1, no path and no way out."""
    mixture, run = _mixture(tmp_path / "mix"), tmp_path / "run"
    settings = TrainConfig(tokens=1024, seq_len=32, batch_size=4, vocab_size=300, device="cpu")
    train_run(mixture, run, settings, stop_after=2)
    state = run / "checkpoint" / "trainer_state.pt"
    os.truncate(state, state.stat().st_size // 2)
    err = _refused(["train", str(mixture), "-o", str(run), *TRAIN_ARGS], capsys)
    assert f"checkpoint: {state} does not read (RuntimeError: " in err, err
    assert err.endswith(
        "delete that checkpoint folder to start again, or, with `chronomix train` alone, use --overwrite"
    ), err
