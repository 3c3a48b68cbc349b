"""A training run's folder and its checkpoint: what may be written where, log.jsonl, saving and loading the
checkpoint, and the interrupts held back while the loop's state is half updated.

`checkpoint/` holds the newest checkpoint: the model in `save_pretrained` format plus `trainer_state.pt`
(optimizer, step, data-stream position, RNG, loss window). It is written to `checkpoint.tmp` and renamed into
place, so a crash mid-write leaves the previous one whole.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from huggingface_hub import utils as hub_utils
from safetensors import SafetensorError
from transformers import LlamaForCausalLM
from transformers.utils import logging as hf_logging

CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE = "trainer_state.pt"
# run.json's and the checkpoint's format. 2 (5dd3c9d on): `docs_read` counts the documents the model was
# given, a checkpoint names its mixture; before, `docs_read` counted the rows read ahead (the whole mixture
# where the budget covered it) and a checkpoint resumed on any mixture. run.json says it as `run_format`.
RUN_FORMAT = 2
# Config fields that do not change what a run computes, so a resume may change them.
RESUMABLE_FIELDS = frozenset({"device", "compile", "log_every", "checkpoint_every", "peak_tflops"})
# What `train` writes into a run directory. A directory holding only these and no run.json is an unfinished
# run of ours: with nothing to resume it is started again, where anything else is refused.
_FIRST_FILES = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "log.jsonl"}
_MODEL_FILES = {"config.json", "generation_config.json", "model.safetensors"}  # before run.json is written
_CHECKPOINTS = {CHECKPOINT_DIR, f"{CHECKPOINT_DIR}.tmp", f"{CHECKPOINT_DIR}.old"}  # .tmp, .old: mid-write
RUN_FILES = frozenset({*_FIRST_FILES, *_MODEL_FILES, *_CHECKPOINTS})
# How a checkpoint's own caller starts again: true for `chronomix train` and for a pipeline's train stage
# alike (`chronomix run` has no --overwrite).
# Said where a checkpoint cannot be resumed: right for `chronomix train` and for a run of an experiment or
# pipeline alike (whose runner resumes, or starts again, a run folder holding no checkpoint).
START_AGAIN = (
    "delete that checkpoint folder to start again, or, with `chronomix train` alone, use --overwrite"
)
# What torch and safetensors raise for a file cut short or not theirs (a truncated zip is a RuntimeError).
_UNREADABLE = (RuntimeError, OSError, EOFError, pickle.UnpicklingError, SafetensorError, KeyError, ValueError)


class UnreadableCheckpoint(ValueError):
    """A checkpoint that does not read (a file cut short by a copy or a full disk, or not ours): the message
    names the file and how to start again. A ValueError, so the CLI says it in one line with exit status 2."""


def refuse_run_over_mixture(mixture_dir: str | Path, run_dir: str | Path) -> None:
    """ValueError where the run folder is the mixture, holds it or lies inside it: replacing the run would
    delete the mixture, and a run inside it would be read as its data. Compared as real paths, so neither a
    symbolic link nor `..` gets round it."""
    mixture, run = Path(os.path.realpath(mixture_dir)), Path(os.path.realpath(run_dir))
    if run == mixture:
        relation = "is"
    elif mixture.is_relative_to(run):
        relation = "holds"
    elif run.is_relative_to(mixture):
        relation = "is inside"
    else:
        return
    raise ValueError(
        f"output: {run_dir} {relation} the mixture {mixture_dir}: a run there would delete or mix with its "
        "own input; choose another output folder"
    )


def prepare_run_dir(run_dir: Path, mixture_dir: str | Path, resume: bool, overwrite: bool) -> None:
    """Make `run_dir` ready for a run: replaced where `overwrite` (or where it holds an unfinished run of
    ours with nothing to resume), kept where it holds a checkpoint to resume; FileExistsError for a finished
    run or a folder of other files, ValueError where it is, holds or lies inside the mixture."""
    # Checked here as well as by train(): this is the function that removes folders, whoever calls it.
    refuse_run_over_mixture(mixture_dir, run_dir)
    if (run_dir / "run.json").exists() and not overwrite:
        raise FileExistsError(f"output: {run_dir} holds a finished run (use --overwrite to replace it)")
    has_checkpoint = (run_dir / CHECKPOINT_DIR / TRAINER_STATE).exists()
    if overwrite or (resume and not has_checkpoint and unfinished_run(run_dir)):
        shutil.rmtree(run_dir, ignore_errors=True)
    elif run_dir.exists() and any(run_dir.iterdir()) and not (resume and has_checkpoint):
        why = "a checkpoint, which --no-resume leaves" if has_checkpoint else "no checkpoint to resume"
        raise FileExistsError(f"output: {run_dir} is not empty and holds {why} (use --overwrite)")
    run_dir.mkdir(parents=True, exist_ok=True)


def unfinished_run(run_dir: Path) -> bool:
    """Whether `run_dir` holds an unfinished run of `train` (only RUN_FILES, no run.json): one stopped
    before its first checkpoint, or one whose tokenizer was written and whose training then failed."""
    names = {p.name for p in run_dir.iterdir()} if run_dir.is_dir() else set()
    return bool(names) and "run.json" not in names and names <= RUN_FILES


def mixture_identity(shards: list[Path]) -> list[list[Any]]:
    """What a checkpoint records of its mixture: each shard's file name and size in bytes (not its folder,
    so a run folder and its mixture can move between machines together)."""
    return [[shard.name, shard.stat().st_size] for shard in shards]


def append_log(
    path: Path, step: int, tokens: int, loss: float, lr: float, tokens_per_s: float, mfu: float | None
) -> None:
    """Append one line to log.jsonl: step, tokens seen, mean loss of the window, lr, throughput (and MFU)."""
    entry: dict[str, Any] = {
        "step": step,
        "tokens": tokens,
        "loss": round(loss, 5) if math.isfinite(loss) else None,
        "lr": lr,
        "tokens_per_s": round(tokens_per_s, 1),
    }
    if mfu is not None:
        entry["mfu"] = round(mfu, 4)
    with path.open("a") as log:
        log.write(json.dumps(entry) + "\n")


def cut_log(path: Path, step: int) -> None:
    """Drop log.jsonl's lines after `step` (those of an interrupted run past its checkpoint)."""
    kept = [entry for entry in read_log(path) if entry["step"] <= step]
    if path.exists():
        path.write_text("".join(json.dumps(entry) + "\n" for entry in kept))


def read_log(path: Path) -> list[dict[str, Any]]:
    """log.jsonl's lines (none where there is no log yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def throughput(log: list[dict[str, Any]]) -> dict[str, float | None]:
    """run.json's tokens/s and MFU from log.jsonl: the logged windows' tokens over their seconds, and their
    MFU weighted by their seconds (the same ratio). The first window is left out where there are others: it
    holds the warm-up (allocation, torch.compile's compilation), no measure of the rate a run keeps. A
    window's tokens are what its line adds to the count of the line before; its seconds, those tokens over
    its tokens/s. (The mean of the windows' rates weighed a short fast window as much as a long slow one,
    and overstated.)"""
    windows, before = [], 0  # (tokens, tokens/s, MFU or None) of each window
    for entry in log:
        windows.append((entry["tokens"] - before, entry["tokens_per_s"], entry.get("mfu")))
        before = entry["tokens"]
    timed = [(tokens, tokens / rate, mfu) for tokens, rate, mfu in windows[1:] or windows if rate > 0]
    seconds = sum(s for _, s, _ in timed)
    with_mfu = [(s, mfu) for _, s, mfu in timed if mfu is not None]
    mfu_seconds = sum(s for s, _ in with_mfu)
    return {
        "tokens_per_s": round(sum(t for t, _, _ in timed) / seconds, 4) if seconds else None,
        "mfu": round(sum(s * mfu for s, mfu in with_mfu) / mfu_seconds, 4) if mfu_seconds else None,
    }


@contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Hugging Face's own progress bars off for the block: `save_pretrained` draws "Writing model shards" and
    `from_pretrained` "Loading weights", one bar a checkpoint, into the run's log. Restored after, so a
    program around the run keeps its setting."""
    if not hf_logging.is_progress_bar_enabled():
        yield
        return
    hub_was_off = hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()  # transformers' bars and the hub's
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
        if hub_was_off:
            hub_utils.disable_progress_bars()


def save_checkpoint(
    directory: Path,
    model: LlamaForCausalLM,
    optimizer: torch.optim.Optimizer,
    stream: dict[str, Any],
    rng: torch.Tensor,
    config: dict[str, Any],
    state: dict[str, Any],
) -> None:
    """Write the checkpoint (the model, the optimizer, the stream's position `stream`, the CPU RNG state
    `rng`, the run's `config` and the loop's `state`) to a temporary folder and rename it into place, so a
    crash mid-write leaves the previous checkpoint whole."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with quiet_progress_bars():
        model.save_pretrained(tmp)
    payload = {**state, "config": config, "optimizer": optimizer.state_dict(), "stream": stream, "rng": rng}
    torch.save(payload, tmp / TRAINER_STATE)
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(
    directory: Path, config: dict[str, Any], mixture: list[list[Any]]
) -> tuple[LlamaForCausalLM, dict[str, Any]]:
    """The model and trainer state of a checkpoint; ValueError for one made with a config that changes
    results or from another mixture, UnreadableCheckpoint for one whose files do not read."""
    state_file = directory / TRAINER_STATE
    saved = _read(str(state_file), lambda: torch.load(state_file, weights_only=True))
    if not (isinstance(saved, dict) and "config" in saved):  # a file torch reads that is not ours
        raise UnreadableCheckpoint(f"checkpoint: {state_file} holds no trainer state; {START_AGAIN}")
    if "mixture" not in saved:
        raise ValueError(
            f"checkpoint: {directory} was written by a chronomix older than run format {RUN_FORMAT}, which "
            f"recorded neither its mixture nor what it had trained on, so it cannot be resumed; {START_AGAIN}"
        )
    if saved["mixture"] != mixture:
        raise ValueError(
            f"mixture: not the one the checkpoint in {directory} was trained on (its shards and sizes "
            f"differ); {START_AGAIN}"
        )
    before = saved.pop("config")
    for name, value in config.items():
        if name not in RESUMABLE_FIELDS and before.get(name) != value:
            raise ValueError(
                f"{name}: {value!r} differs from the checkpoint's {before.get(name)!r} in {directory} "
                f"({START_AGAIN})"
            )
    with quiet_progress_bars():
        model = _read(
            f"the model in {directory}",
            lambda: LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32),
        )
    return model, saved


def _read(what: str, read: Callable[[], Any]) -> Any:
    """`read()`; where it fails to read `what` (a checkpoint's file, named in words), UnreadableCheckpoint
    naming it and how to start again."""
    try:
        return read()
    except _UNREADABLE as error:
        # the first sentence: torch goes on for four more about how a file may come to be corrupt
        why = (str(error).strip().splitlines() or [""])[0].split(". ")[0].rstrip(".")
        name = type(error).__name__
        said = f"{name}: {why}" if why else name  # an EOFError says nothing
        raise UnreadableCheckpoint(f"checkpoint: {what} does not read ({said}); {START_AGAIN}") from error


class Interrupts:
    """Interrupts (Ctrl-C's SIGINT, SIGTERM) held back while `held()` runs: the loop's state is then half
    updated (the optimizer mid-step), and a checkpoint written on the interrupt would not resume to the
    weights of an uninterrupted run. Outside `held()` a signal goes to the handler that was there before,
    as if this one had never been installed."""

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self._holding = False
        self._pending: tuple[int, FrameType | None] | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler installed by `interrupts_held_back`."""
        if self._holding:
            self._pending = (signum, frame)
        else:
            self._forward(signum, frame)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold interrupts back for the block; one that came in is handled when it ends."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
            pending, self._pending = self._pending, None
            if pending is not None:
                self._forward(*pending)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        previous = self.previous.get(signum, signal.SIG_DFL)
        if callable(previous):
            previous(signum, frame)  # Python's default_int_handler, the CLI's SIGTERM handler: they raise
        elif previous == signal.SIG_DFL:  # what the signal did without a handler (SIGTERM: end the process)
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)


@contextmanager
def interrupts_held_back() -> Iterator[Interrupts]:
    """An Interrupts whose handler is installed for SIGINT and SIGTERM for the block (the previous handlers
    restored after). Outside the main thread no signal raises anything, so nothing is installed there."""
    interrupts = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            if previous is not None:  # None: a handler not set from Python, which could not be put back
                interrupts.previous[signum] = previous
                signal.signal(signum, interrupts.handle)
        yield interrupts
    finally:
        _restore(dict(interrupts.previous))


def _restore(handlers: dict[int, Any]) -> None:
    """Put each handler back, the rest still restored where putting one back lets an interrupt through."""
    if handlers:
        signum, handler = handlers.popitem()
        try:
            signal.signal(signum, handler)
        finally:
            _restore(handlers)
