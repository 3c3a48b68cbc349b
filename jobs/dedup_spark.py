"""The shuffle half of dedup, as Spark DataFrame work: bucket rows, star edges, connected components
(large-star/small-star with checkpointing, or union-find in one process below a size switch), and version
ranking per cluster with Window functions.

Only documents that share a bucket with another document take part in the Window work; the rest are
singletons whose values are constants, so the per-cluster shuffle is proportional to the duplicates, not the
corpus. Everything here is a function of the data only (minimum ids, sorted orders), so results do not depend
on the number of partitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from corpus.stats import REJECT_REASON, REJECT_SAMPLE_BYTES
from dedup.kernel import BUCKET_KEYS
from dedup.union_find import component_roots
from dedup.versions import DUMP_DATE, FROM_INDEX, KEEP_POLICIES, LENGTH, SEEN_DATE, TEXT_HASH, VERSION_DATE

NONE = int(np.iinfo(np.int64).min)  # a missing date: sorts oldest, as in dedup.versions
DEFAULT_MAX_LOCAL_EDGES = 2_000_000
BROADCAST_MAX_BUCKETS = 1_000_000  # buckets of 3+ documents broadcast to the join (~40 B each)
DUPLICATE_ID = "duplicate_id"  # reject reason of the extra rows of an id that several input rows share
D0, D1, D2 = "_d0", "_d1", "_d2"
NARROW_COLUMNS = ("id", TEXT_HASH, LENGTH, VERSION_DATE, SEEN_DATE, DUMP_DATE, FROM_INDEX, "dump")


@dataclass
class ComponentsReport:
    """How the components were found: edges, the path taken and the large/small-star rounds."""

    edges: int = 0
    path: str = "none"  # local | spark | none
    rounds: int = 0


def bucket_rows(df: DataFrame, node: str = "id") -> DataFrame:
    """One row per (bucket key, document), the document named by column `node` (called `id` here)."""
    return df.select(F.col(node).alias("id"), F.explode(BUCKET_KEYS).alias("key"))


def node_keys(bits: int = 64) -> Column:
    """A key per document id (Spark's xxhash64, its low `bits` bits) for the bucket and edge shuffles, which
    move fewer bytes and compare faster on longs than on string ids. Two ids may share a key;
    `named_components` detects that and the job falls back to string ids, so results never depend on the
    hash (tests force collisions with few bits)."""
    key = F.xxhash64(F.col("id"))
    return key if bits >= 64 else key.bitwiseAND(F.lit((1 << bits) - 1))


@contextmanager
def one_phase_aggregates(spark: SparkSession) -> Iterator[None]:
    """Aggregates planned and run inside the block (an eager checkpoint) skip the map-side partial
    aggregate. For groupings whose keys are nearly all unique (bucket keys, document ids) it reduces nothing
    and costs a hash map as large as the input. Spark's setting is restored afterwards."""
    key = "spark.sql.execution.bypassPartialAggregation"
    before = spark.conf.get(key, None)
    spark.conf.set(key, "true")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def split_duplicate_ids(
    df: DataFrame, broadcast_max: int = BROADCAST_MAX_BUCKETS
) -> tuple[DataFrame, DataFrame | None]:
    """(unique, extra): `df` with one row per id, and the other rows of the ids that several rows share, with
    reject fields (reason `duplicate_id`); extra is None when the ids are unique. Dedup names documents by
    id, so two rows under one id cannot both be placed in clusters. Of the rows sharing an id, the one first
    by a hash of its content is kept: the choice never depends on the order the rows were read in."""
    spark = df.sparkSession
    with one_phase_aggregates(spark):
        shared = df.groupBy("id").count().filter(F.col("count") > 1).select("id").localCheckpoint(eager=True)
    n_shared = shared.count()
    if n_shared == 0:
        return df, None
    ids = F.broadcast(shared) if n_shared <= broadcast_max else shared
    rows = df.withColumn("_input", F.input_file_name()).join(ids, "id", "left_semi")
    ties = [F.col(c) for c in ("text", "url", "source") if c in df.columns]
    order = Window.partitionBy("id").orderBy(F.xxhash64(*[F.col(c) for c in df.columns]), *ties)
    numbered = rows.withColumn("_copy", F.row_number().over(order))
    kept = numbered.filter(F.col("_copy") == 1).select(*df.columns)
    text = F.col("text") if "text" in df.columns else F.lit("")
    extra = numbered.filter(F.col("_copy") > 1).select(
        *df.columns,
        F.lit(DUPLICATE_ID).alias(REJECT_REASON),
        F.format_string(
            "another input row has id %s too; the first of them by content hash is kept", "id"
        ).alias("reject_detail"),
        F.col("_input").alias("reject_input"),
        F.substring(text, 1, REJECT_SAMPLE_BYTES).cast("binary").alias("reject_sample"),
    )
    return df.join(ids, "id", "left_anti").unionByName(kept), extra


def star_edges(buckets: DataFrame, broadcast_max_buckets: int = BROADCAST_MAX_BUCKETS) -> DataFrame:
    """Edges (src, dst) from every member of a bucket to the bucket's smallest id, distinct, src > dst.
    Two-member buckets (most of them) give their edge from the aggregate alone; only larger buckets are
    joined back to their members, which stays linear in the bucket's size. The shared buckets are few
    next to the bucket rows (one per band and document), so they are materialised once and, when at most
    `broadcast_max_buckets`, broadcast: the bucket rows are then shuffled once (for the aggregate), not
    twice (again for the join)."""
    with one_phase_aggregates(buckets.sparkSession):  # nearly every bucket key is one band of one document
        shared = (
            buckets.groupBy("key")
            .agg(F.min("id").alias("root"), F.max("id").alias("top"), F.count(F.lit(1)).alias("n"))
            .filter(F.col("n") > 1)
            .localCheckpoint(eager=True)
        )
    pairs = shared.filter(F.col("n") == 2).select(F.col("top").alias("src"), F.col("root").alias("dst"))
    big = shared.filter(F.col("n") > 2).select("key", "root")
    if big.count() <= broadcast_max_buckets:
        big = F.broadcast(big)
    members = buckets.join(big, "key").select(F.col("id").alias("src"), F.col("root").alias("dst"))
    return pairs.unionByName(members).filter(F.col("src") != F.col("dst")).distinct()


def _large_star(edges: DataFrame) -> DataFrame:
    both = edges.unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))
    low = (
        both.groupBy("src").agg(F.min("dst").alias("m_dst")).select("src", F.least("m_dst", "src").alias("m"))
    )
    return (
        both.join(low, "src")
        .filter(F.col("dst") > F.col("src"))
        .select(F.col("dst").alias("src"), F.col("m").alias("dst"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    oriented = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")).filter(
        F.col("src") != F.col("dst")
    )
    low = oriented.groupBy("src").agg(F.min("dst").alias("m"))
    joined = oriented.join(low, "src")
    neighbours = joined.select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    centre = joined.select(F.col("src"), F.col("m").alias("dst"))
    return neighbours.unionByName(centre).filter(F.col("src") != F.col("dst")).distinct()


def _fingerprint(edges: DataFrame) -> tuple[int, int]:
    row = edges.agg(
        F.count(F.lit(1)).alias("n"),
        F.coalesce(F.sum(F.xxhash64("src", "dst").bitwiseAND(0xFFFFFFFF)), F.lit(0)).alias("h"),
    ).first()
    return int(row["n"]), int(row["h"])


def spark_components(edges: DataFrame, max_rounds: int = 100) -> tuple[DataFrame, int]:
    """(id, cluster_id) for every id on `edges` by alternating large-star and small-star until the edge set
    stops changing (Kiveris et al., "Connected Components in MapReduce and Beyond", 2014). Each round is
    checkpointed so the plan does not grow with the rounds. Returns the mapping and the rounds taken."""
    current = edges.select("src", "dst").localCheckpoint(eager=True)
    before = _fingerprint(current)
    rounds = 0
    while True:
        rounds += 1
        if rounds > max_rounds:
            raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")
        current = _small_star(_large_star(current)).localCheckpoint(eager=True)
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


class KeyCollision(Exception):
    """Two document ids share a node key (xxhash64): components must be found on the string ids."""


def named_components(mapping: DataFrame, nodes: DataFrame, broadcast: bool, local: bool = False) -> DataFrame:
    """(id, cluster_id) with string ids from a (node key, root key) `mapping`: `nodes` holds (node, id) of
    every document; cluster_id is the smallest id of the component, as on the string path. Raises
    KeyCollision when a key of the mapping names two different ids. `local`: the mapping came from the
    driver's union-find and is small; name it there too (one Spark job instead of five)."""
    keyed = mapping.select(F.col("id").alias("node"), F.col("cluster_id").alias("root"))
    if local:
        named = F.broadcast(keyed).join(nodes, "node").toArrow()
        return nodes.sparkSession.createDataFrame(name_components_locally(named))
    named = (F.broadcast(keyed) if broadcast else keyed).join(nodes, "node").persist()
    clash = named.groupBy("node").agg(F.min("id").alias("a"), F.max("id").alias("b")).filter("a != b")
    if clash.limit(1).count():
        named.unpersist()
        raise KeyCollision
    roots = named.groupBy("root").agg(F.min("id").alias("cluster_id"))
    result = named.join(roots, "root").select("id", "cluster_id").distinct().localCheckpoint(eager=True)
    named.unpersist()
    return result


def name_components_locally(named: pa.Table) -> pa.Table:
    """(id, cluster_id) from an Arrow table of (node, root, id) rows, as `named_components` does in Spark."""
    ids = named.group_by("node").aggregate([("id", "min"), ("id", "max")])
    if ids.num_rows and not pc.all(pc.equal(ids.column("id_min"), ids.column("id_max"))).as_py():
        raise KeyCollision
    roots = named.group_by("root").aggregate([("id", "min")]).rename_columns(["root", "cluster_id"])
    pairs = named.join(roots, "root").group_by(["id", "cluster_id"]).aggregate([])
    return pairs.sort_by("id").select(["id", "cluster_id"])


def connected_components(
    spark: SparkSession, edges: DataFrame, max_local_edges: int = DEFAULT_MAX_LOCAL_EDGES
) -> tuple[DataFrame, ComponentsReport]:
    """(id, cluster_id) for ids on `edges`: union-find in the driver when there are at most `max_local_edges`
    edges (collected as Arrow, about 100 bytes an edge), large-star/small-star in Spark above it."""
    edges = edges.persist()
    n = edges.count()
    report = ComponentsReport(edges=n)
    if n == 0:
        report.path = "none"
        empty = spark.createDataFrame([], "id string, cluster_id string")
        return empty, report
    if n <= max_local_edges:
        report.path = "local"
        result = local_components(spark, edges)
    else:
        report.path = "spark"
        result, report.rounds = spark_components(edges)
    result = result.localCheckpoint(eager=True)
    edges.unpersist()
    return result, report


def narrow_frame(df: DataFrame) -> DataFrame:
    """The columns version ranking needs, dates as microseconds with missing dates as NONE."""

    def micros(name: str) -> Column:
        return F.coalesce(F.unix_micros(F.col(name)), F.lit(NONE)).alias(
            name.replace("_version_date", D0).replace("_seen_date", D1).replace("_dump_date", D2)
        )

    from_index = F.col(FROM_INDEX) if FROM_INDEX in df.columns else F.lit(False)
    dump = F.col("dump") if "dump" in df.columns else F.lit(None).cast("string")
    return df.select(
        "id",
        TEXT_HASH,
        LENGTH,
        micros(VERSION_DATE),
        micros(SEEN_DATE),
        micros(DUMP_DATE),
        VERSION_DATE,
        from_index.alias(FROM_INDEX),
        dump.alias("dump"),
    )


def preference(policy: str) -> list[Column]:
    """Window ordering under which a policy's preferred document comes first (same as dedup.versions)."""
    newest = [F.col(D0).desc(), F.col(D1).desc(), F.col(D2).desc()]
    if policy in ("newest", "all"):
        return [*newest, F.col("id").asc()]
    if policy == "oldest":
        return [
            (F.col(D0) == NONE).asc(),
            F.col(D0).asc(),
            F.col(D1).asc(),
            F.col(D2).asc(),
            F.col("id").asc(),
        ]
    if policy == "first-seen":
        return [(F.col(D1) == NONE).asc(), F.col(D1).asc(), F.col(D0).asc(), F.col("id").asc()]
    if policy == "longest":
        return [F.col(LENGTH).desc(), *newest, F.col("id").asc()]
    raise ValueError(f"keep {policy!r}: expected one of {', '.join(KEEP_POLICIES)}")


def rank_versions(members: DataFrame, policy: str = "newest") -> DataFrame:
    """For the narrow rows of multi-document clusters (with cluster_id): cluster_size, version_rank,
    is_exact_dup, is_stale, staleness_days and _keep, with Window functions (mirrors dedup.versions)."""
    cluster = Window.partitionBy("cluster_id")
    versions = members.groupBy("cluster_id", TEXT_HASH).agg(F.max(F.struct(D0, D1, D2)).alias("_vk"))
    by_version = Window.partitionBy("cluster_id").orderBy(
        F.col("_vk._d0").desc(), F.col("_vk._d1").desc(), F.col("_vk._d2").desc(), F.col(TEXT_HASH).asc()
    )
    versions = versions.select(
        "cluster_id", TEXT_HASH, (F.row_number().over(by_version) - 1).alias("version_rank")
    )
    prefer = preference(policy)
    exact = Window.partitionBy("cluster_id", TEXT_HASH).orderBy(F.col(FROM_INDEX).desc(), *prefer)
    newest = F.max(F.when(F.col(D0) != NONE, F.col(D0))).over(cluster)
    dated = F.col(D0) != NONE
    ranked = (
        members.join(versions, ["cluster_id", TEXT_HASH])
        .withColumn("cluster_size", F.count(F.lit(1)).over(cluster))
        .withColumn("is_exact_dup", F.row_number().over(exact) > 1)
        .withColumn("is_stale", dated & (F.col(D0) < newest))
        .withColumn(
            "staleness_days",
            F.when(dated, F.floor((newest - F.col(D0)) / F.lit(86_400_000_000)).cast("int")),
        )
    )
    keep_order = Window.partitionBy("cluster_id").orderBy(F.col("is_exact_dup").asc(), *prefer)
    first = F.row_number().over(keep_order) == 1
    keep = ~F.col(FROM_INDEX) if policy == "all" else first & ~F.col(FROM_INDEX)
    return ranked.withColumn("_keep", keep).withColumn("version_rank", F.col("version_rank").cast("int"))


def cluster_summary(members: DataFrame) -> DataFrame:
    """One row per multi-document cluster: cluster_id, size, versions, newest_created, oldest_created,
    dumps (sorted distinct crawl ids), n_dumps (same columns as dedup.versions.cluster_summary)."""
    return (
        members.groupBy("cluster_id")
        .agg(
            F.count(F.lit(1)).alias("size"),
            F.countDistinct(TEXT_HASH).alias("versions"),
            F.max(VERSION_DATE).alias("newest_created"),
            F.min(VERSION_DATE).alias("oldest_created"),
            F.sort_array(F.collect_set("dump")).alias("dumps"),
        )
        .withColumn("n_dumps", F.size("dumps").cast("long"))
    )


RESULT_SQL = {
    "cluster_id": "string",
    "cluster_size": "bigint",
    "version_rank": "int",
    "is_exact_dup": "boolean",
    "is_stale": "boolean",
    "staleness_days": "int",
    "_keep": "boolean",
}


def attach_results(df: DataFrame, ranked: DataFrame, dated: Column, broadcast: bool) -> DataFrame:
    """`df` with the dedup columns: the ranked values for clustered documents, singleton values otherwise
    (`dated`, a column of `df`, says whether a singleton has a version date: staleness 0, else null)."""
    results = ranked.select("id", *RESULT_SQL)
    joined = (
        df.drop(*[c for c in RESULT_SQL if c in df.columns])
        .withColumn("_dated", dated)
        .join(F.broadcast(results) if broadcast else results, "id", "left")
    )
    dated = F.col("_dated")
    return (
        joined.withColumn("cluster_id", F.coalesce("cluster_id", "id"))
        .withColumn("cluster_size", F.coalesce("cluster_size", F.lit(1).cast("bigint")))
        .withColumn("version_rank", F.coalesce("version_rank", F.lit(0)))
        .withColumn("is_exact_dup", F.coalesce("is_exact_dup", F.lit(False)))
        .withColumn("is_stale", F.coalesce("is_stale", F.lit(False)))
        .withColumn(
            "staleness_days",
            F.when(F.col("staleness_days").isNotNull(), F.col("staleness_days")).when(dated, F.lit(0)),
        )
        .withColumn("_keep", F.coalesce("_keep", F.lit(True)))
        .drop("_dated")
    )


def clustered_members(narrow: DataFrame, mapping: DataFrame, broadcast: bool = False) -> DataFrame:
    """Narrow rows of documents on an edge, with their cluster_id. A `broadcast` mapping (the clustered
    documents are usually a small part of the corpus) spares shuffling every narrow row for the join."""
    return narrow.join(F.broadcast(mapping) if broadcast else mapping, "id")


def drop_columns(df: DataFrame, names: Sequence[str]) -> DataFrame:
    return df.drop(*[n for n in names if n in df.columns])
