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
- the output: the driver reads the documents again, in batches of a row group, adds the results and writes the
  stage output with pyarrow (jobs.stage_arrow) in the layout every stage's output has: the same files,
  rows, order and schema as the Spark path's. Spark would shuffle all the text to write it; on 2 cores
  that shuffle was over half of a 1M-document run.

Inputs with several rows under one id take the Spark path (the choice of the row kept is Spark's).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType

from corpus.stats import StageStats
from dedup.index import INDEX_ADDED_BY, INDEX_CLUSTER, INDEX_COLUMNS, INDEX_FIELDS, mark_hubs
from dedup.kernel import N_SHINGLES, DedupConfig, dedup_kernel, kernel_fields
from dedup.local import cluster_members
from dedup.lsh import unique_pairs, usable_cores
from dedup.versions import (
    ANCHOR,
    DUMP_DATE,
    FROM_INDEX,
    NOT_KEPT,
    VERSION_DATE,
    cluster_summary,
    date_columns,
    rank_versions,
)
from jobs import dedup_spark as dspark
from jobs.components_spark import ComponentsReport
from jobs.dedup_common import (
    HELPER_COLUMNS,
    KERNEL_INPUTS,
    DedupRun,
    index_parts,
    is_dated,
)
from jobs.dedup_spark import RESULT_SQL
from jobs.fs import AtomicStageOutput, locate
from jobs.stage import InputFile
from jobs.stage_arrow import arrow_schema, write_file_as_spark, write_stage_arrow

BATCH_ROWS = 4096  # documents per kernel call: the token buffers stay a few tens of MB
# Uncompressed bytes of a batch of the output pass (all columns): per-batch costs stay small against the
# rows' (8192-row batches of 1.5 KB documents took 2.6 s more of a 1M-document write than 64k-row ones).
OUTPUT_BATCH_BYTES = 64 << 20


def _open(uri: str) -> pq.ParquetFile:
    location = locate(uri)
    # INT96 (other Spark writers' default) as microseconds, as Spark reads it; nanoseconds overflow.
    return pq.ParquetFile(location.fs.open_input_file(location.path), coerce_int96_timestamp_unit="us")


def count_rows(files: Sequence[InputFile]) -> int:
    """Rows of the Parquet `files`, from their footers."""
    return sum(_open(f.uri).metadata.num_rows for f in files)


def ids_are_unique(files: Sequence[InputFile]) -> bool:
    """True when every row of the `files` has an id (not null, not empty) that no other row has (reads the
    id column only); the Spark path gives the others theirs (jobs.langid.assign_missing_ids)."""
    ids = pa.chunked_array([_open(f.uri).read(columns=["id"]).column("id").combine_chunks() for f in files])
    if ids.null_count or pc.any(pc.equal(pc.utf8_length(ids.cast(pa.string())), 0)).as_py():
        return False
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


def read_index(parts: Sequence[str], left_out: Sequence[str] = ()) -> pa.Table | None:
    """The rows (INDEX_COLUMNS) of the index files `parts` (dedup_common.index_parts) with the cluster id
    each was given (ANCHOR), the output that added it and _from_index = true, less those the outputs
    `left_out` added (dedup_common.IndexRuns); None for an index without files."""
    if not parts:
        return None
    tables = []
    for uri in parts:
        location = locate(uri)
        file = pq.ParquetFile(location.fs.open_input_file(location.path))
        table = file.read(columns=list(INDEX_COLUMNS)).cast(pa.schema(INDEX_FIELDS))
        # a file written before rows kept their cluster id: each row named itself, as its run did
        cluster = (
            file.read(columns=[INDEX_CLUSTER]).column(0) if INDEX_CLUSTER in file.schema_arrow.names else None
        )
        cluster = table.column("id") if cluster is None else cluster
        names = file.schema_arrow.names
        added = file.read(columns=[INDEX_ADDED_BY]).column(0) if INDEX_ADDED_BY in names else None
        added = pa.nulls(table.num_rows, pa.string()) if added is None else added.cast(pa.string())
        tables.append(
            table.append_column(ANCHOR, cluster.cast(pa.string())).append_column(INDEX_ADDED_BY, added)
        )
    table = pa.concat_tables(tables)
    if left_out:
        gone = pc.fill_null(pc.is_in(table.column(INDEX_ADDED_BY), value_set=pa.array(list(left_out))), False)
        table = table.filter(pc.invert(gone))
    return table.append_column(FROM_INDEX, pa.array(np.ones(table.num_rows, bool)))


def universe_of(signed: pa.Table, old_index: pa.Table | None, config: DedupConfig) -> pa.Table:
    """This run's documents and the index's (those not in this run: a rerun of a dump matches itself, not a
    copy), with the kernel's columns."""
    if old_index is None:
        return signed.drop_columns([N_SHINGLES])
    fresh = old_index.filter(pc.invert(pc.is_in(old_index.column("id"), value_set=signed.column("id"))))
    ours = signed.drop_columns([N_SHINGLES])
    ours = ours.append_column(ANCHOR, pa.nulls(ours.num_rows, pa.string()))
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
        template_hosts=graph.template_hosts,
        template_carriers=graph.template_carriers,
        edges=edges,
        path="driver",
    )
    return ranked, report


def index_rows(
    signed: pa.Table, ranked: pa.Table, old_index: pa.Table | None, universe: pa.Table, added_by: str = ""
) -> pa.Table:
    """The index after this run (INDEX_COLUMNS): this run's kept documents of multi-document clusters, its
    singletons, and the earlier index rows that this run did not replace; hub texts' rows as markers
    (dedup.index.mark_hubs over the run's `universe`)."""
    ours = ranked.filter(pc.invert(ranked.column(FROM_INDEX)))
    clustered = ours.column("id")
    kept = ours.filter(ours.column("_keep")).column("id")
    in_clusters = pc.is_in(signed.column("id"), value_set=clustered)
    keep = pc.or_(pc.invert(in_clusters), pc.is_in(signed.column("id"), value_set=kept))
    kept_rows = signed.filter(keep).select(list(INDEX_COLUMNS))
    n = kept_rows.num_rows
    kept_rows = kept_rows.append_column(ANCHOR, pa.nulls(n, pa.string()))
    parts = [kept_rows.append_column(INDEX_ADDED_BY, pa.array([added_by] * n, pa.string()))]
    if old_index is not None:
        replaced = pc.is_in(old_index.column("id"), value_set=signed.column("id"))
        parts.append(old_index.filter(pc.invert(replaced)).select([*INDEX_COLUMNS, ANCHOR, INDEX_ADDED_BY]))
    schema = pa.schema([*INDEX_FIELDS, pa.field(ANCHOR, pa.string()), pa.field(INDEX_ADDED_BY, pa.string())])
    rows = pa.concat_tables([p.cast(schema) for p in parts])
    # an earlier run's row keeps the cluster id that run gave it (a rerun of a dump then finds the rows of
    # the runs before it as they left them); this run's, the one it gave, else its own id (a singleton)
    given = ranked.column("cluster_id").take(pc.index_in(rows.column("id"), value_set=ranked.column("id")))
    cluster = pc.coalesce(rows.column(ANCHOR), given.cast(pa.string()), rows.column("id").cast(pa.string()))
    added = rows.column(INDEX_ADDED_BY)
    rows = rows.drop_columns([ANCHOR, INDEX_ADDED_BY]).append_column(INDEX_CLUSTER, cluster)
    return mark_hubs(rows.append_column(INDEX_ADDED_BY, added), universe)


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
    """`output/_clusters/`: dedup.versions.cluster_summary of the ranked members, as the Spark path writes it
    (one file sorted by cluster_id, Spark's schema in the footer), written by pyarrow."""
    summary = cluster_summary(ranked).cast(CLUSTERS_SCHEMA).sort_by("cluster_id")
    with AtomicStageOutput(locate(output).child("_clusters").uri, overwrite=True) as tmp:
        tmp.fs.create_dir(tmp.path, recursive=True)
        write_file_as_spark(
            summary, from_arrow_schema(CLUSTERS_SCHEMA), spark.version, tmp.child("part-00000.parquet")
        )


def output_schema(run: DedupRun, ours: pa.Table, dated_dumps: list[str]) -> StructType:
    """The Spark path's output schema: that of the results joined to the documents, helpers dropped, read
    from the frame's plan (no Spark job runs)."""
    results = run.spark.createDataFrame([], schema=from_arrow_schema(ours.select(["id", *RESULT_SQL]).schema))
    df = run.documents
    out = dspark.attach_results(df, results, dated=is_dated(df, dated_dumps), broadcast=True)
    return out.drop(*[c for c in HELPER_COLUMNS if c in out.columns]).schema


@dataclass(frozen=True)
class OutputRows:
    """What the output pass adds to the input rows: `results` (id, RESULT_SQL and _keep of every clustered
    document), `position` (each input row's row in `results`, or null, in the order sign_files read the rows,
    whose `ids` it checks), whether every row is kept, and the output's Arrow schema."""

    results: pa.Table
    position: pa.Array
    ids: pa.Array
    keep_all: bool
    schema: pa.Schema

    @classmethod
    def of(cls, signed: pa.Table, ours: pa.Table, keep_all: bool, schema: pa.Schema) -> OutputRows:
        ids = signed.column("id").combine_chunks()
        # A null id is no key, as in the Spark path's join.
        position = pc.index_in(ids, value_set=ours.column("id").combine_chunks(), skip_nulls=True)
        return cls(ours, position, ids, keep_all, schema)


def output_batches(rows: OutputRows, uri: str, row_group: int, start: int) -> Iterator[pa.Table]:
    """One row group of the input, whose first row is the `start`th that sign_files read, in batches with the
    dedup columns, in `rows.schema`: a clustered document's results, a singleton's values otherwise (as
    jobs.dedup_spark.attach_results gives them); without the documents not kept unless `rows.keep_all`."""
    schema = rows.schema
    parquet = _open(uri)
    names = [n for n in schema.names if n in parquet.schema_arrow.names and n not in RESULT_SQL]
    group = parquet.metadata.row_group(row_group)
    batch_rows = max(1024, OUTPUT_BATCH_BYTES * group.num_rows // max(1, group.total_byte_size))
    for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[row_group], columns=names):
        n = batch.num_rows
        ids = batch.column("id")
        if not ids.equals(rows.ids.slice(start, n)):
            raise AssertionError(f"{uri}, row group {row_group}: not the rows the signatures were made of")
        position = rows.position.slice(start, n)
        start += n

        def result(name: str, default: object = None, position: pa.Array = position) -> pa.Array:
            values = rows.results.column(name).take(position)
            values = values.cast(schema.field(name).type) if name in schema.names else values
            return values if default is None else pc.fill_null(values, default)

        # Spark reads every file in the first file's schema: a column the schema lacks is not there.
        columns = {
            f.name: batch.column(f.name).cast(f.type) if f.name in names else pa.nulls(n, f.type)
            for f in schema
            if f.name not in RESULT_SQL
        }
        # A singleton with a version date (the rule ranking uses) has staleness 0.
        dated = pc.is_valid(date_columns(pa.table(columns))[VERSION_DATE])
        staleness = result("staleness_days")
        no_staleness = pc.if_else(dated, pa.scalar(0, pa.int32()), pa.scalar(None, pa.int32()))
        columns |= {
            "cluster_id": pc.coalesce(result("cluster_id"), ids),
            "cluster_size": result("cluster_size", 1),
            "version_rank": result("version_rank", 0),
            "is_exact_dup": result("is_exact_dup", False),
            "is_stale": result("is_stale", False),
            "staleness_days": pc.if_else(pc.is_valid(staleness), staleness, no_staleness),
        }
        out = pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)
        yield out if rows.keep_all else out.filter(result("_keep", True))


def spill_folder(spark: SparkSession) -> str | None:
    """The first of Spark's local directories (where its shuffle would have spilled), if set."""
    local = spark.sparkContext.getConf().get("spark.local.dir", None)
    return local.split(",")[0].strip() if local else None


def run_in_driver(run: DedupRun, files: list[InputFile]) -> StageStats:
    """The driver path (jobs.dedup_driver) for the Parquet `files` of `run.documents`: signatures, graph and
    ranks in this process; pyarrow writes."""
    started = time.perf_counter()
    spark, job, stats, watch = run.spark, run.job, run.stats, run.watch
    config = job.config
    parts = index_parts(job.index, run.meta) if job.index else []  # checks settings before work
    signed = sign_files(files, config)
    stats.docs_in = signed.num_rows
    stats.counters["documents_without_shingles"] = pc.sum(pc.equal(signed.column(N_SHINGLES), 0)).as_py() or 0
    dated_dumps = dumps_with_dates(signed)
    watch.lap("signatures")
    old_index = read_index(parts, run.runs.left_out if run.runs else ())
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
    spark_schema = output_schema(run, ours, dated_dumps)
    rows = OutputRows.of(signed, ours, job.keep == "all", arrow_schema(spark_schema))
    # the write adds its own time: with the signatures and the ranking, the stage's time (the Spark path's
    # write_stage times the whole lazy computation the write runs)
    stats.seconds += time.perf_counter() - started
    units, start = [], 0
    for f in files:
        metadata = _open(f.uri).metadata
        for g in range(metadata.num_row_groups):
            units.append(partial(output_batches, rows, f.uri, g, start))
            start += metadata.row_group(g).num_rows
    write_stage_arrow(
        units,
        spark_schema,
        run.output,
        stats,
        rows=stats.docs_in - not_kept,
        spark_version=spark.version,
        overwrite=run.overwrite,
        rows_per_shard=job.rows_per_shard,
        threads=usable_cores(),
        spill_dir=spill_folder(spark),
    )
    watch.lap("write")
    with run.completing():
        write_clusters(spark, ranked, run.output)
        watch.lap("clusters")
        return run.finish(
            report,
            lambda: spark.createDataFrame(
                index_rows(signed, ranked, old_index, universe, run.runs.this if run.runs else "")
            ),
        )
