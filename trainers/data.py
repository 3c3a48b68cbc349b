"""Packed training sequences streamed from a mixture's Parquet shards.

A mixture directory holds `part-*.parquet` shards of document rows, already shuffled; one row is one training
example (a document sampled twice appears twice). Training reads the shards in file-name order, tokenizes
documents as it goes, joins them with EOS and cuts the token stream into fixed-length blocks; when the
mixture runs out before the token budget does, it starts again (a new epoch). Nothing holds the whole
mixture in memory, and the stream's position is a small state that a checkpoint saves, so a resumed run
sees exactly the blocks an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from transformers import PreTrainedTokenizerBase

READ_ROWS = 256  # rows read and tokenized at a time


def list_shards(mixture_dir: str | Path) -> list[Path]:
    """The mixture's `part-*.parquet` shards in file-name order (a single .parquet file is its own list)."""
    path = Path(mixture_dir)
    if path.is_file() and path.suffix == ".parquet":
        return [path]
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


@dataclass
class StreamState:
    """Where a PackedStream stands: the next unread row, the tokens read but not yet given out, and counts
    of what it has read. JSON-serialisable, for checkpoints."""

    epoch: int = 0
    shard: int = 0
    row: int = 0
    carry: list[int] = field(default_factory=list)
    docs_read: int = 0
    docs_empty: int = 0  # rows with null or empty text: counted, contribute no tokens
    blocks_given: int = 0
    newest_created: str | None = None  # ISO timestamp of the newest `created` read so far

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamState:
        return cls(**data)


class PackedStream:
    """Blocks of `seq_len` token ids from the documents of `shards`, each document followed by EOS,
    repeating the shards in epochs for as long as blocks are asked for."""

    def __init__(
        self,
        shards: Sequence[Path],
        tokenizer: PreTrainedTokenizerBase,
        seq_len: int,
        read_rows: int = READ_ROWS,
    ) -> None:
        if seq_len < 2:
            raise ValueError(f"seq_len: must be at least 2, got {seq_len}")
        if tokenizer.eos_token_id is None:
            raise ValueError("tokenizer: has no EOS token to put between packed documents")
        self.shards = list(shards)
        self.seq_len = seq_len
        self.read_rows = read_rows
        self._encode = tokenizer.backend_tokenizer.encode_batch
        self._eos = int(tokenizer.eos_token_id)
        self.state = StreamState()
        self._batches: Iterator[pa.RecordBatch] | None = None

    def state_dict(self) -> dict[str, Any]:
        return self.state.to_dict()

    def load_state_dict(self, data: dict[str, Any]) -> None:
        self.state = StreamState.from_dict(data)
        self._batches = None  # reopened at state.row on the next read

    def next_blocks(self, n: int) -> torch.Tensor:
        """The next `n` blocks as a LongTensor of shape [n, seq_len]."""
        need = n * self.seq_len
        carry = self.state.carry
        while len(carry) < need:
            if not self._read_more():
                raise ValueError(f"mixture: no text to train on in {len(self.shards)} shard(s)")
        blocks = torch.tensor(carry[:need], dtype=torch.long).view(n, self.seq_len)
        del carry[:need]
        self.state.blocks_given += n
        return blocks

    def _read_more(self) -> bool:
        """Tokenize rows into the carry until some tokens came. False when a whole epoch gave none."""
        give_up_at = self.state.epoch + 2  # from mid-epoch, one full epoch has passed by then
        while self.state.epoch < give_up_at:
            batch = self._next_batch()
            if batch is not None and self._consume(batch):
                return True
        return False

    def _next_batch(self) -> pa.RecordBatch | None:
        """The next record batch of the current shard, or None after moving to the next shard/epoch."""
        state = self.state
        if self._batches is None:
            file = pq.ParquetFile(self.shards[state.shard])
            names = file.schema_arrow.names
            if "text" not in names:
                raise ValueError(f"mixture: column 'text' missing from {self.shards[state.shard]}")
            columns = ["text"] + (["created"] if "created" in names else [])
            self._batches = _skip_rows(
                file.iter_batches(batch_size=self.read_rows, columns=columns), state.row
            )
        batch = next(self._batches, None)
        if batch is None:
            self._batches = None
            state.row = 0
            state.shard += 1
            if state.shard == len(self.shards):
                state.shard = 0
                state.epoch += 1
        return batch

    def _consume(self, batch: pa.RecordBatch) -> int:
        """Tokenize `batch` into the carry; returns the number of documents with text."""
        texts = batch.column("text").to_pylist()
        present = [t for t in texts if t]
        self.state.docs_read += len(texts)
        self.state.docs_empty += len(texts) - len(present)
        self.state.row += batch.num_rows
        for encoding in self._encode(present, add_special_tokens=False):
            self.state.carry.extend(encoding.ids)
            self.state.carry.append(self._eos)
        if "created" in batch.schema.names:
            newest = pc.max(batch.column("created")).as_py()
            if newest is not None:
                iso = newest.astimezone(UTC).isoformat() if newest.tzinfo else newest.isoformat()
                if self.state.newest_created is None or iso > self.state.newest_created:
                    self.state.newest_created = iso
        return len(present)


def _skip_rows(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """`batches` without their first `rows` rows (to reopen a shard where a checkpoint left it)."""
    for batch in batches:
        if rows >= batch.num_rows:
            rows -= batch.num_rows
            continue
        yield batch.slice(rows) if rows else batch
        rows = 0
