"""The dating kernels' input columns as Python values, whatever Arrow type a caller's data has them in: time
columns (dates, ISO 8601 strings, timestamps of other units or zones) as UTC datetimes, text as strings
(corpus.schema.as_utc_timestamps, as_text); another type is refused by name, never read as "no date"."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from corpus.schema import as_text, as_utc_timestamps, field_type

HTML_META_MODIFIED = "html_meta_modified"  # extra column: the HTML's last-update date (corpus.schema)
# A work column of the date job: why a page's markup was not read for dates (dating.html_meta.UNREAD_*)
HTML_META_UNREAD = "html_meta_unread"
REFERENCE_TIMES = frozenset({"ref_created", "ref_last"})  # the reference match's, which the record lacks
TEXT_INPUTS = frozenset({"text", "html"})
# Timestamps outside these years are no dates of web content (a WARC-Date of 9999-12-31, a Last-Modified of
# year 1): read as absent, with a note. The bounds also keep every date's arithmetic (slack, the middle of a
# year) inside datetime's range, where a year-9999 value overflowed and failed the whole batch.
PLAUSIBLE_YEARS = (1000, 2999)


def _is_time(name: str) -> bool:
    """A time column: the record's timestamps (corpus.schema) and the reference match's."""
    kind = field_type(name)
    return name in REFERENCE_TIMES or (kind is not None and pa.types.is_timestamp(kind))


def input_values(batch: pa.RecordBatch | pa.Table, name: str) -> list[Any]:
    """Column `name` of `batch` as Python values (None for each row where the batch lacks it)."""
    if name not in batch.schema.names:
        return [None] * batch.num_rows
    values = batch.column(name)
    if _is_time(name):
        values = as_utc_timestamps(values, name)
    elif name in TEXT_INPUTS and not _is_binary(values.type):
        values = as_text(values, name)
    return values.to_pylist()


def _is_binary(kind: pa.DataType) -> bool:
    return pa.types.is_binary(kind) or pa.types.is_large_binary(
        kind
    )  # raw HTML bytes: the parser decodes them
