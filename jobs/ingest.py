"""`chronomix ingest`: read WARC, WET, JSONL/Dolma, Parquet and MediaWiki files into the document record.

Input files are spread over Spark tasks (one task reads whole files, streaming, so memory is bounded by the
batch size, not the file). The reader kernel is the in-process reader of `corpus.readers`, unchanged; each
task returns documents and rejects in one Arrow stream, and `jobs.stage.write_stage` splits and counts them.

Inputs may be remote (s3://, s3a://, gs://, hdfs://, http(s)://): the tasks themselves open them through
corpus.remote (streamed, retried, resumed with ranged reads), so nothing is copied first. A path listing such
as Common Crawl's `warc.paths.gz` names the files to read, under `--base`; `--sample` and `--limit` pick a
seeded share and the first N of the inputs (jobs/inputs.py).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, ClassVar

import pyarrow as pa
import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import from_arrow_schema

from corpus.readers import ReadOptions, input_size, read_documents
from corpus.remote import RetryPolicy, redact
from corpus.schema import DOCUMENT_SCHEMA, EXTRA_COLUMNS
from corpus.stats import REJECT_FIELDS, RejectLog, StageStats, rejects_table
from dating.html_meta import MarkupDater
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.inputs import check_base, is_listing, join_base, read_listing, sample_name, select
from jobs.options import (
    Columns,
    Conf,
    Master,
    Overwrite,
    checked_columns,
    parse_added,
    parse_columns,
    spark_options,
)
from jobs.runner import run_command
from jobs.stage import (
    BYTES_IN_COUNTER,
    COUNTERS_REASON,
    InputFile,
    expand_inputs,
    input_files,
    project,
    refuse_existing,
    same_file_key,
    write_stage,
)

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
    date_html: bool = True  # date each page's markup from its one parse, while the HTML is at hand
    rows_per_shard: int = 50_000


def ingest_file_kernel(options: ReadOptions, date_html: bool = True):
    """A mapInArrow function over batches of input paths (column `path`) yielding INGEST_SCHEMA batches:
    documents (reject columns null) and, after each file, that file's rejects (document columns null).
    With `date_html`, dating's page hook reads each HTML page's dates from the parse that extracts its text
    (dating.html_meta.MarkupDater): one parse per page."""
    if date_html:
        options = replace(options, page_hook=MarkupDater())

    def run(paths: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for path_batch in paths:
            sizes = path_batch.column("size").to_pylist()
            for path, size in zip(path_batch.column("path").to_pylist(), sizes, strict=True):
                yield from read_file_batches(path, options, measure=size < 0, listed_size=max(size, 0))

    return run


def read_file_batches(
    path: str, options: ReadOptions, html_kernel=None, measure: bool = False, listed_size: int = 0
) -> Iterator[pa.RecordBatch]:
    """One file's documents, rejects and skipped spans as INGEST_SCHEMA batches (the unit of work of one
    Spark task). `html_kernel`, when given, runs on each batch with its `html` column (a second parse of
    each page; ingest itself dates pages through the options' page hook instead). `measure`: the driver did
    not know the file's size; report it (BYTES_IN_COUNTER). `listed_size`: the bytes the driver counted for
    the file, taken back where it is gone by the time it is read (nothing of it was read)."""
    rejects = RejectLog()
    counters: Counter[str] = Counter()
    if measure:
        size = input_size(path, options.retry, counters)
        counters[BYTES_IN_COUNTER] += size or 0
        if size is None:  # the retries are spent on this file: one more try says why, as a skipped span
            options = replace(options, retry=replace(options.retry, attempts=1))
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
    if listed_size and any(span.reason == "missing_file" for span in rejects.skipped):
        counters[BYTES_IN_COUNTER] -= listed_size
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


def ingest_frame(spark: SparkSession, files: list[InputFile], config: IngestConfig) -> DataFrame:
    """A DataFrame of INGEST_SCHEMA rows read from `files`, one file per task where there are enough tasks."""
    paths = spark.createDataFrame([(f.uri, f.size) for f in files], "path string, size long")
    parallelism = max(1, min(len(files), spark.sparkContext.defaultParallelism * 4))
    paths = paths.repartition(parallelism, "path")
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
    files = input_files(inputs)
    read = config.read if config.read.added is not None else replace(config.read, added=datetime.now(UTC))
    config = replace(config, read=read)
    known = sum(f.size for f in files if f.size >= 0)
    stats = StageStats(stage="ingest", files_in=len(files), bytes_in=known)
    frame = ingest_frame(spark, files, config)
    if not config.read.keep_html:
        frame = frame.drop("html")
    return write_stage(
        frame, output, stats, overwrite=overwrite, fmt=config.fmt, rows_per_shard=config.rows_per_shard
    )


# ---------------------------------------------------------------------------------------------- stage
@dataclass(frozen=True)
class IngestParams(StageParams):
    """`chronomix ingest` and the `ingest` stage kind."""

    PLACE_FIELDS: ClassVar[frozenset[str]] = frozenset({"base"})  # a listing's files are named in it
    EXECUTION_FIELDS: ClassVar[frozenset[str]] = frozenset({"timeout"})  # how long to wait, not what is read
    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset({"column_map"})

    inputs: list[str]  # files, folders or globs, local or remote, or path listings (warc.paths.gz)
    output: str
    format: str = "parquet"  # parquet (the document record) | dolma (JSONL.gz)
    keep_html: bool = False
    mediawiki_monthly: bool = False  # MediaWiki: one snapshot per page and month, not every revision
    batch_size: int = 1000  # documents per Arrow batch
    max_doc_bytes: int = 10_000_000
    added: str | None = None  # ISO 8601; None = now
    base: str | None = None  # URL or bucket prefix of a path listing's relative paths
    sample: float | None = None  # keep this share of the input files (seeded by `seed`)
    seed: int = 0
    limit: int | None = None  # read at most this many input files (after `sample`)
    retries: int = 6  # tries of a remote read before the file is counted unreadable
    timeout: float = 60.0  # seconds an HTTP(S) connection or read may wait for the server
    column_map: dict[str, str] = field(default_factory=dict)  # record column -> the input's field
    overwrite: bool = False


@dataclass(frozen=True)
class IngestPlan:
    params: IngestParams
    files: list[InputFile]
    config: IngestConfig


def refuse_repeated_columns(pairs: list[str] | None) -> list[str] | None:
    """`pairs` (`--column COLUMN=FIELD`) unchanged; UsageError naming a record column mapped twice (a map
    keeps one of them, and which field was meant cannot be known). Malformed pairs are parse_columns'."""
    seen: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, name = pair.partition("=")
        if not sep or not column.strip() or not name.strip():
            continue
        first = seen.get(column.strip())
        if first is not None:
            raise UsageError(
                f"--column {pair!r}: column {column.strip()!r} is mapped twice ({first} and {pair}); give it once",
                option="--column",
            )
        seen[column.strip()] = pair
    return pairs


def settings(params: IngestParams) -> ReadOptions:
    """The read options and every other setting that needs no file (a pipeline checks them all before any
    stage runs); UsageError naming a bad one."""
    if not (math.isfinite(params.timeout) and params.timeout > 0):
        # an infinite timeout made every socket call fail ("OverflowError: timestamp out of range")
        raise UsageError(
            f"--timeout {params.timeout}: expected a finite number of seconds above 0", option="--timeout"
        )
    try:
        options = ReadOptions(
            batch_size=params.batch_size,
            keep_html=params.keep_html,
            max_doc_bytes=params.max_doc_bytes,
            added=parse_added(params.added) or datetime.now(UTC),
            mediawiki_monthly=params.mediawiki_monthly,
            retry=RetryPolicy(attempts=params.retries, timeout_s=params.timeout),
            column_map=checked_columns(params.column_map),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    if params.format not in ("parquet", "dolma"):
        raise UsageError(f"--format {params.format!r}: expected parquet or dolma", option="--format")
    if params.sample is not None and not 0 < params.sample <= 1:
        raise UsageError(f"--sample {params.sample}: expected a fraction in (0, 1]", option="--sample")
    if params.limit is not None and params.limit < 1:
        raise UsageError(f"--limit {params.limit}: expected a positive number", option="--limit")
    return options


def check(params: IngestParams) -> IngestPlan:
    """The read options and the input files; UsageError for a bad option, path or existing output."""
    options = settings(params)
    files = _input_files(params, options.retry)
    refuse_existing(params.output, params.overwrite, files, given=params.inputs)
    return IngestPlan(params, files, IngestConfig(read=options, fmt=params.format))


def _input_files(params: IngestParams, retry: RetryPolicy) -> list[InputFile]:
    """The files to read: listed folders and globs, and the entries of path listings; then sample and limit."""
    listings = [p for p in params.inputs if is_listing(p)]
    if params.base is not None and not listings:
        raise UsageError("--base applies to path listings (*.paths, *.paths.gz); none given", option="--base")
    if params.base is not None:
        check_base(params.base)
    others = [p for p in params.inputs if not is_listing(p)]
    # in the order given: folders' and globs' files sorted, a listing's entries in its order (--limit takes
    # the first); one file named twice (s3a:// and s3://) is read once
    found = {same_file_key(f.uri): f for f in (expand_inputs(others, retry) if others else [])}
    # the names --sample hashes: where each file lies among its input, not where the input lies
    names = {key: sample_name(f.uri, others) for key, f in found.items()}
    for listing in listings:
        entries = read_listing(listing, retry)
        if not entries:
            raise UsageError(f"listing {redact(listing)!r}: names no files")
        for entry in entries:
            uri = join_base(entry, params.base, listing)
            found.setdefault(same_file_key(uri), InputFile(uri, -1))
            names.setdefault(same_file_key(uri), entry.strip().lstrip("/"))
    chosen = select(list(found), params.sample, params.seed, params.limit, names)
    if not chosen:
        raise UsageError(
            f"--sample {params.sample} (seed {params.seed}) keeps none of {len(found)} input files"
        )
    return [found[key] for key in chosen]


def run(plan: IngestPlan, spark: SparkProvider) -> StageResult:
    """Read the plan's files into the document record in `output`."""
    stats = run_ingest(spark(), plan.files, plan.params.output, plan.config, overwrite=plan.params.overwrite)
    return StageResult(stats_summary(stats), stats=stats)


STAGE = Stage("ingest", IngestParams, check, run, settings=settings)


ADDED_HELP = (
    "Pin the `added` timestamp (ISO 8601) for reproducible builds. It is the read's clock: a MediaWiki "
    "revision more than a day after it is refused (revision_after_added), and a page without a crawl time is dated "
    "no later than a day after it."
)


def ingest(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="WARC, WET, JSONL/Dolma, Parquet or MediaWiki history (XML exports, or Wikimedia's content "
            "history as JSON lines) files, folders or globs, local or remote (s3://, s3a://, gs://, hdfs://, "
            "https://), or path listings (warc.paths.gz).",
            show_default=False,
        ),
    ],
    output: Annotated[str, typer.Option("--output", "-o", help="Output folder (local path or URI).")],
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (the document record) or dolma (JSONL.gz).")
    ] = "parquet",
    keep_html: Annotated[
        bool, typer.Option("--keep-html", help="Keep the raw HTML in an `html` column.")
    ] = False,
    mediawiki_monthly: Annotated[
        bool,
        typer.Option(
            "--mediawiki-monthly",
            help="MediaWiki input: one snapshot per page and month (the "
            "page as of the first of the month) instead of every revision.",
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(help="Documents per Arrow batch; bounds a task's memory.", min=1)
    ] = 1000,
    max_doc_bytes: Annotated[
        int, typer.Option(help="Reject payloads larger than this (bytes).", min=1)
    ] = 10_000_000,
    added: Annotated[str | None, typer.Option(help=ADDED_HELP)] = None,
    base: Annotated[
        str | None,
        typer.Option(
            help="URL or bucket prefix of a path listing's relative paths, e.g. https://data.commoncrawl.org/ "
            "or s3://commoncrawl/."
        ),
    ] = None,
    sample: Annotated[
        float | None,
        typer.Option(
            help="Read this share (0-1] of the input files, chosen by a hash of --seed and each file's path within its input (a listing's entry as listed), so the same wherever the files are stored."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample.")] = 0,
    limit: Annotated[
        int | None,
        typer.Option(help="Read at most this many input files (the first, after --sample).", min=1),
    ] = None,
    retries: Annotated[
        int,
        typer.Option(
            help="Tries of a remote read (with back-off) before a file counts as unreadable.", min=1
        ),
    ] = 6,
    timeout: Annotated[
        float,
        typer.Option(
            help="Seconds an HTTP(S) input's server may take to connect or answer a read before the try "
            "fails (object stores use their SDK's own).",
            min=0.001,
        ),
    ] = 60.0,
    column: Columns = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Read raw dumps and datasets into the document record (Parquet shards or Dolma JSONL.gz).

    Remote inputs are streamed by the tasks themselves (no copy first), retried and resumed where a
    connection drops; credentials come from the usual environment (AWS_*, GOOGLE_APPLICATION_CREDENTIALS).
    `chronomix ingest CC-MAIN-2024-22/warc.paths.gz --base https://data.commoncrawl.org/ --limit 10` reads
    the first ten WARCs of a dump. Bad records and bad files are counted per reason in _stats.json and sampled
    under _rejects/; they never stop the job."""
    from jobs.report import print_stats

    params = IngestParams(
        inputs=inputs,
        output=output,
        format=fmt,
        keep_html=keep_html,
        mediawiki_monthly=mediawiki_monthly,
        batch_size=batch_size,
        max_doc_bytes=max_doc_bytes,
        added=added,
        base=base,
        sample=sample,
        seed=seed,
        limit=limit,
        retries=retries,
        timeout=timeout,
        column_map=parse_columns(refuse_repeated_columns(column)),
        overwrite=overwrite,
    )
    result = run_command(STAGE, params, spark_options(master, conf))
    print_stats(result.stats, output)
