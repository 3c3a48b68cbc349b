"""Training: the LR schedule, the run directory, and resume giving the same weights as one run."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from tests.trainers.conftest import month_of, wiki_pages, write_mixture
from trainers.checkpoint import UnreadableCheckpoint, prepare_run_dir, throughput
from trainers.data import PackedStream
from trainers.shards import list_shards
from trainers.train import TrainConfig, TrainProgress, lr_at, resolve_device, train


def test_lr_schedule_values() -> None:
    # 10 steps, 2 of warm-up, peak 1.0, floor 0.1
    values = [lr_at(s, 10, 2, 1.0, 0.1) for s in range(10)]
    assert values[0] == 0.5 and values[1] == 1.0  # linear warm-up reaches the peak at its last step
    assert values[2] == 1.0  # cosine starts at the peak
    assert values[9] == pytest.approx(0.1, abs=1e-15)  # and ends at the floor on the last step
    # half way through the decay (step 2 + 3.5) the cosine is at the mid-point 0.55
    assert lr_at(5, 10, 2, 1.0, 0.1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 3 / 7)))
    assert all(a >= b for a, b in itertools.pairwise(values[2:]))
    assert lr_at(0, 1, 0, 3e-4, 0.1) == 3e-4  # one step, no warm-up: the peak


def test_config_errors_name_the_field() -> None:
    for kwargs, field in (
        ({"tokens": 0}, "tokens"),
        ({"preset": "huge"}, "preset"),
        ({"device": "tpu"}, "device"),
        ({"lr": -1.0}, "lr"),
        ({"lr": math.inf}, "lr"),  # trained a NaN model and wrote NaN into run.json
        ({"lr": math.nan}, "lr"),
        ({"device": "mps"}, "device"),
        ({"vocab_size": 100}, "vocab_size"),
    ):
        with pytest.raises(ValueError, match=f"^{field}:"):
            TrainConfig(**kwargs).check()
    config = TrainConfig(tokens=1000, seq_len=10, batch_size=4, grad_accum=5)
    assert (config.tokens_per_step, config.total_steps, config.warmup) == (200, 5, 1)


@pytest.fixture(scope="module")
def small_mixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pages = wiki_pages(min_versions=6, chars=500)[:20]
    ids = [f"{title}/{j}" for title, _ in pages for j in (1, 4)]
    texts = [texts[j] for _, texts in pages for j in (1, 4)]
    created = [month_of(j) for _ in pages for j in (1, 4)]
    return write_mixture(tmp_path_factory.mktemp("mix") / "mixture", ids, texts, created, shards=2)


def config(**overrides) -> TrainConfig:
    base = {
        "tokens": 8 * 4 * 2 * 32,  # 8 steps of 2 micro-batches of 4 blocks of 32 tokens
        "seq_len": 32,
        "batch_size": 4,
        "grad_accum": 2,
        "vocab_size": 512,
        "log_every": 2,
        "device": "cpu",
    }
    return TrainConfig(**{**base, **overrides})


def test_run_directory_is_a_hugging_face_model_with_run_json(tmp_path: Path, small_mixture: Path) -> None:
    heard: list[TrainProgress] = []
    result = train(small_mixture, tmp_path / "run", config(), progress=heard.append)
    run = tmp_path / "run"
    assert result.completed and result.steps == 8 and result.tokens == 8 * 256
    # the progress callback hears every step, with the loss and speed of the last logged window
    assert [h.step for h in heard] == list(range(1, 9)) and {h.total_steps for h in heard} == {8}
    assert heard[0].loss is None and heard[-1].loss == result.final_loss and heard[-1].tokens == 2048
    assert heard[1].tokens_per_s and heard[1].tokens_per_s > 0
    info = json.loads((run / "run.json").read_text())
    assert info["tokens_seen"] == 2048 and info["steps"] == 8
    assert info["newest_month"] == "2020-05" == info["newest_month_mixture"]
    assert info["config"]["seq_len"] == 32 and info["vocab_size"] <= 512
    assert info["final_loss"] == result.final_loss and 0 < info["final_loss"] < math.log(512) + 1
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [2, 4, 6, 8]
    # tokens/s: the tokens of the windows after the first over their seconds (each window's tokens over its rate)
    seconds = sum((b["tokens"] - a["tokens"]) / b["tokens_per_s"] for a, b in itertools.pairwise(log))
    assert info["tokens_per_s"] == pytest.approx((log[-1]["tokens"] - log[0]["tokens"]) / seconds, rel=1e-6)
    assert log[-1]["loss"] < log[0]["loss"]  # it learns
    assert log[0]["lr"] == pytest.approx(lr_at(1, 8, 1, 3e-3, 0.1))
    assert "mfu" not in log[0]  # no MFU on CPU
    assert not (run / "checkpoint").exists()  # a finished run keeps only the final model
    model = AutoModelForCausalLM.from_pretrained(run)
    tokenizer = AutoTokenizer.from_pretrained(run)
    ids = tokenizer("the economy of", return_tensors="pt")["input_ids"]
    assert model(input_ids=ids).logits.shape == (1, ids.shape[1], len(tokenizer))
    with pytest.raises(FileExistsError, match=r"^output: .* finished run"):
        train(small_mixture, run, config())


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path: Path, small_mixture: Path) -> None:
    straight = train(small_mixture, tmp_path / "straight", config(seed=3))
    first = train(small_mixture, tmp_path / "resumed", config(seed=3), stop_after=3)
    assert not first.completed and first.steps == 3
    assert (tmp_path / "resumed" / "checkpoint" / "trainer_state.pt").exists()
    assert not (tmp_path / "resumed" / "run.json").exists()
    # how to start again, in words true for a pipeline's train stage too (`chronomix run` has no --overwrite)
    start_again = r"\(delete that checkpoint folder to start again, or, with `chronomix train` alone, use --overwrite\)$"
    with pytest.raises(ValueError, match=r"^lr: 0.01 differs from the checkpoint's None in .*" + start_again):
        train(small_mixture, tmp_path / "resumed", config(seed=3, lr=0.01))
    second = train(small_mixture, tmp_path / "resumed", config(seed=3), stop_after=2)
    assert second.steps == 5
    final = train(small_mixture, tmp_path / "resumed", config(seed=3))
    assert final.completed and final.steps == straight.steps == 8
    a = load_file(tmp_path / "straight" / "model.safetensors")
    b = load_file(tmp_path / "resumed" / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert final.final_loss == straight.final_loss
    # a different seed gives a different model
    other = train(small_mixture, tmp_path / "other", config(seed=4))
    assert other.final_loss != straight.final_loss


def test_refuses_a_non_empty_directory_without_checkpoint(tmp_path: Path, small_mixture: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"^output: .* not empty"):
        train(small_mixture, tmp_path / "run", config())
    result = train(small_mixture, tmp_path / "run", config(tokens=256), overwrite=True)
    assert result.completed and not (tmp_path / "run" / "notes.txt").exists()


@pytest.mark.parametrize(
    "device", ["bogus", "cuda:x", "mps", "meta", "cpu:0"] + ([] if torch.cuda.is_available() else ["cuda"])
)
def test_a_bad_device_is_refused_before_the_run_folder_is_touched(
    tmp_path: Path, small_mixture: Path, device: str
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.bin").write_bytes(b"an earlier run")
    with pytest.raises(ValueError, match=r"^device: "):
        train(small_mixture, run, config(device=device), overwrite=True)
    assert (run / "model.bin").read_bytes() == b"an earlier run"


class Killed(Exception):
    """Stands for a kill: raised from the progress callback after the step it names."""


def _kill_after(step: int):
    def hear(progress: TrainProgress) -> None:
        if progress.step == step:
            raise Killed

    return hear


def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_log_and_loss(
    tmp_path: Path, small_mixture: Path
) -> None:
    """The loss window was not in the checkpoint and log.jsonl kept the lines past it: the resumed run
    reported another final loss, and the log held step 4 twice."""
    settings = config(seed=5, checkpoint_every=3)
    straight = train(small_mixture, tmp_path / "straight", settings)
    with pytest.raises(Killed):  # killed at step 4, after logging it; the checkpoint is step 3's
        train(small_mixture, tmp_path / "killed", settings, progress=_kill_after(4))
    resumed = train(small_mixture, tmp_path / "killed", settings)
    logs = [(tmp_path / run / "log.jsonl").read_text().splitlines() for run in ("straight", "killed")]
    steps = [[json.loads(line)["step"] for line in log] for log in logs]
    assert steps[0] == steps[1] == [2, 4, 6, 8]
    losses = [[json.loads(line)["loss"] for line in log] for log in logs]
    assert losses[0] == losses[1] and resumed.final_loss == straight.final_loss


def test_a_checkpoint_resumes_only_on_its_own_mixture(tmp_path: Path, small_mixture: Path) -> None:
    train(small_mixture, tmp_path / "run", config(), stop_after=2)
    other = write_mixture(tmp_path / "other", ["a"], ["one short document about nothing"], [month_of(1)])
    with pytest.raises(ValueError, match=r"^mixture: not the one the checkpoint .* was trained on"):
        train(other, tmp_path / "run", config())
    assert train(small_mixture, tmp_path / "run", config()).completed


def test_a_checkpoint_of_an_older_format_is_refused_not_resumed_on_any_mixture(
    tmp_path: Path, small_mixture: Path
) -> None:
    """A checkpoint from before run format 2 names no mixture and keeps no read-ahead: resumed on another
    mixture it trained on the old one's buffered rows and wrote the new one's name into run.json (weights
    bit-identical to a run on the old mixture), with exit 0."""
    run = tmp_path / "run"
    train(small_mixture, run, config(), stop_after=2)
    state_file = run / "checkpoint" / "trainer_state.pt"
    state = torch.load(state_file, weights_only=True)
    del state["mixture"]  # as the older code wrote it
    state["stream"].pop("ahead")
    torch.save(state, state_file)
    other = write_mixture(tmp_path / "other", ["a"], ["one short document about nothing"], [month_of(1)])
    for mixture in (other, small_mixture):
        with pytest.raises(ValueError, match=r"^checkpoint: .* older than run format 2.* cannot be resumed"):
            train(mixture, run, config())
    finished = train(small_mixture, run, config(), overwrite=True)
    info = json.loads((run / "run.json").read_text())
    assert finished.completed and info["run_format"] == 2
    rows = sum(pq.ParquetFile(shard).metadata.num_rows for shard in list_shards(small_mixture))
    assert info["mixture_rows"] == rows > 0 and info["docs_read"] > 0


def test_overwrite_with_a_mixture_without_text_keeps_the_finished_run(
    tmp_path: Path, small_mixture: Path
) -> None:
    run = tmp_path / "run"
    train(small_mixture, run, config(tokens=256))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    empty = write_mixture(tmp_path / "empty", ["a", "b"], ["", ""], [month_of(1)] * 2)
    with pytest.raises(ValueError, match="no text"):
        train(empty, run, config(tokens=256), overwrite=True)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_a_run_stopped_before_its_first_checkpoint_starts_again(
    tmp_path: Path, small_mixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed before any checkpoint, a run left its tokenizer and log: every rerun was refused (train-runs
    has no --overwrite). A folder of the run's own files starts again; one with anything else is refused."""
    with pytest.raises(Killed):
        train(small_mixture, tmp_path / "run", config(), progress=_kill_after(3))
    assert not (tmp_path / "run" / "checkpoint").exists() and (tmp_path / "run" / "log.jsonl").exists()
    monkeypatch.chdir(tmp_path)
    result = train(small_mixture, "run", config())
    assert result.completed and result.steps == 8
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "log.jsonl").write_text("")
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        train(small_mixture, tmp_path / "mine", config())


def test_run_json_names_the_mixture_by_its_absolute_path(
    tmp_path: Path, small_mixture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(small_mixture.parent)
    train(small_mixture.name, tmp_path / "run", config(tokens=256))
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["mixture"] == str(small_mixture)


@pytest.mark.parametrize("name", ["mps", "meta", "xpu", "cpu:0", "cuda:x"])
def test_resolve_device_refuses_what_a_run_may_not_name(name: str) -> None:
    """The probe and train-runs resolve devices here: mps passed, then failed in torch with exit 1."""
    with pytest.raises(ValueError, match=r"^device: expected auto, cpu, cuda or cuda:N"):
        resolve_device(name)


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (links not followed) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_run_folder_that_is_holds_or_is_inside_its_mixture_is_refused_before_anything_is_touched(
    tmp_path: Path,
) -> None:
    """`--overwrite` removed the run folder, so `-o MIX` deleted the mixture's shards (then failed reading
    them) and `-o cp` with the mixture in cp/mix deleted cp; `-o MIX/run` was accepted."""
    mixture = write_mixture(
        tmp_path / "cp" / "mix", ["a", "b"], ["one text", "another text"], [month_of(1)] * 2
    )
    (tmp_path / "cp" / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / "cp")
    before = _tree(tmp_path)
    outputs = {
        mixture: "is",
        tmp_path / "cp": "holds",
        tmp_path: "holds",
        mixture / "run": "is inside",
        tmp_path / "link": "holds",  # a link to the folder that holds it
        tmp_path / "link" / "mix": "is",
        mixture / "sub" / "..": "is",
    }
    for output, relation in outputs.items():
        for overwrite in (True, False):
            with pytest.raises(ValueError, match=rf"^output: .* {relation} the mixture "):
                train(mixture, output, config(), overwrite=overwrite)
    assert _tree(tmp_path) == before and not (mixture / "run").exists()
    # the function that removes the folder refuses too, whoever calls it (experiment runs, pipelines)
    with pytest.raises(ValueError, match=r"^output: .* holds the mixture"):
        prepare_run_dir(tmp_path / "cp", mixture, resume=True, overwrite=True)
    assert _tree(tmp_path) == before


@pytest.fixture(scope="module")
def straight(small_mixture: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run of config(seed=6): what an interrupted one must resume to."""
    run = tmp_path_factory.mktemp("straight") / "run"
    train(small_mixture, run, config(seed=6))
    return run


class _Interrupter:
    """Interrupts a run at one point: after step 5 (from the progress callback), in the second micro-batch
    of step 5 (its data read, its first forward and backward done), or inside step 5's optimizer update
    (a real SIGINT, as Ctrl-C sends)."""

    def __init__(self, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.where, self.calls = where, 0
        if where == "mid-step":
            next_blocks = PackedStream.next_blocks

            def reading(stream: PackedStream, n: int) -> torch.Tensor:
                self.calls += 1
                if self.calls == 10:  # 2 micro-batches a step: step 5's second
                    raise KeyboardInterrupt
                return next_blocks(stream, n)

            monkeypatch.setattr(PackedStream, "next_blocks", reading)
        elif where == "in-update":
            update = torch.optim.AdamW.step

            def updating(optimizer: torch.optim.AdamW, *args: Any, **kwargs: Any) -> Any:
                done = update(optimizer, *args, **kwargs)
                self.calls += 1
                if self.calls == 5:
                    signal.raise_signal(signal.SIGINT)  # a bare handler raises here, mid-step
                return done

            monkeypatch.setattr(torch.optim.AdamW, "step", updating)

    def progress(self, progress: TrainProgress) -> None:
        if self.where == "after-step" and progress.step == 5:
            raise KeyboardInterrupt


@pytest.mark.parametrize(("where", "saved_step"), [("after-step", 5), ("mid-step", 4), ("in-update", 5)])
def test_an_interrupted_run_saves_its_last_step_and_resumes_to_the_uninterrupted_weights(
    tmp_path: Path,
    small_mixture: Path,
    straight: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    saved_step: int,
) -> None:
    """With the default --checkpoint-every 0, a run stopped by Ctrl-C or SIGTERM after 9 minutes started
    again from step 0, and said nothing. An interrupt now leaves a checkpoint of the last completed step
    (held back during an update, which would resume to other weights cut half way), and the rerun says
    where it resumes."""
    handler = signal.getsignal(signal.SIGINT)
    interrupter = _Interrupter(where, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train(small_mixture, tmp_path / "run", config(seed=6), progress=interrupter.progress)
    assert signal.getsignal(signal.SIGINT) is handler  # put back
    monkeypatch.undo()
    state = torch.load(tmp_path / "run" / "checkpoint" / "trainer_state.pt", weights_only=True)
    assert state["step"] == saved_step and state["tokens"] == saved_step * 256
    heard: list[str] = []
    resumed = train(small_mixture, tmp_path / "run", config(seed=6), say=heard.append)
    checkpoint = tmp_path / "run" / "checkpoint"
    assert heard == [f"resuming from step {saved_step} of 8 (checkpoint {checkpoint})"]
    assert resumed.completed and resumed.steps == 8 and resumed.tokens == 2048
    a, b = load_file(straight / "model.safetensors"), load_file(tmp_path / "run" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[name], b[name]) for name in a)
    logs = [
        [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        for run in (straight, tmp_path / "run")
    ]
    assert [(e["step"], e["loss"]) for e in logs[0]] == [(e["step"], e["loss"]) for e in logs[1]]
    # the checkpoints' saves and load drew no Hugging Face progress bar into the run's log
    captured = capsys.readouterr()
    assert "Writing model shards" not in captured.err + captured.out
    assert "Loading weights" not in captured.err + captured.out


def test_a_checkpoint_that_does_not_read_names_its_file_and_how_to_start_again(
    tmp_path: Path, small_mixture: Path
) -> None:
    """`truncate -s 100000 RUN/checkpoint/trainer_state.pt` failed with "RuntimeError: PytorchStreamReader
    failed reading zip archive", exit 1, no path."""
    run = tmp_path / "run"
    train(small_mixture, run, config(), stop_after=2)
    state = run / "checkpoint" / "trainer_state.pt"
    size = state.stat().st_size
    os.truncate(state, size // 2)
    start_again = (
        r"delete that checkpoint folder to start again, or, with `chronomix train` alone, use --overwrite$"
    )
    with pytest.raises(
        UnreadableCheckpoint,
        match=rf"^checkpoint: {re.escape(str(state))} does not read \(RuntimeError: .*; {start_again}",
    ):
        train(small_mixture, run, config())
    assert state.stat().st_size == size // 2  # left as it was
    state.write_bytes(b"")
    with pytest.raises(UnreadableCheckpoint, match=rf"^checkpoint: {re.escape(str(state))} does not read"):
        train(small_mixture, run, config())
    train(small_mixture, tmp_path / "whole", config(), stop_after=2)
    model = tmp_path / "whole" / "checkpoint" / "model.safetensors"
    os.truncate(model, model.stat().st_size // 2)
    with pytest.raises(
        UnreadableCheckpoint, match=rf"^checkpoint: the model in {re.escape(str(model.parent))} does not read"
    ):
        train(small_mixture, tmp_path / "whole", config())
    # what the message says to do starts the run again
    shutil.rmtree(run / "checkpoint")
    assert train(small_mixture, run, config()).completed


def test_run_json_tokens_per_s_is_tokens_over_seconds_not_a_mean_of_rates() -> None:
    """run.json said 3,127 tokens/s where log.jsonl's windows held 100,352 tokens in 78.2 s (1,283): it was
    the mean of the windows' rates, in which a short fast window weighs as much as a long slow one."""
    log = [
        {"step": 1, "tokens": 1000, "tokens_per_s": 10.0},  # warm-up: left out
        {"step": 3, "tokens": 3000, "tokens_per_s": 1000.0, "mfu": 0.5},  # 2,000 tokens in 2 s
        {"step": 4, "tokens": 4000, "tokens_per_s": 100.0, "mfu": 0.05},  # 1,000 tokens in 10 s
    ]
    assert throughput(log) == {"tokens_per_s": 250.0, "mfu": 0.125}  # the means were 550 and 0.275
    assert throughput(log[:1]) == {"tokens_per_s": 10.0, "mfu": None}  # the only window is kept
    assert throughput([]) == {"tokens_per_s": None, "mfu": None}
