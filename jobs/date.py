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

import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.stats import StageStats
from dating.combine import DATE_NOTES, EXTRA_FIELDS, LM_HOST_PAGES, OUTPUT_COLUMNS, date_batch
from dating.html_meta import HTML_META_MODIFIED, html_meta_date_batch
from dating.reference import REF_FIELDS, ReferenceError, ReferenceMatcher, check_reference_file
from jobs.options import Conf, DocumentInputs, Master, Output, Overwrite
from jobs.stage import (
    InputFile,
    UsageError,
    expand_inputs,
    is_document_parquet,
    map_kernel,
    read_stage_output,
    refuse_existing,
    write_stage,
)

# Columns used on the way and not written: the host count and the raw reference match (its month and
# similarity are in created/date_lower/date_upper/date_confidence).
_WORK_COLUMNS = [LM_HOST_PAGES, *(f.name for f in REF_FIELDS)]


@dataclass(frozen=True)
class DateConfig:
    """What `chronomix date` does besides the per-document rules."""

    reference: str | None = None  # folder/files of dated reference versions (Parquet)
    rows_per_shard: int = 50_000


def reference_files(reference: str) -> list[str]:
    """The Parquet files of a reference set; UsageError naming --reference when there are none or they lack
    the columns matching needs."""
    found = expand_inputs([reference])
    if not is_document_parquet(found):
        raise UsageError(f"--reference {reference!r}: expected a folder of Parquet files (a stage output)")
    for file in found:
        try:
            check_reference_file(file.uri)
        except ReferenceError as error:
            raise UsageError(f"--reference {reference!r}: {error}") from None
    return [f.uri for f in found]


def document_files(inputs: list[str]) -> list[InputFile]:
    """The input files, all document Parquet; UsageError naming the input otherwise."""
    files = expand_inputs(inputs)
    for file in files:
        if not file.uri.endswith(".parquet"):
            raise UsageError(f"input {file.uri!r}: expected document Parquet; run `chronomix ingest` first")
    return files


def dated_frame(spark: SparkSession, inputs: list[str], config: DateConfig) -> DataFrame:
    """The input documents with the dating columns set (not yet written)."""
    files = document_files(inputs)
    refs = reference_files(config.reference) if config.reference else None
    df = read_stage_output(spark, files)
    if "html" in df.columns and HTML_META_MODIFIED not in df.columns:
        df = map_kernel(df, html_meta_date_batch, ["html_meta_date", HTML_META_MODIFIED])
    from jobs.date_spark import with_host_last_modified_pages

    df = with_host_last_modified_pages(df)
    if refs is not None:
        df = map_kernel(df, ReferenceMatcher(refs), REF_FIELDS)
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
    spark: SparkSession, inputs: list[str], output: str, config: DateConfig, overwrite: bool = False
) -> StageStats:
    """Date `inputs` (document Parquet) into `output`. Returns the stage's stats."""
    files = document_files(inputs)
    stats = StageStats(stage="date", files_in=len(files), bytes_in=sum(f.size for f in files))
    df = dated_frame(spark, inputs, config).persist()
    try:
        stats.counters.update(date_counters(df))
        return write_stage(df, output, stats, overwrite=overwrite, rows_per_shard=config.rows_per_shard)
    finally:
        df.unpersist()


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

    Signals: crawl time and dump window, HTTP Last-Modified (distrusted at the fetch time and on site
    rebuilds), URL dates, HTML metadata (htmldate), dates and years in the text, and reference versions.
    Rejected dates are counted in _stats.json; documents are never dropped."""
    from jobs.options import session
    from jobs.report import print_stats

    # Bad arguments fail here, before Spark starts.
    document_files(input)
    if reference:
        reference_files(reference)
    refuse_existing(output, overwrite)
    with session(master, conf) as spark:
        stats = run_date(spark, input, output, DateConfig(reference=reference), overwrite=overwrite)
    print_stats(stats, output)
