"""The shuffle half of dedup, as Spark DataFrame work: the text graph (band-bucket candidate pairs verified
against their sketches, URL buckets as star edges), connected components (large-star/small-star with
checkpointing, or union-find in one process below a size switch: jobs.components_spark), cluster names, and
version ranking per cluster with Window functions. The single-process reference is dedup.local; tests check
they agree.

Only documents that share a bucket with another document take part in the Window work; the rest are
singletons whose values are constants, so the per-cluster shuffle is proportional to the duplicates, not the
corpus. Everything here is a function of the data only (minimum ids, sorted orders), so results do not depend
on the number of partitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from dedup.kernel import BAND_KEYS, HOST_KEY, SKETCH, URL_KEY
from dedup.lsh import URL_HUB_HOSTS, URL_HUB_KEYS, pack_bucket_rows, unpack_bucket_rows
from dedup.lsh import candidate_pairs as lsh_candidate_pairs
from dedup.verify import MAX_TEXT_HOSTS, verify_batch
from dedup.versions import (
    ANCHOR,
    DUMP_DATE,
    FROM_INDEX,
    LENGTH,
    SEEN_DATE,
    TEXT_HASH,
    VERSION_DATE,
    keep_order,
)
from jobs.components_spark import DEFAULT_MAX_LOCAL_EDGES, ComponentsReport, connected_components
from jobs.spark import checkpointed
from jobs.templates_spark import carrier_edges, template_hosts

NONE = int(np.iinfo(np.int64).min)  # a missing date: sorts oldest, as in dedup.versions
BROADCAST_MAX_BUCKETS = 1_000_000  # buckets of 3+ documents broadcast to the join (~40 B each)
BROADCAST_MAX_SKETCHES = 500_000  # sketches of candidate texts broadcast to the verification (~140 B each)
D0, D1, D2 = "_d0", "_d1", "_d2"
MICROS = {VERSION_DATE: D0, SEEN_DATE: D1, DUMP_DATE: D2}  # each date's column in microseconds (narrow_frame)
NARROW_COLUMNS = ("id", TEXT_HASH, LENGTH, VERSION_DATE, SEEN_DATE, DUMP_DATE, FROM_INDEX, "dump")


def _host_rows(df: DataFrame) -> DataFrame:
    """(key, host, text) of the documents with a host key; `key` is null on a marker (dedup.index.mark_hubs)."""
    return df.filter(F.col(HOST_KEY).isNotNull()).select(
        F.col(URL_KEY).alias("key"), F.col(HOST_KEY).alias("host"), F.col(TEXT_HASH).alias("text")
    )


def hub_texts(df: DataFrame) -> DataFrame:
    """(text, host) of every text that is a hub on a host, as dedup.lsh.hub_rows decides it: the host serves
    it under URL_HUB_KEYS URL keys or more, URL_HUB_HOSTS hosts or more serve it, or a marker row says so."""
    per_host = (
        _host_rows(df)
        .distinct()
        .groupBy("text", "host")
        .agg(F.count("key").alias("n"), F.max(F.col("key").isNull()).alias("marked"))
    )
    spread = Window.partitionBy("text")
    return (
        per_host.withColumn("hosts", F.count("host").over(spread))
        .filter((F.col("n") >= URL_HUB_KEYS) | F.col("marked") | (F.col("hosts") >= URL_HUB_HOSTS))
        .select("text", "host")
    )


def url_rows(df: DataFrame) -> DataFrame:
    """The distinct (key, id) rows of URL stars, as dedup.lsh.url_star_rows picks them: one row per (URL
    key, text) of the documents that have a URL key, but none for a hub text (hub_texts) on its host."""
    keys = _host_rows(df).filter(F.col("key").isNotNull()).distinct()
    stars = keys.join(hub_texts(df), ["text", "host"], "left_anti")
    return stars.select("key", F.col("text").alias("id")).distinct()


def mark_hubs(index: DataFrame, universe: DataFrame) -> DataFrame:
    """`index` (rows of `universe`, by id) with the URL key of hub texts' rows set to null, as
    dedup.index.mark_hubs does."""
    rows = universe.select("id", F.col(TEXT_HASH).alias("text"), F.col(HOST_KEY).alias("host"))
    hubs = rows.join(hub_texts(universe), ["text", "host"]).select("id", F.lit(True).alias("_hub"))
    marked = index.join(hubs, "id", "left")
    url = F.when(F.col("_hub").isNull(), F.col(URL_KEY)).cast("long").alias(URL_KEY)
    return marked.select(*[url if c == URL_KEY else F.col(c) for c in index.columns])


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


def rename_duplicate_ids(df: DataFrame, broadcast_max: int = BROADCAST_MAX_BUCKETS) -> tuple[DataFrame, int]:
    """(`df` with unique ids, rows renamed). Dedup names documents by id (and a mixture draws by it), so two
    rows under one id cannot both be placed; dropping all but one would lose distinct documents (a sharded
    dataset numbers each shard from 0) and hide exact copies from dedup, whose job they are. So every row is
    kept: of the rows sharing an id, the first by a hash of its content (every column but `added`) keeps it
    and the others get `{id}~2`, `{id}~3`, ... in that order, skipping any `{id}~n` another input row
    already has, as the readers do within a file (corpus.reader_base.DocumentChecks.unique_id). The result
    depends on the rows only, never on the order they were read in nor on when they were ingested. The count goes to the counter corpus.reader_base.DUPLICATE_ID_RENAMED."""
    spark = df.sparkSession
    with one_phase_aggregates(spark):
        # A null id is no id, shared with nobody (`{null}~n` stays null): such rows pass unchanged and
        # uncounted; the stages that read documents give them their stable id first (jobs.langid).
        shared = (
            df.filter(F.col("id").isNotNull())
            .groupBy("id")
            .count()
            .filter(F.col("count") > 1)
            .transform(checkpointed)
        )
    totals = shared.agg(F.count(F.lit(1)).alias("ids"), F.sum("count").alias("rows")).first()
    n_shared = int(totals["ids"] or 0)
    if n_shared == 0:
        return df, 0
    shared = shared.select("id")
    ids = F.broadcast(shared) if n_shared <= broadcast_max else shared
    # The input's own `{shared id}~n` (a suffix n >= 2 no renamed row may take), sorted per shared id. A
    # `{x}~k` given here can equal no other `{y}~j` (the greedy match splits both at the last "~").
    pattern = r"(?s)^(.*)~([1-9][0-9]{0,17})$"
    suffix = F.regexp_extract("id", pattern, 2)
    taken = (
        df.select(F.regexp_extract("id", pattern, 1).alias("id"), suffix.alias("_n"))
        .filter(F.col("_n") != "")
        .join(ids, "id", "left_semi")
        .select("id", F.col("_n").cast("long").alias("_n"))
        .filter(F.col("_n") >= 2)
        .groupBy("id")
        .agg(F.array_sort(F.collect_set("_n")).alias("_taken"))
    )
    ties = [F.col(c) for c in ("text", "url", "source", "added") if c in df.columns]
    # `added` (when ingest ran) is no content: hashed, it gave a re-ingested dataset other ids, clusters
    # and mixture draws on every run
    content = [F.col(c) for c in df.columns if c != "added"]
    order = Window.partitionBy("id").orderBy(F.xxhash64(*content), *ties)
    numbered = (
        df.join(ids, "id", "left_semi")
        .withColumn("_copy", F.row_number().over(order).cast("long"))
        .join(F.broadcast(taken) if n_shared <= broadcast_max else taken, "id", "left")
    )
    # The (copy - 1)-th free suffix from 2: each taken suffix at or below the candidate moves it up one.
    free = F.aggregate(
        F.coalesce(F.col("_taken"), F.array().cast("array<bigint>")),
        F.col("_copy"),
        lambda n, t: F.when(t <= n, n + 1).otherwise(n),
    )
    new_id = F.when(F.col("_copy") == 1, F.col("id")).otherwise(
        F.concat(F.col("id"), F.lit("~"), free.cast("string"))
    )
    renamed = numbered.withColumn("id", new_id).select(*df.columns)
    return df.join(ids, "id", "left_anti").unionByName(renamed), int(totals["rows"]) - n_shared


def bucket_parts(rows: int, partitions: int) -> int:
    """Shuffle partitions for `rows` band bucket rows: at least `partitions`, and enough that one partition's
    rows (16 bytes each) stay near 64 MB in the Python worker that pairs them."""
    return max(1, partitions, -(-rows * 16 // (64 << 20)))


def candidate_pairs(texts: DataFrame, anchors: int, partitions: int) -> DataFrame:
    """Candidate pairs (src, dst), src > dst, of the texts (TEXT_HASH, BAND_KEYS) that share a band bucket:
    each text of a bucket paired with the bucket's `anchors` smallest texts below it (dedup.lsh
    .candidate_pairs). The bucket rows cross one shuffle packed (dedup.lsh.pack_bucket_rows) into
    `partitions` partitions, each of which holds whole buckets and pairs them in NumPy, so a bucket of k texts
    costs k x anchors pairs, never k^2."""
    parts = partitions * 16  # many parts a partition: hash partitioning spreads them evenly

    def pack(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield pack_bucket_rows(batch.column(BAND_KEYS), batch.column(TEXT_HASH), parts)

    def pair(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        packed = [batch.column("rows") for batch in batches]
        keys, nodes = unpack_bucket_rows(pa.chunked_array(packed, pa.binary()))
        src, dst = lsh_candidate_pairs(keys, nodes, anchors)
        yield pa.RecordBatch.from_arrays([pa.array(src), pa.array(dst)], names=["src", "dst"])

    rows = texts.select(BAND_KEYS, TEXT_HASH).mapInArrow(pack, "part int, rows binary")
    return rows.repartition(partitions, "part").mapInArrow(pair, "src long, dst long").distinct()


def verified_edges(
    pairs: DataFrame,
    sketches: DataFrame,
    num_perm: int,
    threshold: float,
    same_host_threshold: float | None = None,
    broadcast_max: int = BROADCAST_MAX_BUCKETS,
) -> tuple[DataFrame, int, int]:
    """(edges, template-heavy hosts found, carrier texts found): the candidate `pairs` (src, dst) whose
    estimated Jaccard similarity reaches their threshold, as (src, dst, similarity). `sketches` holds (id,
    sketch, host) of the documents: a text's id, its sketch (dedup.verify) and a document's host key. Where
    `same_host_threshold` is above `threshold` and some host is template-heavy (jobs.templates_spark), texts
    that meet at such a host need it (dedup.template_carriers)."""
    nodes = pairs.select(F.col("src").alias("id")).unionByName(pairs.select(F.col("dst").alias("id")))
    nodes = nodes.distinct().transform(checkpointed)
    # The texts of candidate pairs are few next to the corpus: broadcast them to the semi-join so that
    # the sketches of every document are filtered where they are, not shuffled.
    n_nodes = nodes.count()
    if n_nodes <= broadcast_max:
        nodes = F.broadcast(nodes)
    needed = (
        sketches.join(nodes, "id", "left_semi")
        .groupBy("id")
        .agg(
            F.first(SKETCH).alias(SKETCH),  # a function of the text: every document's is the same
            F.slice(F.array_sort(F.collect_set("host")), 1, MAX_TEXT_HOSTS).alias("hosts"),
        )
    )
    needed = needed.transform(checkpointed)
    if n_nodes <= BROADCAST_MAX_SKETCHES:  # then the joins below run where the pairs are, unshuffled
        needed = F.broadcast(needed)
    side = {
        end: needed.select(
            F.col("id").alias(end), F.col(SKETCH).alias(f"{end}_sketch"), F.col("hosts").alias(f"{end}_hosts")
        )
        for end in ("src", "dst")
    }
    joined = (
        pairs.join(side["src"], "src")
        .join(side["dst"], "dst")
        .select("src", "dst", "src_sketch", "dst_sketch", "src_hosts", "dst_hosts")
    )
    if same_host_threshold is not None and same_host_threshold > threshold:
        host_pairs = pairs.join(side["src"].drop("src_sketch"), "src").join(
            side["dst"].drop("dst_sketch"), "dst"
        )
        heavy = template_hosts(host_pairs, sketches, num_perm, threshold)
        if len(heavy):
            edges, carriers = carrier_edges(joined, heavy, num_perm, threshold, same_host_threshold)
            return edges, len(heavy), carriers

    def verify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield verify_batch(batch, num_perm, threshold)

    return joined.mapInArrow(verify, "src long, dst long, similarity double"), 0, 0


def star_edges(buckets: DataFrame, broadcast_max_buckets: int = BROADCAST_MAX_BUCKETS) -> DataFrame:
    """Edges (src, dst) from every member of a bucket (key, id) to the bucket's smallest id, distinct,
    src > dst: the edges of URL buckets, which need no verification. Two-member buckets give their edge from
    the aggregate alone; only larger buckets are joined back to their members."""
    with one_phase_aggregates(buckets.sparkSession):
        shared = (
            buckets.groupBy("key")
            .agg(F.min("id").alias("root"), F.max("id").alias("top"), F.count(F.lit(1)).alias("n"))
            .filter(F.col("root") != F.col("top"))
            .transform(checkpointed)
        )
    pairs = shared.filter(F.col("n") == 2).select(F.col("top").alias("src"), F.col("root").alias("dst"))
    big = shared.filter(F.col("n") > 2).select("key", "root")
    if big.count() <= broadcast_max_buckets:
        big = F.broadcast(big)
    members = buckets.join(big, "key").select(F.col("id").alias("src"), F.col("root").alias("dst"))
    return pairs.unionByName(members).filter(F.col("src") != F.col("dst")).distinct()


def document_clusters(
    spark: SparkSession,
    universe: DataFrame,
    anchors: int,
    num_perm: int,
    threshold: float,
    max_local_edges: int = DEFAULT_MAX_LOCAL_EDGES,
    bucket_rows: int = 0,
    same_host_threshold: float | None = None,
) -> tuple[DataFrame, ComponentsReport]:
    """(id, cluster_id) of every document of `universe` (kernel columns) that shares a cluster with another:
    components of the text graph, plus texts that several documents carry. cluster_id is the smallest
    document id of the component, as in dedup.local.cluster_table. Two texts that a template-heavy host
    serves both of need `same_host_threshold` (dedup.site_templates). `bucket_rows` (documents x bands,
    about) sizes the bucket shuffle."""
    report = ComponentsReport()
    partitions = bucket_parts(bucket_rows, int(spark.conf.get("spark.sql.shuffle.partitions")))
    pairs = candidate_pairs(universe, anchors, partitions).persist()
    report.candidates = pairs.count()
    sketches = universe.select(F.col(TEXT_HASH).alias("id"), SKETCH, F.col(HOST_KEY).alias("host"))
    verified, report.template_hosts, report.template_carriers = verified_edges(
        pairs, sketches, num_perm, threshold, same_host_threshold
    )
    verified = verified.select("src", "dst").transform(checkpointed)
    pairs.unpersist()
    report.verified = verified.count()
    with one_phase_aggregates(spark):  # nearly every (key, text) has one capture
        stars = url_rows(universe).transform(checkpointed)
    by_url = star_edges(stars).transform(checkpointed)
    report.url_edges = by_url.count()
    edges = verified.unionByName(by_url).distinct()
    components, found = connected_components(spark, edges, max_local_edges)
    report.edges, report.path, report.rounds = found.edges, found.path, found.rounds
    with one_phase_aggregates(spark):
        repeated = (
            universe.groupBy(F.col(TEXT_HASH).alias("id"))
            .count()
            .filter(F.col("count") > 1)
            .select("id", F.col("id").alias("cluster_id"))
            .transform(checkpointed)
        )
    roots = components.unionByName(repeated.join(components, "id", "left_anti"))
    n_roots = roots.count()
    texts = F.broadcast(roots) if n_roots <= BROADCAST_MAX_BUCKETS else roots
    anchor = F.col(ANCHOR) if ANCHOR in universe.columns else F.lit(None).cast("string")
    named = universe.select("id", anchor.alias(ANCHOR), F.col(TEXT_HASH).alias("_node")).join(
        texts.select(F.col("id").alias("_node"), F.col("cluster_id").alias("_root")), "_node"
    )
    # an index row's cluster id before any document's id (dedup.local.cluster_members): false sorts first
    name = F.struct(F.col(ANCHOR).isNull().alias("late"), F.coalesce(ANCHOR, F.col("id")).alias("name"))
    first = F.min(name).over(Window.partitionBy("_root")).getField("name")
    mapping = named.select("id", first.alias("cluster_id"))
    return mapping.transform(checkpointed), report


def narrow_frame(df: DataFrame) -> DataFrame:
    """The columns version ranking needs, dates as microseconds with missing dates as NONE."""

    def micros(name: str) -> Column:
        return F.coalesce(F.unix_micros(F.col(name)), F.lit(NONE)).alias(MICROS[name])

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
    """Window ordering under which a policy's preferred document comes first, from dedup.versions.KEEP_ORDERS
    as the local path's is, so both keep the same documents."""
    order: list[Column] = []
    for key in keep_order(policy).keys:
        column = F.col(MICROS.get(key.column, key.column))
        if key.moves_missing:
            order.append((column == NONE).asc())
        order.append(column.desc() if key.descending else column.asc())
    return order


def rank_versions(members: DataFrame, policy: str = "newest") -> DataFrame:
    """For the narrow rows of multi-document clusters (with cluster_id): cluster_size, version_rank,
    is_exact_dup, is_stale, staleness_days and _keep, with Window functions (mirrors dedup.versions)."""
    cluster = Window.partitionBy("cluster_id")
    versions = members.groupBy("cluster_id", TEXT_HASH).agg(F.max(F.struct(D0, D1, D2)).alias("_vk"))
    by_version = Window.partitionBy("cluster_id").orderBy(
        F.col("_vk._d0").desc(), F.col("_vk._d1").desc(), F.col("_vk._d2").desc(), F.col(TEXT_HASH).asc()
    )
    versions = versions.select(
        "cluster_id",
        TEXT_HASH,
        (F.row_number().over(by_version) - 1).alias("version_rank"),
        F.col("_vk._d0").alias("_text_date"),  # the version date of the text's most recent copy
    )
    prefer = preference(policy)
    exact = Window.partitionBy("cluster_id", TEXT_HASH).orderBy(F.col(FROM_INDEX).desc(), *prefer)
    newest = F.max(F.when(F.col(D0) != NONE, F.col(D0))).over(cluster)
    text_date = F.col("_text_date")
    dated = text_date != NONE
    ranked = (
        members.join(versions, ["cluster_id", TEXT_HASH])
        .withColumn("cluster_size", F.count(F.lit(1)).over(cluster))
        .withColumn("is_exact_dup", F.row_number().over(exact) > 1)
        .withColumn("is_stale", dated & (text_date < newest))
        .withColumn(
            "staleness_days",
            F.when(dated, F.floor((newest - text_date) / F.lit(86_400_000_000)).cast("int")),
        )
        .drop("_text_date")
    )
    rule = keep_order(policy)
    by_version = [F.col("version_rank").asc()] if rule.version_first else []
    keeper = Window.partitionBy("cluster_id").orderBy(F.col("is_exact_dup").asc(), *by_version, *prefer)
    first = F.row_number().over(keeper) == 1
    keep = ~F.col(FROM_INDEX) if rule.keep_all else first & ~F.col(FROM_INDEX)
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
    """`df` without those of `names` it has."""
    return df.drop(*[n for n in names if n in df.columns])
