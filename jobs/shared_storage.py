"""Checks that the driver and the tasks see the same storage.

On a cluster, a local path names a different disk on every machine: the driver lists input files the
executors may not have, and the executors write output where the driver never looks. Spark itself says
nothing: the tasks count the files as missing and the commit finds no part files. These checks turn both into
a refusal, exit 2 and one line, before the output is put in place.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from corpus.remote import is_remote, redact
from corpus.stats import REJECT_REASON, SKIPPED_PREFIX, StageStats
from jobs.contract import UsageError
from jobs.fs import Location, list_files, locate
from jobs.inputs import is_http

MISSING_FILE = f"{SKIPPED_PREFIX}missing_file"
# Missing inputs the driver looks for itself: enough to tell a cluster's unshared disk from files deleted
# while the job ran, without stat-ing a whole dump's listing from the driver.
MAX_MISSING_CHECKED = 200
_SHARE_IT = "on a cluster, local paths must be on storage every node shares (or use hdfs://, s3a://, ...)"


def refuse_lost_parts(folder: Location, documents: int, output: str) -> None:
    """UsageError where the tasks wrote `documents` (> 0) but `folder` holds no part file: on a cluster, a
    local output path that is not shared, so each task wrote on its own machine and the commit found none."""
    if documents and not any(f.name.startswith("part-") for f in list_files(folder)):
        raise UsageError(
            f"output {redact(output)!r}: the tasks wrote {documents:,} documents where the driver does not see "
            "them; on a cluster, a local output path must be on storage every node shares (or use hdfs://, "
            "s3a://, ...)"
        )


def refuse_inputs_no_task_found(stats: StageStats, skipped: dict[str, int], documents: int) -> None:
    """UsageError where every input file listed was missing where the tasks read it: a listing's wrong
    --base, or on a cluster a local path that only the driver's machine has. The run would write an empty
    output."""
    missing = skipped.get(MISSING_FILE, 0)
    if stats.files_in and missing >= stats.files_in and not documents:
        raise UsageError(
            f"none of the {stats.files_in:,} input files listed exists where the tasks read them: check the "
            f"paths (and --base, for a listing); {_SHARE_IT}"
        )


def refuse_inputs_only_the_driver_sees(rows: DataFrame, skipped: dict[str, int]) -> None:
    """UsageError where input files the tasks found missing are there for the driver: on a cluster, local
    paths that only some machines have, so the job would write part of the input with exit 0. A file
    deleted while the job ran is missing for the driver too, and stays a counted skip. `rows` is the
    stage's frame with its reject rows (the missing files' spans name them); remote files are not looked
    at (one store answers every machine alike)."""
    if not skipped.get(MISSING_FILE):
        return
    spans = rows.filter(F.col(REJECT_REASON) == MISSING_FILE).select("reject_input").distinct()
    named = [row["reject_input"] for row in spans.limit(MAX_MISSING_CHECKED).collect()]
    local = [path for path in named if path and not is_remote(path) and not is_http(path)]
    here = [path for path in local if locate(path).exists()]
    if here:
        total = skipped[MISSING_FILE]
        seen = "them" if len(here) == total else f"{len(here):,} of the {len(local):,} it looked for"
        raise UsageError(
            f"{total:,} input files listed were missing where the tasks read them, and the driver sees "
            f"{seen} (such as {here[0]!r}): {_SHARE_IT}"
        )
