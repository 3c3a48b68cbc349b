"""Connected components in Spark (jobs.components_spark): both paths against union-find."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa

from dedup.kernel import DedupConfig
from dedup.local import dedup_table, text_graph
from dedup.lsh import LshConfig
from dedup.union_find import UnionFind, component_roots
from jobs.components_spark import connected_components
from tests.dedup.helpers import version_documents


def test_spark_components_equal_union_find_on_real_edges(spark, data_dir: Path) -> None:
    # Text-only banding at a low threshold gives a text graph with many non-trivial components.
    config = DedupConfig(lsh=LshConfig(threshold=0.3, url_key=False))
    annotated = dedup_table(version_documents(data_dir, articles=15, url=False), config)
    graph = text_graph(annotated, config)
    src, dst = graph.texts[graph.src].tolist(), graph.texts[graph.dst].tolist()
    edges = spark.createDataFrame(
        pa.table({"src": pa.array(src, pa.int64()), "dst": pa.array(dst, pa.int64())})
    )
    uf = UnionFind()
    for a, b in zip(src, dst, strict=True):
        uf.union(a, b)
    expected = uf.roots()
    for limit, path in ((10**9, "local"), (0, "spark")):
        mapping, report = connected_components(spark, edges, max_local_edges=limit)
        assert report.path == path and report.edges == len(set(zip(src, dst, strict=True))) > 30
        got = {r["id"]: r["cluster_id"] for r in mapping.collect()}
        assert got == expected
    assert len(set(expected.values())) > 5


def test_spark_components_on_a_long_chain_of_string_ids(spark) -> None:
    ids = [f"doc{i:04d}" for i in range(64)]
    order = np.random.default_rng(1).permutation(64)  # a path visiting ids in random order
    edges = spark.createDataFrame(
        [(ids[a], ids[b]) for a, b in itertools.pairwise(order)], "src string, dst string"
    )
    mapping, report = connected_components(spark, edges, max_local_edges=0)
    assert {r["cluster_id"] for r in mapping.collect()} == {"doc0000"} and report.rounds >= 2


def test_spark_components_on_trees_paths_and_stars(spark) -> None:
    # the shapes dedup's graphs take (versions edited from earlier ones, a chain of edits, a template's
    # star), with ids of both signs, both orientations, repeated edges and self-loops
    rng = np.random.default_rng(4)
    ids = rng.choice(2**62, 600, replace=False).astype(np.int64) * rng.choice([-1, 1], 600)
    tree = [(ids[i], ids[rng.integers(0, i)]) for i in range(1, 200)]
    path_order = rng.permutation(np.arange(200, 328))  # in random order: the rounds' worst case
    path = [(ids[a], ids[b]) for a, b in itertools.pairwise(path_order)]
    star = [(ids[i], ids[328]) for i in range(329, 500)]
    pairs = [(ids[i], ids[i + 1]) for i in range(500, 600, 2)]
    edges = tree + path + star + pairs
    edges = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges] + edges[:50]
    nodes, roots = component_roots(*(pa.array([int(e[k]) for e in edges], pa.int64()) for k in (0, 1)))
    assert len(set(roots.to_pylist())) == 3 + 50
    loops = [(ids[5], ids[5]), (ids[0] + 1, ids[0] + 1)]  # on a node of the tree, and on an id alone
    src, dst = (pa.array([int(e[k]) for e in edges + loops], pa.int64()) for k in (0, 1))
    frame = spark.createDataFrame(pa.table({"src": src, "dst": dst}))
    for limit, path in ((10**9, "local"), (0, "spark")):
        mapping, report = connected_components(spark, frame, max_local_edges=limit)
        got = mapping.toArrow().sort_by("id")
        assert report.path == path and report.rounds >= (3 if path == "spark" else 0)
        assert got.column("id").to_pylist() == nodes.to_pylist()
        assert got.column("cluster_id").to_pylist() == roots.to_pylist()
