"""The cross-dump index on the Spark path: its rows read (with the cluster id each was given and the run that
added it, less those of runs left out) and the rows a run leaves in it. The driver path's counterparts are
jobs.dedup_driver.read_index and index_rows; dedup/index.py documents the columns."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from dedup.index import INDEX_ADDED_BY, INDEX_CLUSTER, INDEX_COLUMNS
from dedup.versions import ANCHOR, FROM_INDEX
from jobs.dedup_spark import mark_hubs
from jobs.spark import read_parquet


def read_index(spark: SparkSession, parts: Sequence[str], left_out: Sequence[str] = ()) -> DataFrame | None:
    """The rows of the index files `parts` (INDEX_COLUMNS, the cluster id each was given as ANCHOR, the
    output that added it, and _from_index = true) less those the outputs `left_out` added, or None for an
    index without files."""
    if not parts:
        return None
    index = read_parquet(spark, *parts)
    # files written before rows kept their cluster id: each row named itself, as its run did
    cluster = F.col(INDEX_CLUSTER) if INDEX_CLUSTER in index.columns else F.col("id")
    added_by = F.col(INDEX_ADDED_BY) if INDEX_ADDED_BY in index.columns else F.lit(None)
    rows = index.select(
        *INDEX_COLUMNS,
        cluster.cast("string").alias(ANCHOR),
        added_by.cast("string").alias(INDEX_ADDED_BY),
        F.lit(True).alias(FROM_INDEX),
    )
    kept = ~F.coalesce(F.col(INDEX_ADDED_BY).isin(list(left_out)), F.lit(False))
    return rows.filter(kept) if left_out else rows


def index_rows(
    signed: DataFrame,
    ranked: DataFrame,
    mapping: DataFrame,
    old_index: DataFrame | None,
    universe: DataFrame,
    added_by: str,
) -> DataFrame:
    """The index after this run, as dedup_driver.index_rows: this run's kept documents and singletons (added
    by `added_by`, this run's output) and the earlier rows it did not replace, each with the cluster id the run
    that added it gave it (a singleton: its own id); hub texts' rows as markers."""
    kept = ranked.filter(F.col("_keep")).select("id")
    columns = [*INDEX_COLUMNS, ANCHOR, INDEX_ADDED_BY]
    ours = signed.withColumn(INDEX_ADDED_BY, F.lit(added_by))
    singles = ours.join(mapping.select("id"), "id", "left_anti").select(*columns)
    rows = ours.join(kept, "id").select(*columns).unionByName(singles)
    rows = rows if old_index is None else rows.unionByName(old_index.select(*columns))
    given = mapping.select("id", F.col("cluster_id").alias("_given"))
    # as dedup_driver.index_rows: an earlier run's row keeps the cluster id that run gave it
    cluster = F.coalesce(F.col(ANCHOR), F.col("_given"), F.col("id")).alias(INDEX_CLUSTER)
    return mark_hubs(rows.join(given, "id", "left").select(*INDEX_COLUMNS, cluster, INDEX_ADDED_BY), universe)
