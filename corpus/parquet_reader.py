"""Parquet to document rows, in batches (`pyarrow.parquet.ParquetFile.iter_batches`), with a column mapping.

The default mapping reads FineWeb-style files: `text`, `id`, `url`, `dump` by name and `date` as
`crawl_date`; `options.column_map` (record column -> input column) adds to or overrides it. Input columns
named like a record column are read as that column; all other input columns are kept, per row, as a JSON
object in `metadata_json` (FineWeb's `language`, `token_count`, ...), so every format yields one schema. A
`metadata` struct or map column is read like Dolma's `metadata` object (its fields as columns); a `metadata`
column of any other type is an ordinary extra column.
Rows go through the same field checks as JSON Lines ("bad_type", "empty_text", ...; a time that does not
read is null and counted, `time_not_read:<column>`, its document kept), with `path:row N` as their location.
Row groups are read one at a time: a row group that does not decode is a
skipped span ("corrupt_parquet", at the file offset of its first column chunk; its row count is in the detail
and in the counter "rows_in_corrupt_row_groups") and reading goes on with the next one. A file whose footer
does not read is one skipped span for the whole file. A remote file is read through corpus.remote (ranged
reads, retried); a row group whose reading fails for good is a "read_failed" span instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpus.jsonl import FieldError, record_to_row
from corpus.reader_base import DocumentChecks, ReadContext, base_source
from corpus.remote import InputReadError

FINEWEB_COLUMN_MAP: dict[str, str] = {
    "text": "text",
    "id": "id",
    "url": "url",
    "crawl_date": "date",
    "dump": "dump",
}


def column_map_for(schema: pa.Schema, overrides: dict[str, str]) -> dict[str, str]:
    """The record column -> input column mapping for a file of `schema`: FineWeb defaults, then `overrides`.
    Defaults are dropped where the input column is absent, the file has the record column by name, or an
    override reads the same input column."""
    names = set(schema.names)
    # {"created": "date"} means `date` is the creation date: the default would also make it the crawl date.
    claimed = set(overrides.values())
    mapping = {
        column: source
        for column, source in FINEWEB_COLUMN_MAP.items()
        if source in names and (column == source or column not in names) and source not in claimed
    }
    mapping.update(overrides)
    return mapping


def iter_parquet_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows of a Parquet file (rejects and skipped row groups go to `ctx`)."""
    try:
        raw = ctx.open()
    except OSError as exc:
        ctx.unreadable(exc)
        return
    with raw:
        yield from _parquet_rows(ctx, raw)


def _parquet_rows(ctx: ReadContext, raw: BinaryIO) -> Iterator[dict[str, Any]]:
    checks = DocumentChecks(ctx, base_source(ctx.path))
    try:
        parquet = pq.ParquetFile(raw)
        mapping = column_map_for(parquet.schema_arrow, dict(ctx.options.column_map))
        metadata = _metadata_type(parquet.schema_arrow)
    except InputReadError as exc:
        ctx.unreadable(exc)
        return
    except (OSError, pa.ArrowException, ValueError) as exc:
        try:
            raw.seek(0)
            sample = raw.read(4096)
        except OSError:
            sample = b""
        ctx.skip("corrupt_parquet", f"{type(exc).__name__}: {exc}", 0, ctx.size, sample=sample)
        return
    row_no = 0
    for group in range(parquet.num_row_groups):
        rows_in_group = parquet.metadata.row_group(group).num_rows
        first_row = row_no
        try:
            for batch in parquet.iter_batches(batch_size=ctx.options.batch_size, row_groups=[group]):
                limit = ctx.options.max_doc_bytes
                for record in _records_within(batch, limit):
                    where = f"row {row_no}"
                    row_no += 1
                    if record is None:
                        ctx.reject("too_large", f"a value over {limit} bytes", where)
                        continue
                    row = _row(ctx, checks, record, mapping, metadata, where)
                    if row is not None:
                        yield row
        except (OSError, pa.ArrowException, ValueError) as exc:
            lost = rows_in_group - (row_no - first_row)
            offset, length = _row_group_span(parquet, group)
            reason = "read_failed" if isinstance(exc, InputReadError) else "corrupt_parquet"
            detail = f"row group {group} (rows {row_no}..{first_row + rows_in_group - 1}, {lost} rows): {exc}"
            ctx.skip(reason, f"{type(exc).__name__}: {detail}", offset, length)
            ctx.counters["rows_in_corrupt_row_groups"] += lost
            row_no = first_row + rows_in_group


def _records_within(batch: pa.RecordBatch, limit: int) -> Iterator[dict[str, Any] | None]:
    """`_records(batch)`, None in place of a row with a text or binary value over `limit` bytes, which is
    never made a Python value: a 600 MB text took 3.5 GB (its Python string, UCS-4 for non-Latin text)."""
    over = None
    for column in batch.columns:
        kind = column.type
        if any(
            test(kind)
            for test in (
                pa.types.is_string,
                pa.types.is_large_string,
                pa.types.is_binary,
                pa.types.is_large_binary,
            )
        ):
            long = pc.fill_null(pc.greater(pc.binary_length(column), limit), False)
            over = long if over is None else pc.or_(over, long)
    if over is None or not pc.any(over).as_py():
        yield from _records(batch)
        return
    start = 0
    for i in pc.indices_nonzero(over).to_pylist():
        yield from _records(batch.slice(start, i - start))
        yield None
        start = i + 1
    yield from _records(batch.slice(start))


def _records(batch: pa.RecordBatch) -> Iterator[dict[str, Any]]:
    """The rows of `batch` as Python dicts. A value Python cannot hold (a date32 of the year 10183) fails
    the whole batch's conversion: then row by row, and in such a row value by value: a value that does not
    convert is given as Arrow writes it ("10183-03-20"), which a time column does not read (counted as
    `time_not_read:<column>`, kept), so that one bad value loses neither its document nor the file."""
    try:
        yield from batch.to_pylist()
        return
    except OverflowError:
        pass
    for i in range(batch.num_rows):
        try:
            yield batch.slice(i, 1).to_pylist()[0]
        except OverflowError:
            yield {
                name: _value(column, i)
                for name, column in zip(batch.schema.names, batch.columns, strict=True)
            }


def _value(column: pa.Array, i: int) -> Any:
    """`column[i]` as Python, or as Arrow writes it where Python cannot hold it (None if not even that)."""
    try:
        return column[i].as_py()
    except OverflowError:
        try:
            return pc.cast(column.slice(i, 1), pa.string())[0].as_py()
        except (pa.ArrowException, OverflowError):
            return None


def _metadata_type(schema: pa.Schema) -> pa.DataType | None:
    """The type of a `metadata` column that holds nested fields (struct or map), else None."""
    index = schema.get_field_index("metadata")
    if index < 0:
        return None
    dtype = schema.field(index).type
    return dtype if pa.types.is_struct(dtype) or pa.types.is_map(dtype) else None


def _row(
    ctx: ReadContext,
    checks: DocumentChecks,
    record: dict[str, Any],
    mapping: dict[str, str],
    metadata: pa.DataType | None,
    where: str,
) -> dict[str, Any] | None:
    try:
        if metadata is not None and pa.types.is_map(metadata) and record["metadata"] is not None:
            # to_pylist gives a map as (key, value) pairs; its keys are read like a struct's fields.
            record = {**record, "metadata": dict(record["metadata"])}
        row = record_to_row(record, mapping, nested_metadata=metadata is not None)
    except FieldError as exc:
        ctx.reject(exc.reason, str(exc), where, repr(record)[:4096])
        return None
    except Exception as exc:  # the last-resort guard: one row, never the task
        ctx.reader_error(exc, where, repr(record)[:4096])
        return None
    try:
        return row if checks.accept(row, where, repr(record)[:4096]) else None
    except Exception as exc:
        ctx.reader_error(exc, where, repr(record)[:4096])
        return None


def _row_group_span(parquet: pq.ParquetFile, group: int) -> tuple[int, int]:
    """(file offset, compressed bytes) of a row group's column chunks, as its metadata says."""
    meta = parquet.metadata.row_group(group)
    columns = [meta.column(i) for i in range(meta.num_columns)]
    starts = [c.dictionary_page_offset or c.data_page_offset for c in columns]
    return (min(starts) if starts else 0), sum(c.total_compressed_size for c in columns)
