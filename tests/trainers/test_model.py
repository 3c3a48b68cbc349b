"""Model presets: sizes as promised, the FLOPs count, and seeded initialisation."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM

from trainers.model import (
    PRESETS,
    build_model,
    count_parameters,
    flops_per_token,
    matmul_parameters,
    model_config,
    preset,
)


@pytest.mark.parametrize("name", ["tiny", "small", "base"])
def test_preset_parameter_count_is_near_its_nominal_size(name: str) -> None:
    config = model_config(name)
    with torch.device("meta"):  # shapes only: the 125M model needs no memory
        model = LlamaForCausalLM(config)
    count = count_parameters(model)
    nominal = PRESETS[name].nominal_params
    assert 0.9 * nominal <= count <= 1.1 * nominal, f"{name}: {count} parameters"


def test_tiny_parameter_count_exactly() -> None:
    config = model_config("tiny", vocab_size=2048, seq_len=128)
    model = build_model(config)
    h, i, layers, vocab = 128, 320, 4, 2048
    per_layer = 4 * h * h + 3 * h * i + 2 * h  # q k v o, gate up down, two RMSNorms
    assert count_parameters(model) == vocab * h + layers * per_layer + h  # tied embedding + final norm
    # every weight but the norms takes part in a matmul; the tied output projection counts there
    assert matmul_parameters(config) == count_parameters(model) - layers * 2 * h - h


def test_flops_per_token_is_6n_plus_attention() -> None:
    config = model_config("small", seq_len=512)
    expected = 6 * matmul_parameters(config) + 12 * 8 * 384 * 512
    assert flops_per_token(config, 512) == expected


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    config = model_config("tiny", vocab_size=300, seq_len=16)
    a, b, c = build_model(config, seed=1), build_model(config, seed=1), build_model(config, seed=2)
    wa, wb, wc = (m.model.layers[0].self_attn.q_proj.weight for m in (a, b, c))
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)


def test_bad_preset_and_seq_len_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^preset: unknown preset 'huge'"):
        preset("huge")
    with pytest.raises(ValueError, match=r"^seq_len:"):
        model_config("tiny", seq_len=1)
