"""Time buckets: the month, quarter or year of a document's `created` date, else its `crawl_date`, else
`unknown`. Bucket names sort in time order (`2024-05`, `2024-Q2`, `2024`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import as_utc_timestamps, set_columns

UNKNOWN_BUCKET = "unknown"
GRANULARITIES = ("month", "quarter", "year")
TIME_BUCKET_FIELD = pa.field("time_bucket", pa.string())


def bucket_name(when: datetime, granularity: str) -> str:
    """The bucket of one timestamp."""
    if granularity == "month":
        return f"{when.year:04d}-{when.month:02d}"
    if granularity == "quarter":
        return f"{when.year:04d}-Q{(when.month - 1) // 3 + 1}"
    if granularity == "year":
        return f"{when.year:04d}"
    raise ValueError(f"granularity {granularity!r}: expected one of {', '.join(GRANULARITIES)}")


def bucket_start(name: str) -> datetime | None:
    """The first instant (UTC) of a bucket, or None for `unknown`."""
    if name == UNKNOWN_BUCKET:
        return None
    if "-Q" in name:
        year, quarter = name.split("-Q")
        return datetime(int(year), 3 * (int(quarter) - 1) + 1, 1, tzinfo=UTC)
    if "-" in name:
        year, month = name.split("-")
        return datetime(int(year), int(month), 1, tzinfo=UTC)
    return datetime(int(name), 1, 1, tzinfo=UTC)


def time_buckets(batch: pa.RecordBatch | pa.Table, granularity: str) -> pa.Array:
    """Bucket per row from `created`, falling back to `crawl_date`, else `unknown`."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: expected one of {', '.join(GRANULARITIES)}")
    n = batch.num_rows
    names = batch.schema.names
    when = pa.nulls(n, pa.timestamp("us", tz="UTC"))
    for column in ("crawl_date", "created"):  # later wins: created over crawl_date
        if column in names:
            # dates, ISO strings, other units and zones as their UTC instant; a number is refused by name
            when = pc.coalesce(as_utc_timestamps(batch.column(column), column), when)
    year = pc.utf8_lpad(pc.cast(pc.year(when), pa.string()), 4, "0")
    month = pc.month(when)
    if granularity == "year":
        label = year
    elif granularity == "month":
        label = pc.binary_join_element_wise(year, pc.utf8_lpad(pc.cast(month, pa.string()), 2, "0"), "-")
    else:
        quarter = pc.add(pc.divide(pc.subtract(month, 1), 3), 1)
        label = pc.binary_join_element_wise(
            year, pc.binary_join_element_wise("Q", pc.cast(quarter, pa.string()), ""), "-"
        )
    return pc.fill_null(label, UNKNOWN_BUCKET)


@dataclass(frozen=True)
class TimeBucketKernel:
    """Batch kernel: adds a `time_bucket` string column."""

    granularity: str = "year"

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return set_columns(batch, {"time_bucket": time_buckets(batch, self.granularity)})
