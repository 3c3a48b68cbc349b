"""Dumps deduplicated one at a time through a cross-dump index, against all of them at once, scored against
the generated world's truth.

A user dedups each Common Crawl dump as it arrives (`chronomix dedup DUMP --index INDEX`); the outputs of
the dumps, joined on `cluster_id`, should group documents as one run over all dumps does. For a `tiny` world
(seed `--seed`) its last `--dumps` dumps are ingested and dated one by one (the world's reference versions),
then:
- the control: one dedup over all of them (keep all);
- in turn: one dedup per dump, oldest first, through one index (keep all).
Both are scored with dedup.evaluate.pair_scores against the truth (a document's resource as in
bench/dedup_truth.py), the in-turn outputs joined on the cluster_id each wrote, and the resources whose
documents carry more than one cluster_id are counted.

Run: python bench/dedup_dumps_in_turn.py [--seed 0] [--dumps 5] [--work DIR] [--master local[2]]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from dedup_truth import TRUTH_COLUMNS, with_truth  # noqa: E402
from pipeline_run import run_pipeline_stages  # noqa: E402

from dedup.evaluate import pair_scores  # noqa: E402


def stages_for(dumps: list[str], index: Path) -> list[dict]:
    """Ingest and date each dump alone; dedup all of them at once, and each in turn through `index`."""
    stages: list[dict] = []
    for dump in dumps:
        stages.append(
            {
                "name": f"ingest-{dump}",
                "kind": "ingest",
                "inputs": [f"${{world}}/dumps/{dump}"],
                "added": "2024-01-01T00:00:00Z",
            }
        )
        stages.append(
            {
                "name": f"dated-{dump}",
                "kind": "date",
                "input": f"${{ingest-{dump}}}",
                "reference": "${world}/probes/reference.parquet",
            }
        )
    stages.append(
        {"name": "all", "kind": "dedup", "input": [f"${{dated-{d}}}" for d in dumps], "keep": "all"}
    )
    for dump in dumps:
        stages.append(
            {
                "name": f"turn-{dump}",
                "kind": "dedup",
                "input": f"${{dated-{dump}}}",
                "keep": "all",
                "index": str(index),
            }
        )
    return stages


def scored(outputs: list[Path], truth: pa.Table) -> dict:
    """Pairwise scores of the documents of `outputs` (labels: the cluster_id each wrote) against the truth,
    and the resources whose documents carry several cluster ids."""
    docs = pa.concat_tables([pq.read_table(o, columns=["id", "url", "cluster_id"]) for o in outputs])
    _, resources, clusters = with_truth(docs, truth, outputs[0].parent)
    ids_of: dict[str, set[str]] = defaultdict(set)
    for resource, cluster in zip(resources, clusters, strict=True):
        ids_of[resource].add(cluster)
    counts = Counter(resources)
    together = [r for r in ids_of if counts[r] > 1]
    return {
        "documents": len(resources),
        "pairs": pair_scores(resources, clusters),
        "resources": len(together),
        "split": sum(len(ids_of[r]) > 1 for r in together),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dumps", type=int, default=5, help="the world's last N dumps")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    if args.work is not None:
        measure(args, args.work)
        return
    with tempfile.TemporaryDirectory(prefix="dedup_in_turn_") as work:  # removed after, as the others do
        measure(args, Path(work))


def measure(args: argparse.Namespace, work: Path) -> None:
    """Build the world, deduplicate it both ways under `work` and print the scores."""
    started = time.perf_counter()
    out = work / f"seed{args.seed}"
    world = [{"name": "world", "kind": "world", "preset": "tiny", "seed": args.seed}]
    run_pipeline_stages(out, "dedup in turn: world", world, args.master)
    dumps = sorted(p.name for p in (out / "world" / "dumps").iterdir() if p.is_dir())[-args.dumps :]
    stages = world + stages_for(dumps, out / "index")
    run_pipeline_stages(out, "dedup in turn", stages, args.master)
    truth = pq.read_table(out / "world" / "truth" / "documents.parquet", columns=TRUTH_COLUMNS)
    rows = {
        "all at once (control)": scored([out / "all"], truth),
        "in turn, joined on cluster_id": scored([out / f"turn-{d}" for d in dumps], truth),
    }
    print(f"tiny world, seed {args.seed}, dumps {', '.join(dumps)}; keep all")
    print(
        f"{'run':32s} {'documents':>9s} {'precision':>9s} {'recall':>7s} {'resources with several ids':>27s}"
    )
    for name, row in rows.items():
        pairs = row["pairs"]
        split = f"{row['split']} of {row['resources']}"
        print(f"{name:32s} {row['documents']:9,d} {pairs.precision:9.4f} {pairs.recall:7.4f} {split:>27s}")
    kept = f"; work folder {work}" if args.work is not None else ""
    print(f"({time.perf_counter() - started:,.0f} s{kept})")


if __name__ == "__main__":
    main()
