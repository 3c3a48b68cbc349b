"""`chronomix audit`: how dated, stale and balanced is an existing dataset?

The audit reads any input the ingest job reads (WARC/WET, Dolma JSONL, Parquet, or a previous stage's output),
optionally keeps a deterministic sample of it (a hash of the id), runs the stages on it (date -> dedup ->
langid, the stages' own kernels and Spark functions, unchanged; a stage whose columns the input already
carries is not rerun unless `recompute`), and aggregates the result with Spark into small tables: documents
and tokens by content month, dump and language; the crawl-to-content lag; exact and near-duplicate rates,
cluster sizes, stale share and staleness per dump; with reference versions, the versions each resource is
held in, the token-weighted version-month histogram and a predicted effective cutoff
(mixers/audit_figures.py documents the model); with a trained run, its measured effective cutoff beside it.

Outputs in the report folder (written atomically, refused if it exists unless `overwrite`): `summary.json`
(every figure of the report), `report.html` (one self-contained file, plots embedded), the plots as PNG, and
a summary table on the terminal. Nothing is dropped silently: input records the reader rejects are counted
per reason in the summary, and so are documents left out of a figure (no date, no crawl date, ...).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.parquet as pq
import typer
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_type

from corpus.schema import COLUMN_NAMES, field_type
from corpus.stats import REJECT_REASON, StageStats
from jobs.fs import Location, locate, remove
from jobs.options import Conf, Master, Overwrite
from jobs.stage import (
    AtomicStageOutput,
    InputFile,
    UsageError,
    expand_inputs,
    map_kernel,
    read_stage_output,
    refuse_existing,
    write_stage,
)
from mixers import audit_figures as figs

SUMMARY_VERSION = 1
UNKNOWN = "unknown"
DAY_MICROS = 86_400_000_000
# Percentiles reported for lag and staleness distributions (exact, over integer days).
PERCENTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
# Rows kept in the report's per-language and per-resource tables (summary.json keeps them all).
TOP_ROWS = 40


@dataclass(frozen=True)
class AuditConfig:
    """What the audit does. `sample` is a fraction in (0, 1]; `reference` a folder or file of dated versions
    of resources; `run` a trained run (or its probe output) whose measured effective cutoff is shown."""

    sample: float = 1.0
    sample_seed: int = 0
    reference: str | None = None
    run: str | None = None
    recompute: bool = False  # rerun a stage even when the input already carries its columns
    # how the cutoff is predicted: curve (mirrors the probe; needs reference texts, else median) | median |
    # mode | mean (one month per resource, trimmed-meaned)
    statistic: str = "curve"
    bootstrap: int = 1000
    level: float = 0.9
    added: datetime | None = None  # `added` of ingested raw inputs; None = now
    tokenizer: str | None = None  # a `tokenizers` JSON file for n_tokens; None = whitespace words
    work: str | None = None  # folder for the stages' outputs; None = a hidden folder beside the report
    keep_work: bool = False  # keep the stages' outputs (the audited documents) instead of deleting them
    title: str | None = None

    def check(self) -> AuditConfig:
        """Raise UsageError naming the first bad field."""
        try:
            figs.check_fraction(self.sample)
        except ValueError as error:
            raise UsageError(str(error)) from None
        if self.statistic not in figs.STATISTICS:
            raise UsageError(f"--statistic {self.statistic!r}: expected one of {', '.join(figs.STATISTICS)}")
        if self.bootstrap < 0:
            raise UsageError(f"--bootstrap {self.bootstrap}: must be 0 or more")
        if not 0 < self.level < 1:
            raise UsageError(f"--level {self.level}: expected a probability in (0, 1)")
        return self


# ---------------------------------------------------------------------------------------------- kernels
# ---------------------------------------------------------------------------------------------- reading
@dataclass
class AuditInput:
    """Where the documents to audit are, and what happened on the way: stages run and their stats."""

    documents: list[str]  # document Parquet files or folders: the input, or the latest stage's output
    stages: dict[str, str] = field(default_factory=dict)  # stage -> ran / kept ... / unavailable: why
    stage_stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> its _stats.json
    rejects: dict[str, int] = field(default_factory=dict)  # input records the reader rejected, per reason


def is_record_parquet(files: Sequence[InputFile]) -> bool:
    """True when every input is Parquet with the record's required columns (id, text, source, added)."""
    if not files or not all(f.uri.endswith(".parquet") for f in files):
        return False
    location = locate(files[0].uri)
    with location.fs.open_input_file(location.path) as handle:
        names = set(pq.read_schema(handle).names)
    return {"id", "text", "source", "added"} <= names


def sample_frame(frame: DataFrame, fraction: float, seed: int = 0) -> DataFrame:
    """The documents whose sample_key(id, seed) < fraction: a deterministic sample (the same on any engine,
    partitioning or rerun), by the pure kernel mixers.audit_figures.in_sample_batch. Reader rejects (rows
    with a reject_reason) are all kept, so they are all counted."""
    if fraction >= 1.0:
        return frame
    marked = map_kernel(
        frame,
        partial(figs.in_sample_batch, fraction=fraction, seed=seed),
        [pa.field(figs.IN_SAMPLE, pa.bool_())],
    )
    keep = F.col(figs.IN_SAMPLE)
    if REJECT_REASON in frame.columns:
        keep = keep | F.col(REJECT_REASON).isNotNull()
    return marked.filter(keep).drop(figs.IN_SAMPLE)


def prepare_documents(
    spark: SparkSession, files: list[InputFile], config: AuditConfig, work: Location
) -> AuditInput:
    """The documents to audit as document Parquet: the input itself when it is document Parquet and not
    sampled; else the input read by the ingest job's reader (raw formats) or as Parquet, sampled, and written
    to `work/documents` by jobs.stage.write_stage (which counts the reader's rejects per reason)."""
    record = is_record_parquet(files)
    if record and config.sample >= 1.0:
        return AuditInput(documents=[f.uri for f in files], stages={"ingest": "input is document Parquet"})
    if record:
        frame = read_stage_output(spark, files)
    else:
        from corpus.readers import ReadOptions
        from jobs.ingest import IngestConfig, ingest_frame

        read = ReadOptions(added=config.added or datetime.now(UTC))
        frame = ingest_frame(spark, files, IngestConfig(read=read)).drop("html")
    frame = sample_frame(frame, config.sample, config.sample_seed)
    target = work.child("documents")
    stats = StageStats(stage="audit-input", files_in=len(files), bytes_in=sum(f.size for f in files))
    stats = write_stage(frame, target.uri, stats)
    return AuditInput(
        documents=[target.uri],
        stages={"ingest": "ran" if not record else "input is document Parquet"},
        stage_stats={"ingest": stats.to_dict()},
        rejects=dict(sorted(stats.dropped.items())),
    )


def with_record_columns(frame: DataFrame) -> DataFrame:
    """`frame` with every column of the document record present (missing ones as typed nulls)."""
    for name in COLUMN_NAMES:
        if name not in frame.columns:
            frame = frame.withColumn(name, F.lit(None).cast(from_arrow_type(field_type(name))))
    return frame


# ---------------------------------------------------------------------------------------------- stages
# The columns each stage sets; the audit runs a stage only where the input lacks them (or on `recompute`).
STAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("created",),
    "dedup": ("cluster_id", "is_stale"),
    "langid": ("lang",),
}


class StageUnavailable(RuntimeError):
    """A stage's module is not importable here; the audit reports its figures as not computed."""


def populated_columns(frame: DataFrame, columns: Sequence[str]) -> set[str]:
    """Those of `columns` that exist in `frame` and hold at least one non-null value (one Spark job)."""
    present = [c for c in columns if c in frame.columns]
    if not present:
        return set()
    row = frame.select(*[F.count(F.col(c)).alias(c) for c in present]).first()
    return {c for c in present if row[c] > 0}


def run_stages(
    spark: SparkSession, audit_input: AuditInput, config: AuditConfig, work: Location
) -> AuditInput:
    """Run date -> dedup -> langid with the stages' own jobs, each writing to `work/<stage>` and reading the
    one before; a stage is skipped where the documents already carry its columns (unless `recompute`) and
    reported as unavailable where its module is missing."""
    wanted = sorted({c for columns in STAGE_COLUMNS.values() for c in columns})
    frame = read_stage_output(spark, expand_inputs(audit_input.documents))
    present = set() if config.recompute else populated_columns(frame, wanted)
    for name, run in (("date", _date_stage), ("dedup", _dedup_stage), ("langid", _langid_stage)):
        if set(STAGE_COLUMNS[name]) <= present:
            audit_input.stages[name] = "kept the input's columns"
            continue
        target = work.child(name)
        try:
            stats = run(spark, audit_input.documents, target.uri, config)
        except StageUnavailable as missing:
            audit_input.stages[name] = f"unavailable: {missing}"
            continue
        audit_input.documents = [target.uri]
        audit_input.stages[name] = "ran"
        audit_input.stage_stats[name] = stats.to_dict()
    return audit_input


def _date_stage(spark: SparkSession, inputs: list[str], output: str, config: AuditConfig) -> StageStats:
    try:
        from jobs.date import DateConfig, run_date
    except ImportError as error:
        raise StageUnavailable(f"dating stage not installed ({error})") from None
    return run_date(spark, inputs, output, DateConfig(reference=config.reference))


def _dedup_stage(spark: SparkSession, inputs: list[str], output: str, config: AuditConfig) -> StageStats:
    try:
        from jobs.dedup import DedupJob, run_dedup
    except ImportError as error:
        raise StageUnavailable(f"dedup stage not installed ({error})") from None
    # Flag only: the audit measures the duplicates, it does not remove them.
    return run_dedup(spark, inputs, output, DedupJob(keep="all"))


def _langid_stage(spark: SparkSession, inputs: list[str], output: str, config: AuditConfig) -> StageStats:
    try:
        from jobs.langid import run_langid
        from mixers.langid import LangIdConfig
    except ImportError as error:
        raise StageUnavailable(f"langid stage not installed ({error})") from None
    return run_langid(spark, inputs, output, LangIdConfig(fill_missing_only=True))


def with_token_counts(frame: DataFrame, tokenizer: str | None) -> DataFrame:
    """`frame` with `n_tokens` filled where null, by the mixers' token-count kernel (whitespace words without
    a tokenizer)."""
    from mixers.tokens import TokenCountKernel

    return map_kernel(frame, TokenCountKernel(tokenizer_path=tokenizer, fill_missing_only=True), ["n_tokens"])


def with_reference_matches(frame: DataFrame, reference: str) -> DataFrame:
    """`frame` with the dating stage's reference match of each document (ref_created, ref_last,
    ref_similarity, ref_key) from its ReferenceMatcher kernel: the dated output keeps only the matched
    month, and the audit also needs the resource (ref_key)."""
    from dating.reference import REF_FIELDS, ReferenceMatcher
    from jobs.date import reference_files

    refs = reference_files(reference)
    frame = frame.drop(*[f.name for f in REF_FIELDS if f.name in frame.columns])
    return map_kernel(frame, ReferenceMatcher(refs), REF_FIELDS)


# ---------------------------------------------------------------------------------------------- figures
def _days_between(later: Column, earlier: Column) -> Column:
    """Whole days from `earlier` to `later` (floor), null when either is null."""
    return F.floor((F.unix_micros(later) - F.unix_micros(earlier)) / F.lit(DAY_MICROS)).cast("long")


def _bin(column: Column, edges: Sequence[int]) -> Column:
    """The index of the bin of mixers.audit_figures.bin_index, as a Spark expression (null below edges[0])."""
    index = sum((F.when(column >= F.lit(e), 1).otherwise(0) for e in edges[1:]), F.lit(0))
    return F.when(column.isNull() | (column < F.lit(edges[0])), F.lit(None)).otherwise(index)


def audit_base(frame: DataFrame) -> DataFrame:
    """The narrow per-document table the figures are computed from (no text)."""
    frame = with_record_columns(frame)
    lag = _days_between(F.col("crawl_date"), F.col("created"))
    return frame.select(
        F.col("id"),
        F.coalesce(F.col("dump"), F.lit(UNKNOWN)).alias("dump"),
        F.coalesce(F.col("lang"), F.lit(UNKNOWN)).alias("lang"),
        F.coalesce(F.date_format(F.col("created"), "yyyy-MM"), F.lit(UNKNOWN)).alias("month"),
        F.coalesce(F.col("date_source"), F.lit("none")).alias("date_source"),
        F.coalesce(F.col("n_tokens"), F.lit(0)).cast("long").alias("tokens"),
        F.col("n_tokens").isNotNull().alias("has_tokens"),
        F.col("created"),
        F.col("crawl_date"),
        lag.alias("lag_days"),
        F.col("cluster_id"),
        F.col("cluster_size").cast("long").alias("cluster_size"),
        F.col("is_exact_dup"),
        F.col("is_stale"),
        F.col("staleness_days").cast("long").alias("staleness_days"),
    )


def _count_true(name: str) -> Column:
    return F.sum(F.col(name).cast("long"))


def _dup_aggregates() -> list[Column]:
    return [
        F.count("*").alias("documents"),
        F.sum("tokens").alias("tokens"),
        F.count("created").alias("dated"),
        F.count("is_exact_dup").alias("dedup_known"),
        _count_true("is_exact_dup").alias("exact_dups"),
        F.sum((F.col("cluster_size") > 1).cast("long")).alias("near_dup_docs"),
        F.countDistinct("cluster_id").alias("clusters"),
        _count_true("is_stale").alias("stale"),
        F.sum(F.when(F.col("is_stale"), F.col("tokens"))).alias("stale_tokens"),
        F.percentile(F.when(F.col("is_stale"), F.col("staleness_days")), list(PERCENTILES)).alias(
            "staleness"
        ),
        F.max(F.when(F.col("is_stale"), F.col("staleness_days"))).alias("staleness_max"),
        F.percentile(F.col("lag_days"), list(PERCENTILES)).alias("lag"),
        F.min("created").alias("oldest"),
        F.max("created").alias("newest"),
    ]


def _dup_row(row: Any) -> dict[str, Any]:
    """One group's duplicate and staleness figures from a row of _dup_aggregates()."""
    docs, known = row["documents"], row["dedup_known"]
    return {
        "documents": docs,
        "tokens": int(row["tokens"] or 0),
        "dated": row["dated"],
        "dated_share": figs.rate(row["dated"], docs),
        "oldest_month": _month(row["oldest"]),
        "newest_month": _month(row["newest"]),
        "lag_days": _percentiles(row["lag"]),
        "exact_dup_rate": figs.rate(row["exact_dups"] or 0, known) if known else None,
        "near_dup_rate": figs.rate(row["near_dup_docs"] or 0, known) if known else None,
        "clusters": row["clusters"] if known else None,
        "removable_share": figs.rate(known - row["clusters"], known) if known else None,
        "stale_share": figs.rate(row["stale"] or 0, known) if known else None,
        "stale_token_share": figs.rate(row["stale_tokens"] or 0, row["tokens"] or 0) if known else None,
        "staleness_days": _percentiles(row["staleness"]),
        "staleness_days_max": row["staleness_max"],
    }


def _month(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m")


def _percentiles(values: Sequence[float] | None) -> dict[str, float] | None:
    if not values:
        return None
    return {f"p{round(q * 100)}": round(float(v), 1) for q, v in zip(PERCENTILES, values, strict=True)}


# The one-column breakdowns computed in one pass with GROUPING SETS: (key, column, extra group column).
_BREAKDOWNS: tuple[str, ...] = ("month", "lang", "date_source", "lag_bin")


def compute_figures(base: DataFrame) -> dict[str, Any]:
    """Every figure of the report that comes from the documents alone, as JSON-ready values. Three Spark jobs
    over `base` (audit_base): per dump and overall (GROUPING SETS), the one-column breakdowns and staleness
    bins (GROUPING SETS), and the clusters."""
    base = base.withColumn("lag_bin", _bin(F.col("lag_days"), figs.LAG_EDGES_DAYS)).withColumn(
        "stale_bin", F.when(F.col("is_stale"), _bin(F.col("staleness_days"), figs.LAG_EDGES_DAYS))
    )
    per_dump_rows = (
        base.groupingSets([["dump"], []], "dump")
        .agg(
            *_dup_aggregates(),
            F.grouping("dump").alias("all"),
            F.count("crawl_date").alias("crawl_dated"),
            F.count("lag_days").alias("lag_known"),
            F.sum((F.col("lag_days") < 0).cast("long")).alias("negative_lag"),
            F.sum(F.col("has_tokens").cast("long")).alias("has_tokens"),
            F.countDistinct("lang").alias("languages"),
        )
        .collect()
    )
    total = next(r for r in per_dump_rows if r["all"] == 1)
    overall = _dup_row(total)
    documents = overall["documents"]
    by_dump = [
        {"dump": r["dump"], **_dup_row(r)}
        for r in sorted(
            (r for r in per_dump_rows if r["all"] == 0), key=lambda r: (r["dump"] == UNKNOWN, r["dump"])
        )
    ]

    groups = [*_BREAKDOWNS, "dump", "stale_bin"]
    breakdown_rows = (
        base.groupingSets([[c] for c in _BREAKDOWNS] + [["dump", "stale_bin"]], *groups)
        .agg(
            F.count("*").alias("documents"),
            F.sum("tokens").alias("tokens"),
            *[F.grouping(c).alias(f"g_{c}") for c in groups],
        )
        .collect()
    )

    def breakdown(column: str) -> list[Any]:
        return [
            r
            for r in breakdown_rows
            if r[f"g_{column}"] == 0 and all(r[f"g_{c}"] == 1 for c in groups if c != column)
        ]

    by_month = [
        {"month": r["month"], "documents": r["documents"], "tokens": int(r["tokens"] or 0)}
        for r in sorted(breakdown("month"), key=lambda r: (r["month"] == UNKNOWN, r["month"]))
    ]
    by_language = [
        {
            "lang": r["lang"],
            "documents": r["documents"],
            "tokens": int(r["tokens"] or 0),
            "document_share": figs.rate(r["documents"], documents),
        }
        for r in sorted(breakdown("lang"), key=lambda r: (-r["documents"], r["lang"]))
    ]
    by_date_source = [
        {"date_source": r["date_source"], "documents": r["documents"]}
        for r in sorted(breakdown("date_source"), key=lambda r: (-r["documents"], r["date_source"]))
    ]
    lag_counts = {r["lag_bin"]: r["documents"] for r in breakdown("lag_bin") if r["lag_bin"] is not None}
    staleness_by_dump: dict[str, dict[int, int]] = {}
    for r in breakdown_rows:
        if r["g_dump"] == 0 and r["g_stale_bin"] == 0 and r["stale_bin"] is not None:
            staleness_by_dump.setdefault(r["dump"], {})[r["stale_bin"]] = r["documents"]

    clusters = (
        base.filter(F.col("cluster_id").isNotNull())
        .groupBy("cluster_id")
        .agg(F.max("cluster_size").alias("size"), F.count("*").alias("present"))
        .withColumn("bin", _bin(F.col("size"), figs.CLUSTER_SIZE_EDGES))
    )
    cluster_rows = (
        clusters.groupBy("bin")
        .agg(F.count("*").alias("clusters"), F.sum("present").alias("documents"))
        .collect()
    )
    cluster_bins = {r["bin"]: (r["clusters"], int(r["documents"] or 0)) for r in cluster_rows}
    # A top-k (TakeOrderedAndProject), not a global window: scales with the number of clusters.
    largest = clusters.orderBy(F.desc("size"), "cluster_id").limit(10).collect()
    dedup_known = overall["clusters"] is not None
    headline = {
        "documents": documents,
        "tokens": overall["tokens"],
        "dumps": len(by_dump),
        "languages": total["languages"],
        "dated_share": overall["dated_share"],
        "oldest_month": overall["oldest_month"],
        "newest_month": overall["newest_month"],
        "median_lag_days": overall["lag_days"]["p50"] if overall["lag_days"] else None,
        "exact_dup_rate": overall["exact_dup_rate"],
        "near_dup_rate": overall["near_dup_rate"],
        "stale_share": overall["stale_share"],
        "stale_token_share": overall["stale_token_share"],
    }
    return {
        "headline": headline,
        "coverage": {
            "documents": documents,
            "with_created": overall["dated"],
            "with_crawl_date": total["crawl_dated"],
            "with_lag": total["lag_known"],
            "negative_lag": total["negative_lag"] or 0,
            "with_n_tokens": total["has_tokens"] or 0,
            "with_dedup": total["dedup_known"],
        },
        "by_month": by_month,
        "by_dump": by_dump,
        "by_language": by_language,
        "by_date_source": by_date_source,
        "lag": {
            "what": "crawl_date minus created, whole days",
            "documents": total["lag_known"],
            "percentiles": overall["lag_days"],
            "bins": figs.bins_table(lag_counts, figs.LAG_LABELS),
        },
        "duplicates": {
            "exact_dup_rate": overall["exact_dup_rate"],
            "near_dup_rate": overall["near_dup_rate"],
            "removable_share": overall["removable_share"],
            "clusters": overall["clusters"],
            "cluster_sizes": [
                {
                    "label": label,
                    "clusters": cluster_bins.get(i, (0, 0))[0],
                    "documents": cluster_bins.get(i, (0, 0))[1],
                }
                for i, label in enumerate(figs.CLUSTER_SIZE_LABELS)
            ]
            if dedup_known
            else [],
            "largest_clusters": [{"cluster_id": t["cluster_id"], "size": t["size"]} for t in largest],
        },
        "staleness": {
            "stale_share": overall["stale_share"],
            "percentiles": overall["staleness_days"],
            "by_dump": [
                {
                    "dump": d["dump"],
                    "bins": figs.bins_table(staleness_by_dump.get(d["dump"], {}), figs.LAG_LABELS),
                }
                for d in by_dump
            ]
            if dedup_known
            else [],
        },
    }


# ---------------------------------------------------------------------------------------------- reference
def reference_figures(
    spark: SparkSession, audited: DataFrame, reference: str, config: AuditConfig
) -> dict[str, Any]:
    """Versions held per resource, the token-weighted version-month histogram and the predicted cutoff, from
    the documents matched to dated reference versions by the dating stage's matcher (ref_key, ref_created)."""
    matched = _reference_matches(audited)
    versions = _reference_versions(spark, reference)
    spans = _reference_spans(versions)
    statistic = config.statistic if spans is not None or config.statistic != "curve" else "median"
    per_version = {
        (r["resource"], r["month"]): (r["documents"], int(r["tokens"] or 0))
        for r in matched.groupBy("resource", "month")
        .agg(F.count("*").alias("documents"), F.sum("tokens").alias("tokens"))
        .collect()
    }
    available: dict[str, list[str]] = {}
    for r in versions.select("resource", "month").distinct().collect():
        available.setdefault(r["resource"], []).append(r["month"])
    histograms: dict[str, list[tuple[str, float]]] = {}
    for (resource, month), (_docs, tokens) in per_version.items():
        histograms.setdefault(resource, []).append((month, tokens))
    prediction = figs.predict_cutoff(
        histograms,
        statistic=statistic,
        n_boot=config.bootstrap,
        level=config.level,
        seed=config.sample_seed,
        spans=spans,
    )
    resources = []
    for resource in sorted(histograms, key=lambda r: (-sum(t for _, t in histograms[r]), r)):
        held = sorted(m for m, _ in histograms[resource])
        months = sorted(available.get(resource, []))
        resources.append(
            {
                "resource": resource,
                "documents": sum(per_version[(resource, m)][0] for m in held),
                "tokens": sum(per_version[(resource, m)][1] for m in held),
                "versions_available": len(months),
                "newest_available": months[-1] if months else None,
                "versions_held": held,
                "newest_held": held[-1],
                "months_behind": figs.months_between(held[-1], months[-1]) if months else None,
                "predicted_month": prediction.per_resource.get(resource),
            }
        )
    histogram: dict[str, list[int]] = {}
    for (_, month), (docs, tokens) in per_version.items():
        cell = histogram.setdefault(month, [0, 0])
        cell[0] += docs
        cell[1] += tokens
    return {
        "reference": reference,
        "resources_in_reference": len(available),
        "resources_found": len(histograms),
        "documents_matched": sum(d for d, _ in per_version.values()),
        "version_months": [
            {"month": m, "documents": histogram[m][0], "tokens": histogram[m][1]} for m in sorted(histogram)
        ],
        "resources": resources,
        "predicted_cutoff": prediction.to_dict(),
    }


def _reference_matches(audited: DataFrame) -> DataFrame:
    """(resource, month, tokens) of each document matched to a reference version (with_reference_matches)."""
    return audited.filter(F.col("ref_key").isNotNull() & F.col("ref_created").isNotNull()).select(
        F.col("ref_key").alias("resource"),
        F.date_format(F.col("ref_created"), "yyyy-MM").alias("month"),
        F.coalesce(F.col("n_tokens"), F.lit(0)).cast("long").alias("tokens"),
    )


def _reference_versions(spark: SparkSession, reference: str) -> DataFrame:
    """(resource, month) of every dated reference version: Parquet of the record (`resource` or `url`, and
    `created`) or a probe file with `month`."""
    frame = read_stage_output(spark, expand_inputs([reference]))
    key = next((c for c in ("resource", "url", "id") if c in frame.columns), None)
    if key is None:
        raise UsageError(f"--reference {reference!r}: no resource, url or id column")
    if "month" in frame.columns:
        month = F.col("month").cast("string")
    elif "created" in frame.columns:
        month = F.date_format(F.col("created"), "yyyy-MM")
    else:
        raise UsageError(f"--reference {reference!r}: neither a month nor a created column")
    # Texts that differ only in case, punctuation or spacing are one version, as for the dating matcher.
    text = (
        F.sha2(F.lower(F.regexp_replace(F.col("text"), r"[\W_]+", " ")), 256)
        if "text" in frame.columns
        else F.lit(None).cast("string")
    )
    return (
        frame.select(
            F.col(key).cast("string").alias("resource"), month.alias("month"), text.alias("text_key")
        )
        .filter(F.col("resource").isNotNull() & F.col("month").isNotNull())
        .distinct()
    )


def _reference_spans(versions: DataFrame) -> dict[str, dict[str, str]] | None:
    """Per resource, each reference month -> the first month of the text in effect then (the month the
    dating matcher dates a copy of that text to); None when the reference has no texts."""
    rows = versions.collect()
    if not rows or any(r["text_key"] is None for r in rows):
        return None
    first: dict[tuple[str, str], str] = {}
    for r in rows:
        key = (r["resource"], r["text_key"])
        first[key] = min(first.get(key, r["month"]), r["month"])
    spans: dict[str, dict[str, str]] = {}
    for r in rows:
        spans.setdefault(r["resource"], {})[r["month"]] = first[(r["resource"], r["text_key"])]
    return spans


# ---------------------------------------------------------------------------------------------- run
def read_measured_cutoff(run: str) -> dict[str, Any]:
    """The measured effective cutoff of a trained run: `probe.json` written by `chronomix probe` (in RUN,
    RUN/probe or RUN/probes, or RUN itself when it names the file). Raises UsageError naming --run."""
    path = Path(run)
    candidates = (
        [path]
        if path.is_file()
        else [path / "probe.json", path / "probe" / "probe.json", path / "probes" / "probe.json"]
    )
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise UsageError(f"--run {run!r}: no probe.json there (run `chronomix probe` on the run first)")
    try:
        probe = json.loads(found.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise UsageError(f"--run {run!r}: {found.name} is not readable JSON ({error})") from None
    cutoff = probe.get("cutoff") or {}
    measured = cutoff.get("effective_cutoff")
    if measured is None:
        raise UsageError(f"--run {run!r}: {found} holds no cutoff.effective_cutoff")
    return {
        "run": run,
        "probe_file": str(found),
        "measured_effective_cutoff": measured,
        "newest_month_in_training": probe.get("newest_month"),
        "gap_months": cutoff.get("gap_months"),
        "resources": cutoff.get("resources"),
    }


# ---------------------------------------------------------------------------------------------- the job
def check_arguments(
    inputs: list[str], report_dir: str, config: AuditConfig, overwrite: bool
) -> tuple[list[InputFile], dict[str, Any] | None]:
    """Every check that needs no Spark, so a bad argument stops the command before Spark starts: the
    config's fields, the inputs, an existing report, --reference and --run. Returns the input files and the
    run's measured cutoff. Raises UsageError naming the argument."""
    config.check()
    files = expand_inputs(inputs)
    refuse_existing(report_dir, overwrite)
    if config.reference is not None:
        try:
            from jobs.date import reference_files
        except ImportError as error:
            raise UsageError(f"--reference needs the dating stage ({error})") from None
        reference_files(config.reference)
    measured = read_measured_cutoff(config.run) if config.run else None
    return files, measured


def run_audit(
    spark: SparkSession,
    inputs: list[str],
    report_dir: str,
    config: AuditConfig = AuditConfig(),
    overwrite: bool = False,
    print_table: bool = True,
) -> dict[str, Any]:
    """Audit `inputs` (files, folders, globs) and write the report into `report_dir`. Returns the summary
    (what summary.json holds)."""
    started = time.perf_counter()
    files, measured = check_arguments(inputs, report_dir, config, overwrite)
    output = AtomicStageOutput(report_dir, overwrite)

    work = (
        locate(config.work)
        if config.work
        else output.final.parent.child(f".{output.final.name}.work-{uuid.uuid4().hex[:12]}")
    )
    if work.exists():
        raise UsageError(f"--work {config.work!r} exists; give a new folder")
    try:
        audit_input = prepare_documents(spark, files, config, work)
        audit_input = run_stages(spark, audit_input, config, work)
        audited = with_token_counts(
            read_stage_output(spark, expand_inputs(audit_input.documents)), config.tokenizer
        )
        if config.reference:
            audited = with_reference_matches(audited, config.reference)
        audited = audited.persist()
        try:
            base = audit_base(audited).persist()
            try:
                summary = compute_figures(base)
            finally:
                base.unpersist()
            reference = (
                reference_figures(spark, audited, config.reference, config) if config.reference else None
            )
        finally:
            audited.unpersist()
    finally:
        if not config.keep_work and work.exists():
            remove(work)

    predicted = (reference or {}).get("predicted_cutoff") or {}
    summary["headline"]["predicted_effective_cutoff"] = predicted.get("month")
    summary["headline"]["measured_effective_cutoff"] = (
        measured["measured_effective_cutoff"] if measured else None
    )
    if measured and predicted.get("month"):
        measured["predicted_minus_measured_months"] = figs.months_between(
            measured["measured_effective_cutoff"], predicted["month"]
        )
    summary = {
        "chronomix_audit": SUMMARY_VERSION,
        "title": config.title or ", ".join(inputs),
        "inputs": [f.uri for f in files],
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sample": {
            "fraction": config.sample,
            "seed": config.sample_seed,
            "sampled": config.sample < 1.0,
            "method": "documents whose BLAKE2b(seed, id) / 2^64 < fraction",
        },
        "input_rejects": audit_input.rejects,
        "stages": audit_input.stages,
        "stage_stats": audit_input.stage_stats,
        "work": work.uri if config.keep_work else None,
        **summary,
        "reference": reference,
        "run": measured,
        "config": {k: v for k, v in asdict(replace(config, added=None)).items() if k != "added"},
    }
    summary["seconds"] = round(time.perf_counter() - started, 1)
    write_report(summary, output)
    if print_table:
        print_summary(summary, report_dir)
    return summary


def write_report(summary: dict[str, Any], output: AtomicStageOutput) -> None:
    """summary.json, the PNG plots and report.html, written into the report folder atomically."""
    from jobs.report_html import render_html, render_plots

    plots = render_plots(summary)
    with output as tmp:
        tmp.fs.create_dir(tmp.path, recursive=True)
        for name, png in plots.items():
            with tmp.fs.open_output_stream(tmp.child(name).path) as out:
                out.write(png)
        tmp.child("summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n")
        tmp.child("report.html").write_text(render_html(summary, plots))


def print_summary(summary: dict[str, Any], report_dir: str) -> None:
    """The headline figures and the per-dump table on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    head = summary["headline"]
    table = Table(title=f"audit -> {report_dir}", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in head.items():
        table.add_row(key.replace("_", " "), _show(value, key.endswith(("_share", "_rate"))))
    if summary["sample"]["sampled"]:
        table.add_row("sample", f"{summary['sample']['fraction']:g} of the documents")
    for reason, n in summary["input_rejects"].items():
        table.add_row(f"input rejected: {reason}", f"{n:,}")
    console.print(table)
    dumps = Table(title="per dump", show_header=True, header_style="bold")
    dumps.add_column("dump", no_wrap=True)  # dump names are the key: never cut them
    for name in ("docs", "tokens", "dated", "exact", "near", "stale", "lag p50 (d)"):
        dumps.add_column(name, justify="right")
    for row in summary["by_dump"]:
        dumps.add_row(
            row["dump"],
            f"{row['documents']:,}",
            f"{row['tokens']:,}",
            _show(row["dated_share"], True),
            _show(row["exact_dup_rate"], True),
            _show(row["near_dup_rate"], True),
            _show(row["stale_share"], True),
            _show(row["lag_days"]["p50"] if row["lag_days"] else None),
        )
    console.print(dumps)
    for stage, what in summary["stages"].items():
        if what.startswith("unavailable"):
            console.print(f"[yellow]{stage}: {what}[/yellow]")
    console.print(f"report: {report_dir}/report.html")


def _show(value: Any, share: bool = False) -> str:
    """A figure for the terminal: shares as percentages, counts with thousands separators."""
    if value is None:
        return "n/a"
    if share:
        return f"{value:.1%}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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
            "--report", "-r", help="Report folder to create (report.html, summary.json, PNG plots)."
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
    sample_seed: Annotated[int, typer.Option(help="Seed of the sample hash and of the bootstrap.")] = 0,
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
            help="How the cutoff is predicted: curve (the probe's curve from token shares of the versions "
            "in effect each month; needs reference texts, else median), or one month per resource, "
            "trimmed-meaned: median, mode or mean of its token-weighted version months."
        ),
    ] = "curve",
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
        typer.Option(help="A `tokenizers` JSON file for token counts (default: whitespace words)."),
    ] = None,
    work: Annotated[
        str | None,
        typer.Option(help="Folder for the stages' outputs (default: a hidden folder beside the report)."),
    ] = None,
    keep_work: Annotated[
        bool,
        typer.Option("--keep-work", help="Keep the stages' outputs: the audited documents, all columns."),
    ] = False,
    master: Master = "local[*]",
    conf: Conf = None,
    overwrite: Overwrite = False,
) -> None:
    """Audit an existing dataset: documents and tokens by content month, dump and language; crawl-to-content
    lag; exact and near duplicates, stale share and staleness per dump; with --reference, the versions of each
    resource it holds and a predicted effective cutoff. Writes report.html, summary.json and PNG plots."""
    from jobs.options import session

    config = AuditConfig(
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
    )
    check_arguments(inputs, report, config, overwrite)  # before Spark starts
    with session(master, conf) as spark:
        run_audit(spark, inputs, report, config, overwrite=overwrite)
