"""A mixture's Parquet shards read as rows, without torch: what training, the tokenizer, the long-tail probe
and the mixture's cutoff prediction all read.

A mixture directory holds `part-*.parquet` shards of document rows, already shuffled; one row is one training
example (a document sampled twice appears twice), and the shards are read in file-name order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

READ_ROWS = 256  # rows read and tokenized at a time


def list_shards(mixture_dir: str | Path) -> list[Path]:
    """The mixture's `part-*.parquet` shards in file-name order (a single .parquet file is its own list)."""
    path = Path(mixture_dir)
    if path.is_file() and path.suffix == ".parquet":
        return [path]
    if path.is_file():
        raise FileNotFoundError(
            f"mixture: {path} is a file; train reads a Parquet file or a mixture folder of part-*.parquet "
            "shards (chronomix mix writes one)"
        )
    if not path.is_dir():
        raise FileNotFoundError(f"mixture: no such directory: {path}")
    shards = sorted(path.glob("part-*.parquet"))
    if not shards:
        raise FileNotFoundError(f"mixture: no part-*.parquet shards in {path}")
    return shards


def iter_rows(
    shards: Sequence[Path], columns: Sequence[str] = ("text",), batch_rows: int = READ_ROWS
) -> Iterator[dict[str, Any]]:
    """Rows of `shards` in order as dicts of `columns`, streamed `batch_rows` at a time."""
    for shard in shards:
        file = pq.ParquetFile(shard)
        missing = [c for c in columns if c not in file.schema_arrow.names]
        if missing:
            raise ValueError(f"mixture: column {missing[0]!r} missing from {shard}")
        for batch in file.iter_batches(batch_size=batch_rows, columns=list(columns)):
            yield from batch.to_pylist()


def count_rows(shards: Sequence[Path]) -> int:
    """The mixture's rows, from the shards' footers (no data page read)."""
    return sum(pq.ParquetFile(shard).metadata.num_rows for shard in shards)


def newest_month(shards: Sequence[Path], column: str = "created") -> str | None:
    """The newest `created` month ('YYYY-MM') over all rows of `shards`, reading only that column; None when
    the column is absent or all null."""
    newest: datetime | None = None
    for shard in shards:
        file = pq.ParquetFile(shard)
        if column not in file.schema_arrow.names:
            continue
        for batch in file.iter_batches(columns=[column]):
            value = pc.max(batch.column(0)).as_py()
            if value is not None and (newest is None or value > newest):
                newest = value
    return None if newest is None else newest.strftime("%Y-%m")
