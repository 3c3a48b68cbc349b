"""Training throughput and model FLOPs utilisation of the model presets.

For each preset, trains for a fixed number of steps with `trainers.train.train` on a generated mixture
(Zipf-distributed words, so the tokenizer and packing do real work) and reports tokens/s and MFU of the
steps after the first logged window (which holds warm-up and, with --compile, compilation). The baseline,
measured in the same process on the same device, is a bare loop over the same model: pre-made random
blocks, forward, backward, AdamW step, nothing else; the ratio shows what streaming shards, tokenizing,
packing, scheduling and logging cost.

    python bench/train_throughput.py                       # CPU: tiny preset
    python bench/train_throughput.py --device cuda --presets small,base --steps 60 --compile
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from rich.console import Console
from rich.table import Table

from trainers.checkpoint import throughput
from trainers.model import build_model, count_parameters, flops_per_token, model_config
from trainers.train import TrainConfig, peak_flops, resolve_device, train


def generated_mixture(directory: Path, docs: int, words_per_doc: int, seed: int = 0) -> Path:
    """A mixture of `docs` documents of Zipf-distributed made-up words, in 4 shards."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "or", "us", "ve", "zu"]
    vocabulary = ["".join(rng.choice(syllables, size=rng.integers(1, 4))) for _ in range(5000)]
    directory.mkdir(parents=True, exist_ok=True)
    per_shard = -(-docs // 4)
    for shard in range(4):
        texts = []
        for _ in range(per_shard):
            ranks = np.minimum(rng.zipf(1.2, size=words_per_doc), len(vocabulary)) - 1
            texts.append(" ".join(vocabulary[r] for r in ranks) + ".")
        table = pa.table({"id": [f"s{shard}-{i}" for i in range(per_shard)], "text": texts})
        pq.write_table(table, directory / f"part-{shard:05d}.parquet")
    return directory


def bare_loop(
    preset: str, vocab: int, seq_len: int, batch: int, steps: int, device: torch.device, compile: bool
) -> float:
    """Tokens/s of forward + backward + AdamW on random blocks (the baseline), after 2 warm-up steps."""
    model = build_model(model_config(preset, vocab, seq_len)).to(device)
    forward = torch.compile(model) if compile else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
    blocks = torch.randint(0, vocab, (batch, seq_len), device=device)
    use_bf16 = device.type == "cuda"
    start = 0.0
    for step in range(steps + 2):
        if step == 2:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = forward(input_ids=blocks, labels=blocks).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch * seq_len / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--presets", default=None, help="comma-separated (default: tiny on CPU, small,base on GPU)"
    )
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seq-len", type=int, default=None, help="default: 128 on CPU, 1024 on GPU")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 8 on CPU, 16 on GPU")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    on_gpu = device.type == "cuda"
    presets = (args.presets or ("small,base" if on_gpu else "tiny")).split(",")
    seq_len = args.seq_len or (1024 if on_gpu else 128)
    batch = args.batch_size or (16 if on_gpu else 8)
    peak = peak_flops(device)
    name = torch.cuda.get_device_name(device) if on_gpu else "cpu"
    console = Console()
    console.print(
        f"device {name}; peak bf16 {peak / 1e12 if peak else 0:.0f} TFLOP/s; seq_len {seq_len}, "
        f"batch {batch}, steps {args.steps}, compile {args.compile}"
    )
    table = Table(title="training throughput")
    for column in ("preset", "params", "tokens/s", "MFU", "bare loop tokens/s", "bare MFU", "ratio"):
        table.add_column(column, justify="right")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        mixture = generated_mixture(Path(tmp) / "mix", docs=400, words_per_doc=1500)
        for preset in presets:
            config = TrainConfig(
                preset=preset,
                tokens=args.steps * seq_len * batch,
                seq_len=seq_len,
                batch_size=batch,
                device=str(device),
                compile=args.compile,
                log_every=max(1, args.steps // 5),
                tokenizer_chars=2_000_000,
            )
            run = Path(tmp) / f"run-{preset}"
            train(mixture, run, config)
            log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
            # tokens over seconds of the windows after the first (the mean of their rates overstated)
            rates = throughput(log)
            tokens_per_s, mfu = float(rates["tokens_per_s"] or 0.0), rates["mfu"]
            info = json.loads((run / "run.json").read_text())
            mcfg = model_config(preset, info["vocab_size"], seq_len)
            bare = bare_loop(preset, info["vocab_size"], seq_len, batch, args.steps, device, args.compile)
            bare_mfu = flops_per_token(mcfg, seq_len) * bare / peak if peak else None
            params = count_parameters(build_model(mcfg))
            results.append(
                {
                    "preset": preset,
                    "params": params,
                    "tokens_per_s": tokens_per_s,
                    "mfu": mfu,
                    "bare_tokens_per_s": bare,
                    "bare_mfu": bare_mfu,
                }
            )
            table.add_row(
                preset,
                f"{params / 1e6:.1f}M",
                f"{tokens_per_s:,.0f}",
                f"{mfu:.1%}" if mfu is not None else "-",
                f"{bare:,.0f}",
                f"{bare_mfu:.1%}" if bare_mfu is not None else "-",
                f"{tokens_per_s / bare:.2f}",
            )
    console.print(table)
    print(json.dumps({"device": name, "seq_len": seq_len, "batch": batch, "results": results}))


if __name__ == "__main__":
    main()
