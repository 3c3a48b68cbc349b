"""`chronomix mix`: build a time- and language-balanced mixture under a token budget from a YAML spec.

Steps: read document Parquet; fill `lang` (langid kernel) and `n_tokens` (token kernel) where missing; bucket
by time; filter by the spec (each filtered document counted under its reason); count tokens per (language,
bucket) cell; allocate the budget (mixers.allocation); choose per-cell key thresholds so each cell's tokens
match its target; expand repeats; write shards in a shuffled order that depends only on the seed and the ids,
with `_manifest.json` (spec, seed, per-cell input/target/achieved tokens, repeats, short cells).

Accounting: a mixture repeats documents, so `_stats.json` counts rows out, and the extra copies under
`counters.repeat_copies`: docs_in + repeat_copies = docs_out + dropped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Annotated, Any

import pyarrow as pa
import typer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from corpus.stats import StageStats
from jobs.checks import check_tokenizer, null_columns, parquet_columns
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError, stats_summary
from jobs.langid import NOT_DOCUMENTS, langid_config, read_documents_frame, refuse_non_documents
from jobs.mix_spark import (
    DROP_COLUMN,
    achieved_tokens,
    cell_counts,
    cell_rates,
    drop_counts,
    drop_reason,
    expand_repeats,
)
from jobs.options import Conf, DocumentInputs, Master, Overwrite, spark_options
from jobs.runner import run_command
from jobs.spark import column
from jobs.stage import (
    MIX_MANIFEST,
    InputFile,
    document_files,
    map_kernel,
    refuse_existing,
    refuse_unwritable,
    write_stage,
)
from mixers.allocation import Allocation, allocate
from mixers.buckets import TIME_BUCKET_FIELD, TimeBucketKernel
from mixers.langid import OUTPUT_COLUMNS, LangIdConfig, LangIdKernel
from mixers.sampling import MIX_KEY_FIELD, MixKeyKernel, MixOrderKernel, RepeatKernel
from mixers.spec import STRATUM_SEPARATOR, MixSpec, SpecError, load_spec, parse_count
from mixers.tokens import UNDERCOUNTED_LANGUAGES, TokenCountKernel

LOG = logging.getLogger("chronomix")

SORT_BY = ("mix_order", "id", "repeat_index")
REAL_LANG = "_lang"
MANIFEST = MIX_MANIFEST


@dataclass
class MixStats(StageStats):
    """StageStats of a mixture: rows out include repeated copies, counted in `counters['repeat_copies']`."""

    @property
    def balanced(self) -> bool:
        return self.docs_in + self.counters.get("repeat_copies", 0) == self.docs_out + sum(
            self.dropped.values()
        )


@dataclass
class MixResult:
    allocation: Allocation
    manifest: dict[str, Any]
    stats: StageStats | None  # None for --plan


def check_columns(spec: MixSpec, columns: list[str], empty: set[str] | frozenset[str] = frozenset()) -> None:
    """UsageError naming the spec field whose filter needs a column the input lacks, or has only nulls in
    (`empty`: an ingest output has `is_stale`, unset until dedup runs)."""
    for where, needed in spec.filters.required_columns().items():
        if needed not in columns:
            raise UsageError(f"{where}: the input has no {needed!r} column (run `chronomix dedup` first)")
        if needed in empty:
            raise UsageError(
                f"{where}: the input's {needed!r} column holds no values (run `chronomix dedup` first)"
            )
    if spec.strata is not None and spec.strata.column not in columns:
        raise UsageError(f"strata.column: the input has no {spec.strata.column!r} column")


def input_columns(files: list[InputFile]) -> list[str]:
    """Columns of the first input Parquet file, read on the driver (the files of one stage share a schema);
    UsageError when it is not readable Parquet."""
    return parquet_columns(files[0].uri, "input", files[0].uri)


def prepare(df: DataFrame, spec: MixSpec, lid: LangIdConfig) -> DataFrame:
    """Documents with lang, n_tokens, time_bucket, mix_key and the spec's drop reason."""
    check_columns(spec, df.columns)
    fill = "lang" in df.columns
    df = map_kernel(df, LangIdKernel(replace(lid, fill_missing_only=fill)), list(OUTPUT_COLUMNS))
    # Counts from an earlier stage are reused only when they were whitespace words like ours would be.
    df = map_kernel(
        df, TokenCountKernel(spec.tokenizer, fill_missing_only=spec.tokenizer is None), ["n_tokens"]
    )
    df = map_kernel(df, TimeBucketKernel(spec.time.granularity), [TIME_BUCKET_FIELD])
    df = map_kernel(df, MixKeyKernel(spec.seed), [MIX_KEY_FIELD])
    df = df.withColumn(DROP_COLUMN, drop_reason(spec))
    if spec.strata is not None:
        # Cells of a stratified mixture are (stratum|lang, bucket); the document's own `lang` comes back
        # before it is written (`restore_lang`).
        stratum = F.coalesce(column(spec.strata.column).cast("string"), F.lit(""))
        df = df.withColumn(REAL_LANG, F.col("lang")).withColumn(
            "lang", F.concat(stratum, F.lit(STRATUM_SEPARATOR), F.coalesce(F.col("lang"), F.lit("")))
        )
    return df


def restore_lang(df: DataFrame) -> DataFrame:
    """The documents' own `lang` in place of a stratified mixture's cell key."""
    if REAL_LANG not in df.columns:
        return df
    return df.withColumn("lang", F.col(REAL_LANG)).drop(REAL_LANG)


def run_mix(
    spark: SparkSession,
    inputs: list[str],
    spec: MixSpec,
    output: str | None,
    lid: LangIdConfig = LangIdConfig(),
    overwrite: bool = False,
    files: list[InputFile] | None = None,
) -> MixResult:
    """Plan (output None) or build the mixture of `inputs` under `spec` into `output`; `files` are the
    input files a check listed (else `inputs` are listed here), `inputs` as given go into the manifest."""
    if output is not None:
        refuse_unwritable(spark, output)
    # Sampling keys and the mixture's order are hashes of the id: rows sharing one would be drawn together,
    # so a row without an id gets its stable id and all but one of the rows sharing one are renamed (none is
    # dropped for its id); both are counted in the stats' counters.
    df, stats = read_documents_frame(spark, files or inputs, rename_shared_ids=True)
    mix_stats = MixStats(
        stage="mix", files_in=stats.files_in, bytes_in=stats.bytes_in, counters=stats.counters
    )
    prepared = prepare(df, spec, lid).persist()
    try:
        docs_in, dropped = drop_counts(prepared)
        cells = cell_counts(prepared)
        allocation = allocate(cells, spec)
        _say_about_languages(spec, {lang for lang, _ in cells if lang})
        manifest = _manifest(spec, inputs, allocation, None)
        if output is None:
            return MixResult(allocation, manifest, None)
        rates = cell_rates(prepared, allocation)
        sampled = map_kernel(
            prepared.filter(F.col(DROP_COLUMN).isNull()),
            RepeatKernel(rates),
            [pa.field("repeats", pa.int32())],
        )
        not_sampled = {
            row["reason"]: row["count"]
            for row in sampled.filter(F.col("repeats") == 0)
            .withColumn("reason", _not_sampled_reason(allocation))
            .groupBy("reason")
            .count()
            .collect()
        }
        expanded = expand_repeats(sampled)
        ordered = map_kernel(expanded, MixOrderKernel(spec.seed), [pa.field("mix_order", pa.int64())])
        rows = ordered.drop("mix_key", "repeats", DROP_COLUMN).persist()
        try:
            achieved = achieved_tokens(rows)
            manifest = _manifest(spec, inputs, allocation, achieved)
            _say_if_short(manifest)
            mix_stats.docs_in = docs_in
            for reason, n in {**dropped, **not_sampled}.items():
                mix_stats.drop(reason, n)
            copies = sum(r for r, _, _ in achieved.values()) - sum(d for _, d, _ in achieved.values())
            mix_stats.counters["repeat_copies"] = copies
            mix_stats.counters["tokens_out"] = sum(t for _, _, t in achieved.values())
            written = write_stage(
                restore_lang(rows),
                output,
                mix_stats,
                overwrite=overwrite,
                sort_by=SORT_BY,
                extra_files={MANIFEST: json.dumps(manifest, indent=2, sort_keys=True) + "\n"},
            )
        finally:
            rows.unpersist()
        return MixResult(allocation, manifest, written)
    finally:
        prepared.unpersist()


def _say_about_languages(spec: MixSpec, present: set[str]) -> None:
    """Warnings on the languages of the documents kept: a language `filters.languages` selects that none
    is in (langid writes `no` and `sh`, not their members, with --no-second-opinion, and a spec naming the
    members then planned 0 tokens without a word), and languages written without spaces counted in
    whitespace words (mixers.tokens)."""
    if spec.strata is not None:  # cells are "stratum|lang" here
        present = {lang.split(STRATUM_SEPARATOR, 1)[-1] for lang in present}
    missing = sorted(set(spec.filters.languages or ()) - present)
    if missing:
        LOG.warning(
            "filters.languages: no document kept is in %s (the documents' languages: %s)",
            ", ".join(missing),
            ", ".join(sorted(present)[:20]) or "none",
        )
    undercounted = sorted(present & UNDERCOUNTED_LANGUAGES)
    if undercounted and spec.tokenizer is None:
        LOG.warning(
            "%s: written without spaces, counted in whitespace words, so their token counts are far too low "
            "and the balance over-weights them; give the spec a `tokenizer`",
            ", ".join(undercounted),
        )


def _say_if_short(manifest: dict[str, Any]) -> None:
    """A warning where the mixture holds under 99% of the tokens its cells were given (targets already cut
    to the data there is; the plan table shows a budget the data cannot fill): each cell takes whole
    documents never past its target (mixers.sampling), so cells of few large documents fall short, which only
    `achieved_tokens` showed."""
    planned, held = manifest["target_tokens"], manifest["achieved_tokens"]
    if held >= 0.99 * planned:
        return
    LOG.warning(
        "the mixture holds %s of the %s tokens its cells were given (%.1f%%): a cell takes whole documents, "
        "never past its target, so cells of few large documents fall short (per cell: _manifest.json)",
        f"{held:,}",
        f"{planned:,}",
        100 * held / planned,  # planned > 0: held >= 0 returned above otherwise
    )


def _not_sampled_reason(allocation: Allocation):
    """`cell_target_zero` for documents of cells the strategies gave nothing, else `not_sampled`."""
    # One IN over a cell key: an OR per cell nested hundreds deep at month granularity (a Java
    # StackOverflowError while Spark converted it).
    zero = [_cell_key(c.lang, c.bucket) for c in allocation.cells if c.target <= 0]
    key = F.concat_ws(_CELL_SEPARATOR, F.col("lang"), F.col("time_bucket"))
    return F.when(key.isin(zero), F.lit("cell_target_zero")).otherwise(F.lit("not_sampled"))


_CELL_SEPARATOR = "\x1f"  # the unit separator: in no language code or time bucket


def _cell_key(lang: str | None, bucket: str | None) -> str:
    """The cell's (lang, time bucket) as one string, as concat_ws writes it (a null part left out)."""
    return _CELL_SEPARATOR.join(part for part in (lang, bucket) if part is not None)


def _manifest(
    spec: MixSpec,
    inputs: list[str],
    allocation: Allocation,
    achieved: dict[tuple[str, str], tuple[int, int, int]] | None,
) -> dict[str, Any]:
    cells = []
    for plan in allocation.cells:
        entry: dict[str, Any] = {
            "lang": plan.lang,
            "time_bucket": plan.bucket,
            "input_docs": plan.docs,
            "input_tokens": plan.tokens,
            "wanted_tokens": round(plan.wanted, 3),
            "target_tokens": plan.target,
            "rate": round(plan.rate, 6),
            "base_repeats": plan.base_repeats,
            "short_of_data": plan.short,
        }
        if achieved is not None:
            rows, docs, tokens = achieved.get((plan.lang, plan.bucket), (0, 0, 0))
            entry.update(
                rows=rows, docs=docs, achieved_tokens=tokens, max_repeats_used=_max_repeats(plan, rows, docs)
            )
        cells.append(entry)
    manifest: dict[str, Any] = {
        "name": spec.name,
        "seed": spec.seed,
        "spec": spec.to_dict(),
        "inputs": list(inputs),
        "budget_tokens": spec.budget_tokens,
        "target_tokens": sum(c.target for c in allocation.cells),
        "unplaced_tokens": round(allocation.unplaced, 3),
        "short_cells": [[c.lang, c.bucket] for c in allocation.cells if c.short],
        "cells": cells,
    }
    if achieved is not None:
        manifest["achieved_tokens"] = sum(t for _, _, t in achieved.values())
        manifest["rows"] = sum(r for r, _, _ in achieved.values())
    return manifest


def _max_repeats(plan: Any, rows: int, docs: int) -> int:
    if not docs:
        return 0
    return plan.base_repeats + (1 if rows > plan.base_repeats * docs else 0)


def plan_table(allocation: Allocation) -> str:
    """The allocation as a text table (one line per cell), for `--plan`."""
    lines = [f"{'lang':<6} {'bucket':<9} {'docs':>8} {'tokens':>12} {'target':>12} {'rate':>7}  short"]
    for c in allocation.cells:
        lines.append(
            f"{c.lang:<6} {c.bucket:<9} {c.docs:>8,} {c.tokens:>12,} {c.target:>12,} {c.rate:>7.3f}  "
            f"{'yes' if c.short else ''}"
        )
    total = sum(c.target for c in allocation.cells)
    lines.append(
        f"budget {allocation.budget:,} tokens; planned {total:,}; unplaced {allocation.unplaced:,.0f}"
    )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- stage
@dataclass(frozen=True)
class MixParams(StageParams):
    """`chronomix mix` and the `mix` stage kind."""

    input: list[str]  # document Parquet: files, folders or globs
    spec: str  # the mixture spec (YAML)
    output: str | None = None  # None only with `plan`
    plan: bool = False  # compute the allocation and write nothing
    seed: int | None = None  # overrides the spec's seed
    budget_tokens: int | str | None = None  # overrides the spec's budget; 3M is 3000000 (__post_init__)
    lid_model: str | None = None  # fastText model for documents without `lang`
    overwrite: bool = False

    def __post_init__(self) -> None:
        # one positive number, however written, so that 3M and 3000000 are the same stage to the runner
        if self.budget_tokens is not None:
            object.__setattr__(self, "budget_tokens", budget_count(self.budget_tokens, "budget_tokens"))


@dataclass(frozen=True)
class MixPlan:
    params: MixParams
    spec: MixSpec
    lid: LangIdConfig
    files: list[InputFile]


def budget_count(value: object, option: str) -> int:
    """A token budget (an integer, or with a K/M/B/T suffix: `3M`); UsageError naming `option` otherwise."""
    try:
        count = parse_count(value, option)
    except SpecError as error:
        raise UsageError(str(error), option=option) from None
    if count <= 0:
        raise UsageError(f"{option}: {value!r} must be positive", option=option)
    return count


def settings(params: MixParams) -> MixSpec:
    """The spec file, read and checked (its tokenizer file too), with the seed and budget overrides; reads no
    input."""
    if not params.spec.strip():  # read as a path it is the current folder ("Is a directory")
        raise UsageError(f"--spec {params.spec!r}: an empty path", option="--spec")
    try:
        spec = load_spec(params.spec)
    except SpecError as error:
        raise UsageError(f"--spec {params.spec}: {error}", option="--spec") from None
    if spec.tokenizer is not None:
        # The workers load it in their tasks: a missing or wrong file is named before Spark starts.
        check_tokenizer(spec.tokenizer, f"--spec {params.spec}: tokenizer")
    if params.budget_tokens is not None:  # checked and made a count when the parameters were made
        spec = replace(spec, budget_tokens=int(params.budget_tokens))
    return replace(spec, seed=params.seed) if params.seed is not None else spec


def check(params: MixParams) -> MixPlan:
    """The spec (with the seed override), the language-id model and the input files, and that the input has
    the columns the spec's filters need; UsageError naming the bad option, spec field or input."""
    spec = settings(params)
    if not params.plan and params.output is None:
        raise UsageError("--output: required unless --plan is given")
    lid = langid_config(params.lid_model)
    files = document_files(params.input, NOT_DOCUMENTS)
    refuse_non_documents(files)
    columns = input_columns(files)  # before Spark starts: a bad spec fails in a second
    check_columns(spec, columns, null_columns(files[0].uri, columns))
    if not params.plan:
        refuse_existing(params.output, params.overwrite, files, given=params.input)
    return MixPlan(params, spec, lid, files)


def run(plan: MixPlan, spark: SparkProvider) -> StageResult:
    """Build the mixture into `output` (or, with `plan`, only its allocation)."""
    params = plan.params
    output = None if params.plan else params.output
    result = run_mix(spark(), params.input, plan.spec, output, plan.lid, params.overwrite, plan.files)
    if result.stats is None:
        summary = {"target_tokens": result.manifest["target_tokens"], "cells": len(result.manifest["cells"])}
        return StageResult(summary, value=result)
    return StageResult(stats_summary(result.stats), stats=result.stats, value=result)


STAGE = Stage("mix", MixParams, check, run, settings=settings)


def mix(
    inputs: DocumentInputs,
    spec: Annotated[str, typer.Option("--spec", help="Mixture spec (YAML); see pipelines/mixtures/.")],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output folder (local path or URI).")
    ] = None,
    plan: Annotated[
        bool,
        typer.Option("--plan", help="Print the allocation table and write nothing (refused with --output)."),
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Override the spec's seed.", min=0)] = None,
    budget_tokens: Annotated[
        str | None, typer.Option(help="Override the spec's budget (tokens, e.g. 3M).", show_default=False)
    ] = None,
    lid_model: Annotated[
        str | None, typer.Option(help="fastText model for documents without `lang` (default: lid.176.ftz).")
    ] = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Build a time- and language-balanced mixture under a token budget: Parquet shards of training examples
    (a document repeated k times appears k times, with `repeat_index`) in a seeded shuffled order, plus
    _manifest.json with per-cell input, target and achieved tokens.

    With --plan, only the allocation table is printed and nothing is written, so --plan with --output is
    refused (drop --plan to build the mixture into OUTPUT)."""
    from jobs.report import console, print_stats

    if plan and output is not None:
        # Accepting both would leave OUTPUT unwritten while the user expects a mixture (or the plan) there.
        raise UsageError(
            f"--output {output!r}: --plan writes nothing (it prints the allocation); drop --output, "
            "or drop --plan to build the mixture",
            option="--output",
        )
    params = MixParams(
        input=inputs,
        spec=spec,
        output=output,
        plan=plan,
        seed=seed,
        budget_tokens=None if budget_tokens is None else budget_count(budget_tokens, "--budget-tokens"),
        lid_model=lid_model,
        overwrite=overwrite,
    )
    result = run_command(STAGE, params, spark_options(master, conf)).value
    console.print(plan_table(result.allocation), highlight=False, markup=False)
    if result.stats is not None and output is not None:
        print_stats(result.stats, output)
