"""Train and probe one model per (mixture, seed) on a GPU, for mixtures already built by `chronomix mix`
(Spark runs where the data is; the GPU machine needs only torch). Writes the experiment table and curves.

    python bench/grid_on_gpu.py --mixtures raw=MIX1 keep_newest=MIX2 --world WORLD --seeds 0 1 2 \
        --tokens 8000000 --output OUT
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from trainers.probes import find_probe_files, run_probes
from trainers.report import BASE_COLUMNS, summarise_run, write_report
from trainers.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixtures", nargs="+", required=True, help="name=folder")
    parser.add_argument("--world", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tokens", type=int, default=8_000_000)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    output = Path(args.output)
    versions, facts = find_probe_files(Path(args.world) / "probes")
    runs = {}
    for seed in args.seeds:
        for item in args.mixtures:
            name, folder = item.split("=", 1)
            key = f"{name}-s{seed}"
            started = time.perf_counter()
            config = TrainConfig(
                preset=args.preset,
                tokens=args.tokens,
                seq_len=args.seq_len,
                batch_size=args.batch_size,
                seed=seed,
                device=args.device,
                log_every=50,
            )
            result = train(folder, output / "runs" / key, config, overwrite=True)
            run_probes(
                output / "runs" / key,
                output / "runs" / key / "probe",
                versions=versions,
                facts=facts,
                newest_month=result.newest_month,
                mixture_dir=folder,
                world_dir=args.world,
                k_tokens=64,
                batch_size=256,
                device=args.device,
            )
            runs[key] = output / "runs" / key
            row = summarise_run(runs[key], name=key)
            headline = {k: row[k] for k in BASE_COLUMNS if k in row}
            print(json.dumps(headline), f"{time.perf_counter() - started:.0f}s", flush=True)
    write_report(runs, output)
    print((output / "experiments.md").read_text())


if __name__ == "__main__":
    main()
