"""The mixers stage's shuffle work in Spark: filter reasons, cell counts, per-cell key thresholds, repeats.

The per-document work (langid, token counts, buckets, keys, repeat counts, order keys) is done by the pure
kernels of `mixers`; only the group-bys and the explode of repeats live here.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.spark import column
from mixers.allocation import Allocation, Cell
from mixers.buckets import UNKNOWN_BUCKET
from mixers.langcodes import UND
from mixers.sampling import BIN_SHIFT, CellRate, boundary_bin, thresholds_with_carry
from mixers.spec import MixSpec

DROP_COLUMN = "mix_drop"


def drop_reason(spec: MixSpec) -> Column:
    """A column naming why a document is filtered out by the spec (null = kept), first reason wins."""
    filters = spec.filters
    rules: list[tuple[Column, str]] = []
    if filters.drop_stale:
        rules.append((F.coalesce(F.col("is_stale"), F.lit(False)), "stale"))
    if filters.drop_exact_dup:
        rules.append((F.coalesce(F.col("is_exact_dup"), F.lit(False)), "exact_dup"))
    if filters.languages is not None:
        rules.append((~F.col("lang").isin(list(filters.languages)), "language_not_selected"))
    if filters.min_lang_score is not None:
        # a dataset's own label has no score (langid keeps it, mixers.langid.LangIdKernel): it is no guess
        # to doubt, and only a row without a language fails for want of one
        unscored = F.col("lang").isNull() | F.col("lang").isin(UND, "")
        score = F.when(F.col("lang_score").isNull(), unscored).otherwise(
            F.col("lang_score") < filters.min_lang_score
        )
        rules.append((score, "lang_score_below_min"))
    if filters.min_tokens is not None:
        rules.append((F.col("n_tokens") < filters.min_tokens, "too_few_tokens"))
    if spec.strata is not None:
        selected = list(spec.strata.shares)
        stratum = column(spec.strata.column).cast("string")
        rules.append((stratum.isNull() | ~stratum.isin(selected), "stratum_not_selected"))
    if spec.time.unknown == "drop":
        rules.append((F.col("time_bucket") == UNKNOWN_BUCKET, "date_unknown"))
    reason = F.lit(None).cast("string")
    for condition, name in reversed(rules):
        reason = F.when(condition, F.lit(name)).otherwise(reason)
    return reason


def drop_counts(df: DataFrame) -> tuple[int, dict[str, int]]:
    """(documents in, {reason: documents filtered}) of a frame with DROP_COLUMN."""
    counts = {row[DROP_COLUMN]: row["count"] for row in df.groupBy(DROP_COLUMN).count().collect()}
    return sum(counts.values()), {k: v for k, v in counts.items() if k is not None}


def cell_counts(df: DataFrame) -> dict[Cell, tuple[int, int]]:
    """{(lang, time_bucket): (documents, tokens)} of the kept documents."""
    rows = (
        df.filter(F.col(DROP_COLUMN).isNull())
        .groupBy("lang", "time_bucket")
        .agg(F.count(F.lit(1)).alias("docs"), F.sum("n_tokens").alias("tokens"))
        .collect()
    )
    return {(r["lang"], r["time_bucket"]): (int(r["docs"]), int(r["tokens"] or 0)) for r in rows}


def cell_rates(df: DataFrame, allocation: Allocation) -> dict[Cell, CellRate]:
    """Base repeats and key threshold of every cell with a target, so that the tokens of the copies match the
    cell's target within one document, and a language's cells their total (mixers.sampling). Two small
    collects: a 2^10-bin token histogram of keys per cell, then the keys and tokens of the documents in each
    cell's boundary bin."""
    kept = df.filter(F.col(DROP_COLUMN).isNull())
    rates: dict[Cell, CellRate] = {}
    need: dict[Cell, float] = {}
    for plan in allocation.cells:
        if plan.tokens <= 0 or plan.target <= 0:
            continue
        remainder = plan.target - plan.base_repeats * plan.tokens
        if remainder <= 0:
            rates[(plan.lang, plan.bucket)] = CellRate(plan.base_repeats, 0)
        else:
            need[(plan.lang, plan.bucket)] = float(remainder)
    if not need:
        return rates
    binned = kept.withColumn("_bin", F.shiftright(F.col("mix_key"), BIN_SHIFT))
    histogram: dict[Cell, list[tuple[int, int]]] = {c: [] for c in need}
    for row in binned.groupBy("lang", "time_bucket", "_bin").agg(F.sum("n_tokens").alias("t")).collect():
        cell = (row["lang"], row["time_bucket"])
        if cell in histogram:
            histogram[cell].append((int(row["_bin"]), int(row["t"] or 0)))
    boundaries = {c: boundary_bin(histogram[c], need[c]) for c in need}
    wanted = [(c[0], c[1], b) for c, (b, _) in boundaries.items()]
    spark = df.sparkSession
    boundary_df = spark.createDataFrame(wanted, "lang string, time_bucket string, _bin long")
    docs: dict[Cell, list[tuple[int, int]]] = {c: [] for c in need}
    for row in (
        binned.join(F.broadcast(boundary_df), ["lang", "time_bucket", "_bin"])
        .select("lang", "time_bucket", "mix_key", "n_tokens")
        .collect()
    ):
        docs[(row["lang"], row["time_bucket"])].append((int(row["mix_key"]), int(row["n_tokens"] or 0)))
    by_cell = allocation.by_cell()
    for cell, threshold in thresholds_with_carry(boundaries, docs).items():
        rates[cell] = CellRate(by_cell[cell].base_repeats, threshold)
    return rates


def expand_repeats(df: DataFrame) -> DataFrame:
    """One row per copy: documents with `repeats` = k > 0 become k rows with `repeat_index` 0..k-1."""
    indices = F.sequence(F.lit(0), F.col("repeats").cast("int") - F.lit(1))
    return df.filter(F.col("repeats") > 0).withColumn("repeat_index", F.explode(indices))


def achieved_tokens(expanded: DataFrame) -> dict[Cell, tuple[int, int, int]]:
    """{cell: (rows, distinct documents, tokens)} of the mixture's rows."""
    rows = (
        expanded.groupBy("lang", "time_bucket")
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.sum(F.when(F.col("repeat_index") == 0, 1).otherwise(0)).alias("docs"),
            F.sum("n_tokens").alias("tokens"),
        )
        .collect()
    )
    return {
        (r["lang"], r["time_bucket"]): (int(r["rows"]), int(r["docs"]), int(r["tokens"] or 0)) for r in rows
    }
