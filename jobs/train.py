"""`chronomix train`: train a small Llama-style LM on a mixture directory (no Spark: torch on GPU or CPU)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jobs import progress
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.fs import names_a_uri
from jobs.runner import run_command
from trainers.checkpoint import CHECKPOINT_DIR, TRAINER_STATE, refuse_run_over_mixture, unfinished_run
from trainers.model import PRESETS
from trainers.train import TrainConfig, TrainResult
from trainers.train import train as train_run


@dataclass(kw_only=True)
class TrainParams(TrainConfig, StageParams):
    """`chronomix train` and the `train` stage kind: every TrainConfig field (the command sets the common
    ones), the mixture to train on and the run directory to write."""

    mixture: str  # mixture directory (part-*.parquet shards from `chronomix mix`)
    output: str  # run directory
    tokens: int | None = None  # training-token budget; None = 20 tokens per parameter of the preset
    resume: bool = True  # continue from the run's checkpoint if there is one
    overwrite: bool = False

    def config(self) -> TrainConfig:
        """The TrainConfig of these parameters, the token budget resolved."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainConfig)}
        if self.tokens is None:
            values["tokens"] = 20 * PRESETS[self.preset].nominal_params
        return TrainConfig(**values)


@dataclass(frozen=True)
class TrainPlan:
    params: TrainParams
    config: TrainConfig


def check(params: TrainParams) -> TrainPlan:
    """The training config, checked (it reads no input: also the stage's settings check); UsageError naming
    the bad setting."""
    if params.preset not in PRESETS:
        raise UsageError(
            f"unknown preset {params.preset!r} (choose from {', '.join(PRESETS)})", option="--preset"
        )
    if names_a_uri(params.output) or names_a_uri(params.mixture):
        raise UsageError(
            "train reads its mixture from and writes its run to local (or mounted) folders: torch and the "
            f"checkpoints need files; got {str(params.mixture)!r} -> {str(params.output)!r}",
            option="--output",
        )
    try:  # replacing the run would delete the mixture, with --overwrite or where it is an unfinished run
        refuse_run_over_mixture(params.mixture, params.output)
    except ValueError as error:
        raise UsageError(str(error).removeprefix("output: "), option="--output") from None
    config = params.config()
    try:
        config.check()
    except ValueError as error:
        raise UsageError(str(error)) from None
    return TrainPlan(params, config)


def run(plan: TrainPlan, spark: SparkProvider) -> StageResult:
    """Train into the run directory (resuming its checkpoint where `resume` and there is one)."""
    params = plan.params
    reporter = progress.current()
    task = reporter.task(f"train {Path(params.output).name}", unit="steps")
    try:
        result = train_run(
            params.mixture,
            params.output,
            plan.config,
            resume=params.resume,
            overwrite=params.overwrite,
            progress=progress.training_callback(task),
            say=lambda line: reporter.say(line, markup=False),
        )
    # a checkpoint made with another config or that does not read, a mixture without text
    except ValueError as error:
        raise UsageError(str(error)) from None
    finally:
        task.done()
    summary = {
        "run": str(result.run_dir),
        "steps": result.steps,
        "tokens_seen": result.tokens,
        "final_loss": result.final_loss,
        "newest_month": result.newest_month,
    }
    return StageResult(summary, value=result)


def unfinished_checkpoint(params: TrainParams) -> bool:
    """Whether the run directory holds an unfinished run to resume, or to start again where it stopped
    before its first checkpoint (trainers.checkpoint.unfinished_run), and no finished run."""
    run_dir = Path(params.output)
    checkpoint = (run_dir / CHECKPOINT_DIR / TRAINER_STATE).exists()
    unfinished = (checkpoint and not (run_dir / "run.json").exists()) or unfinished_run(run_dir)
    return params.resume and unfinished


STAGE = Stage("train", TrainParams, check, run, resumable=unfinished_checkpoint, settings=check)


def train(
    mixture: Annotated[  # str, not Path: Path("s3://b/m") is "s3:/b/m", which no message should show
        str, typer.Argument(help="Mixture directory (part-*.parquet shards from `chronomix mix`).")
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Run directory to write.")],
    preset: Annotated[
        str, typer.Option(help="Model size: tiny (~1M), small (~20M) or base (~125M).")
    ] = "tiny",
    tokens: Annotated[
        int | None, typer.Option(help="Training-token budget (default: 20 tokens per parameter).", min=1)
    ] = None,
    seq_len: Annotated[
        int, typer.Option(help="Tokens per packed sequence (the model's context).", min=2)
    ] = 256,
    batch_size: Annotated[int, typer.Option(help="Sequences per micro-batch.", min=1)] = 16,
    grad_accum: Annotated[int, typer.Option(help="Micro-batches per optimizer step.", min=1)] = 1,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (default: the preset's).")] = None,
    vocab_size: Annotated[
        int | None, typer.Option(help="Tokenizer vocabulary (default: the preset's).", min=257)
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and tokenizer sample.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda or cuda:N.")] = "auto",
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model (for CUDA).")] = False,
    checkpoint_every: Annotated[
        int,
        typer.Option(
            help="Steps between checkpoints (0: only when interrupted; a kill -9 or a crash keeps none).",
            min=0,
        ),
    ] = 0,
    resume: Annotated[
        bool, typer.Option("--resume/--no-resume", help="Continue from the run's checkpoint if there is one.")
    ] = True,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing run directory.")
    ] = False,
) -> None:
    """Train a small decoder-only LM (Llama architecture, byte-level BPE tokenizer trained on the mixture) on
    mixture for a token budget, and write the run directory: a Hugging Face model directory plus run.json
    and log.jsonl (step, loss, lr, tokens/s, and MFU on a GPU).

    The mixture repeats in epochs when it is smaller than the budget. Runs on CUDA with bf16 autocast when
    a GPU is present, on CPU in float32 otherwise. A run stopped by Ctrl-C or SIGTERM saves a checkpoint
    of its last completed step, and the same command run again resumes from it (on CPU to the very weights
    of an uninterrupted run); --checkpoint-every N also saves one every N steps, against a crash or a kill
    -9. The output may not be, hold or lie inside the mixture.
    """
    params = TrainParams(
        mixture=str(mixture),
        output=str(output),
        preset=preset,
        tokens=tokens,
        seq_len=seq_len,
        batch_size=batch_size,
        grad_accum=grad_accum,
        lr=lr,
        vocab_size=vocab_size,
        seed=seed,
        device=device,
        compile=compile,
        checkpoint_every=checkpoint_every,
        resume=resume,
        overwrite=overwrite,
    )
    try:
        result = run_command(STAGE, params).value
    except UsageError as error:
        raise typer.BadParameter(str(error), param_hint=error.option) from None
    print_run(result)


def print_run(result: TrainResult, console: Console | None = None) -> None:
    """A rich table of what the run did (from its run.json)."""
    info = json.loads((result.run_dir / "run.json").read_text())
    table = Table(title=f"train -> {escape(str(result.run_dir))}")
    table.add_column("field")
    table.add_column("value", justify="right")
    rows = [
        ("preset", info["config"]["preset"]),
        ("parameters", f"{info['parameters']:,}"),
        ("vocabulary", f"{info['vocab_size']:,}"),
        ("steps", f"{info['steps']:,}"),
        ("tokens seen", f"{info['tokens_seen']:,}"),
        ("documents trained on", _documents_trained_on(info)),
        ("final loss (nats/token)", f"{info['final_loss']:.4f}"),
        ("newest month in data", str(info["newest_month"])),
        ("tokens/s", f"{info['tokens_per_s']:,.0f}" if info["tokens_per_s"] else "-"),
        ("MFU", f"{info['mfu']:.1%}" if info["mfu"] else "- (CPU or unknown GPU)"),
        ("device", info["device_name"]),
        ("seconds", f"{info['seconds']:.1f}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    (console or Console()).print(table)


def _documents_trained_on(info: dict[str, Any]) -> str:
    """run.json's documents trained on, against the mixture's rows where it says them: "26 of 198 rows
    (13%)", "396 (2 epochs of 198 rows)"; a budget smaller than the mixture read only its first rows."""
    read, rows = info.get("docs_read"), info.get("mixture_rows")
    if not isinstance(read, int):
        return "-"
    if not isinstance(rows, int) or rows <= 0:
        return f"{read:,}"
    if read <= rows:  # a share short of the whole never reads as 100%
        share = f"{read / rows:.0%}" if read == rows else f"{min(read / rows, 0.99):.0%}"
        return f"{read:,} of {rows:,} rows ({share})"
    return f"{read:,} ({read / rows:.1f} epochs of {rows:,} rows)"
