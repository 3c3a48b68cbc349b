"""The document record: the Arrow schema every stage reads and writes (docs/design.md, "The document record").

Columns are flat so Parquet readers can push predicates down. Times are UTC timestamps in microseconds;
dates known only to the day are midnight UTC. Stages add their columns and keep every column they were given,
including extra ones (e.g. `html`, `cc_lang`, or a dataset's own fields), so a stage never loses information.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TIMESTAMP = pa.timestamp("us", tz="UTC")

# (name, type, nullable, set by, meaning) in the order of docs/design.md.
_COLUMNS: list[tuple[str, pa.DataType, bool, str, str]] = [
    ("id", pa.string(), False, "corpus", "stable unique id"),
    ("text", pa.string(), False, "corpus", "plain text"),
    ("source", pa.string(), False, "corpus", "e.g. cc/CC-MAIN-2024-22, or the dataset's name"),
    ("added", TIMESTAMP, False, "corpus", "when chronomix ingested it"),
    ("url", pa.string(), True, "corpus", "target URI"),
    ("dump", pa.string(), True, "corpus", "crawl id like CC-MAIN-2024-22"),
    ("crawl_date", TIMESTAMP, True, "corpus", "WARC-Date: when it was fetched"),
    ("last_modified", TIMESTAMP, True, "corpus", "HTTP Last-Modified"),
    ("html_meta_date", TIMESTAMP, True, "corpus/dating", "publication date from HTML metadata"),
    ("created", TIMESTAMP, True, "dating", "best estimate of when this version was written"),
    ("date_published", TIMESTAMP, True, "dating", "original publication date"),
    ("date_lower", TIMESTAMP, True, "dating", "lower bound on created"),
    ("date_upper", TIMESTAMP, True, "dating", "upper bound on created"),
    ("date_source", pa.string(), True, "dating", "signal that decided created"),
    ("lang", pa.string(), True, "mixers", "ISO 639-1 (or 639-3) language code"),
    ("lang_score", pa.float64(), True, "mixers", "classifier probability of lang"),
    (
        "lang_detector",
        pa.string(),
        True,
        "mixers",
        "detector that decided lang (fasttext, lingua, cld2, ...)",
    ),
    ("cluster_id", pa.string(), True, "dedup", "near-duplicate cluster id (smallest member id)"),
    ("cluster_size", pa.int64(), True, "dedup", "documents in the cluster"),
    ("version_rank", pa.int32(), True, "dedup", "0 = newest distinct version in the cluster"),
    ("is_exact_dup", pa.bool_(), True, "dedup", "same normalised text as an earlier-kept document"),
    ("is_stale", pa.bool_(), True, "dedup", "older version of a resource whose newer version is present"),
    ("staleness_days", pa.int32(), True, "dedup", "newest created in the cluster minus this created, days"),
    ("n_tokens", pa.int64(), True, "mixers", "tokens under the mixture's tokenizer, or words"),
]

# Optional columns that readers may add and stages pass through.
EXTRA_COLUMNS: dict[str, pa.DataType] = {
    "html": pa.string(),  # raw HTML of a WARC response, kept for dating's HTML-metadata kernel
    "cc_lang": pa.string(),  # Common Crawl's own language label from a WET record
    "declared_lang": pa.string(),  # the page's own language tag: <html lang>, else HTTP Content-Language
    "resource": pa.string(),  # resource key for reference versions (e.g. a MediaWiki page title)
    "html_meta_modified": TIMESTAMP,  # last-update date from HTML metadata (dating.html_meta, WARC input only)
    "revision_id": pa.int64(),  # MediaWiki revision id of a revision or monthly snapshot
    "revision_ts": TIMESTAMP,  # MediaWiki revision timestamp (a snapshot's `created` is its month start)
    "metadata_json": pa.string(),  # JSON object of input fields that are not record columns (Dolma metadata)
}

DOCUMENT_SCHEMA = pa.schema(
    [pa.field(name, dtype, nullable=nullable) for name, dtype, nullable, _, _ in _COLUMNS]
)
COLUMN_NAMES: tuple[str, ...] = tuple(DOCUMENT_SCHEMA.names)
CORPUS_COLUMNS: tuple[str, ...] = tuple(n for n, _, _, by, _ in _COLUMNS if by.startswith("corpus"))
COLUMN_DOCS: dict[str, str] = {name: doc for name, _, _, _, doc in _COLUMNS}
REQUIRED_COLUMNS: tuple[str, ...] = tuple(n for n, _, nullable, _, _ in _COLUMNS if not nullable)


class SchemaError(ValueError):
    """A batch does not match the document record; the message names the column and, where known, the row."""


@dataclass(frozen=True)
class Problem:
    column: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = f"column {self.column!r}" + (f", row {self.row}" if self.row is not None else "")
        return f"{where}: {self.message}"


def field_type(name: str) -> pa.DataType | None:
    """The Arrow type of a known column (document record or extra), or None for an unknown one."""
    if name in COLUMN_NAMES:
        return DOCUMENT_SCHEMA.field(name).type
    return EXTRA_COLUMNS.get(name)


def problems(batch: pa.RecordBatch | pa.Table, required: Sequence[str] = REQUIRED_COLUMNS) -> list[Problem]:
    """Every way `batch` departs from the record: missing required columns, wrong types, nulls or empty
    strings where a value is required, and duplicate ids within the batch. Unknown columns are allowed."""
    found: list[Problem] = []
    names = set(batch.schema.names)
    for name in required:
        if name not in names:
            found.append(Problem(name, None, "required column is missing"))
    for name in batch.schema.names:
        expected = field_type(name)
        if expected is None:
            continue
        actual = batch.schema.field(name).type
        if not _same_type(actual, expected):
            found.append(Problem(name, None, f"type {actual} but the record says {expected}"))
            continue
        column = batch.column(name)
        if name in REQUIRED_COLUMNS and column.null_count:
            row = _first_true(pc.is_null(column))
            found.append(Problem(name, row, "null in a required column"))
        if name in ("id", "source") and pa.types.is_string(actual):
            empty = pc.equal(pc.utf8_length(column), 0)
            if pc.any(empty).as_py():
                found.append(Problem(name, _first_true(empty), "empty string"))
    if "id" in names and pa.types.is_string(batch.schema.field("id").type):
        ids = batch.column("id")
        if pc.count_distinct(ids).as_py() != len(ids) - ids.null_count:
            seen: set[str] = set()
            for row, value in enumerate(ids.to_pylist()):
                if value is not None and value in seen:
                    found.append(Problem("id", row, f"duplicate id {value!r}"))
                    break
                seen.add(value)
    return found


def validate(batch: pa.RecordBatch | pa.Table, required: Sequence[str] = REQUIRED_COLUMNS) -> None:
    """Raise SchemaError naming the first bad column and row, if `batch` is not a valid document batch."""
    found = problems(batch, required)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SchemaError(f"{found[0]}{more}")


def conform(batch: pa.RecordBatch, columns: Iterable[str] = COLUMN_NAMES) -> pa.RecordBatch:
    """Return `batch` with every column in `columns` present (missing ones as typed nulls), known columns cast
    to the record's types, the record's columns first in docs/design.md's order and extra columns after them."""
    n = batch.num_rows
    arrays: dict[str, pa.Array] = {}
    wanted = list(columns)
    for name in wanted:
        dtype = field_type(name)
        if name in batch.schema.names:
            array = batch.column(name)
            if dtype is not None and not _same_type(array.type, dtype):
                array = array.cast(dtype)
            arrays[name] = array
        elif dtype is not None:
            arrays[name] = pa.nulls(n, type=dtype)
        else:
            raise SchemaError(f"column {name!r}: unknown column cannot be added")
    for name in batch.schema.names:
        if name not in arrays:
            arrays[name] = batch.column(name)
    ordered = [c for c in COLUMN_NAMES if c in arrays] + [c for c in arrays if c not in COLUMN_NAMES]
    return pa.RecordBatch.from_arrays([arrays[c] for c in ordered], names=ordered)


def output_schema(input_schema: pa.Schema, added: Iterable[str]) -> pa.Schema:
    """The schema a kernel produces: the input's columns plus `added` record columns, in record order."""
    names = list(input_schema.names) + [c for c in added if c not in input_schema.names]
    fields = []
    for name in [c for c in COLUMN_NAMES if c in names] + [c for c in names if c not in COLUMN_NAMES]:
        if name in input_schema.names:
            fields.append(input_schema.field(name))
        else:
            dtype = field_type(name)
            if dtype is None:
                raise SchemaError(f"column {name!r}: unknown column")
            fields.append(pa.field(name, dtype))
    return pa.schema(fields)


_KINDS = (pa.types.is_timestamp, pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean)
_KINDS += (pa.types.is_list, pa.types.is_large_list)


def of_record_kind(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether a stored column of type `actual` reads as the record's `expected` without a conversion that
    could fail or change its meaning: strings of either width, integers or floats of any width, and
    timestamps in milliseconds or microseconds with a time zone. Not: strings or integers where a timestamp
    belongs (a date string that does not parse, epoch seconds read as microseconds), nanoseconds (Spark
    refuses them) or zone-less timestamps (Spark reads them as another type than zoned ones)."""
    if pa.types.is_dictionary(actual):  # pandas' categories: Spark reads the values
        actual = actual.value_type
    if pa.types.is_string(expected) or pa.types.is_large_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual) and actual.unit in ("ms", "us") and actual.tz is not None
    return any(kind(actual) and kind(expected) for kind in _KINDS)


def spark_read_schema(footer: pq.FileMetaData) -> pa.Schema:
    """The Arrow schema of a Parquet file's footer, with its INT96 columns as Spark reads them: timestamps
    with a zone, in microseconds (pyarrow gives them as zone-less nanoseconds; INT96 is the default of
    Spark's own writer and of Hive)."""
    schema = footer.schema.to_arrow_schema()
    columns = [footer.schema.column(i) for i in range(footer.num_columns)]
    int96 = {column.path for column in columns if column.physical_type == "INT96"}
    for name in int96 & set(schema.names):
        index = schema.get_field_index(name)
        schema = schema.set(index, schema.field(index).with_type(TIMESTAMP))
    return schema


def foreign_column(schema: pa.Schema) -> tuple[str, pa.DataType] | None:
    """(name, stored type) of the first record column of `schema` that is not of the record's kind
    (`of_record_kind`), else None."""
    for stored in schema:
        expected = field_type(stored.name)
        if expected is not None and not of_record_kind(stored.type, expected):
            return stored.name, stored.type
    return None


def _same_type(actual: pa.DataType, expected: pa.DataType) -> bool:
    if actual == expected:
        return True
    # Arrow's large_string and string hold the same values; Spark hands either.
    if pa.types.is_string(expected) and pa.types.is_large_string(actual):
        return True
    return bool(
        pa.types.is_timestamp(expected)
        and pa.types.is_timestamp(actual)
        and actual.unit == expected.unit
        and (actual.tz or "").upper() in ("UTC", "+00:00", "ETC/UTC")
    )


def _first_true(mask: pa.Array | pa.ChunkedArray) -> int | None:
    index = pc.index(mask, True).as_py()
    return None if index is None or index < 0 else index


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso_timestamp(value: str) -> datetime | None:
    """An ISO 8601 date or date-time string ("Z" or an offset; a bare date is midnight) as UTC, or None."""
    text = value.strip()
    if not text:
        return None
    try:
        return utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        return None


def as_text(values: pa.Array | pa.ChunkedArray, name: str = "text") -> pa.Array:
    """A text column as the kernels read it: one array of string or large_string, a dictionary-encoded one
    decoded, an all-null one (Arrow's null type, as pandas writes a column of None) typed string, and bytes
    (Parquet strings written without their UTF-8 annotation) as UTF-8 text, any invalid sequence replaced.
    TypeError naming the column for any other type."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        target = pa.large_string() if pa.types.is_large_binary(values.type) else pa.string()
        try:
            return values.cast(target)
        except pa.ArrowInvalid:  # not UTF-8 throughout
            decoded = [None if b is None else b.decode("utf-8", "replace") for b in values.to_pylist()]
            return pa.array(decoded, target)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"column {name!r} is {values.type}: expected strings")
    return values


def as_utc_timestamps(values: pa.Array | pa.ChunkedArray, name: str) -> pa.Array:
    """A time column as TIMESTAMP (µs, UTC): timestamps of any unit (naive ones read as UTC, zoned ones
    converted), dates as midnight UTC, ISO 8601 strings (without an offset read as UTC). TypeError naming
    the column for another type, ValueError naming it for a string that is no ISO 8601 time."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    kind = values.type
    if not (
        pa.types.is_timestamp(kind)
        or pa.types.is_date(kind)
        or pa.types.is_null(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    ):
        raise TypeError(f"column {name!r} is {kind}: expected timestamps, dates or ISO 8601 strings")
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return pc.cast(values, TIMESTAMP, safe=False)  # nanoseconds cut to microseconds
    parsed: list[datetime | None] = []
    for text in values.to_pylist():
        when = parse_iso_timestamp(text) if text is not None else None  # a blank string is no time, as a null
        if when is None and text is not None and text.strip():
            raise ValueError(f"column {name!r}: {text!r} is no ISO 8601 time (or none Arrow can hold)")
        parsed.append(when)
    return pa.array(parsed, TIMESTAMP)


def set_columns(batch: pa.RecordBatch | pa.Table, columns: dict[str, pa.Array]) -> pa.RecordBatch | pa.Table:
    """`batch` with `columns` replaced where present and appended where not (a table stays a table)."""
    names = list(batch.schema.names)
    arrays = list(batch.columns)
    for name, array in columns.items():
        if name in names:
            arrays[names.index(name)] = array
        else:
            names.append(name)
            arrays.append(array)
    if isinstance(batch, pa.Table):
        return pa.Table.from_arrays(arrays, names=names)
    return pa.RecordBatch.from_arrays(arrays, names=names)
