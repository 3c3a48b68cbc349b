"""The driver path of dedup: for inputs of up to `max_local_documents` documents, everything but the output
write runs in the driver process, on Arrow and NumPy.

At that size the text graph's inputs fit one process (about 500 bytes a document: band keys, sketch, hashes,
dates), and Spark's per-row costs dominate the work it would do: 32 band rows a document shuffled to find
the buckets, the verification joins, the windows that rank versions. Here:

- signatures: the input Parquet is read with pyarrow (only the columns the kernel reads) by a thread pool,
  and `dedup.kernel.dedup_kernel` runs on each batch, unchanged; the numba kernels release the GIL, so the
  threads use the cores Spark would have. No text crosses from the JVM to Python.
- the graph, components, cluster names and version ranks: `dedup.local` and `dedup.versions`, the
  single-process reference the Spark path is tested against, so both paths give the same results.
- the output: Spark joins the clustered documents' results (a broadcast) to the documents and writes the
  stage output as every stage does, byte-identical to the Spark path's.

Inputs with several rows under one id take the Spark path (the choice of the row kept is Spark's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from corpus.stats import StageStats
from dedup.index import INDEX_COLUMNS, INDEX_FIELDS, mark_hubs
from dedup.kernel import N_SHINGLES, DedupConfig, dedup_kernel, kernel_fields
from dedup.local import cluster_members
from dedup.lsh import unique_pairs, usable_cores
from dedup.versions import DUMP_DATE, FROM_INDEX, NOT_KEPT, cluster_summary, rank_versions
from jobs import dedup_spark as dspark
from jobs.dedup_common import (
    BROADCAST_MAX_ROWS,
    HELPER_COLUMNS,
    KERNEL_INPUTS,
    DedupRun,
    index_parts,
    is_dated,
)
from jobs.dedup_common import write_clusters as write_summary
from jobs.dedup_spark import ComponentsReport
from jobs.fs import locate
from jobs.stage import InputFile, write_stage

BATCH_ROWS = 4096  # documents per kernel call: the token buffers stay a few tens of MB


def _open(uri: str) -> pq.ParquetFile:
    location = locate(uri)
    return pq.ParquetFile(location.fs.open_input_file(location.path))


def count_rows(files: Sequence[InputFile]) -> int:
    """Rows of the Parquet `files`, from their footers."""
    return sum(_open(f.uri).metadata.num_rows for f in files)


def ids_are_unique(files: Sequence[InputFile]) -> bool:
    """True when no id occurs in two rows of the `files` (reads the id column only)."""
    ids = pa.chunked_array([_open(f.uri).read(columns=["id"]).column("id").combine_chunks() for f in files])
    return pc.count_distinct(ids, mode="all").as_py() == len(ids)


def _narrow_fields(config: DedupConfig) -> list[pa.Field]:
    base = [f for f in INDEX_FIELDS if f.name in ("id", "dump")]
    return [*base, *kernel_fields(config), pa.field(FROM_INDEX, pa.bool_())]


def _sign_unit(uri: str, row_group: int, config: DedupConfig) -> pa.Table:
    parquet = _open(uri)
    columns = [c for c in KERNEL_INPUTS if c in parquet.schema_arrow.names]
    kernel = dedup_kernel(config)
    fields = _narrow_fields(config)
    batches = []
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[row_group], columns=columns):
        out = kernel(batch)
        n = out.num_rows
        arrays = []
        for f in fields:
            if f.name == FROM_INDEX:
                arrays.append(pa.array(np.zeros(n, bool)))
            elif f.name in out.schema.names:
                arrays.append(out.column(f.name).cast(f.type))
            else:
                arrays.append(pa.nulls(n, f.type))
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields)))
    return pa.Table.from_batches(batches, schema=pa.schema(fields))


def sign_files(files: Sequence[InputFile], config: DedupConfig, threads: int | None = None) -> pa.Table:
    """The kernel's columns (plus id, dump and _from_index = false) of every row of the Parquet `files`, in
    file order, computed by `threads` threads (default: the cores) reading row groups."""
    units = [(f.uri, g) for f in files for g in range(_open(f.uri).metadata.num_row_groups)]
    with ThreadPoolExecutor(max(1, threads or usable_cores())) as pool:
        parts = list(pool.map(lambda unit: _sign_unit(unit[0], unit[1], config), units))
    schema = pa.schema(_narrow_fields(config))
    return pa.concat_tables(parts).combine_chunks() if parts else schema.empty_table()


def read_index(parts: Sequence[str]) -> pa.Table | None:
    """The rows (INDEX_COLUMNS) of the index files `parts` (dedup_common.index_parts) with _from_index =
    true, or None for an index without files."""
    if not parts:
        return None
    tables = []
    for uri in parts:
        location = locate(uri)
        tables.append(pq.read_table(location.fs.open_input_file(location.path), columns=list(INDEX_COLUMNS)))
    table = pa.concat_tables(tables).cast(pa.schema(INDEX_FIELDS))
    return table.append_column(FROM_INDEX, pa.array(np.ones(table.num_rows, bool)))


def universe_of(signed: pa.Table, old_index: pa.Table | None, config: DedupConfig) -> pa.Table:
    """This run's documents and the index's (those not in this run: a rerun of a dump matches itself, not a
    copy), with the kernel's columns."""
    if old_index is None:
        return signed.drop_columns([N_SHINGLES])
    fresh = old_index.filter(pc.invert(pc.is_in(old_index.column("id"), value_set=signed.column("id"))))
    ours = signed.drop_columns([N_SHINGLES])
    fresh = fresh.select(ours.schema.names).cast(ours.schema)
    return pa.concat_tables([ours, fresh]).combine_chunks()


def rank_in_driver(
    universe: pa.Table, config: DedupConfig, keep: str, lap: Callable[[str], None] = lambda step: None
) -> tuple[pa.Table, ComponentsReport]:
    """(ranked, report): the documents of multi-document clusters with cluster_id and the version columns
    (dedup.versions.rank_versions), and how the clusters were found. `lap` is called after the components
    ("components") and after the ranking ("versions")."""
    rows, cluster_ids, graph = cluster_members(universe, config)
    members = universe.take(pa.array(rows)).append_column("cluster_id", cluster_ids.cast(pa.string()))
    lap("components")
    ranked = rank_versions(members, keep)
    lap("versions")
    edges = len(unique_pairs(graph.src, graph.dst)[0])
    report = ComponentsReport(
        candidates=graph.candidates,
        verified=graph.verified,
        url_edges=graph.url_edges,
        edges=edges,
        path="driver",
    )
    return ranked, report


def index_rows(
    signed: pa.Table, ranked: pa.Table, old_index: pa.Table | None, universe: pa.Table
) -> pa.Table:
    """The index after this run (INDEX_COLUMNS): this run's kept documents of multi-document clusters, its
    singletons, and the earlier index rows that this run did not replace; hub texts' rows as markers
    (dedup.index.mark_hubs over the run's `universe`)."""
    ours = ranked.filter(pc.invert(ranked.column(FROM_INDEX)))
    clustered = ours.column("id")
    kept = ours.filter(ours.column("_keep")).column("id")
    in_clusters = pc.is_in(signed.column("id"), value_set=clustered)
    keep = pc.or_(pc.invert(in_clusters), pc.is_in(signed.column("id"), value_set=kept))
    parts = [signed.filter(keep).select(list(INDEX_COLUMNS))]
    if old_index is not None:
        replaced = pc.is_in(old_index.column("id"), value_set=signed.column("id"))
        parts.append(old_index.filter(pc.invert(replaced)).select(list(INDEX_COLUMNS)))
    return mark_hubs(pa.concat_tables([p.cast(pa.schema(INDEX_FIELDS)) for p in parts]), universe)


def dumps_with_dates(signed: pa.Table) -> list[str]:
    """Crawl ids whose week is known (the documents of those dumps have a version date)."""
    dated = signed.filter(pc.is_valid(signed.column(DUMP_DATE))).column("dump")
    return sorted(v for v in pc.unique(dated).to_pylist() if v is not None)


# The cluster summary's schema as the Spark path writes it (counts and the dump lists are never null).
CLUSTERS_SCHEMA = pa.schema(
    [
        pa.field("cluster_id", pa.string()),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("versions", pa.int64(), nullable=False),
        pa.field("newest_created", pa.timestamp("us", tz="UTC")),
        pa.field("oldest_created", pa.timestamp("us", tz="UTC")),
        pa.field("dumps", pa.list_(pa.field("element", pa.string(), nullable=False)), nullable=False),
        pa.field("n_dumps", pa.int64(), nullable=False),
    ]
)


def write_clusters(spark: SparkSession, ranked: pa.Table, output: str) -> None:
    """`output/_clusters/`: dedup.versions.cluster_summary of the ranked members, written by Spark's writer
    as the Spark path writes it, so that both paths' files carry the same schema and metadata."""
    summary = cluster_summary(ranked).cast(CLUSTERS_SCHEMA)
    schema = from_arrow_schema(CLUSTERS_SCHEMA)
    # pyspark cannot convert an Arrow table without chunks (an empty summary); an empty list it can.
    rows = summary if summary.num_rows else []
    write_summary(spark.createDataFrame(rows, schema=schema), output)


def run_in_driver(run: DedupRun, files: list[InputFile]) -> StageStats:
    """The driver path (jobs.dedup_driver) for the Parquet `files` of `run.documents`: signatures, graph and
    ranks in this process; Spark writes."""
    spark, job, stats, watch = run.spark, run.job, run.stats, run.watch
    config = job.config
    parts = index_parts(job.index, run.meta) if job.index else []  # checks settings before work
    signed = sign_files(files, config)
    stats.docs_in = signed.num_rows
    stats.counters["documents_without_shingles"] = pc.sum(pc.equal(signed.column(N_SHINGLES), 0)).as_py() or 0
    dated_dumps = dumps_with_dates(signed)
    watch.lap("signatures")
    old_index = read_index(parts)
    universe = universe_of(signed, old_index, config)
    ranked, report = rank_in_driver(universe, config, job.keep, watch.lap)
    ours = ranked.filter(pc.invert(ranked.column(FROM_INDEX)))
    clustered, not_kept = ours.num_rows, pc.sum(pc.invert(ours.column("_keep"))).as_py() or 0
    not_kept = not_kept if job.keep != "all" else 0
    stats.counters["documents_in_clusters"] = clustered
    stats.counters["exact_duplicates"] = pc.sum(ours.column("is_exact_dup")).as_py() or 0
    stats.counters["stale_documents"] = pc.sum(ours.column("is_stale")).as_py() or 0
    if not_kept:
        stats.drop(NOT_KEPT, not_kept)
    results = spark.createDataFrame(ours.select(["id", *dspark.RESULT_SQL]))
    df = run.documents
    out = dspark.attach_results(
        df, results, dated=is_dated(df, dated_dumps), broadcast=clustered <= BROADCAST_MAX_ROWS
    )
    if job.keep != "all":
        out = out.filter(F.col("_keep"))
    out = out.drop(*[c for c in HELPER_COLUMNS if c in out.columns])
    write_stage(
        out,
        run.output,
        stats,
        overwrite=run.overwrite,
        rows_per_shard=job.rows_per_shard,
        rows=stats.docs_in - not_kept,
    )
    watch.lap("write")
    write_clusters(spark, ranked, run.output)
    watch.lap("clusters")
    return run.finish(report, lambda: spark.createDataFrame(index_rows(signed, ranked, old_index, universe)))
