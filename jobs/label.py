"""`chronomix label`: attach a column from a side table to documents, by id.

Curation often needs a per-document attribute that no stage computes: a page-type classifier's label, a
quality score, or, for a generated world, its truth (`world/truth/documents.parquet`'s `kind`). This stage
left-joins one column of a Parquet table keyed by `id` onto the documents, optionally mapping its values
(e.g. fresh, recrawl and stale pages to `resource`), under a new name. Documents without a value keep a
null and are counted (`unlabelled`); none is dropped, so docs_in == docs_out. An id the table gives two
different values is left unlabelled and counted (`conflicting_labels`, documents), as are the table's rows
without an id (`table_rows_without_id`). A mixture can then hold fixed shares of the label's values
(`strata` in a mixture spec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import typer
from pyspark.sql import functions as F

from corpus.schema import COLUMN_NAMES, EXTRA_COLUMNS
from corpus.stats import StageStats
from dating.combine import EXTRA_FIELDS as DATE_COLUMNS
from jobs.checks import parquet_columns
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.langid import read_documents_frame, refuse_non_documents
from jobs.options import Conf, DocumentInputs, Master, Output, Overwrite, spark_options
from jobs.runner import run_command
from jobs.spark import column
from jobs.stage import (
    InputFile,
    document_files,
    expand_inputs,
    read_stage_output,
    refuse_existing,
    write_stage,
)
from mixers.sampling import MIXTURE_COLUMNS

_CONFLICT = "_label_conflict"
# Names a label may not take: the record's columns, the readers' extras and what the stages add (date's
# confidence and notes, a mixture's bucket and order), which a label would replace or a stage overwrite.
# Spark matches column names without regard to case, so neither may a name that differs only in case.
RESERVED_NAMES = frozenset(
    name.casefold()
    for name in (*COLUMN_NAMES, *EXTRA_COLUMNS, *(f.name for f in DATE_COLUMNS), *MIXTURE_COLUMNS)
)
NOT_DOCUMENTS = "input {uri}: not document Parquet; run `chronomix ingest` on it first"


@dataclass(frozen=True)
class LabelParams(StageParams):
    """`chronomix label` and the `label` stage kind."""

    input: list[str]  # document Parquet: files, folders or globs
    output: str
    table: str = ""  # Parquet with `id` and `column`
    column: str = ""  # the table's column to attach
    name: str | None = None  # the documents' new column (default: `column`)
    values: dict[str, str] = field(default_factory=dict)  # map the table's values (others kept as they are)
    overwrite: bool = False


@dataclass(frozen=True)
class LabelPlan:
    params: LabelParams
    files: list[InputFile]
    table: list[InputFile]


def settings(params: LabelParams) -> LabelParams:
    """The options that need no file (a pipeline checks them before any stage runs); UsageError naming a
    bad one."""
    if not params.table:
        raise UsageError("--table: required (Parquet with an `id` column)", option="--table")
    if not params.column:
        raise UsageError("--column: required (the table's column to attach)", option="--column")
    if params.name is not None and not params.name:
        raise UsageError("--name: must not be empty", option="--name")
    name = params.name or params.column
    # replacing `lang` or `created` with a label breaks the stages after
    if name.casefold() in RESERVED_NAMES or name.startswith("_label_"):
        raise UsageError(
            f"--name {name!r}: a column of the document record or one a stage adds (names are matched "
            "without regard to case; `_label_` names are the stage's own); name the label otherwise (--name)",
            option="--name",
        )
    return params


def check(params: LabelParams) -> LabelPlan:
    """The documents and the table, listed once, and the table's columns (its first file's footer: the files
    of one table share a schema), so a wrong --table or --column fails before Spark starts; UsageError
    naming a bad option."""
    settings(params)
    files = document_files(params.input, NOT_DOCUMENTS)
    refuse_non_documents(files)
    try:
        table = expand_inputs([params.table])
    except UsageError as error:
        raise UsageError(f"--table: {error}", option="--table") from None
    not_parquet = next((f.uri for f in table if not f.uri.endswith(".parquet")), None)
    if not_parquet is not None:
        raise UsageError(f"--table {params.table!r}: {not_parquet} is not Parquet", option="--table")
    columns = parquet_columns(table[0].uri, "--table", params.table)
    if "id" not in columns:
        raise UsageError(f"--table {params.table!r}: no 'id' column", option="--table")
    if params.column not in columns:
        raise UsageError(
            f"--column {params.column!r}: the table {params.table!r} has no such column "
            f"(it has {', '.join(columns)})",
            option="--column",
        )
    refuse_existing(params.output, params.overwrite, files, given=[*params.input, params.table])
    return LabelPlan(params, files, table)


def run(plan: LabelPlan, spark: SparkProvider) -> StageResult:
    """Join the column onto the plan's documents and write them to `output`."""
    params = plan.params
    session = spark()
    documents, stats = read_documents_frame(session, plan.files)
    side = read_stage_output(session, plan.table, documents=False)  # its columns were checked by `check`
    name = params.name or params.column
    # the table's own type (a float score stays a float: as text, 9.0 sorted above 10.5); a --values map's
    # names are text, so a mapped column is, and so is a nested one (a map has no order to pick a value by)
    nested = dict(side.dtypes)[params.column].startswith(("map<", "struct<", "array<", "binary"))
    as_text = bool(params.values) or nested
    value = column(params.column).cast("string") if as_text else column(params.column)
    for old, new in sorted(params.values.items()):
        value = F.when(column(params.column).cast("string") == old, F.lit(new)).otherwise(value)
    side_id = F.col("id")
    if dict(side.dtypes).get("id") in ("float", "double"):
        # pandas writes a column of int ids with one missing as floats: 7.0 is the document "7", NaN is none
        # (each branch a string: a CASE of long and double would be double again)
        side_id = (
            F.when(F.isnan(side_id), F.lit(None).cast("string"))
            .when(side_id == F.floor(side_id), side_id.cast("long").cast("string"))
            .otherwise(side_id.cast("string"))
        )
    rows = side.select(
        side_id.cast("string").alias("id"), value.alias(name)
    )  # ids are strings (pandas: ints)
    # An id the table gives several values has no label (which one would win is up to Spark), and a row
    # without an id labels nothing: both are counted, not resolved silently.
    grouped = (
        rows.filter(F.col("id").isNotNull())
        .groupBy("id")
        .agg(F.countDistinct(column(name)).alias("_label_values"))
    )
    grouped = grouped.join(rows.groupBy("id").agg(F.max(column(name)).alias(name)), "id")
    conflict = F.col("_label_values") > 1
    labels = grouped.select(
        "id", F.when(conflict, F.lit(None)).otherwise(column(name)).alias(name), conflict.alias(_CONFLICT)
    )
    labelled = documents.drop(name).join(F.broadcast(labels), "id", "left").persist()
    try:
        stats = StageStats(stage="label", files_in=stats.files_in, bytes_in=stats.bytes_in)
        counts = labelled.agg(
            F.count(F.when(column(name).isNull(), 1)).alias("unlabelled"),
            F.count(F.when(F.col(_CONFLICT), 1)).alias("conflicting_labels"),
        ).first()
        stats.counters["unlabelled"] = int(counts["unlabelled"])
        stats.counters["conflicting_labels"] = int(counts["conflicting_labels"])
        stats.counters["table_rows_without_id"] = rows.filter(F.col("id").isNull()).count()
        write_stage(labelled.drop(_CONFLICT), params.output, stats, overwrite=params.overwrite)
    finally:
        labelled.unpersist()
    return StageResult(stats_summary(stats), stats=stats)


STAGE = Stage("label", LabelParams, check, run, settings=settings)


def parse_values(pairs: list[str] | None) -> dict[str, str]:
    """`--value OLD=NEW` pairs as a value map; UsageError naming a malformed pair, or an OLD given twice
    (which NEW was meant cannot be known, so none wins)."""
    mapping: dict[str, str] = {}
    for pair in pairs or []:
        old, sep, new = pair.partition("=")
        if not sep or not old:
            raise UsageError(f"--value {pair!r}: expected OLD=NEW", option="--value")
        if old in mapping:
            raise UsageError(
                f"--value {pair!r}: {old!r} is mapped twice ({old}={mapping[old]} and {pair}); give it once",
                option="--value",
            )
        mapping[old] = new
    return mapping


def label(
    input: DocumentInputs,
    output: Output,
    table: Annotated[str, typer.Option(help="Parquet (file or folder) with an `id` column and COLUMN.")],
    column: Annotated[str, typer.Option(help="The table's column to attach to the documents.")],
    name: Annotated[str | None, typer.Option(help="The documents' new column (default: COLUMN).")] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(help="Map a value, OLD=NEW (repeatable); other values are kept as they are."),
    ] = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Attach one column of a side table to the documents, by id (left join: a document without a row keeps
    a null, counted as `unlabelled`; none is dropped). For page types, classifier labels or a world's truth,
    which a mixture's `strata` can then hold at fixed shares."""
    from jobs.report import print_stats

    params = LabelParams(
        input=input,
        output=output,
        table=table,
        column=column,
        name=name,
        values=parse_values(value),
        overwrite=overwrite,
    )
    result = run_command(STAGE, params, spark_options(master, conf))
    print_stats(result.stats, output)
