"""Parquet to document rows, in batches (`pyarrow.parquet.ParquetFile.iter_batches`), with a column mapping.

The default mapping reads FineWeb-style files: `text`, `id`, `url`, `dump` by name and `date` as
`crawl_date`; `options.column_map` (record column -> input column) adds to or overrides it. Input columns
named like a record column are read as that column; all other input columns are kept, per row, as a JSON
object in `metadata_json` (FineWeb's `language`, `token_count`, ...), so every format yields one schema.
Rows go through the same field checks as JSON Lines ("bad_type", "bad_timestamp", "empty_text", ...), with
`path:row N` as their location. A file that is not Parquet, or a page that does not decode, is one reject
("corrupt_parquet") after the rows before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.jsonl import FieldError, record_to_row
from corpus.readers import DocumentChecks, ReadContext, base_source, batched

FINEWEB_COLUMN_MAP: dict[str, str] = {
    "text": "text",
    "id": "id",
    "url": "url",
    "crawl_date": "date",
    "dump": "dump",
}


def column_map_for(schema: pa.Schema, overrides: dict[str, str]) -> dict[str, str]:
    """The record column -> input column mapping for a file of `schema`: FineWeb defaults, then `overrides`.
    Defaults are dropped where the input column is absent or the file has the record column by name."""
    names = set(schema.names)
    mapping = {
        column: source
        for column, source in FINEWEB_COLUMN_MAP.items()
        if source in names and (column == source or column not in names)
    }
    mapping.update(overrides)
    return mapping


def iter_parquet_rows(ctx: ReadContext) -> Iterator[dict[str, Any]]:
    """Document rows of a Parquet file (rejects go to `ctx`)."""
    checks = DocumentChecks(ctx, base_source(ctx.path))
    row_no = 0
    try:
        parquet = pq.ParquetFile(ctx.path)
        mapping = column_map_for(parquet.schema_arrow, dict(ctx.options.column_map))
        for batch in parquet.iter_batches(batch_size=ctx.options.batch_size):
            for record in batch.to_pylist():
                where = f"row {row_no}"
                row_no += 1
                try:
                    row = record_to_row(record, mapping)
                except FieldError as exc:
                    ctx.reject(exc.reason, str(exc), where, repr(record)[:4096])
                    continue
                if checks.accept(row, where, repr(record)[:4096]):
                    yield row
    except (OSError, pa.ArrowException) as exc:
        with open(ctx.path, "rb") as raw:
            sample = raw.read(4096)
        ctx.reject("corrupt_parquet", f"{type(exc).__name__}: {exc}", f"row {row_no}", sample)


def iter_parquet_batches(ctx: ReadContext) -> Iterator[pa.RecordBatch]:
    """Conformed document batches of a Parquet file."""
    return batched(iter_parquet_rows(ctx), ctx.options)
