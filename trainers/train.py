"""Training a small LM on a mixture: AdamW, linear warm-up + cosine decay, packed blocks, a token budget.

A run directory ends up as an ordinary Hugging Face model directory (config.json, model.safetensors,
tokenizer.json) plus `run.json` (what was trained on what) and `log.jsonl` (one line per logged step). While
training, `checkpoint/` holds the newest checkpoint: the model in `save_pretrained` format plus
`trainer_state.pt` (optimizer, step, data-stream position, RNG). A resumed run gives the same final weights
as an uninterrupted one (on CPU, where kernels are deterministic).
"""

from __future__ import annotations

import json
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
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from trainers.data import PackedStream
from trainers.model import build_model, count_parameters, flops_per_token, model_config, preset
from trainers.shards import iter_rows, list_shards, newest_month
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

# Config fields that do not change what a run computes, so a resume may change them.
_RESUMABLE_FIELDS = {"device", "compile", "log_every", "checkpoint_every", "peak_tflops"}

CHECKPOINT_DIR = "checkpoint"
TRAINER_STATE = "trainer_state.pt"
DEVICE_NAME = re.compile(r"cpu|cuda(:\d+)?")  # the devices a run may name (and "auto")
# What `train` writes into a run directory. A directory holding only these and no run.json is an unfinished
# run of ours: with nothing to resume it is started again, where anything else is refused.
_FIRST_FILES = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "log.jsonl"}
_MODEL_FILES = {"config.json", "generation_config.json", "model.safetensors"}  # before run.json is written
_CHECKPOINTS = {CHECKPOINT_DIR, f"{CHECKPOINT_DIR}.tmp", f"{CHECKPOINT_DIR}.old"}  # .tmp, .old: mid-write
RUN_FILES = frozenset({*_FIRST_FILES, *_MODEL_FILES, *_CHECKPOINTS})


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
    checkpoint_every: int = 0  # steps; 0: only when stopped early
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
) -> TrainResult:
    """Train a model of `config.preset` on the mixture in `mixture_dir` for `config.tokens` tokens and write
    the run to `run_dir`. `resume` continues from `run_dir/checkpoint`; `stop_after` stops after that many
    optimizer steps with a checkpoint (to split a run into pieces); `progress` hears every step."""
    config.check()
    run_dir = Path(run_dir)
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
    model.train()
    forward = torch.compile(model) if config.compile else model
    use_bf16 = device.type == "cuda"
    peak = peak_flops(device, config.peak_tflops)
    per_token_flops = flops_per_token(model_cfg, config.seq_len)

    total, warmup = config.total_steps, config.warmup
    log_path = run_dir / "log.jsonl"
    step = state["step"]
    _cut_log(log_path, step)  # lines logged after the checkpoint are logged again
    last_loss: float | None = state.get("last_loss")
    # the loss window is part of the checkpoint, so a resumed run logs the losses an uninterrupted one does
    window_loss = torch.tensor(state.get("window_loss", 0.0), device=device)
    window_steps, window_tokens = state.get("window_steps", 0), state.get("window_tokens", 0)
    window_start, tokens_per_s = time.perf_counter(), None
    end = total if stop_after is None else min(total, step + stop_after)
    while step < end:
        lr = lr_at(step, total, warmup, config.peak_lr, config.min_lr_ratio)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for _ in range(config.grad_accum):
            blocks = stream.next_blocks(config.batch_size).to(device, non_blocking=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss = forward(input_ids=blocks, labels=blocks).loss
            (loss / config.grad_accum).backward()
            window_loss += loss.detach().float() / config.grad_accum
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        state["tokens"] += config.tokens_per_step
        window_steps += 1
        window_tokens += config.tokens_per_step
        if step % config.log_every == 0 or step == end:
            last_loss = window_loss.item() / window_steps  # .item() synchronises, so the timing is true
            seconds = time.perf_counter() - window_start
            tokens_per_s = window_tokens / seconds if seconds > 0 else 0.0
            mfu = per_token_flops * tokens_per_s / peak if peak else None
            _log(log_path, step, state["tokens"], last_loss, lr, tokens_per_s, mfu)
            window_loss.zero_()
            window_steps, window_start, window_tokens = 0, time.perf_counter(), 0
        if progress is not None:
            progress(TrainProgress(step, total, state["tokens"], last_loss, tokens_per_s))
        if step < total and (
            step == end or (config.checkpoint_every and step % config.checkpoint_every == 0)
        ):
            state.update(step=step, last_loss=last_loss, window_loss=window_loss.item())
            state.update(window_steps=window_steps, window_tokens=window_tokens, mixture=mixture)
            elapsed = state["seconds"] + time.perf_counter() - started
            _save_checkpoint(checkpoint, model, optimizer, stream, config, {**state, "seconds": elapsed})

    seconds = state["seconds"] + time.perf_counter() - started
    newest = stream.state.newest_created[:7] if stream.state.newest_created else None
    if step < total:
        return TrainResult(run_dir, step, state["tokens"], _finite(last_loss), newest, seconds, False)

    model.save_pretrained(run_dir)
    run_info = {
        "mixture": os.path.abspath(mixture_dir),
        "config": asdict(config),
        "steps": step,
        "tokens_seen": state["tokens"],
        "final_loss": _finite(last_loss),  # null where training diverged
        "newest_month": newest,  # newest `created` month among the documents the run was given
        "newest_month_mixture": newest_month(shards),
        **_data_and_device(stream, model, len(tokenizer), device),
        **_throughput(_read_log(log_path)),
        "seconds": round(seconds, 2),
    }
    (run_dir / "run.json").write_text(json.dumps(run_info, indent=2, allow_nan=False) + "\n")
    shutil.rmtree(checkpoint, ignore_errors=True)
    return TrainResult(run_dir, step, state["tokens"], _finite(last_loss), newest, seconds, completed=True)


def _log(
    path: Path, step: int, tokens: int, loss: float, lr: float, tokens_per_s: float, mfu: float | None
) -> None:
    """Append one line to log.jsonl: step, tokens seen, mean loss of the window, lr, throughput (and MFU)."""
    entry: dict[str, Any] = {
        "step": step,
        "tokens": tokens,
        "loss": _finite(round(loss, 5)),
        "lr": lr,
        "tokens_per_s": round(tokens_per_s, 1),
    }
    if mfu is not None:
        entry["mfu"] = round(mfu, 4)
    with path.open("a") as log:
        log.write(json.dumps(entry) + "\n")


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
        model, saved = _load_checkpoint(checkpoint, config, mixture)
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


def _throughput(log: list[dict[str, Any]]) -> dict[str, float | None]:
    """run.json's tokens/s and MFU: the logged windows' mean, the first (warm-up, compilation) left out."""
    return {
        "tokens_per_s": _mean([e["tokens_per_s"] for e in log[1:]] or [e["tokens_per_s"] for e in log]),
        "mfu": _mean([e["mfu"] for e in log[1:] if "mfu" in e]),
    }


def _data_and_device(
    stream: PackedStream, model: torch.nn.Module, vocab_size: int, device: torch.device
) -> dict[str, Any]:
    """run.json's account of the data read (epochs, documents) and of the model and device."""
    return {
        "epochs": stream.state.epoch + (stream.state.shard + stream.state.row > 0),
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
    _prepare_run_dir(run_dir, resume, overwrite)
    if not resuming:
        save_tokenizer(tokenizer, run_dir)
    return tokenizer


def _prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
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


def _cut_log(path: Path, step: int) -> None:
    """Drop log.jsonl's lines after `step` (those of an interrupted run past its checkpoint)."""
    kept = [entry for entry in _read_log(path) if entry["step"] <= step]
    if path.exists():
        path.write_text("".join(json.dumps(entry) + "\n" for entry in kept))


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


def _save_checkpoint(
    directory: Path,
    model: LlamaForCausalLM,
    optimizer: torch.optim.Optimizer,
    stream: PackedStream,
    config: TrainConfig,
    state: dict[str, Any],
) -> None:
    """Write the checkpoint to a temporary folder and rename it into place, so a crash mid-write leaves
    the previous checkpoint whole."""
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    torch.save(
        {
            **state,
            "config": asdict(config),
            "optimizer": optimizer.state_dict(),
            "stream": stream.state_dict(),
            "rng": torch.get_rng_state(),
        },
        tmp / TRAINER_STATE,
    )
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(
    directory: Path, config: TrainConfig, mixture: list[list[Any]]
) -> tuple[LlamaForCausalLM, dict[str, Any]]:
    """The model and trainer state of a checkpoint; refuses one made with a config that changes results, or
    from another mixture."""
    saved = torch.load(directory / TRAINER_STATE, weights_only=True)
    if saved.get("mixture", mixture) != mixture:
        raise ValueError(
            f"mixture: not the one the checkpoint in {directory} was trained on (its shards and sizes "
            "differ); use --overwrite to start again"
        )
    before, now = saved.pop("config"), asdict(config)
    for name, value in now.items():
        if name not in _RESUMABLE_FIELDS and before.get(name) != value:
            raise ValueError(
                f"{name}: {value!r} differs from the checkpoint's {before.get(name)!r} in "
                f"{directory} (use --overwrite to start again)"
            )
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32)
    return model, saved


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
