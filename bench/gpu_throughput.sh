#!/usr/bin/env bash
# The device check for the trainers: tokens/s and MFU of the small and base presets on one GPU, eager and
# compiled, each against a bare training loop measured in the same process. Writes logs to $OUT if set.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
out=${OUT:-/tmp}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
timeout 240 python3 bench/train_throughput.py --device cuda --presets small,base --steps 40 2>&1 | tee "$out/eager.log" | grep -v "Writing model"
timeout 240 python3 bench/train_throughput.py --device cuda --presets small,base --steps 40 --compile 2>&1 | tee "$out/compiled.log" | grep -v "Writing model"
