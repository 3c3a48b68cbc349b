"""Connected components of a dedup-like text graph in Spark (large-star/small-star rounds), against the
driver's union-find on the same edges, same run.

Above `--max-local-edges` (2M by default) dedup finds its clusters with `jobs.components_spark.spark_components`,
the only path a dump's graph (hundreds of millions of edges) can take; this times it on a graph shaped like
dedup's: `--edges` edges over random 64-bit text hashes, in components whose sizes follow a power law (most
are a page's two or three versions), each a random tree (versions edited from an earlier one), plus a few
long paths (a chain of edits, the rounds' worst case: their number grows with the log of the longest path)
and a few stars (a boilerplate template shared by thousands of pages). The reference and floor is
`dedup.union_find.component_roots`, what the driver path runs, on the same edges in this process; the Spark
result must equal it. Prints seconds, rounds and the ratio, best of `--repeat`.

    python bench/components.py [--edges 2000000] [--master local[2]] [--repeat 2] [--giant 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from dedup.union_find import component_roots  # noqa: E402
from jobs.components_spark import spark_components  # noqa: E402
from jobs.spark import SparkOptions, spark_session  # noqa: E402

PATHS, STARS = 4, 4  # chains of edits and boilerplate templates, each 1% of the edges


def text_graph(edges: int, seed: int = 0, giant: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) int64 edges as described in the module doc, in random order and orientation; with `giant`
    > 0, the first tree holds that share of the edges (a template shared by a large part of the corpus)."""
    rng = np.random.default_rng(seed)
    path_length, star_leaves = edges // 100 + 1, edges // 100
    special = PATHS * (path_length - 1) + STARS * star_leaves
    sizes = np.minimum(rng.zipf(2.2, edges), 5_000) + 1  # nodes per component; trimmed below
    if giant > 0:
        sizes = np.concatenate([[int(giant * edges) + 1], sizes])
    sizes = sizes[np.cumsum(sizes - 1) <= max(edges - special, 0)]
    n_tree_nodes = int(sizes.sum())
    nodes = rng.choice(2**62, n_tree_nodes + PATHS * path_length + STARS * (star_leaves + 1), replace=False)
    nodes = nodes.astype(np.int64) * np.where(rng.random(len(nodes)) < 0.5, -1, 1)
    # random recursive trees: node i of a component links to a random earlier node of it
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    offsets = np.arange(n_tree_nodes) - starts
    child = offsets > 0
    parent = starts[child] + (rng.random(int(child.sum())) * offsets[child]).astype(np.int64)
    src, dst = [nodes[:n_tree_nodes][child]], [nodes[:n_tree_nodes][parent]]
    cursor = n_tree_nodes
    for _ in range(PATHS):
        path = nodes[cursor : cursor + path_length]
        src.append(path[1:])
        dst.append(path[:-1])
        cursor += path_length
    for _ in range(STARS):
        hub, leaves = nodes[cursor], nodes[cursor + 1 : cursor + 1 + star_leaves]
        src.append(leaves)
        dst.append(np.full(star_leaves, hub))
        cursor += star_leaves + 1
    a, b = np.concatenate(src), np.concatenate(dst)
    order = rng.permutation(len(a))
    flip = rng.random(len(a)) < 0.5
    a, b = a[order], b[order]
    return np.where(flip, b, a), np.where(flip, a, b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=2_000_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--giant", type=float, default=0.0, help="share of the edges in one component")
    args = parser.parse_args()
    if args.edges < 1000 or args.repeat < 1 or not 0 <= args.giant < 0.9:
        parser.error("--edges must be >= 1000, --repeat >= 1 and --giant in [0, 0.9)")
    src, dst = text_graph(args.edges, giant=args.giant)
    table = pa.table({"src": src, "dst": dst})
    local_s, expected = [], None
    for _ in range(args.repeat):
        started = time.perf_counter()
        expected = component_roots(table.column("src").chunk(0), table.column("dst").chunk(0))
        local_s.append(time.perf_counter() - started)
    nodes, roots = expected
    print(
        f"graph: {len(src):,} edges, {len(nodes):,} nodes, "
        f"{len(np.unique(roots.to_numpy())):,} components (longest path {args.edges // 100 + 1:,} nodes, "
        f"largest {np.unique(roots.to_numpy(), return_counts=True)[1].max():,} nodes)"
    )
    spark = spark_session(SparkOptions(master=args.master))
    edges = spark.createDataFrame(table).localCheckpoint(eager=True)
    spark_s, rounds = [], 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        mapping, rounds = spark_components(edges)
        got = mapping.toArrow().sort_by("id")
        spark_s.append(time.perf_counter() - started)
        assert np.array_equal(got.column("id").to_numpy(), nodes.to_numpy()), "nodes differ"
        assert np.array_equal(got.column("cluster_id").to_numpy(), roots.to_numpy()), "components differ"
    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    spark.stop()
    spread = lambda runs: f"{min(runs):7.2f} s (best of {len(runs)}; worst {max(runs):.2f} s)"  # noqa: E731
    print(f"union-find, this process: {spread(local_s)}")
    print(
        f"Spark rounds, {args.master} ({partitions} shuffle partitions): {spread(spark_s)}, {rounds} rounds"
    )
    print(f"Spark / union-find, best runs: {min(spark_s) / min(local_s):.1f}x   (same components)")


if __name__ == "__main__":
    main()
