"""The audit's reference side in Spark: documents matched to dated reference versions (the dating stage's
matcher), the tokens held per resource and version month, the reference's versions, and the predicted
effective cutoff (the n-gram predictor, dating/reference_ngrams.py, and the copy shares, analysis/predict.py).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from analysis.reference import reference_figures, version_spans, with_ngram_prediction
from dating.reference import (
    REF_FIELDS,
    VERSION_KEY,
    ReferenceError,
    ReferenceMatcher,
    resource_column,
    with_version_keys,
)
from dating.reference_ngrams import COUNT_SCHEMA, NgramCounter, ReferenceNgrams
from jobs.contract import UsageError
from jobs.stage import expand_inputs, map_kernel, read_stage_output


def with_reference_matches(frame: DataFrame, references: list[str]) -> DataFrame:
    """`frame` with the dating stage's reference match of each document (ref_created, ref_last,
    ref_similarity, ref_key) from its ReferenceMatcher kernel over the reference Parquet files `references`:
    the dated output keeps only the matched month, and the audit also needs the resource (ref_key)."""
    refs = references
    frame = frame.drop(*[f.name for f in REF_FIELDS if f.name in frame.columns])
    return map_kernel(frame, ReferenceMatcher(refs), REF_FIELDS)


def audit_reference_figures(
    spark: SparkSession,
    audited: DataFrame,
    reference: str,
    statistic: str = "ngram",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """summary.json's `reference` section (analysis.reference.reference_figures) from the documents matched
    to dated reference versions by the dating stage's matcher (ref_key, ref_created) and the reference. With
    `statistic="ngram"` (and reference texts) the predicted cutoff is the n-gram predictor's
    (dating/reference_ngrams.py, counted over the audited documents) and the copy-share `curve` prediction is
    kept as `token_share_cutoff`."""
    versions = reference_version_keys(spark, reference)
    per_version = {
        (r["resource"], r["month"]): (r["documents"], int(r["tokens"] or 0))
        for r in reference_matches(audited)
        .groupBy("resource", "month")
        .agg(F.count("*").alias("documents"), F.sum("tokens").alias("tokens"))
        .collect()
    }
    available: dict[str, list[str]] = {}
    for r in versions.select("resource", "month").distinct().collect():
        available.setdefault(r["resource"], []).append(r["month"])
    spans = version_spans([(r["resource"], r["month"], r["text_key"]) for r in versions.collect()])
    ngram = statistic == "ngram" and spans is not None
    figures = reference_figures(
        reference, per_version, available, spans, "curve" if statistic == "ngram" else statistic, n_boot,
        level, seed,
    )  # fmt: skip
    if ngram:
        files = [f.uri for f in expand_inputs([reference])]
        counter = NgramCounter(files)
        counted = map_kernel(audited.select("text"), counter, list(COUNT_SCHEMA), keep=[]).select(
            *COUNT_SCHEMA.names
        )
        counts = {
            int(r["ngram"]): int(r["n"])
            for r in counted.groupBy("ngram").agg(F.sum("count").alias("n")).collect()
        }
        figures = with_ngram_prediction(
            figures, ReferenceNgrams.from_file(files).scores(counts), n_boot=n_boot, level=level, seed=seed
        )
    return figures


def reference_matches(audited: DataFrame) -> DataFrame:
    """(resource, month, tokens) of each document matched to a reference version (with_reference_matches)."""
    return audited.filter(F.col("ref_key").isNotNull() & F.col("ref_created").isNotNull()).select(
        F.col("ref_key").alias("resource"),
        F.date_format(F.col("ref_created"), "yyyy-MM").alias("month"),
        F.coalesce(F.col("n_tokens"), F.lit(0)).cast("long").alias("tokens"),
    )


def reference_version_keys(spark: SparkSession, reference: str) -> DataFrame:
    """(resource, month) of every dated reference version: Parquet of the record (`resource` or `url`, and
    `created`) or a probe file with `month`."""
    frame = read_stage_output(spark, expand_inputs([reference]))
    try:
        key = resource_column(frame.columns, f"--reference {reference!r}")
    except ReferenceError as error:
        raise UsageError(str(error)) from None
    if "month" in frame.columns:
        month = F.col("month").cast("string")
    elif "created" in frame.columns:
        month = F.date_format(F.col("created"), "yyyy-MM")
    else:
        raise UsageError(f"--reference {reference!r}: neither a month nor a created column")
    versions = frame.select(
        F.col(key).cast("string").alias("resource"),
        month.alias("month"),
        (F.col("text") if "text" in frame.columns else F.lit(None)).cast("string").alias("text"),
    ).filter(F.col("resource").isNotNull() & F.col("month").isNotNull())
    if "text" in frame.columns:
        # Texts are one version where the dating matcher takes them as one, in the same Python function the
        # experiment uses (a Spark regex would read \W as ASCII and make every Cyrillic version one).
        keys = map_kernel(versions, with_version_keys, [VERSION_KEY], keep=["resource", "month"])
        text_key = F.col(VERSION_KEY.name)
    else:
        keys, text_key = versions, F.lit(None).cast("string")
    return keys.select("resource", "month", text_key.alias("text_key")).distinct()
