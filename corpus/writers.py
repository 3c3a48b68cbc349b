"""Write document batches as Parquet shards or Dolma JSONL.gz shards into a folder (a job writes it under a
temporary sibling that jobs.fs.AtomicStageOutput moves into place, so it appears whole or not at all).

Deterministic: shards are `part-00000.parquet`, `part-00001.parquet`, ... (`part-00000.jsonl.gz`, ...) of
exactly `rows_per_shard` rows (the last one fewer), Parquet row groups of exactly `row_group_rows` rows
whatever the input batching, gzip headers without a time or a name: the same rows give byte-identical files.

Dolma layout (https://github.com/allenai/dolma, "data format"): `id`, `text`, `source`, `added`, `created`
at the top, every other non-null column under `metadata` (plus the keys of `metadata_json`, the input fields
the readers kept), timestamps as ISO 8601 UTC strings ending in "Z". corpus.jsonl reads such a file back to
the same records.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

DOLMA_TOP = ("id", "text", "source", "added", "created")
PARQUET_COMPRESSION = "zstd"
ROW_GROUP_ROWS = 1000  # documents per Parquet row group: bounds writer memory (HTML can be large)


def iso_utc(value: datetime) -> str:
    """`value` as ISO 8601 UTC with a trailing "Z" (microseconds only when non-zero)."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    # isoformat, not strftime("%Y"): glibc writes year 900 as "900", which ISO 8601 (and so the JSONL reader)
    # refuses; isoformat always writes four digits.
    timespec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _json_value(value: Any) -> Any:
    """`value` (from Arrow's to_pylist) as JSON can hold it: times as ISO 8601 (timestamps in UTC), a
    duration in seconds, a decimal as its exact digits, bytes as base64, NaN and infinities as null; lists
    and structs item by item."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, tuple):  # a map column's (key, value) pairs
        return [_json_value(v) for v in value]
    return value


def dolma_rows(batch: pa.RecordBatch, keep_html: bool = False) -> list[dict[str, Any]]:
    """Rows of `batch` in the Dolma layout (see the module docstring). The `html` column is dropped unless
    `keep_html` (then it goes under metadata)."""
    names = [n for n in batch.schema.names if n not in DOLMA_TOP and n != "metadata_json"]
    if not keep_html and "html" in names:
        names.remove("html")
    columns = {name: batch.column(name).to_pylist() for name in batch.schema.names}
    extra = columns.get("metadata_json")
    rows = []
    for i in range(batch.num_rows):
        row = {key: _json_value(columns[key][i]) if key in columns else None for key in DOLMA_TOP}
        metadata = {n: _json_value(columns[n][i]) for n in names if columns[n][i] is not None}
        if extra is not None and extra[i]:
            metadata.update(json.loads(extra[i], parse_constant=lambda _: None))  # NaN: null
        row["metadata"] = metadata
        rows.append(row)
    return rows


class _Shards:
    """Cuts a stream of batches into shards of exactly `rows_per_shard` rows, and those into exact chunks."""

    def __init__(self, rows_per_shard: int, chunk_rows: int) -> None:
        if not isinstance(rows_per_shard, int) or rows_per_shard < 1:
            raise ValueError(f"rows_per_shard: must be a positive integer, got {rows_per_shard!r}")
        self.rows_per_shard = rows_per_shard
        self.chunk_rows = min(chunk_rows, rows_per_shard)

    def chunks(self, batches: Iterable[pa.RecordBatch]) -> Iterable[tuple[int, pa.Table]]:
        """(shard index, table of at most `chunk_rows` rows), chunks never crossing a shard boundary."""
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        written = 0
        schema: pa.Schema | None = None
        for batch in batches:
            if schema is None:
                schema = batch.schema
            elif not batch.schema.equals(schema):
                raise ValueError(f"batches: schema changed mid-stream: {batch.schema} after {schema}")
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= self._next_size(written):
                size = self._next_size(written)
                table = pa.Table.from_batches(pending, schema=schema)
                yield written // self.rows_per_shard, table.slice(0, size)
                rest = table.slice(size)
                pending = rest.to_batches()
                pending_rows -= size
                written += size
        if pending_rows:
            yield written // self.rows_per_shard, pa.Table.from_batches(pending, schema=schema)

    def _next_size(self, written: int) -> int:
        left_in_shard = self.rows_per_shard - written % self.rows_per_shard
        return min(self.chunk_rows, left_in_shard)


def write_parquet_shards(
    batches: Iterable[pa.RecordBatch],
    out_dir: Path,
    rows_per_shard: int = 100_000,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> int:
    """Write `batches` as `out_dir/part-NNNNN.parquet` shards (zstd); returns the number of rows written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    current = -1
    rows = 0
    try:
        for shard, table in _Shards(rows_per_shard, row_group_rows).chunks(batches):
            if shard != current:
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(
                    out_dir / f"part-{shard:05d}.parquet", table.schema, compression=PARQUET_COMPRESSION
                )
                current = shard
            assert writer is not None
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def write_dolma_jsonl_gz(
    batches: Iterable[pa.RecordBatch], out_dir: Path, rows_per_shard: int = 100_000, keep_html: bool = False
) -> int:
    """Write `batches` as Dolma `out_dir/part-NNNNN.jsonl.gz` shards; returns the number of rows written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    current = -1
    stream: gzip.GzipFile | None = None
    raw = None
    rows = 0
    try:
        for shard, table in _Shards(rows_per_shard, ROW_GROUP_ROWS).chunks(batches):
            if shard != current:
                if stream is not None and raw is not None:
                    stream.close()
                    raw.close()
                raw = open(out_dir / f"part-{shard:05d}.jsonl.gz", "wb")  # noqa: SIM115 (closed below)
                # No file name and mtime 0 in the gzip header: same rows, same bytes.
                stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
                current = shard
            assert stream is not None
            for batch in table.to_batches():
                for row in dolma_rows(batch, keep_html=keep_html):
                    stream.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
                    rows += 1
    finally:
        if stream is not None:
            stream.close()
        if raw is not None:
            raw.close()
    return rows
