"""The job pattern every Spark job follows: read documents, run library kernels through `mapInArrow`, write.

- Kernels are pure functions `pa.RecordBatch -> pa.RecordBatch`; `map_kernel` runs one unchanged inside Spark.
- A kernel rejects a record by returning it with `reject_reason` set (corpus/stats.py). `write_stage` splits
  good rows from rejects, counts both from the data (exact under task retries), keeps a sample of each reject
  reason under `_rejects/`, and writes `_stats.json` with docs_in = docs_out + dropped.
- Outputs are written to a hidden temporary folder beside the target and moved into place only when complete,
  so a killed job leaves no partial output; an existing output is refused unless `overwrite`.
- Output rows are hash-partitioned by `id` into a number of shards that depends only on the row count, and
  sorted by `id` inside each shard, so the same input gives byte-identical files whatever the number of input
  partitions or the engine.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

from corpus.remote import RetryPolicy, arrow_uri, is_remote, redact
from corpus.schema import COLUMN_NAMES, field_type
from corpus.stats import (
    REJECT_FIELDS,
    REJECT_REASON,
    REJECT_SAMPLES_PER_REASON,
    SKIPPED_PREFIX,
    SKIPPED_SPANS_LISTED,
    UNREAD_REASONS,
    StageStats,
)
from jobs import progress
from jobs.checks import refuse_foreign_parquet, unreadable_parquet
from jobs.contract import UsageError
from jobs.fs import (
    AtomicStageOutput,
    Location,
    contained_in,
    data_files,
    file_size,
    list_files,
    locate,
    output_exists,
    refuse_placeless,
    refuse_unmakeable,
    rename_spark_parts,
)
from jobs.inputs import http_sizes, is_http, refuse_inside_inputs, remote_glob
from jobs.shared_storage import (
    refuse_inputs_no_task_found,
    refuse_inputs_only_the_driver_sees,
    refuse_lost_parts,
)
from jobs.spark import read_parquet
from jobs.unreadable_inputs import count_left_out, leave_out_unreadable, readable

Kernel = Callable[[pa.RecordBatch], pa.RecordBatch]
DEFAULT_ROWS_PER_SHARD = 50_000
TIE_COLUMNS = ("source", "url", "crawl_date", "text")  # break ties of the sort key, in this order
# A mixture's manifest: `_`-prefixed, so pyarrow, pandas and Spark reading the mixture folder skip it.
MIX_MANIFEST = "_manifest.json"
LEGACY_MIX_MANIFEST = "manifest.json"  # its name before 2026-12-05, passed over beside a mixture's shards


# A kernel may report non-drop events (e.g. "bad_warc_date") as one row per task with this reason and a JSON
# object of counts in reject_detail; write_stage adds them to StageStats.counters and writes no such row.
COUNTERS_REASON = "__counters__"
# A counter a kernel reports for the bytes of inputs whose size the driver did not know (a path listing's
# files): write_stage adds it to `bytes_in` instead of the counters.
BYTES_IN_COUNTER = "__bytes_in__"


@dataclass(frozen=True)
class InputFile:
    """An input file and its size in bytes (-1: not known to the driver; the task that reads it says)."""

    uri: str
    size: int


def expand_inputs(paths: Sequence[str], retry: RetryPolicy | None = None) -> list[InputFile]:
    """Files named by `paths` (files, folders searched recursively, or globs; local or on an object store;
    HTTP(S) URLs, one file each: jobs/inputs.py), sorted, without the bookkeeping files of a stage output
    (`_stats.json`, `_rejects/`, hidden files, and the manifest.json that mixtures written before 2026-12-05
    hold beside their Parquet shards). Raises UsageError for a path that names nothing. `retry`: how an
    HTTP(S) URL's size is asked for."""
    if not paths:
        raise UsageError("no input given")
    if any(not path.strip() for path in paths):
        raise UsageError("input '': an empty path (it would name the current folder; give '.' for that)")
    for path in paths:
        refuse_placeless(path, "input")  # s3:///key: pyarrow failed on it at the listing, with no name
    found: dict[str, InputFile] = {}
    sizes = http_sizes([p for p in paths if is_http(p)], retry or RetryPolicy())
    for path in paths:
        if is_http(path):
            found.setdefault(path, InputFile(path, sizes[path]))
            continue
        # `dump[1].jsonl` that exists is that file, not a pattern that matches `dump1.jsonl` (a local path: on
        # an object store a key with `[` cannot be named in a URI anyway)
        is_pattern = any(ch in path for ch in "*?[") and ("://" in path or not os.path.exists(path))
        with _said_if_slow(path):
            matches = _glob(path) if is_pattern else [locate(path)]
        files: list[Location] = []
        for match in matches:
            try:
                with _said_if_slow(path):
                    listed = list_files(match)
            except OSError as error:
                raise UsageError(f"input {redact(path)!r}: cannot be listed ({error})") from None
            files += data_files(redact(path), match, listed)
        if any(f.name.endswith(".parquet") for f in files):
            # A mixture folder written before its manifest was named _manifest.json holds one beside its shards.
            files = [f for f in files if f.name != LEGACY_MIX_MANIFEST or f.path == match.path]
        if not files:
            raise UsageError(f"input {redact(path)!r}: no such file or folder, or it holds no files")
        for file in files:
            try:
                size = file_size(file)
            except OSError as error:  # listed, yet not readable (access denied, gone since)
                raise UsageError(f"input {redact(file.uri)!r}: cannot be read ({error})") from None
            found.setdefault(same_file_key(file.uri), InputFile(file.uri, size))
    return [found[k] for k in sorted(found)]


def _said_if_slow(path: str) -> contextlib.AbstractContextManager[None]:
    """A listing on an object store says it is waiting where the store keeps it waiting."""
    if "://" not in path:
        return contextlib.nullcontext()
    return progress.said_if_slow(f"listing {redact(path)}: waiting on the store")


def same_file_key(uri: str) -> str:
    """A key under which two names of one file are equal: `s3a://b/k` and `s3://b/k` (pyarrow's name)."""
    return arrow_uri(uri) if "://" in uri and not is_http(uri) else uri


def input_files(inputs: Sequence[str] | Sequence[InputFile]) -> list[InputFile]:
    """`inputs` as listed files: as given when a stage's check already listed them, else `expand_inputs`."""
    if inputs and all(isinstance(i, InputFile) for i in inputs):
        return list(inputs)  # type: ignore[arg-type]
    return expand_inputs([str(i) for i in inputs])


def document_files(inputs: Sequence[str] | Sequence[InputFile], message: str) -> list[InputFile]:
    """The input files, all document Parquet (an earlier stage's output); else UsageError with `message`
    formatted with the first other file's `uri`."""
    files = input_files(inputs)
    for file in files:
        if not file.uri.endswith(".parquet"):
            why = message.format(uri=repr(file.uri))
            if file.uri.endswith(".jsonl.gz"):
                why += (
                    " (ingest's --format dolma writes for other tools; the stages read its default Parquet)"
                )
            raise UsageError(why)
    files = leave_out_unreadable(files, unreadable_parquet([f.uri for f in files]))
    refuse_foreign_parquet([f.uri for f in files])
    return files


def _glob(pattern: str) -> list[Location]:
    import glob

    if "://" in pattern:
        return remote_glob(pattern)
    return [locate(p) for p in sorted(glob.glob(pattern, recursive=True))]


def is_document_parquet(files: Sequence[InputFile]) -> bool:
    """True when every input is a Parquet file (e.g. a previous stage's output)."""
    return bool(files) and all(f.uri.endswith(".parquet") for f in files)


def map_kernel(
    df: DataFrame,
    kernel: Kernel,
    added: Sequence[str | pa.Field],
    keep: Sequence[str] | None = None,
) -> DataFrame:
    """Run `kernel` over `df` with mapInArrow. `added` names the record columns (or gives fields) the kernel
    adds; the result keeps the input columns named in `keep` (default: all), in record order, then extra
    columns. Keeping only what later steps need saves sending wide columns (text) back from Python."""
    # mapInArrow reads its columns by expression ("page.type": field `type` of `page`): such names go hidden
    hidden = {n: f"_chronomix_column_{i}" for i, n in enumerate(df.columns) if "." in n or "`" in n}
    if hidden:
        df = df.toDF(*[hidden.get(n, n) for n in df.columns])
        keep = None if keep is None else [hidden.get(n, n) for n in keep]
    # pyspark 4 needs the zone to map TimestampType; sessions run in UTC (jobs/spark.py).
    input_schema = to_arrow_schema(df.schema, timezone="UTC")
    if keep is not None:
        input_schema = pa.schema([f for f in input_schema if f.name in set(keep)])
    out_schema = _output_schema(input_schema, added)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield project(kernel(batch), out_schema)

    out = df.mapInArrow(run, from_arrow_schema(out_schema))
    back = {placeholder: name for name, placeholder in hidden.items()}
    return out.toDF(*[back.get(c, c) for c in out.columns]) if hidden else out


def _output_schema(input_schema: pa.Schema, added: Sequence[str | pa.Field]) -> pa.Schema:
    fields = {f.name: f for f in input_schema}
    for column in added:
        if isinstance(column, pa.Field):
            fields.setdefault(column.name, column)
            continue
        dtype = field_type(column)
        if dtype is None:
            raise ValueError(f"kernel adds unknown column {column!r}")
        fields.setdefault(column, pa.field(column, dtype))
    order = [c for c in COLUMN_NAMES if c in fields] + [c for c in fields if c not in COLUMN_NAMES]
    # Spark's schema is nullable everywhere; required-ness is checked by corpus.schema.validate.
    return pa.schema([pa.field(c, fields[c].type, nullable=True) for c in order])


def project(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with exactly `schema`'s columns, in order, cast to its types; absent ones are nulls."""
    arrays = []
    for field in schema:
        if field.name in batch.schema.names:
            array = batch.column(field.name)
            if array.type != field.type:
                array = array.cast(field.type)
            arrays.append(array)
        else:
            arrays.append(pa.nulls(batch.num_rows, type=field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def refuse_existing(
    output: str, overwrite: bool, inputs: Sequence[InputFile] = (), given: Sequence[str] = ()
) -> None:
    """Fail fast (before Spark starts) when `output` exists and may not be replaced, when it is or holds
    one of the `inputs` (replacing it would delete them, overwrite or not), or when it lies inside one of the
    local folders or globs `given` as inputs (the input paths as typed; an index, a table): the next read of
    that folder would take the output's files for input; or when `output` is blank, has no bucket, is a
    file, or (local) cannot be made there."""
    # blank would be the current folder: it holds the inputs, and --overwrite wiped it
    refuse_placeless(output, "--output")
    inside = contained_in(output)
    for file in [*inputs, *(InputFile(path, -1) for path in given)]:
        if inside(file.uri):
            raise UsageError(
                f"--output {redact(output)!r} holds the input {redact(file.uri)!r}: writing there would replace it; "
                "choose another output",
                option="--output",
            )
    refuse_inside_inputs(output, given, "--output")
    refuse_unmakeable(output, "--output")
    if output_exists(output, overwrite) and not overwrite:
        raise UsageError(f"output {redact(output)!r} exists; pass --overwrite to replace it")


def refuse_unwritable(spark: SparkSession, output: str) -> None:
    """Fail before any input is read when Spark has no file system for `output`'s scheme: s3a:// without
    hadoop-aws on its class path, for one, would otherwise be found only when the read data is written."""
    reason = _missing_file_system(spark, output)
    if reason is not None:
        scheme = output.split("://", 1)[0].lower()
        raise UsageError(
            f"--output {redact(output)!r}: Spark cannot write {scheme}:// here ({reason}); add the file "
            f"system's jar (for s3a://, org.apache.hadoop:hadoop-aws) to spark.jars.packages, or write to "
            "another output",
            option="--output",
        )


def _missing_file_system(spark: SparkSession, uri: str) -> str | None:
    """Why Spark has no Hadoop file system for `uri`'s scheme (the first line of its error), or None where it
    has one (or `uri` is local). The class is looked up only: no connection is made."""
    scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
    if scheme in ("", "file"):
        return None
    from py4j.protocol import Py4JJavaError

    jvm, context = spark.sparkContext._jvm, spark.sparkContext._jsc  # type: ignore[attr-defined]
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(scheme, context.hadoopConfiguration())
    except Py4JJavaError as error:
        return str(error.java_exception.getMessage() or error.java_exception.toString()).splitlines()[0]
    return None


def shard_count(rows: int, rows_per_shard: int = DEFAULT_ROWS_PER_SHARD) -> int:
    """Output shards for `rows` rows: depends on the row count only, so on nothing about the run."""
    return max(1, math.ceil(rows / rows_per_shard))


def write_stage(
    df: DataFrame,
    output: str,
    stats: StageStats,
    *,
    overwrite: bool = False,
    fmt: str = "parquet",
    rows_per_shard: int = DEFAULT_ROWS_PER_SHARD,
    sort_by: Sequence[str] = ("id",),
    extra_files: dict[str, str] | None = None,
    rows: int | None = None,
) -> StageStats:
    """Write `df`'s good rows to `output` (Parquet shards or Dolma JSONL.gz), rejects' samples to
    `output/_rejects/`, and `_stats.json`. `stats.docs_in` is set from the data when it is 0. Returns stats.

    `rows`: the number of rows of `df` when the caller already knows it (Parquet, no rejects column). The
    rows are then written in one pass, without caching and counting them first, and the written files'
    row count (read from their footers) must equal it."""
    if fmt not in ("parquet", "dolma"):
        raise UsageError(f"--format {fmt!r}: expected parquet or dolma")
    if rows is not None and (fmt != "parquet" or REJECT_REASON in df.columns):
        raise ValueError("write_stage(rows=...) is for Parquet output of a frame without rejects")
    refuse_unwritable(df.sparkSession, output)
    started = time.perf_counter()
    with AtomicStageOutput(output, overwrite) as tmp:
        # Known rows: the frame is read once, by the write; otherwise it is cached for the counts.
        df = df if rows is not None else df.persist()
        try:
            has_rejects = REJECT_REASON in df.columns
            if rows is not None:
                counts = {None: rows}
                good = df
            elif has_rejects:
                counts = {
                    row[REJECT_REASON]: row["count"] for row in df.groupBy(REJECT_REASON).count().collect()
                }
                if counts.pop(COUNTERS_REASON, 0):
                    for row in (
                        df.filter(F.col(REJECT_REASON) == COUNTERS_REASON).select("reject_detail").collect()
                    ):
                        stats.counters.update(json.loads(row["reject_detail"]))
                    stats.bytes_in += stats.counters.pop(BYTES_IN_COUNTER, 0)
                    df = df.filter(F.col(REJECT_REASON).isNull() | (F.col(REJECT_REASON) != COUNTERS_REASON))
                good = df.filter(F.col(REJECT_REASON).isNull()).drop(*[f.name for f in REJECT_FIELDS])
            else:
                counts = {None: df.count()}
                good = df
            n_good = counts.pop(None, 0)
            skipped = {r: counts.pop(r) for r in list(counts) if r.startswith(SKIPPED_PREFIX)}
            refuse_inputs_no_task_found(stats, skipped, n_good)
            refuse_inputs_only_the_driver_sees(df, skipped)
            if skipped:
                _count_skipped(df, skipped, stats)
            for reason, n in counts.items():
                stats.drop(reason, n)
            stats.docs_out = n_good
            if stats.docs_in == 0:
                stats.docs_in = n_good + sum(counts.values())
            shards = shard_count(n_good, rows_per_shard)
            # Ties in the sort key (e.g. one id in two input files) are broken by the content, so the row
            # order never depends on which task finished first.
            ties = [c for c in TIE_COLUMNS if c in good.columns and c not in sort_by]
            ordered = good.repartition(shards, "id").sortWithinPartitions(*sort_by, *ties)
            if fmt == "parquet":
                ordered.write.parquet(tmp.uri)
                refuse_lost_parts(tmp, n_good, output)
                if rows is not None:
                    written = read_parquet(df.sparkSession, tmp.uri).count()  # footers only
                    if written != rows:
                        raise AssertionError(f"{stats.stage}: wrote {written} rows, expected {rows}")
            else:
                _dolma_frame(ordered).write.option("compression", "gzip").text(tmp.uri)
                refuse_lost_parts(tmp, n_good, output)
            stats.bytes_out = rename_spark_parts(tmp, ".parquet" if fmt == "parquet" else ".jsonl.gz")
            if counts or skipped:
                _write_reject_samples(df, tmp.child("_rejects"))
        finally:
            if rows is None:
                df.unpersist()
        for name, text in (extra_files or {}).items():
            tmp.child(name).write_text(text)
        stats.seconds += time.perf_counter() - started
        count_left_out(stats)
        tmp.child("_stats.json").write_text(stats.to_json())
    return stats


def _count_skipped(df: DataFrame, counts: dict[str, int], stats: StageStats) -> None:
    """Skipped spans (reader rows with reason SKIPPED_PREFIX + reason; not records) into `stats.skipped`,
    with their total length in bytes and the first SKIPPED_SPANS_LISTED of them, by input and offset."""
    spans = df.filter(F.col(REJECT_REASON).startswith(SKIPPED_PREFIX))
    length = F.get_json_object("reject_detail", "$.length").cast("long")
    total = spans.agg(F.sum(length).alias("bytes")).collect()[0]["bytes"] or 0
    for prefixed, n in counts.items():
        stats.skip(prefixed[len(SKIPPED_PREFIX) :], n)
    stats.skipped_bytes += total
    offset = F.get_json_object("reject_detail", "$.offset").cast("long")
    first = (
        spans.orderBy("reject_input", offset).limit(SKIPPED_SPANS_LISTED).select("reject_detail").collect()
    )
    room = SKIPPED_SPANS_LISTED - len(stats.skipped_spans)
    stats.skipped_spans.extend(json.loads(row["reject_detail"]) for row in first[: max(0, room)])
    if any(prefixed[len(SKIPPED_PREFIX) :] in UNREAD_REASONS for prefixed in counts):
        unread = spans.filter(F.col(REJECT_REASON).isin([SKIPPED_PREFIX + r for r in UNREAD_REASONS]))
        for row in unread.select("reject_input").distinct().collect():
            if is_remote(row["reject_input"] or ""):
                stats.unread_inputs.add(row["reject_input"])


def _write_reject_samples(df: DataFrame, folder: Location) -> None:
    """Up to REJECT_SAMPLES_PER_REASON rejects per reason, chosen deterministically, as one Parquet file."""
    order = [F.col(c) for c in ("reject_input", "id") if c in df.columns]
    window = Window.partitionBy(REJECT_REASON).orderBy(*order)
    sample = (
        df.filter(F.col(REJECT_REASON).isNotNull())
        .withColumn("_n", F.row_number().over(window))
        .filter(F.col("_n") <= REJECT_SAMPLES_PER_REASON)
        .drop("_n")
        .orderBy(REJECT_REASON, *order)
    )
    if "html" in sample.columns:
        sample = sample.drop("html")
    table = sample.toArrow()
    folder.fs.create_dir(folder.path, recursive=True)
    with folder.fs.open_output_stream(folder.child("rejects.parquet").path) as out:
        pq.write_table(table, out)


def _dolma_frame(df: DataFrame) -> DataFrame:
    """Dolma JSON lines, one string per row, made by the library writer's `dolma_rows` (id, text, source,
    added, created at the top, every other column under `metadata`), so Spark and in-process output agree."""
    from corpus.writers import dolma_rows

    def to_lines(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lines = [json.dumps(row, ensure_ascii=False) for row in dolma_rows(batch)]
            yield pa.RecordBatch.from_pydict({"value": pa.array(lines, pa.string())})

    return df.mapInArrow(to_lines, "value string")


def read_stage_output(spark: SparkSession, files: Sequence[InputFile], documents: bool = True) -> DataFrame:
    """Document Parquet files (a previous stage's output) as a DataFrame, less those whose data pages did
    not read (jobs.unreadable_inputs; not for a side table, `documents` False); UsageError where Spark has no
    file system for one's scheme (it failed the job with a Java stack trace once it started)."""
    kept = readable(files) if documents else list(files)
    if not kept:  # every file was left out: no rows, the first one's columns
        return spark.createDataFrame([], read_parquet(spark, files[0].uri).schema)
    files = kept
    first_of_scheme: dict[str, str] = {}  # one file per scheme: the file system is the scheme's
    for file in files:
        if "://" in file.uri:
            first_of_scheme.setdefault(file.uri.split("://", 1)[0], file.uri)
    for scheme, first in sorted(first_of_scheme.items()):
        reason = _missing_file_system(spark, first)
        if reason is not None:
            raise UsageError(
                f"input {redact(first)!r}: Spark cannot read {scheme}:// here ({reason}); give s3a:// with "
                "org.apache.hadoop:hadoop-aws in spark.jars.packages (docs/cluster.md), or copy the files here"
            )
    return read_parquet(spark, *[f.uri for f in files])
