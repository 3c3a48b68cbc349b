"""Training a small LM on a mixture: AdamW, linear warm-up + cosine decay, packed blocks, a token budget.

A run directory ends up as an ordinary Hugging Face model directory (config.json, model.safetensors,
tokenizer.json) plus `run.json` (what was trained on what) and `log.jsonl` (one line per logged step). While
training, `checkpoint/` holds the newest checkpoint (trainers/checkpoint.py): every `checkpoint_every` steps,
where a run stops after `stop_after` steps, and where it is interrupted (Ctrl-C, SIGTERM), at its last
completed step. A resumed run gives the same final weights as an uninterrupted one (on CPU, where kernels are
deterministic).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedTokenizerFast

from trainers.checkpoint import (
    CHECKPOINT_DIR,
    RUN_FORMAT,
    TRAINER_STATE,
    Interrupts,
    append_log,
    cut_log,
    interrupts_held_back,
    load_checkpoint,
    mixture_identity,
    prepare_run_dir,
    quiet_progress_bars,
    read_log,
    refuse_run_over_mixture,
    save_checkpoint,
    throughput,
)
from trainers.data import PackedStream, StreamState
from trainers.model import build_model, count_parameters, flops_per_token, model_config, preset
from trainers.shards import count_rows, iter_rows, list_shards, newest_month
from trainers.tokenizer import load_tokenizer, sample_texts, save_tokenizer, train_tokenizer

# Peak dense bf16 tensor-core TFLOP/s per GPU (NVIDIA's data sheets, not the 2:4-sparsity figure), matched as
# substrings of torch.cuda.get_device_name(), first match first (specific names before generic ones).
PEAK_BF16_TFLOPS: list[tuple[str, float]] = [
    ("H200", 989.4),  # H200 SXM
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # H100 SXM5 ("NVIDIA H100 80GB HBM3")
    ("GH200", 989.4),
    ("A100", 312.0),
    ("L40S", 362.1),
    ("L4", 121.0),
    ("A10", 125.0),
]

DEFAULT_LR = {"tiny": 3e-3, "small": 1e-3, "base": 6e-4}

DEVICE_NAME = re.compile(r"cpu|cuda(:\d+)?")  # the devices a run may name (and "auto")
# far past the presets' contexts (256 by default): beyond it a run only ran out of memory
MAX_SEQ_LEN = 65_536
_LOG = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """How to train. Sizes are in tokens and sequences; `lr` None means the preset's default."""

    preset: str = "tiny"
    tokens: int = 1_000_000  # training-token budget; the mixture repeats in epochs if it is smaller
    seq_len: int = 256  # tokens per packed block (and the model's context)
    batch_size: int = 16  # blocks per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float | None = None  # peak learning rate
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio
    warmup_steps: int | None = None  # None: 5% of the steps (at least 1)
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    compile: bool = False  # torch.compile the model (worth it on CUDA)
    vocab_size: int | None = None  # None: the preset's default
    tokenizer_chars: int = 20_000_000  # characters of the mixture sample the tokenizer is trained on
    tokenizer_rate: float = 1.0  # share of documents eligible for the tokenizer sample (hash of id)
    log_every: int = 10  # steps
    checkpoint_every: int = 0  # steps; 0: only when stopped early (stop_after) or interrupted
    peak_tflops: float | None = None  # override the GPU's peak bf16 TFLOP/s for MFU

    def check(self) -> None:
        """Raise ValueError naming the first bad field."""
        preset(self.preset)
        positive = ("tokens", "seq_len", "batch_size", "grad_accum", "log_every", "tokenizer_chars")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.seq_len < 2:
            raise ValueError(f"seq_len: must be at least 2, got {self.seq_len}")
        if self.seq_len > MAX_SEQ_LEN:  # 1,000,000 was killed for memory after 45 s, not refused
            raise ValueError(f"seq_len: must be at most {MAX_SEQ_LEN:,} tokens, got {self.seq_len:,}")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: must be a positive number, got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ValueError(f"min_lr_ratio: must be in [0, 1], got {self.min_lr_ratio}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"warmup_steps: must be >= 0, got {self.warmup_steps}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every: must be >= 0, got {self.checkpoint_every}")
        if not 0 < self.tokenizer_rate <= 1:
            raise ValueError(f"tokenizer_rate: must be in (0, 1], got {self.tokenizer_rate}")
        if self.vocab_size is not None and self.vocab_size < 257:
            raise ValueError(f"vocab_size: must be at least 257, got {self.vocab_size}")
        if not (self.device == "auto" or DEVICE_NAME.fullmatch(self.device)):
            raise ValueError(f"device: expected auto, cpu, cuda or cuda:N, got {self.device!r}")

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step: sequence length x batch size x gradient accumulation."""
        return self.seq_len * self.batch_size * self.grad_accum

    @property
    def total_steps(self) -> int:
        """Optimizer steps: the budget rounded up to whole steps."""
        return max(1, math.ceil(self.tokens / self.tokens_per_step))

    @property
    def peak_lr(self) -> float:
        """The learning rate after warmup: `lr`, else the preset's default."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.preset]

    @property
    def warmup(self) -> int:
        """Warmup length in optimizer steps: `warmup_steps` (at most all steps), else 5% of the steps."""
        if self.warmup_steps is not None:
            return min(self.warmup_steps, self.total_steps)
        return max(1, round(0.05 * self.total_steps))


@dataclass
class TrainResult:
    """What a finished (or stopped) run reports; `seconds` is its wall-clock training time, over every resume."""

    run_dir: Path
    steps: int
    tokens: int
    final_loss: float | None
    newest_month: str | None
    seconds: float
    completed: bool  # False when stopped early (stop_after) with a checkpoint to resume from


@dataclass(frozen=True)
class TrainProgress:
    """Where a run is, for a progress callback: optimizer steps done of all, tokens seen, the mean loss of
    the last logged window (None before the first) and that window's tokens per second."""

    step: int
    total_steps: int
    tokens: int
    loss: float | None
    tokens_per_s: float | None


def lr_at(step: int, total_steps: int, warmup_steps: int, peak: float, min_ratio: float) -> float:
    """Learning rate for optimizer step `step` (0-based): linear warm-up from peak/warmup to peak over
    `warmup_steps` steps, then cosine decay from peak to peak * min_ratio, reached at the last step."""
    if step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    decay_steps = total_steps - warmup_steps
    if decay_steps <= 1:
        return peak
    progress = (step - warmup_steps) / (decay_steps - 1)
    floor = peak * min_ratio
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else CPU; an unknown device, or an explicit CUDA device that is absent,
    is a ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not DEVICE_NAME.fullmatch(name):  # torch knows mps, xpu, meta...: none of them is tested here
        raise ValueError(f"device: expected auto, cpu, cuda or cuda:N, got {name!r}")
    try:
        device = torch.device(name)
    except RuntimeError as exc:  # torch's own words name the device types it knows
        raise ValueError(f"device: {name!r} is not a device ({exc})") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} asked for but CUDA is not available")
    return device


def peak_flops(device: torch.device, override_tflops: float | None = None) -> float | None:
    """Peak bf16 FLOP/s of `device` (None on CPU or for a GPU not in PEAK_BF16_TFLOPS)."""
    if override_tflops:
        return override_tflops * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, tflops in PEAK_BF16_TFLOPS:
        if key in name:
            return tflops * 1e12
    return None


def train(
    mixture_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig,
    resume: bool = True,
    overwrite: bool = False,
    stop_after: int | None = None,
    progress: Callable[[TrainProgress], None] | None = None,
    say: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a model of `config.preset` on the mixture in `mixture_dir` for `config.tokens` tokens and write
    the run to `run_dir`. `resume` continues from `run_dir/checkpoint`; `stop_after` stops after that many
    optimizer steps with a checkpoint (to split a run into pieces); `progress` hears every step; `say` hears
    the line a resumed run starts with (default: logged at INFO). An interrupt (KeyboardInterrupt, which the
    CLI raises on SIGTERM too, or SystemExit) leaves a checkpoint of the last completed step and is raised
    on."""
    config.check()
    run_dir = Path(run_dir)
    refuse_run_over_mixture(mixture_dir, run_dir)  # at once, not after the tokenizer is trained
    shards = list_shards(mixture_dir)
    device = resolve_device(config.device)  # before the run folder is touched: a bad device loses no run
    tokenizer = _open_run(run_dir, mixture_dir, config, resume, overwrite)
    started = time.perf_counter()
    model_cfg = model_config(
        config.preset, len(tokenizer), config.seq_len, eos_token_id=int(tokenizer.eos_token_id)
    )
    stream = PackedStream(shards, tokenizer, config.seq_len)
    torch.manual_seed(config.seed)
    checkpoint = run_dir / CHECKPOINT_DIR
    mixture = mixture_identity(shards)
    model, optimizer, state = _model_and_optimizer(checkpoint, config, model_cfg, stream, device, mixture)
    if state["step"]:
        line = f"resuming from step {state['step']:,} of {config.total_steps:,} (checkpoint {checkpoint})"
        (say or _LOG.info)(line)
    cut_log(run_dir / "log.jsonl", state["step"])  # lines logged after the checkpoint are logged again
    model.train()
    per_token_flops = flops_per_token(model_cfg, config.seq_len)
    loop = _Loop(config, model, optimizer, stream, device, state, per_token_flops, run_dir, mixture, started)
    end = config.total_steps if stop_after is None else min(config.total_steps, loop.step + stop_after)
    with interrupts_held_back() as interrupts:
        try:
            loop.run(end, interrupts, progress)
        except BaseException as stop:
            # Ctrl-C, the CLI's SIGTERM (a KeyboardInterrupt) or SystemExit stops a run that a rerun resumes;
            # an Exception is a failure, whose state may be what failed.
            if not isinstance(stop, Exception):
                with interrupts.held():  # a second Ctrl-C waits for the checkpoint to be whole
                    loop.save_on_interrupt()
            raise
    return _finish(loop, mixture_dir, shards, len(tokenizer))


class _Loop:
    """The training loop: the model, its optimizer and its data, and the loop's state between steps (what a
    checkpoint saves), one optimizer step at a time."""

    def __init__(
        self,
        config: TrainConfig,
        model: torch.nn.Module,
        optimizer: torch.optim.AdamW,
        stream: PackedStream,
        device: torch.device,
        state: dict[str, Any],
        per_token_flops: float,
        run_dir: Path,
        mixture: list[list[Any]],
        started: float,
    ) -> None:
        """`state`: the loop's state from the checkpoint (or at step 0); `mixture`: what checkpoints record
        of it; `started`: when this session of the run started, by time.perf_counter()."""
        self.config, self.model, self.optimizer, self.stream = config, model, optimizer, stream
        self.device, self.mixture, self.started = device, mixture, started
        self.run_dir, self.checkpoint = run_dir, run_dir / CHECKPOINT_DIR
        self.log_path = run_dir / "log.jsonl"
        self.forward = torch.compile(model) if config.compile else model
        self.peak, self.per_token_flops = peak_flops(self.device, config.peak_tflops), per_token_flops
        self.step = self.saved_at = state["step"]
        self.tokens, self.seconds_before = state["tokens"], state["seconds"]
        self.last_loss: float | None = state.get("last_loss")
        # the loss window is part of the checkpoint, so a resumed run logs the losses an uninterrupted one does
        self.window_loss = torch.tensor(state.get("window_loss", 0.0), device=self.device)
        self.window_steps, self.window_tokens = state.get("window_steps", 0), state.get("window_tokens", 0)
        # and so is its time so far: its tokens/s is the tokens of before the interrupt too over their time
        self.window_start = time.perf_counter() - state.get("window_seconds", 0.0)
        self.tokens_per_s: float | None = None
        # The stream's position, the RNG and the loss window before the step in progress, until its update
        # begins: an interrupt until then finds the model and optimizer as they were before the step.
        self.before_step: tuple[StreamState, torch.Tensor, torch.Tensor] | None = None

    def seconds(self) -> float:
        """The run's wall-clock training time so far, over every session."""
        return self.seconds_before + time.perf_counter() - self.started

    def run(self, end: int, interrupts: Interrupts, progress: Callable[[TrainProgress], None] | None) -> None:
        """Steps until `end`, with checkpoints every `checkpoint_every` steps and at `end` before the last."""
        total, every = self.config.total_steps, self.config.checkpoint_every
        while self.step < end:
            self._step(end, interrupts)
            if progress is not None:
                progress(TrainProgress(self.step, total, self.tokens, self.last_loss, self.tokens_per_s))
            if self.step < total and (self.step == end or (every and self.step % every == 0)):
                with interrupts.held():
                    self.save()

    def _step(self, end: int, interrupts: Interrupts) -> None:
        """One optimizer step over `grad_accum` micro-batches, logged where a window ends (or at `end`)."""
        config, device = self.config, self.device
        self.before_step = (_position(self.stream), torch.get_rng_state(), self.window_loss.clone())
        lr = lr_at(self.step, config.total_steps, config.warmup, config.peak_lr, config.min_lr_ratio)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for _ in range(config.grad_accum):
            blocks = self.stream.next_blocks(config.batch_size).to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = self.forward(input_ids=blocks, labels=blocks).loss
            (loss / config.grad_accum).backward()
            self.window_loss += loss.detach().float() / config.grad_accum
        # An update cut half way (some parameters moved, others not) would resume to other weights.
        with interrupts.held():
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self.tokens += config.tokens_per_step
            self.window_steps += 1
            self.window_tokens += config.tokens_per_step
            if self.step % config.log_every == 0 or self.step == end:
                self._log_window(lr)
            self.before_step = None  # last: the step is whole

    def _log_window(self, lr: float) -> None:
        """Log the window's mean loss and throughput, and start the next window."""
        # .item() synchronises, so the timing is true
        self.last_loss = self.window_loss.item() / self.window_steps
        seconds = time.perf_counter() - self.window_start
        self.tokens_per_s = self.window_tokens / seconds if seconds > 0 else 0.0
        mfu = self.per_token_flops * self.tokens_per_s / self.peak if self.peak else None
        append_log(self.log_path, self.step, self.tokens, self.last_loss, lr, self.tokens_per_s, mfu)
        self.window_loss.zero_()
        self.window_steps, self.window_start, self.window_tokens = 0, time.perf_counter(), 0

    def save(self) -> None:
        """Write the checkpoint of the last completed step (the stream, RNG and loss window from before the
        step in progress, where one is)."""
        if self.before_step is not None:
            position, rng, window_loss = self.before_step
        else:
            position, rng, window_loss = self.stream.state, torch.get_rng_state(), self.window_loss
        state = {
            "step": self.step,
            "tokens": self.tokens,
            "last_loss": self.last_loss,
            "window_loss": window_loss.item(),
            "window_steps": self.window_steps,
            "window_tokens": self.window_tokens,
            "window_seconds": time.perf_counter() - self.window_start,
            "mixture": self.mixture,
            "seconds": self.seconds(),
        }
        config = asdict(self.config)
        save_checkpoint(self.checkpoint, self.model, self.optimizer, position.to_dict(), rng, config, state)
        self.saved_at = self.step

    def save_on_interrupt(self) -> None:
        """The checkpoint of the last completed step, unless the one there is already of that step (or no
        step was completed: a rerun starts from step 0 anyway)."""
        if self.step != self.saved_at:
            self.save()


def _position(stream: PackedStream) -> StreamState:
    """A copy of the stream's position that its next reads leave alone (they change its lists in place)."""
    state = stream.state
    return dataclasses.replace(state, carry=list(state.carry), ahead=[list(entry) for entry in state.ahead])


def _finish(loop: _Loop, mixture_dir: str | Path, shards: list[Path], vocab_size: int) -> TrainResult:
    """What the run did; where it finished its steps the model and run.json are written and the checkpoint
    is removed."""
    run_dir, stream, loss = loop.run_dir, loop.stream, _finite(loop.last_loss)
    newest = stream.state.newest_created[:7] if stream.state.newest_created else None
    if loop.step < loop.config.total_steps:
        return TrainResult(run_dir, loop.step, loop.tokens, loss, newest, loop.seconds(), completed=False)
    with quiet_progress_bars():
        loop.model.save_pretrained(run_dir)
    seconds = loop.seconds()
    run_info = {
        "run_format": RUN_FORMAT,
        "mixture": os.path.abspath(mixture_dir),
        "config": asdict(loop.config),
        "steps": loop.step,
        "tokens_seen": loop.tokens,
        "final_loss": loss,  # null where training diverged
        "newest_month": newest,  # newest `created` month among the documents the run was given
        "newest_month_mixture": newest_month(shards),
        "mixture_rows": count_rows(shards),
        **_data_and_device(stream, loop.model, vocab_size, loop.device),
        **throughput(read_log(loop.log_path)),
        "seconds": round(seconds, 2),
    }
    (run_dir / "run.json").write_text(json.dumps(run_info, indent=2, allow_nan=False) + "\n")
    shutil.rmtree(loop.checkpoint, ignore_errors=True)
    return TrainResult(run_dir, loop.step, loop.tokens, loss, newest, seconds, completed=True)


def _model_and_optimizer(
    checkpoint: Path,
    config: TrainConfig,
    model_cfg: Any,
    stream: PackedStream,
    device: torch.device,
    mixture: list[list[Any]],
) -> tuple[torch.nn.Module, torch.optim.AdamW, dict[str, Any]]:
    """The model, its optimizer and the loop's state: from the checkpoint where the run directory holds one
    (the stream and the RNG restored too; it must be of the same `mixture`), else a new model of
    `model_cfg`."""
    state: dict[str, Any] = {"step": 0, "seconds": 0.0, "tokens": 0}
    if (checkpoint / TRAINER_STATE).exists():
        model, saved = load_checkpoint(checkpoint, asdict(config), mixture)
        model.to(device)
        optimizer = _optimizer(model, config, device)
        optimizer.load_state_dict(saved.pop("optimizer"))  # moves its tensors to the parameters' device
        stream.load_state_dict(saved.pop("stream"))
        torch.set_rng_state(saved.pop("rng"))
        state.update(saved)
    else:
        model = build_model(model_cfg, seed=config.seed).to(device)
        optimizer = _optimizer(model, config, device)
    return model, optimizer, state


def _data_and_device(
    stream: PackedStream, model: torch.nn.Module, vocab_size: int, device: torch.device
) -> dict[str, Any]:
    """run.json's account of the data read (epochs begun, documents trained on) and of the model and device."""
    return {
        "epochs": stream.state.epoch + (stream.state.shard + stream.state.row > 0),  # begun, not finished
        "docs_read": stream.state.docs_read,
        "docs_empty": stream.state.docs_empty,
        "parameters": count_parameters(model),
        "vocab_size": vocab_size,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }


def _open_run(
    run_dir: Path, mixture_dir: str | Path, config: TrainConfig, resume: bool, overwrite: bool
) -> PreTrainedTokenizerFast:
    """The run directory made ready and the run's tokenizer: the saved one when resuming, else one trained
    on the mixture before the directory is touched (a mixture without text loses no run)."""
    resuming = resume and not overwrite and (run_dir / CHECKPOINT_DIR / TRAINER_STATE).exists()
    tokenizer = load_tokenizer(run_dir) if resuming else _new_tokenizer(mixture_dir, config)
    prepare_run_dir(run_dir, mixture_dir, resume, overwrite)
    if not resuming:
        save_tokenizer(tokenizer, run_dir)
    return tokenizer


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _new_tokenizer(mixture_dir: str | Path, config: TrainConfig) -> PreTrainedTokenizerFast:
    """A tokenizer trained on the mixture's sample (ValueError where the mixture has no text)."""
    vocab = config.vocab_size or preset(config.preset).vocab_size
    texts = list(sample_texts(mixture_dir, config.tokenizer_chars, config.tokenizer_rate, config.seed))
    shards = list_shards(mixture_dir)
    if not texts and not any(row["text"] for row in iter_rows(shards, columns=("text",))):
        raise ValueError(f"mixture: no text to train on in {len(shards)} shard(s)")
    return train_tokenizer(texts, vocab, model_max_length=config.seq_len)


def _optimizer(model: torch.nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms), as is usual for transformers."""
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups, lr=config.peak_lr, betas=(config.beta1, config.beta2), fused=device.type == "cuda"
    )
