"""The audit's Spark side: the documents to audit (read, sampled, written once), the columns the figures
need, and the aggregations that turn the documents into the small tables of summary.json. The figures'
pure parts (bins, rates, the reference figures and the predicted cutoff) are in analysis/."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_type
from pyspark.sql.types import StringType

from analysis.bins import (
    CLUSTER_SIZE_EDGES,
    CLUSTER_SIZE_LABELS,
    LAG_EDGES_DAYS,
    LAG_LABELS,
    bins_table,
    rate,
)
from analysis.sample import IN_SAMPLE, in_sample_batch
from corpus.reader_base import MAX_FIELD_BYTES
from corpus.readers import ReadOptions
from corpus.schema import COLUMN_NAMES, field_type, foreign_column, spark_read_schema
from corpus.stats import REJECT_REASON, StageStats
from jobs.fs import Location, locate
from jobs.ingest import IngestConfig, ingest_frame
from jobs.stage import InputFile, map_kernel, read_stage_output, write_stage
from mixers.langcodes import UND  # no language of the data
from mixers.tokens import TokenCountKernel

UNKNOWN = "unknown"
DAY_MICROS = 86_400_000_000
# Percentiles reported for lag and staleness distributions (exact, over integer days).
PERCENTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


@dataclass
class AuditInput:
    """Where the documents to audit are, and what happened on the way: stages run and their stats."""

    documents: list[str]  # document Parquet files or folders: the input, or the latest stage's output
    stages: dict[str, str] = field(default_factory=dict)  # stage -> ran / kept the input's columns / ...
    stage_stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> its _stats.json
    rejects: dict[str, int] = field(default_factory=dict)  # input records the reader rejected, per reason


def is_record_parquet(files: Sequence[InputFile]) -> bool:
    """True when every input is Parquet with the record's required columns (id, text, source, added) and
    every record column it has of the record's kind of type (corpus.schema.of_record_kind): a `created` of
    integers or strings goes through the reader, which rejects what it cannot read, counted, instead of
    failing the audit late. Remote files are judged by the first one's footer (a request per file else)."""
    if not files or not all(f.uri.endswith(".parquet") for f in files):
        return False
    local = [f for f in files if "://" not in f.uri or f.uri.startswith("file:")]
    for file in local or files[:1]:
        location = locate(file.uri)
        with location.fs.open_input_file(location.path) as handle:
            schema = spark_read_schema(pq.read_metadata(handle))
        if not {"id", "text", "source", "added"} <= set(schema.names) or foreign_column(schema) is not None:
            return False
    return True


def sample_frame(frame: DataFrame, fraction: float, seed: int = 0) -> DataFrame:
    """The documents whose sample_key(id, seed) < fraction: a deterministic sample (the same on any engine,
    partitioning or rerun), by the pure kernel analysis.sample.in_sample_batch. Reader rejects (rows
    with a reject_reason) are all kept, so they are all counted."""
    if fraction >= 1.0:
        return frame
    marked = map_kernel(
        frame,
        partial(in_sample_batch, fraction=fraction, seed=seed),
        [pa.field(IN_SAMPLE, pa.bool_())],
    )
    keep = F.col(IN_SAMPLE)
    if REJECT_REASON in frame.columns:
        keep = keep | F.col(REJECT_REASON).isNotNull()
    return marked.filter(keep).drop(IN_SAMPLE)


def prepare_documents(
    spark: SparkSession,
    files: list[InputFile],
    work: Location,
    sample: float = 1.0,
    sample_seed: int = 0,
    added: datetime | None = None,
    column_map: dict[str, str] | None = None,
) -> AuditInput:
    """The documents to audit as document Parquet: the input itself when it is document Parquet and not
    sampled; else the input read by the ingest job's reader (raw formats, or any input with a `column_map`:
    record column -> the input's field) or as Parquet, sampled, and written to `work/documents` by
    jobs.stage.write_stage (which counts the reader's rejects per reason)."""
    record = not column_map and is_record_parquet(files)
    if record:
        frame = read_stage_output(spark, files)
        # rows the reader would change or refuse (Parquet carries nulls and blanks the record does not
        # allow): the whole input goes through the reader then, which checks and counts them as ingest does
        record = frame.filter(~_fit_record(frame)).isEmpty()
        if record and sample >= 1.0:
            return AuditInput(
                documents=[f.uri for f in files], stages={"ingest": "input is document Parquet"}
            )
    if not record:
        read = ReadOptions(added=added or datetime.now(UTC), column_map=dict(column_map or {}))
        frame = ingest_frame(spark, files, IngestConfig(read=read)).drop("html")
    frame = sample_frame(frame, sample, sample_seed)
    target = work.child("documents")
    stats = StageStats(stage="audit-input", files_in=len(files), bytes_in=sum(f.size for f in files))
    stats = write_stage(frame, target.uri, stats)
    return AuditInput(
        documents=[target.uri],
        stages={"ingest": "ran" if not record else "input is document Parquet"},
        stage_stats={"ingest": stats.to_dict()},
        rejects=dict(sorted(stats.dropped.items())),
    )


def _fit_record(frame: DataFrame) -> Column:
    """A record-shaped row of `frame` the reader would take as it is: an id, a source, a text that is not
    blank (as Python's str.strip sees blanks, the information separators U+001C to U+001F included) and
    within the reader's size limits (corpus.reader_base: a text over max_doc_bytes UTF-8 bytes is
    `too_large`, metadata_json over max_doc_bytes characters or another string over MAX_FIELD_BYTES bytes
    `field_too_large`), so the audit counts what ingest counts."""
    options = ReadOptions()
    stripped = F.regexp_replace("text", r"(?U)^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$", "")
    text = F.col("text").isNotNull() & (F.length(stripped) >= options.min_text_chars)
    fits = F.col("id").isNotNull() & (F.col("id") != "") & F.col("source").isNotNull() & text
    fits = fits & (F.octet_length("text") <= options.max_doc_bytes)
    for column in frame.schema.fields:
        if not isinstance(column.dataType, StringType) or column.name in ("text", "html"):
            continue
        limit = F.length(column.name) <= options.max_doc_bytes  # characters, as the reader counts it
        if column.name != "metadata_json":
            limit = F.octet_length(column.name) <= MAX_FIELD_BYTES
        fits = fits & F.coalesce(limit, F.lit(True))
    return fits


def with_record_columns(frame: DataFrame) -> DataFrame:
    """`frame` with every column of the document record present (missing ones as typed nulls)."""
    for name in COLUMN_NAMES:
        if name not in frame.columns:
            frame = frame.withColumn(name, F.lit(None).cast(from_arrow_type(field_type(name))))
    return frame


def column_counts(frame: DataFrame, columns: Sequence[str]) -> tuple[int, dict[str, int]]:
    """(rows of `frame`, non-null values of each of `columns`; 0 for one it lacks), in one Spark job."""
    present = [c for c in columns if c in frame.columns]
    row = frame.select(F.count("*").alias("__rows"), *[F.count(F.col(c)).alias(c) for c in present]).first()
    return row["__rows"], {c: (row[c] if c in present else 0) for c in columns}


def with_token_counts(frame: DataFrame, tokenizer: str | None, recount: bool = False) -> DataFrame:
    """`frame` with `n_tokens` by the mixers' token-count kernel (words without a tokenizer, mixers.tokens.word_counts):
    filled where null, or counted again for every document when `recount` (a --tokenizer named, or
    --recompute), so one total never mixes two ways of counting."""
    kernel = TokenCountKernel(tokenizer_path=tokenizer, fill_missing_only=not recount)
    return map_kernel(frame, kernel, ["n_tokens"])


def _days_between(later: Column, earlier: Column) -> Column:
    """Whole days from `earlier` to `later` (floor), null when either is null."""
    return F.floor((F.unix_micros(later) - F.unix_micros(earlier)) / F.lit(DAY_MICROS)).cast("long")


def _bin(column: Column, edges: Sequence[int]) -> Column:
    """The index of the bin of analysis.bins.bin_index, as a Spark expression (null below edges[0])."""
    index = sum((F.when(column >= F.lit(e), 1).otherwise(0) for e in edges[1:]), F.lit(0))
    return F.when(column.isNull() | (column < F.lit(edges[0])), F.lit(None)).otherwise(index)


def audit_base(frame: DataFrame, recount: bool = False) -> DataFrame:
    """The narrow per-document table the figures are computed from (no text). In a mixture (rows with
    `mix_order`), and with `recount` (a dedup output whose keep policy dropped versions), dedup's cluster
    sizes are the source corpus's, before one version of a cluster was kept or it was dropped: there a
    cluster's size is the number of its distinct documents the data holds (a keep-newest output was reported
    all near-duplicate). Elsewhere dedup's sizes stand: a sample holds few of a cluster's documents, and an
    index holds those of earlier dumps."""
    if ("mix_order" in frame.columns or recount) and "cluster_id" in frame.columns:
        # an aggregate joined back, not a window: the rows without a cluster would form one window
        # partition, each holding the set of all their ids
        held = (
            frame.filter(F.col("cluster_id").isNotNull())
            .groupBy("cluster_id")
            .agg(F.countDistinct("id").alias("_held"))
        )
        frame = frame.drop("cluster_size").join(held, "cluster_id", "left")
        frame = frame.withColumnRenamed("_held", "cluster_size")
    # a mixture's repeat copies (`repeat_index` > 0) are counted apart, so its duplicate figures can be read
    repeat = F.lit(None).cast("boolean")
    if "repeat_index" in frame.columns:
        repeat = F.coalesce(F.col("repeat_index") > 0, F.lit(False))
    frame = with_record_columns(frame)
    lag = _days_between(F.col("crawl_date"), F.col("created"))
    return frame.select(
        F.col("id"),
        F.coalesce(F.col("dump"), F.lit(UNKNOWN)).alias("dump"),
        F.coalesce(F.col("lang"), F.lit(UNKNOWN)).alias("lang"),
        F.coalesce(F.date_format(F.col("created"), "yyyy-MM"), F.lit(UNKNOWN)).alias("month"),
        # a `created` the input brought, without the signal that decided it, is the input's
        F.coalesce(
            F.col("date_source"), F.when(F.col("created").isNotNull(), F.lit("input")), F.lit("none")
        ).alias("date_source"),
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
        repeat.alias("repeat_copy"),
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
        # a document without a cluster id (where dedup's flags are known) is a cluster of its own
        F.sum((F.col("cluster_id").isNull() & F.col("is_exact_dup").isNotNull()).cast("long")).alias(
            "singletons"
        ),
        F.sum(F.col("repeat_copy").cast("long")).alias("repeat_copies"),  # null where no repeat_index
        _count_true("is_stale").alias("stale"),
        F.sum(F.when(F.col("is_stale"), F.col("tokens"))).alias("stale_tokens"),
        F.percentile(F.when(F.col("is_stale"), F.col("staleness_days")), list(PERCENTILES)).alias(
            "staleness"
        ),
        F.max(F.when(F.col("is_stale"), F.col("staleness_days"))).alias("staleness_max"),
        # lags below zero (content dated after its crawl) are counted apart, as the lag bins leave them out
        F.percentile(F.when(F.col("lag_days") >= 0, F.col("lag_days")), list(PERCENTILES)).alias("lag"),
        # months as Spark writes them in its session's zone (UTC), not as Python would convert a collected
        # timestamp (into the local zone; and year 1, a common placeholder, fails to convert at all)
        F.min(F.date_format("created", "yyyy-MM")).alias("oldest"),
        F.max(F.date_format("created", "yyyy-MM")).alias("newest"),
    ]


def _dup_row(row: Any) -> dict[str, Any]:
    """One group's duplicate and staleness figures from a row of _dup_aggregates()."""
    docs, known = row["documents"], row["dedup_known"]
    clusters = row["clusters"] + (row["singletons"] or 0)
    return {
        "documents": docs,
        "tokens": int(row["tokens"] or 0),
        "dated": row["dated"],
        "dated_share": rate(row["dated"], docs),
        "oldest_month": row["oldest"],
        "newest_month": row["newest"],
        "lag_days": _percentiles(row["lag"]),
        "exact_dup_rate": rate(row["exact_dups"] or 0, known) if known else None,
        "near_dup_rate": rate(row["near_dup_docs"] or 0, known) if known else None,
        "clusters": clusters if known else None,
        "singletons": (row["singletons"] or 0) if known else None,
        "removable_share": rate(known - clusters, known) if known else None,
        "stale_share": rate(row["stale"] or 0, known) if known else None,
        "stale_token_share": rate(row["stale_tokens"] or 0, row["tokens"] or 0) if known else None,
        "staleness_days": _percentiles(row["staleness"]),
        "staleness_days_max": row["staleness_max"],
        "repeat_copies": row["repeat_copies"],
        "repeat_copy_share": rate(row["repeat_copies"], docs) if row["repeat_copies"] is not None else None,
    }


def _percentiles(values: Sequence[float] | None) -> dict[str, float] | None:
    if not values:
        return None
    return {f"p{round(q * 100)}": round(float(v), 1) for q, v in zip(PERCENTILES, values, strict=True)}


# The overall row of an audit of no documents.
_NO_DOCUMENTS: dict[str, Any] = {
    **dict.fromkeys(["documents", "tokens", "dated", "dedup_known", "exact_dups", "near_dup_docs"], 0),
    **dict.fromkeys(["clusters", "stale", "stale_tokens", "crawl_dated", "lag_known", "negative_lag"], 0),
    **dict.fromkeys(["has_tokens", "languages", "singletons"], 0),
    **dict.fromkeys(["staleness", "staleness_max", "lag", "oldest", "newest", "repeat_copies"]),
}

# The one-column breakdowns computed in one pass with GROUPING SETS: (key, column, extra group column).
_BREAKDOWNS: tuple[str, ...] = ("month", "lang", "date_source", "lag_bin")


def compute_figures(base: DataFrame) -> dict[str, Any]:
    """Every figure of the report that comes from the documents alone, as JSON-ready values. Three Spark jobs
    over `base` (audit_base): per dump and overall (GROUPING SETS), the one-column breakdowns and staleness
    bins (GROUPING SETS), and the clusters."""
    base = base.withColumn("lag_bin", _bin(F.col("lag_days"), LAG_EDGES_DAYS)).withColumn(
        "stale_bin", F.when(F.col("is_stale"), _bin(F.col("staleness_days"), LAG_EDGES_DAYS))
    )
    total, overall, by_dump = _per_dump(base)
    breakdowns = _breakdowns(base, overall["documents"])
    dedup_known = overall["clusters"] is not None
    return {
        "headline": _headline(total, overall, sum(d["dump"] != UNKNOWN for d in by_dump)),
        "coverage": {
            "documents": overall["documents"],
            "with_created": overall["dated"],
            "with_crawl_date": total["crawl_dated"],
            "with_lag": total["lag_known"],
            "negative_lag": total["negative_lag"] or 0,
            "with_n_tokens": total["has_tokens"] or 0,
            "with_dedup": total["dedup_known"],
        },
        "by_month": breakdowns["by_month"],
        "by_dump": by_dump,
        "by_language": breakdowns["by_language"],
        "by_date_source": breakdowns["by_date_source"],
        "lag": {
            "what": "crawl_date minus created, whole days",
            "documents": total["lag_known"] - (total["negative_lag"] or 0),  # those in the bins
            "negative": total["negative_lag"] or 0,  # dated after their crawl: an error, not a lag
            "percentiles": overall["lag_days"],
            "bins": bins_table(breakdowns["lag_counts"], LAG_LABELS),
        },
        "duplicates": {
            "exact_dup_rate": overall["exact_dup_rate"],
            "near_dup_rate": overall["near_dup_rate"],
            "removable_share": overall["removable_share"],
            "clusters": overall["clusters"],
            # rows a mixture repeats (repeat_index > 0); None where the input has no repeat_index
            "repeat_copies": overall["repeat_copies"],
            "repeat_copy_share": overall["repeat_copy_share"],
            **_cluster_figures(base, dedup_known, overall["singletons"] or 0),
        },
        "staleness": {
            "stale_share": overall["stale_share"],
            "percentiles": overall["staleness_days"],
            "by_dump": [
                {
                    "dump": d["dump"],
                    "bins": bins_table(breakdowns["staleness_by_dump"].get(d["dump"], {}), LAG_LABELS),
                }
                for d in by_dump
            ]
            if dedup_known
            else [],
        },
    }


def _per_dump(base: DataFrame) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """(the overall row, its figures, the figures per dump) from one GROUPING SETS job."""
    per_dump_rows = (
        base.groupingSets([["dump"], []], "dump")
        .agg(
            *_dup_aggregates(),
            F.grouping("dump").alias("all"),
            F.count("crawl_date").alias("crawl_dated"),
            F.count("lag_days").alias("lag_known"),
            F.sum((F.col("lag_days") < 0).cast("long")).alias("negative_lag"),
            F.sum(F.col("has_tokens").cast("long")).alias("has_tokens"),
            F.countDistinct(F.when(~F.col("lang").isin(UNKNOWN, UND), F.col("lang"))).alias("languages"),
        )
        .collect()
    )
    # no row at all where no document is left (a sample that took none, every record rejected)
    total = next((r for r in per_dump_rows if r["all"] == 1), _NO_DOCUMENTS)
    by_dump = [
        {"dump": r["dump"], **_dup_row(r)}
        for r in sorted(
            (r for r in per_dump_rows if r["all"] == 0), key=lambda r: (r["dump"] == UNKNOWN, r["dump"])
        )
    ]
    return total, _dup_row(total), by_dump


def _breakdowns(base: DataFrame, documents: int) -> dict[str, Any]:
    """Documents and tokens per content month, language, deciding date signal and lag bin, and stale
    documents per dump and staleness bin, from one GROUPING SETS job."""
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

    staleness_by_dump: dict[str, dict[int, int]] = {}
    for r in breakdown_rows:
        if r["g_dump"] == 0 and r["g_stale_bin"] == 0 and r["stale_bin"] is not None:
            staleness_by_dump.setdefault(r["dump"], {})[r["stale_bin"]] = r["documents"]
    return {
        "by_month": [
            {"month": r["month"], "documents": r["documents"], "tokens": int(r["tokens"] or 0)}
            for r in sorted(breakdown("month"), key=lambda r: (r["month"] == UNKNOWN, r["month"]))
        ],
        "by_language": [
            {
                "lang": r["lang"],
                "documents": r["documents"],
                "tokens": int(r["tokens"] or 0),
                "document_share": rate(r["documents"], documents),
            }
            for r in sorted(breakdown("lang"), key=lambda r: (-r["documents"], r["lang"]))
        ],
        "by_date_source": [
            {"date_source": r["date_source"], "documents": r["documents"]}
            for r in sorted(breakdown("date_source"), key=lambda r: (-r["documents"], r["date_source"]))
        ],
        "lag_counts": {
            r["lag_bin"]: r["documents"] for r in breakdown("lag_bin") if r["lag_bin"] is not None
        },
        "staleness_by_dump": staleness_by_dump,
    }


def _cluster_figures(base: DataFrame, dedup_known: bool, singletons: int) -> dict[str, Any]:
    """Clusters and their documents per size bin, and the ten largest clusters; `singletons`, the documents
    without a cluster id, are clusters of one."""
    clusters = (
        base.filter(F.col("cluster_id").isNotNull())
        .groupBy("cluster_id")
        .agg(F.max("cluster_size").alias("size"), F.count("*").alias("present"))
        .withColumn("bin", _bin(F.col("size"), CLUSTER_SIZE_EDGES))
    )
    cluster_rows = (
        clusters.groupBy("bin")
        .agg(F.count("*").alias("clusters"), F.sum("present").alias("documents"))
        .collect()
    )
    cluster_bins = {r["bin"]: (r["clusters"], int(r["documents"] or 0)) for r in cluster_rows}
    ones = cluster_bins.get(0, (0, 0))  # bin 0 holds size 1 (analysis.bins.CLUSTER_SIZE_EDGES)
    cluster_bins[0] = (ones[0] + singletons, ones[1] + singletons)
    # A top-k (TakeOrderedAndProject), not a global window: scales with the number of clusters.
    largest = clusters.orderBy(F.desc("size"), "cluster_id").limit(10).collect()
    return {
        "cluster_sizes": [
            {
                "label": label,
                "clusters": cluster_bins.get(i, (0, 0))[0],
                "documents": cluster_bins.get(i, (0, 0))[1],
            }
            for i, label in enumerate(CLUSTER_SIZE_LABELS)
        ]
        if dedup_known
        else [],
        "largest_clusters": [{"cluster_id": t["cluster_id"], "size": t["size"]} for t in largest],
    }


def _headline(total: Any, overall: dict[str, Any], dumps: int) -> dict[str, Any]:
    return {
        "documents": overall["documents"],
        "tokens": overall["tokens"],
        "dumps": dumps,
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
