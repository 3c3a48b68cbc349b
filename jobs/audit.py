"""`chronomix audit`: how dated, stale and balanced is an existing dataset?

The audit reads any input the ingest job reads (WARC/WET, Dolma JSONL, Parquet, or a previous stage's output),
optionally keeps a deterministic sample of it (a hash of the id), runs the stages on it (date -> dedup ->
langid, the stages themselves through the runner, jobs/runner.py; a stage whose columns the input already
carries is not rerun unless `recompute`), and aggregates the result with Spark (jobs/audit_spark.py) into
small tables: documents and tokens by content month, dump and language; the crawl-to-content lag; exact and
near-duplicate rates, cluster sizes, stale share and staleness per dump; with reference versions, the
versions each resource is held in, the token-weighted version-month histogram and a predicted effective
cutoff (analysis/predict.py documents the model); with a trained run, its measured cutoff beside it.

Outputs in the report folder (written atomically, refused if it exists unless `overwrite`): `summary.json`
(every figure), `report.html` (one self-contained file from analysis/report.py, plots embedded), the plots
as PNG, and a summary table on the terminal. Nothing is dropped silently: input records the reader rejects
are counted per reason in the summary, and so are documents left out of a figure (no date, no crawl date).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

import typer

from analysis.audit_plots import render_plots
from analysis.months import months_between
from analysis.predict import STATISTICS
from analysis.report import render_html
from analysis.sample import check_fraction
from corpus.remote import redact, redact_values
from corpus.stats import StageStats
from jobs.audit_checks import (
    kept_one_version,
    read_measured_cutoff,
    refuse_remote_report,
    without_report_files,
)
from jobs.audit_reference import audit_reference_figures, with_reference_matches
from jobs.audit_spark import (
    AuditInput,
    audit_base,
    column_counts,
    compute_figures,
    prepare_documents,
    with_token_counts,
)
from jobs.checks import check_tokenizer, unreadable_parquet
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.date import reference_files
from jobs.fs import (
    AtomicStageOutput,
    Location,
    contained_in,
    locate,
    refuse_placeless,
    refuse_unmakeable,
    remove,
    remove_leftovers,
    working_sibling,
)
from jobs.inputs import refuse_inside_inputs
from jobs.options import Columns, Conf, Master, Overwrite, checked_columns, parse_columns, spark_options
from jobs.registry import stage
from jobs.report import print_audit_summary
from jobs.runner import REMOVED_REBUILDS, StageSpec, run_command, run_stages
from jobs.stage import InputFile, expand_inputs, read_stage_output, refuse_existing
from jobs.unreadable_inputs import count_left_out, leave_out_unreadable

SUMMARY_VERSION = 1
# The columns each stage sets; the audit runs a stage only where the input lacks them (or on `recompute`).
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("created",),
    "dedup": ("cluster_id", "is_stale"),
    "langid": ("lang",),
}


@dataclass(frozen=True)
class AuditConfig:
    """What the audit does. `sample` is a fraction in (0, 1]; `reference` a folder or file of dated versions
    of resources; `run` a trained run (or its probe output) whose measured effective cutoff is shown."""

    sample: float = 1.0
    sample_seed: int = 0
    reference: str | None = None
    run: str | None = None
    recompute: bool = False  # rerun a stage even when the input already carries its columns
    # how the cutoff is predicted: ngram (the data's n-gram fit of every reference version; needs reference
    # texts) | curve (the copy shares of the versions; needs texts, else median) | median | mode | mean
    statistic: str = "ngram"
    bootstrap: int = 1000
    level: float = 0.95
    added: datetime | None = None  # `added` of ingested raw inputs; None = now
    tokenizer: str | None = None  # a `tokenizers` JSON file for n_tokens; None = words
    work: str | None = None  # folder for the stages' outputs; None = a hidden folder beside the report
    keep_work: bool = False  # keep the stages' outputs (the audited documents) instead of deleting them
    title: str | None = None
    column_map: dict[str, str] = field(default_factory=dict)  # record column -> the input's field

    def check(self) -> AuditConfig:
        """Raise UsageError naming the first bad field."""
        try:
            check_fraction(self.sample)
        except ValueError as error:
            raise UsageError(str(error), option="--sample") from None
        if self.statistic not in ("ngram", *STATISTICS):
            raise UsageError(
                f"--statistic {self.statistic!r}: expected one of {', '.join(('ngram', *STATISTICS))}"
            )
        if self.bootstrap < 0:
            raise UsageError(f"--bootstrap {self.bootstrap}: must be 0 or more")
        if not 0 < self.level < 1:
            raise UsageError(f"--level {self.level}: expected a probability in (0, 1)")
        checked_columns(self.column_map)
        paths = {
            "--reference": self.reference,
            "--run": self.run,
            "--tokenizer": self.tokenizer,
            "--work": self.work,
        }
        for flag, value in paths.items():  # '' read as "not given", or as the current folder
            if value is not None:
                refuse_placeless(value, flag)
        return self


@dataclass(frozen=True, kw_only=True)
class AuditParams(AuditConfig, StageParams):
    """`chronomix audit` and the `audit` stage kind: the AuditConfig, the dataset and the report folder."""

    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset({"column_map"})
    WRITTEN_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"work"}
    )  # two audits' --work: one removed the other's

    input: list[str]  # dataset files, folders or globs
    output: str  # the report folder
    overwrite: bool = False


@dataclass(frozen=True)
class AuditPlan:
    params: AuditParams
    files: list[InputFile]
    references: list[str] | None  # the reference Parquet files
    measured: dict[str, Any] | None  # the run's measured cutoff


def settings(params: AuditParams) -> AuditParams:
    """The config's fields and the tokenizer file (a pipeline checks them before any stage runs); reads no
    input. UsageError naming the bad option."""
    params.check()
    if params.tokenizer is not None:
        check_tokenizer(params.tokenizer)  # the workers load it in their tasks: a bad file is named here
    return params


def check(params: AuditParams) -> AuditPlan:
    """Every check that needs no Spark, so a bad argument stops the command before Spark starts: the
    config's fields and --tokenizer, a report folder on an object store or one that cannot be made, the
    inputs (less an earlier report's files), an existing report, --reference, --run and --work. Raises
    UsageError naming the argument."""
    settings(params)
    refuse_remote_report(params.output)  # named before any input is listed or Spark starts
    refuse_unmakeable(params.output, "--output")
    if params.work:
        refuse_unmakeable(params.work, "--work")
    files = without_report_files(expand_inputs(params.input), params.input)
    files = leave_out_unreadable(files, unreadable_parquet([f.uri for f in files]))
    references = reference_files(params.reference) if params.reference is not None else None
    refuse_existing(
        params.output,
        params.overwrite,
        [*files, *(InputFile(uri, -1) for uri in references or [])],
        given=[*params.input, *([params.reference] if params.reference else [])],
    )
    measured = read_measured_cutoff(params.run) if params.run else None
    if params.work:  # the report replaces its folder whole when written: work kept inside it would go too
        where = "exists" if locate(params.work).exists() else "lies inside the report folder"
        if where == "exists" or contained_in(params.output)(params.work):
            raise UsageError(f"--work {params.work!r} {where}; give a new folder outside it", option="--work")
        refuse_inside_inputs(params.work, params.input, "--work")  # a kept one would be read next time
    return AuditPlan(params, files, references, measured)


def run(plan: AuditPlan, spark: SparkProvider) -> StageResult:
    """Audit the plan's files and write the report (see the module doc); the value is the summary."""
    started = time.perf_counter()
    params = plan.params
    output = AtomicStageOutput(params.output, params.overwrite)
    remove_leftovers(output.final)
    # a work folder kept on request is the user's: named so that no later run takes it for a killed run's
    kind = "kept" if params.keep_work else "work"
    work = locate(params.work) if params.work else working_sibling(output.final, kind)
    try:
        audit_input, figures, reference = _figures(spark(), plan, work)
    finally:
        if not params.keep_work and work.exists():
            remove(work)
    summary = _summary(plan, audit_input, figures, reference, work)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    write_report(summary, output)
    headline = summary.get("headline", {})
    return StageResult({"report": f"{params.output}/report.html", **headline}, value=summary)


STAGE = Stage("audit", AuditParams, check, run, settings=settings)


def _figures(
    spark: Any, plan: AuditPlan, work: Location
) -> tuple[AuditInput, dict[str, Any], dict[str, Any] | None]:
    """The documents prepared and run through the stages they need, and the figures computed from them."""
    params = plan.params
    audit_input = prepare_documents(
        spark, plan.files, work, params.sample, params.sample_seed, params.added, params.column_map
    )
    audit_input = run_audit_stages(spark, audit_input, params, work)
    audited = with_token_counts(
        read_stage_output(spark, expand_inputs(audit_input.documents)),
        params.tokenizer,
        recount=params.tokenizer is not None or params.recompute,
    )
    if plan.references is not None:
        audited = with_reference_matches(audited, plan.references)
    audited = audited.persist()
    try:
        base = audit_base(audited, recount=kept_one_version(plan.files)).persist()
        try:
            figures = compute_figures(base)
        finally:
            base.unpersist()
        reference = None
        if params.reference:
            reference = audit_reference_figures(
                spark,
                audited,
                params.reference,
                params.statistic,
                params.bootstrap,
                params.level,
                params.sample_seed,
            )
    finally:
        audited.unpersist()
    return audit_input, figures, reference


def run_audit_stages(spark: Any, audit_input: AuditInput, config: AuditConfig, work: Location) -> AuditInput:
    """Run date -> dedup -> langid, each writing to `work/<stage>` and reading the one before, through the
    runner; a stage is left out where the documents already carry its columns (unless `recompute`)."""
    wanted = sorted({c for columns in STAGE_COLUMNS.values() for c in columns})
    frame = read_stage_output(spark, expand_inputs(audit_input.documents))
    rows, counts = column_counts(frame, wanted) if not config.recompute else (0, dict.fromkeys(wanted, 0))
    settings: dict[str, dict[str, Any]] = {
        "date": {"reference": config.reference},
        "dedup": {"keep": "all"},  # flag only: the audit measures the duplicates, it does not remove them
        "langid": {"fill_missing_only": True},
    }
    specs: list[StageSpec] = []
    documents = audit_input.documents
    for name, kind_settings in settings.items():
        held = min(counts[c] for c in STAGE_COLUMNS[name])
        # langid fills only what is missing; date and dedup would replace the input's own values
        if (rows and held == rows) or (held and name != "langid"):
            audit_input.stages[name] = "kept the input's columns" + (
                "" if held == rows else f" (on {held:,} of {rows:,} documents; --recompute runs it on all)"
            )
            continue
        output = work.child(name).uri
        kind = stage(name)
        specs.append(StageSpec(name, kind, kind.params(input=documents, output=output, **kind_settings)))
        audit_input.stages[name] = "ran"
        documents = [output]
    for outcome in run_stages(specs, lambda: spark, rebuild=REMOVED_REBUILDS):
        audit_input.stage_stats[outcome.name] = outcome.stats or {}
    audit_input.documents = documents
    return audit_input


def _summary(
    plan: AuditPlan,
    audit_input: AuditInput,
    figures: dict[str, Any],
    reference: dict[str, Any] | None,
    work: Location,
) -> dict[str, Any]:
    """summary.json: the figures with what was audited, how, and the predicted and measured cutoffs."""
    params, measured = plan.params, plan.measured
    predicted = (reference or {}).get("predicted_cutoff") or {}
    figures["headline"]["predicted_effective_cutoff"] = predicted.get("month")
    figures["headline"]["measured_effective_cutoff"] = (
        measured["measured_effective_cutoff"] if measured else None
    )
    if measured and predicted.get("month"):
        measured["predicted_minus_measured_months"] = months_between(
            measured["measured_effective_cutoff"], predicted["month"]
        )
    config = {
        f.name: redact_values(getattr(params, f.name))
        for f in dataclasses.fields(AuditConfig)
        if f.name != "added"
    }
    return {  # a URL's user, password and query (a presigned URL's signature) stay out of what is shared
        "chronomix_audit": SUMMARY_VERSION,
        "title": params.title or ", ".join(redact(i) for i in params.input),
        "inputs": [redact(f.uri) for f in plan.files],
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sample": {
            "fraction": params.sample,
            "seed": params.sample_seed,
            "sampled": params.sample < 1.0,
            "method": "documents whose BLAKE2b(seed, id) / 2^64 < fraction",
        },
        "input_rejects": audit_input.rejects,
        "stage_rejects": {  # what date, dedup and langid dropped (what a stage refuses): `stage:reason`
            f"{name}:{reason}": n
            for name, stats in audit_input.stage_stats.items()
            if name != "ingest"  # the reader's rejects: input_rejects above
            for reason, n in sorted((stats.get("dropped") or {}).items())
        },
        "input_skipped": _skipped(audit_input),
        "notes": _notes(audit_input, figures),
        "stages": audit_input.stages,
        "stage_stats": audit_input.stage_stats,
        "work": work.uri if params.keep_work else None,
        **figures,
        "reference": reference,
        "run": measured,
        "config": config,
    }


def _skipped(audit_input: AuditInput) -> dict[str, Any]:
    """The input's bytes no record came from (unreadable or unknown files, damaged spans), from the reader's
    stats: {"spans", "bytes", "by_reason", "first"} (the first spans with file and offset); {} where none."""
    if "ingest" in audit_input.stage_stats:
        skipped = audit_input.stage_stats["ingest"].get("skipped") or {}
    else:  # the input read as it is: no stage counted the files left out of it but this one
        left_out = StageStats(stage="audit-input")
        count_left_out(left_out)
        skipped = left_out.to_dict()["skipped"]
    return skipped if skipped.get("spans") else {}


def _notes(audit_input: AuditInput, figures: dict[str, Any]) -> list[str]:
    """Lines the terminal and the report show where a figure needs reading: no record had a text (its field
    has another name), and the repeat copies of a mixture."""
    notes = []
    read = audit_input.stage_stats.get("ingest", {})
    docs_in = read.get("docs_in", 0)
    if docs_in and not read.get("docs_out") and (read.get("dropped") or {}).get("empty_text") == docs_in:
        notes.append(
            "no record had a text: where the input keeps it under another name, give --column text=FIELD"
        )
    duplicates = figures.get("duplicates", {})
    if duplicates.get("repeat_copies"):
        notes.append(
            f"{duplicates['repeat_copies']:,} of {figures['headline']['documents']:,} rows "
            f"({duplicates['repeat_copy_share']:.1%}) are a mixture's repeat copies (repeat_index > 0): the "
            "duplicate and cluster figures count them as documents"
        )
    return notes


def run_audit(
    spark: Any,
    inputs: list[str],
    report_dir: str,
    config: AuditConfig = AuditConfig(),
    overwrite: bool = False,
    print_table: bool = True,
) -> dict[str, Any]:
    """Audit `inputs` (files, folders, globs) with `config` and write the report into `report_dir` (the
    audit stage's check and run in a running session). Returns the summary (what summary.json holds)."""
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(AuditConfig)}
    params = AuditParams(input=list(inputs), output=report_dir, overwrite=overwrite, **values)
    summary = run(check(params), lambda: spark).value
    if print_table:
        print_audit_summary(summary, report_dir)
    return summary


def write_report(summary: dict[str, Any], output: AtomicStageOutput) -> None:
    """summary.json, the PNG plots and report.html, written into the report folder atomically."""
    plots = render_plots(summary)
    with output as tmp:
        tmp.fs.create_dir(tmp.path, recursive=True)
        for name, png in plots.items():
            with tmp.fs.open_output_stream(tmp.child(name).path) as out:
                out.write(png)
        tmp.child("summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
        tmp.child("report.html").write_text(render_html(summary, plots))


# ---------------------------------------------------------------------------------------------- CLI
def audit(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="Dataset files, folders or globs: WARC/WET, Dolma JSONL, "
            "Parquet, or a chronomix stage's output.",
            show_default=False,
        ),
    ],
    report: Annotated[
        str,
        typer.Option(
            "--report",
            "-r",
            "--output",
            "-o",
            help="Report folder to create (report.html, summary.json, PNG plots).",
        ),
    ],
    reference: Annotated[
        str | None,
        typer.Option(
            help="Dated versions of resources (e.g. `chronomix ingest "
            "--mediawiki-monthly` output): version histograms and a predicted cutoff."
        ),
    ] = None,
    sample: Annotated[
        float,
        typer.Option(
            help="Audit this fraction of the documents, chosen by a hash of the id (deterministic)."
        ),
    ] = 1.0,
    sample_seed: Annotated[
        int, typer.Option(min=0, help="Seed (>= 0) of the sample hash and of the bootstrap.")
    ] = 0,
    run: Annotated[
        str | None,
        typer.Option(
            help="A trained run (or its probe output): show its measured effective "
            "cutoff beside the prediction."
        ),
    ] = None,
    statistic: Annotated[
        str,
        typer.Option(
            help="How the cutoff is predicted: ngram (the probe's curve from the data's bigram fit of "
            "every reference version; needs reference texts), curve (from token shares of the versions "
            "the data copies), or one month per resource, trimmed-meaned: median, mode or mean of its "
            "token-weighted version months."
        ),
    ] = "ngram",
    bootstrap: Annotated[int, typer.Option(help="Bootstrap samples over resources for the interval.")] = 1000,
    recompute: Annotated[
        bool,
        typer.Option(
            "--recompute",
            help="Rerun dating, dedup and langid even where the input already has their columns.",
        ),
    ] = False,
    tokenizer: Annotated[
        str | None,
        typer.Option(
            help="A `tokenizers` JSON file for token counts (default: words, a Han or kana character one)."
        ),
    ] = None,
    work: Annotated[
        str | None,
        typer.Option(help="Folder for the stages' outputs (default: a hidden folder beside the report)."),
    ] = None,
    keep_work: Annotated[
        bool,
        typer.Option("--keep-work", help="Keep the stages' outputs: the audited documents, all columns."),
    ] = False,
    column: Columns = None,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Audit an existing dataset: documents and tokens by content month, dump and language; crawl-to-content
    lag; exact and near duplicates, stale share and staleness per dump; with --reference, the versions of each
    resource it holds and a predicted effective cutoff. Writes report.html, summary.json and PNG plots."""
    params = AuditParams(
        input=inputs,
        output=report,
        overwrite=overwrite,
        tokenizer=tokenizer,
        work=work,
        keep_work=keep_work,
        sample=sample,
        sample_seed=sample_seed,
        reference=reference,
        run=run,
        recompute=recompute,
        statistic=statistic,
        bootstrap=bootstrap,
        column_map=parse_columns(column),
    )
    summary = run_command(STAGE, params, spark_options(master, conf)).value
    print_audit_summary(summary, report)
