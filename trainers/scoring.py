"""Scoring text with a causal LM: load a chronomix run directory or any local Hugging Face causal LM
directory, encode texts, and take per-token log-probabilities in batches. The probes (trainers/probes.py)
are built on these."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from trainers.checkpoint import quiet_progress_bars
from trainers.train import resolve_device


@dataclass
class LoadedLM:
    """A causal LM ready for scoring. `context` is the token put before every text (BOS, else EOS) so the
    first token of a text is scored too; `max_len` is the longest sequence the model takes."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device
    context: list[int]
    max_len: int
    # Hears (sequences scored, sequences asked) after each batch of `token_logprobs` (progress reporting).
    on_scored: Callable[[int, int], None] | None = None


def load_lm(path: str | Path, device: str = "auto") -> LoadedLM:
    """A run directory or any local Hugging Face causal LM directory, in eval mode on `device`."""
    path = Path(path)
    if not (path / "config.json").exists():
        hint = (
            " (is the run finished? a run directory holds the final model)"
            if (path / "checkpoint").exists()
            else ""
        )
        raise FileNotFoundError(f"model: no config.json in {path}{hint}")
    torch_device = resolve_device(device)
    tokenizer = AutoTokenizer.from_pretrained(path)
    with quiet_progress_bars():  # its "Loading weights" bar went into every probe's log
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(torch_device).eval()
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    positions = getattr(model.config, "max_position_embeddings", None) or 2048
    return LoadedLM(model, tokenizer, torch_device, [] if start is None else [int(start)], int(positions))


def encode(lm: LoadedLM, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of `texts` without special tokens."""
    encoded = lm.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    return [list(ids) for ids in encoded]


# Logits normalised at a time: their float32 copy and its log-softmax take 2 x 128 MiB, whatever the batch (the
# model's own [B, T, V] logits are the batch size's to bound).
LOGIT_ELEMENTS = 1 << 25


def _picked_logprobs(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """log p(ids[:, t+1] | ids[:, :t+1]) from `logits` [B, T, V] and `ids` [B, T], as float64 [B, T-1]; the
    log-softmax runs over a few rows at a time, each float32 copy at most LOGIT_ELEMENTS (or one row)."""
    batch, width, vocab = logits.shape
    rows = max(1, LOGIT_ELEMENTS // max(1, (width - 1) * vocab))
    parts = []
    for first in range(0, batch, rows):
        logprobs = torch.log_softmax(logits[first : first + rows, :-1].float(), dim=-1)  # [b, T-1, V]
        target = ids[first : first + rows, 1:].unsqueeze(-1)  # [b, T-1, 1]: predicted from ids[:, :-1]
        parts.append(logprobs.gather(-1, target).squeeze(-1).double())
    return torch.cat(parts)


@torch.no_grad()
def token_logprobs(
    lm: LoadedLM, sequences: Sequence[Sequence[int]], score_from: Sequence[int], batch_size: int = 16
) -> list[np.ndarray]:
    """For each sequence s, log p(s[t] | s[:t]) in nats for t in [score_from, len(s)), as float64 arrays.
    Sequences are batched by length (right-padded, masked) and must fit the model (len <= max_len)."""
    out: list[np.ndarray] = [np.zeros(0)] * len(sequences)
    # Longest first: the first batch takes the most memory, every later one fits in the blocks the allocator
    # already holds (ascending widths made it reserve a new block per width: 41 GiB at batch 256 on a GPU).
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]), reverse=True)
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    use_bf16 = lm.device.type == "cuda"
    # Progress counts sequences weighted by their tokens: longest first, a plain count would put the ETA far out.
    total_tokens, done_tokens = max(1, sum(len(s) for s in sequences)), 0
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        width = max(len(sequences[i]) for i in chunk)
        if width > lm.max_len:
            raise ValueError(f"sequence of {width} tokens is longer than the model's {lm.max_len}")
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, i in enumerate(chunk):
            ids[row, : len(sequences[i])] = torch.tensor(sequences[i], dtype=torch.long)
            mask[row, : len(sequences[i])] = 1
        ids, mask = ids.to(lm.device), mask.to(lm.device)
        with torch.autocast(device_type=lm.device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = lm.model(input_ids=ids, attention_mask=mask).logits  # [B, T, V]
        picked = _picked_logprobs(logits, ids).cpu().numpy()  # [B, T-1]
        for row, i in enumerate(chunk):
            # picked[row, t - 1] is log p(ids[t] | ids[:t])
            out[i] = picked[row, score_from[i] - 1 : len(sequences[i]) - 1]
        done_tokens += sum(len(sequences[i]) for i in chunk)
        if lm.on_scored is not None:
            lm.on_scored(round(len(order) * done_tokens / total_tokens), len(order))
    return out
