"""`chronomix ingest`: read WARC, WET, JSONL/Dolma, Parquet and MediaWiki files into the document record.

Input files are spread over Spark tasks (one task reads whole files, streaming, so memory is bounded by the
batch size, not the file). The reader kernel is the in-process reader of `corpus.readers`, unchanged; each
task returns documents and rejects in one Arrow stream, and `jobs.stage.write_stage` splits and counts them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from corpus.readers import ReadOptions, read_documents
from corpus.schema import DOCUMENT_SCHEMA, EXTRA_COLUMNS
from corpus.stats import REJECT_FIELDS, RejectLog, StageStats, rejects_table
from jobs.stage import COUNTERS_REASON, InputFile, expand_inputs, project, write_stage

INGEST_SCHEMA = pa.schema(
    [pa.field(f.name, f.type, nullable=True) for f in DOCUMENT_SCHEMA]
    + [pa.field(name, dtype) for name, dtype in EXTRA_COLUMNS.items()]
    + list(REJECT_FIELDS)
)


@dataclass(frozen=True)
class IngestConfig:
    """What `chronomix ingest` does with its inputs."""

    read: ReadOptions = field(default_factory=ReadOptions)
    fmt: str = "parquet"  # parquet | dolma
    date_html: bool = True  # run dating's HTML-metadata kernel while the HTML is still at hand
    rows_per_shard: int = 50_000


def ingest_file_kernel(options: ReadOptions, date_html: bool = True):
    """A mapInArrow function over batches of input paths (column `path`) yielding INGEST_SCHEMA batches:
    documents (reject columns null) and, after each file, that file's rejects (document columns null)."""
    html_kernel = _html_date_kernel() if date_html else None

    def run(paths: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for path_batch in paths:
            for path in path_batch.column("path").to_pylist():
                yield from read_file_batches(path, options, html_kernel)

    return run


def read_file_batches(path: str, options: ReadOptions, html_kernel=None) -> Iterator[pa.RecordBatch]:
    """One file's documents, rejects and skipped spans as INGEST_SCHEMA batches (the unit of work of one
    Spark task)."""
    rejects = RejectLog()
    counters: Counter[str] = Counter()
    # Dating reads the HTML's metadata here, while it is at hand; it is dropped after unless asked to keep.
    read_options = replace(options, keep_html=True) if html_kernel is not None else options
    for batch in read_documents(path, read_options, rejects, counters):
        if html_kernel is not None and "html" in batch.schema.names:
            batch = html_kernel(batch)
        if not options.keep_html and "html" in batch.schema.names:
            batch = batch.drop_columns(["html"])
        yield project(batch, INGEST_SCHEMA)
        if len(rejects) + len(rejects.skipped) >= options.batch_size:
            yield project(_as_batch(rejects_table(rejects.drain(), rejects.drain_skipped())), INGEST_SCHEMA)
    if len(rejects) or rejects.skipped:
        yield project(_as_batch(rejects_table(rejects.drain(), rejects.drain_skipped())), INGEST_SCHEMA)
    if counters:
        yield project(counters_batch(counters, path), INGEST_SCHEMA)


def counters_batch(counters: Counter[str], path: str) -> pa.RecordBatch:
    """One row carrying a task's non-drop event counts to the job (see jobs.stage.COUNTERS_REASON)."""
    return pa.RecordBatch.from_pydict(
        {
            "reject_reason": [COUNTERS_REASON],
            "reject_detail": [json.dumps(dict(counters), sort_keys=True)],
            "reject_input": [path],
        }
    )


def _as_batch(table: pa.Table) -> pa.RecordBatch:
    return (
        table.combine_chunks().to_batches()[0]
        if table.num_rows
        else pa.RecordBatch.from_pylist([], table.schema)
    )


def _html_date_kernel():
    """dating's HTML-metadata kernel, when the dating stage is installed (it is part of this project)."""
    try:
        from dating.html_meta import html_meta_date_batch
    except ImportError:
        return None
    return html_meta_date_batch


def ingest_frame(spark: SparkSession, files: list[InputFile], config: IngestConfig) -> DataFrame:
    """A DataFrame of INGEST_SCHEMA rows read from `files`, one file per task where there are enough tasks."""
    paths = spark.createDataFrame([(f.uri,) for f in files], "path string")
    parallelism = max(1, min(len(files), spark.sparkContext.defaultParallelism * 4))
    paths = paths.repartition(parallelism, "path")
    from pyspark.sql.pandas.types import from_arrow_schema

    return paths.mapInArrow(
        ingest_file_kernel(config.read, config.date_html), from_arrow_schema(INGEST_SCHEMA)
    )


def run_ingest(
    spark: SparkSession,
    inputs: list[str] | list[InputFile],
    output: str,
    config: IngestConfig,
    overwrite: bool = False,
) -> StageStats:
    """Ingest `inputs` (files, folders, globs, or already expanded InputFiles) into `output`."""
    files = [f for f in inputs if isinstance(f, InputFile)] or expand_inputs([str(i) for i in inputs])
    read = config.read if config.read.added is not None else replace(config.read, added=datetime.now(UTC))
    config = replace(config, read=read)
    stats = StageStats(stage="ingest", files_in=len(files), bytes_in=sum(f.size for f in files))
    frame = ingest_frame(spark, files, config)
    if not config.read.keep_html:
        frame = frame.drop("html")
    return write_stage(
        frame, output, stats, overwrite=overwrite, fmt=config.fmt, rows_per_shard=config.rows_per_shard
    )
