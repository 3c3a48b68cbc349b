"""The dating stage's shuffle work: how many pages of one host share a Last-Modified value.

A site rebuild rewrites every file at once, so many pages of the host carry (nearly) the same Last-Modified;
that time says when the site was deployed, not when each page's content was written. Counting it needs all
pages of a host together, hence a Spark window per host. The per-document rules stay in the pure kernels.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dating.combine import LM_HOST_PAGES
from dating.signals import REBUILD_WINDOW_S

# scheme://[user@]host[:port]/... -> host (Spark's parse_url fails on bad URLs under ANSI mode).
_HOST_PATTERN = r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)"


def with_host_last_modified_pages(df: DataFrame, window_s: int = REBUILD_WINDOW_S) -> DataFrame:
    """`df` with `lm_host_pages` (int64): the distinct URLs of the row's host with a Last-Modified within
    `window_s` seconds of the row's own, itself included; null without a host or Last-Modified. Same result
    as dating.signals.host_last_modified_pages."""
    if "url" not in df.columns or "last_modified" not in df.columns:
        return df.withColumn(LM_HOST_PAGES, F.lit(None).cast("long"))
    url = F.regexp_replace(F.trim(F.col("url")), r"^<\s*|\s*>$", "")
    keyed = df.withColumn("_url", url).withColumn(
        "_host", F.lower(F.regexp_extract("_url", _HOST_PATTERN, 1))
    )
    pages = (
        keyed.where(F.col("last_modified").isNotNull() & (F.col("_host") != ""))
        .select("_host", "_url", F.unix_micros("last_modified").alias("_lm"))
        .distinct()
    )
    window = (
        Window.partitionBy("_host").orderBy("_lm").rangeBetween(-window_s * 1_000_000, window_s * 1_000_000)
    )
    # A URL seen twice with nearby Last-Modified values counts once: count distinct URLs per window.
    pages = pages.withColumn("_n", F.size(F.collect_set("_url").over(window)).cast("long"))
    counted = pages.select("_host", "_url", "_lm", F.col("_n").alias(LM_HOST_PAGES))
    joined = keyed.withColumn("_lm", F.unix_micros("last_modified")).join(
        counted, on=["_host", "_url", "_lm"], how="left"
    )
    return joined.drop("_host", "_url", "_lm")
