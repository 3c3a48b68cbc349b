"""Connected components of an edge DataFrame in Spark: union-find in the driver below a size switch,
large-star/small-star rounds with checkpointing above it (dedup's text graph; dedup.union_find is the
single-process reference the tests hold both paths to)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.union_find import component_roots
from jobs.spark import checkpointed

DEFAULT_MAX_LOCAL_EDGES = 2_000_000


@dataclass
class ComponentsReport:
    """How the clusters were found: candidate pairs compared, pairs verified, URL edges, edges in all, the
    path taken and the large/small-star rounds."""

    candidates: int = 0
    verified: int = 0
    url_edges: int = 0
    template_hosts: int = 0  # hosts of candidate texts found template-heavy (dedup.site_templates)
    template_carriers: int = 0  # texts off such a host that carry its template (dedup.template_carriers)
    edges: int = 0
    path: str = "none"  # local | spark | none
    rounds: int = 0


def _large_star(edges: DataFrame) -> DataFrame:
    """Every node's larger neighbours linked to the smallest of the node and its neighbours: (src, dst) with
    src > dst. One shuffle: the node's edges meet in one window (the minimum over them), not in a join with
    their aggregate. A component that has become a star puts all its edges in its root's window, one task
    (sorted, spilling to disk past Spark's window buffer); `bench/components.py --giant` measures that case."""
    both = edges.unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    low = F.least(F.min("dst").over(Window.partitionBy("src")), F.col("src"))
    return (
        both.select("src", "dst", low.alias("m"))
        .filter(F.col("dst") > F.col("src"))
        .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """For edges with src > dst (what _large_star gives): every node and its smaller neighbours linked to the
    smallest of those neighbours, distinct. The edges are partitioned by src once, for both their distinct
    and the window."""
    unique = edges.repartition("src").distinct()
    low = F.min("dst").over(Window.partitionBy("src"))
    linked = unique.select("src", "dst", low.alias("m"))
    # both edges of a row from one pass over it (a union would plan the window twice)
    both = F.array(
        F.struct(F.col("dst").alias("src"), F.col("m").alias("dst")),
        F.struct(F.col("src"), F.col("m").alias("dst")),
    )
    return linked.select(F.inline(both)).filter(F.col("src") != F.col("dst")).distinct()


def _fingerprint(edges: DataFrame) -> tuple[int, int]:
    row = edges.agg(
        F.count(F.lit(1)).alias("n"),
        F.coalesce(F.sum(F.xxhash64("src", "dst").bitwiseAND(0xFFFFFFFF)), F.lit(0)).alias("h"),
    ).first()
    return int(row["n"]), int(row["h"])


def spark_components(edges: DataFrame, max_rounds: int = 100) -> tuple[DataFrame, int]:
    """(id, cluster_id) for every id on `edges` by alternating large-star and small-star until the edge set
    stops changing (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014). Each round is
    checkpointed so the plan does not grow with the rounds; a round shuffles the edges three times
    (`python bench/components.py`). Returns the mapping and the rounds taken."""
    current = edges.select("src", "dst").transform(checkpointed)
    before = _fingerprint(current)
    rounds = 0
    while True:
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
        current = _small_star(_large_star(current)).transform(checkpointed)
        after = _fingerprint(current)
        if after == before:
            break
        before = after
    # At the fixed point every edge points at its component's smallest id.
    roots = current.select(F.col("dst").alias("id"), F.col("dst").alias("cluster_id")).distinct()
    mapping = current.select(F.col("src").alias("id"), F.col("dst").alias("cluster_id")).unionByName(roots)
    return mapping.groupBy("id").agg(F.min("cluster_id").alias("cluster_id")), rounds


def local_components(spark: SparkSession, edges: DataFrame) -> DataFrame:
    """(id, cluster_id) for every id on `edges`, computed in this process with union-find (ids of any
    comparable type: strings, or node keys)."""
    table = edges.select("src", "dst").toArrow().combine_chunks()
    nodes, roots = component_roots(table.column("src").chunk(0), table.column("dst").chunk(0))
    return spark.createDataFrame(pa.table({"id": nodes, "cluster_id": roots}))


def connected_components(
    spark: SparkSession, edges: DataFrame, max_local_edges: int = DEFAULT_MAX_LOCAL_EDGES
) -> tuple[DataFrame, ComponentsReport]:
    """(id, cluster_id) for ids on `edges` between two different ids: union-find in the driver when there
    are at most `max_local_edges` edges (collected as Arrow, about 100 bytes an edge), large-star/small-star
    in Spark above it. Self-loops are left out first, so both paths answer alike for an id on one alone."""
    edges = edges.filter(F.col("src") != F.col("dst")).persist()
    n = edges.count()
    report = ComponentsReport(edges=n)
    if n == 0:
        report.path = "none"
        node_type = edges.schema["src"].dataType.simpleString()
        empty = spark.createDataFrame([], f"id {node_type}, cluster_id {node_type}")
        return empty, report
    if n <= max_local_edges:
        report.path = "local"
        result = local_components(spark, edges)
    else:
        report.path = "spark"
        result, report.rounds = spark_components(edges)
    result = result.transform(checkpointed)
    edges.unpersist()
    return result, report
