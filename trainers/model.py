"""Small decoder-only language models: Llama-style `transformers` configs with presets by size.

The architecture is `transformers.LlamaForCausalLM` unchanged (RMSNorm, rotary positions, SwiGLU MLP), so a
trained run directory is an ordinary Hugging Face model directory that any tool can load. Input and output
embeddings are tied: at these sizes the embedding table is a large share of the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM


@dataclass(frozen=True)
class ModelPreset:
    """The shape of a preset. `vocab_size` is the default tokenizer size the nominal count assumes."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    nominal_params: int  # the size the name promises, e.g. ~1M for tiny (checked in a test)


PRESETS: dict[str, ModelPreset] = {
    # ~1.0M: fits a 2-core CPU test in seconds.
    "tiny": ModelPreset(128, 4, 4, 320, 2048, 1_000_000),
    # ~20M: a CPU run of minutes, a GPU run of seconds.
    "small": ModelPreset(384, 8, 6, 1024, 16384, 20_000_000),
    # ~125M (GPT-2 small / Pythia-160M class): for a GPU.
    "base": ModelPreset(768, 12, 12, 2560, 32768, 125_000_000),
}


def preset(name: str) -> ModelPreset:
    """The preset called `name`; a clear error naming the field for an unknown one."""
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[name]


def model_config(
    name: str, vocab_size: int | None = None, seq_len: int = 256, eos_token_id: int = 0
) -> LlamaConfig:
    """A LlamaConfig for preset `name` with `vocab_size` tokens (default: the preset's) and a context of
    `seq_len` tokens. The EOS token also serves as BOS and padding (packed training has no padding)."""
    shape = preset(name)
    if seq_len < 2:
        raise ValueError(f"seq_len: must be at least 2 tokens, got {seq_len}")
    vocab = vocab_size or shape.vocab_size
    return LlamaConfig(
        vocab_size=vocab,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_heads,
        max_position_embeddings=seq_len,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        attention_dropout=0.0,
        bos_token_id=eos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id,
    )


def build_model(config: LlamaConfig, seed: int = 0) -> LlamaForCausalLM:
    """A freshly initialised model; the same seed gives the same weights."""
    # transformers draws init weights from torch's global RNG: seed it inside a fork, so the caller's RNG
    # state is left as it was.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    return model


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct trainable parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def matmul_parameters(config: LlamaConfig) -> int:
    """Parameters that take part in a matrix multiply per token: every weight except the input embedding
    lookup, plus the output projection (which is tied to it, so it is not in `count_parameters` twice).
    This is the N in the 6N FLOPs-per-token estimate (Kaplan et al. 2020; PaLM appendix B)."""
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    head_dim = h // config.num_attention_heads
    kv = config.num_key_value_heads * head_dim
    attention = h * h * 2 + h * kv * 2  # q, o: h x h; k, v: h x kv
    mlp = 3 * h * i  # gate, up: h x i; down: i x h
    return layers * (attention + mlp) + config.vocab_size * h  # + lm_head


def flops_per_token(config: LlamaConfig, seq_len: int) -> float:
    """Training FLOPs per token (forward + backward): 6N for the weights plus 12 * layers * hidden * seq_len
    for attention scores and their weighted sum (PaLM, Chowdhery et al. 2022, appendix B)."""
    return 6.0 * matmul_parameters(config) + 12.0 * config.num_hidden_layers * config.hidden_size * seq_len
