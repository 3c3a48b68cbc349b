"""`chronomix date`: give every document a content date, with bounds and the signal that decided it.

Steps: read document Parquet (a stage output); run the HTML-metadata kernel if the input still has `html` and
was not dated at ingest; count, per host, the pages sharing a Last-Modified (jobs.date_spark, a shuffle); match
documents to dated reference versions when `--reference` is given (the index is built once per task from the
reference files); run the dating kernel (dating.combine.date_batch); count every rejected, distrusted,
conflicting or clamped date and every decisive signal into `_stats.json` counters; write. Dating never
drops a document: docs_in == docs_out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.stats import StageStats
from dating.combine import DATE_NOTES, EXTRA_FIELDS, LM_HOST_PAGES, OUTPUT_COLUMNS, date_batch
from dating.html_meta import HTML_META_MODIFIED, HTML_META_UNREAD, html_meta_date_batch
from dating.reference import (
    REF_FIELDS,
    ReferenceError,
    ReferenceMatcher,
    check_reference_file,
    shingles,
)
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.date_spark import with_host_last_modified_pages
from jobs.options import Conf, DocumentInputs, Master, Output, Overwrite, spark_options
from jobs.runner import run_command
from jobs.stage import (
    InputFile,
    document_files,
    expand_inputs,
    is_document_parquet,
    map_kernel,
    read_stage_output,
    refuse_existing,
    refuse_unwritable,
    write_stage,
)

# Columns used on the way and not written: the host count and the raw reference match (its month and
# similarity are in created/date_lower/date_upper/date_confidence).
_WORK_COLUMNS = [LM_HOST_PAGES, HTML_META_UNREAD, *(f.name for f in REF_FIELDS)]


@dataclass(frozen=True)
class DateConfig:
    """What `chronomix date` does besides the per-document rules."""

    reference: str | None = None  # folder/files of dated reference versions (Parquet)
    rows_per_shard: int = 50_000


def reference_files(reference: str) -> list[str]:
    """The Parquet files of a reference set; UsageError naming --reference when there are none or they lack
    the columns matching needs, or a file is not readable Parquet."""
    try:
        found = expand_inputs([reference])
    except UsageError as error:
        raise UsageError(f"--reference: {error}", option="--reference") from None
    if not is_document_parquet(found):
        raise UsageError(
            f"--reference {reference!r}: expected a folder of Parquet files (a stage output)",
            option="--reference",
        )
    for file in found:
        try:
            check_reference_file(file.uri)
        except ReferenceError as error:
            raise UsageError(f"--reference {reference!r}: {error}", option="--reference") from None
        except (OSError, pa.ArrowException) as error:  # a truncated or corrupt file: its footer is unreadable
            raise UsageError(
                f"--reference {reference!r}: {file.uri} is not readable Parquet ({error})",
                option="--reference",
            ) from None
    try:
        usable = any(has_dated_text(file.uri) for file in found)
    except (OSError, pa.ArrowException) as error:  # a column chunk the footer promised is unreadable
        raise UsageError(
            f"--reference {reference!r}: not readable Parquet ({error})", option="--reference"
        ) from None
    if not usable:
        # Each Spark task builds the index from these files and would fail on it (ReferenceError), late
        # and with a Java trace; the same rule is checked here, before Spark starts.
        raise UsageError(
            f"--reference {reference!r}: reference set has no rows with both 'text' and 'created'",
            option="--reference",
        )
    return [f.uri for f in found]


def has_dated_text(uri: str) -> bool:
    """Whether the reference Parquet file `uri` has a row ReferenceIndex can index: a `created` and a text
    with a word in it. Row groups whose footer statistics say `text` or `created` is all null are skipped
    unread; the others are read in batches of those two columns up to the first such row."""
    fs, path = pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)
    with fs.open_input_file(path) as source:
        parquet = pq.ParquetFile(source)
        leaves = {parquet.schema.column(j).path: j for j in range(len(parquet.schema))}
        positions = [leaves[c] for c in _DATED_TEXT if c in leaves]  # not there: a nested column, no stats
        wanted = [
            i
            for i in range(parquet.num_row_groups)
            if not any(_all_null(parquet.metadata.row_group(i), p) for p in positions)
        ]
        if not wanted:
            return False
        for batch in parquet.iter_batches(batch_size=4096, row_groups=wanted, columns=list(_DATED_TEXT)):
            dated = pc.is_valid(batch.column("created"))
            texts = pc.filter(batch.column("text"), pc.and_(dated, pc.is_valid(batch.column("text"))))
            if any(text and len(shingles(text)) for text in texts.to_pylist()):
                return True
    return False


_DATED_TEXT = ("text", "created")


def _all_null(row_group: pq.RowGroupMetaData, position: int) -> bool:
    """Whether the footer says leaf column `position` of `row_group` is all null (no row group: none)."""
    if row_group.num_rows == 0:
        return True
    statistics = row_group.column(position).statistics
    return bool(
        statistics is not None and statistics.has_null_count and statistics.null_count == row_group.num_rows
    )


NOT_DOCUMENTS = "input {uri}: expected document Parquet; run `chronomix ingest` first"


def dated_frame(
    spark: SparkSession, files: list[InputFile], references: list[str] | None = None
) -> DataFrame:
    """The documents of `files` (document Parquet) with the dating columns set (not yet written), matched to
    the reference versions in the Parquet files `references` where given."""
    df = read_stage_output(spark, files)
    if "html" in df.columns and HTML_META_MODIFIED not in df.columns:
        unread = pa.field(HTML_META_UNREAD, pa.string())  # a work column: date_batch notes it
        df = map_kernel(df, html_meta_date_batch, ["html_meta_date", HTML_META_MODIFIED, unread])
    df = with_host_last_modified_pages(df)
    if references is not None:
        df = map_kernel(df, ReferenceMatcher(references), REF_FIELDS)
    df = map_kernel(df, date_batch, [*OUTPUT_COLUMNS, *EXTRA_FIELDS])
    return df.drop(*[c for c in _WORK_COLUMNS if c in df.columns])


def date_counters(df: DataFrame) -> dict[str, int]:
    """Counters for _stats.json: `<action>:<signal>:<reason>` per dating note, and `source:<signal>` per
    decisive signal (`source:none` for undated documents)."""
    counters: dict[str, int] = {}
    notes = df.select(F.explode(DATE_NOTES).alias("note")).groupBy("note").count().collect()
    for row in notes:
        counters[row["note"]] = int(row["count"])
    sources = df.groupBy("date_source").count().collect()
    for row in sources:
        counters[f"source:{row['date_source'] or 'none'}"] = int(row["count"])
    return counters


def run_date(
    spark: SparkSession,
    inputs: list[str] | list[InputFile],
    output: str,
    config: DateConfig,
    overwrite: bool = False,
    references: list[str] | None = None,
) -> StageStats:
    """Date `inputs` (document Parquet, or the files a check listed) into `output`; `references` are the
    reference files a check listed (else `config.reference` is listed here). Returns the stage's stats."""
    refuse_unwritable(spark, output)
    files = document_files(inputs, NOT_DOCUMENTS)
    if references is None and config.reference:
        references = reference_files(config.reference)
    stats = StageStats(stage="date", files_in=len(files), bytes_in=sum(f.size for f in files))
    df = dated_frame(spark, files, references).persist()
    try:
        stats.counters.update(date_counters(df))
        return write_stage(df, output, stats, overwrite=overwrite, rows_per_shard=config.rows_per_shard)
    finally:
        df.unpersist()


# ---------------------------------------------------------------------------------------------- stage
@dataclass(frozen=True)
class DateParams(StageParams):
    """`chronomix date` and the `date` stage kind."""

    input: list[str]  # document Parquet: files, folders or globs
    output: str
    reference: str | None = None  # dated reference versions (Parquet)
    rows_per_shard: int = 50_000
    overwrite: bool = False


@dataclass(frozen=True)
class DatePlan:
    params: DateParams
    files: list[InputFile]
    references: list[str] | None


def check(params: DateParams) -> DatePlan:
    """The input and reference files, each listed and checked once; UsageError naming a bad one."""
    settings(params)
    files = document_files(params.input, NOT_DOCUMENTS)
    references = reference_files(params.reference) if params.reference else None
    refuse_existing(
        params.output,
        params.overwrite,
        [*files, *(InputFile(uri, -1) for uri in references or [])],
        given=[*params.input, *([params.reference] if params.reference else [])],
    )
    return DatePlan(params, files, references)


def run(plan: DatePlan, spark: SparkProvider) -> StageResult:
    """Date the plan's files into `output`."""
    params = plan.params
    config = DateConfig(reference=params.reference, rows_per_shard=params.rows_per_shard)
    stats = run_date(spark(), plan.files, params.output, config, params.overwrite, plan.references)
    sources = {k: v for k, v in stats.counters.items() if k.startswith("source")}
    return StageResult({**stats_summary(stats), "sources": sources}, stats=stats)


def settings(params: DateParams) -> None:
    """The settings that need no file (a pipeline checks them before any stage runs)."""
    if isinstance(params.rows_per_shard, bool) or params.rows_per_shard < 1:
        raise UsageError(f"rows_per_shard {params.rows_per_shard!r}: expected a positive number")


STAGE = Stage("date", DateParams, check, run, settings=settings)


def date(
    input: DocumentInputs,
    output: Output,
    reference: Annotated[
        str | None,
        typer.Option(
            help="Dated reference versions (Parquet with text, created, resource or url), e.g. the output "
            "of `chronomix ingest --mediawiki-monthly`; documents are matched to their nearest version."
        ),
    ] = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Date every document: created, date_published, date_lower, date_upper and the deciding date_source.

    Signals: crawl time and dump window, HTTP Last-Modified (distrusted at the fetch time, on site rebuilds
    and after the last edit a page states), URL dates, HTML metadata (htmldate), dates and years in the text, and reference versions.
    Rejected dates are counted in _stats.json; documents are never dropped."""
    from jobs.report import print_stats

    params = DateParams(input=input, output=output, reference=reference, overwrite=overwrite)
    result = run_command(STAGE, params, spark_options(master, conf))
    print_stats(result.stats, output)
