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
from datetime import UTC
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import torch
from transformers import PreTrainedTokenizerBase

from trainers.shards import READ_ROWS


@dataclass
class StreamState:
    """Where a PackedStream stands: the next unread row, the tokens read but not yet given out, and counts
    of what it has read. JSON-serialisable, for checkpoints."""

    epoch: int = 0
    shard: int = 0
    row: int = 0
    carry: list[int] = field(default_factory=list)
    # The documents read ahead into the carry, in order, each as [tokens still in the carry, tokens it put
    # there, its `created` ISO timestamp or None]; counted below only once their first token is given out.
    ahead: list[list[Any]] = field(default_factory=list)
    docs_read: int = 0  # documents of which blocks given out hold at least the first token
    docs_empty: int = 0  # of those, rows with null or empty text: counted, contribute no tokens
    blocks_given: int = 0
    newest_created: str | None = None  # ISO timestamp of the newest `created` of the documents read

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
        self._give_out(need)
        self.state.blocks_given += n
        return blocks

    def _give_out(self, tokens: int) -> None:
        """Count the documents whose first token is among the next `tokens` tokens given out (the empty
        ones between them with them) and take those tokens off the documents read ahead."""
        state, done = self.state, 0
        for entry in state.ahead:
            left, length, created = entry
            if left == length:  # nothing of it given out yet
                if tokens == 0 and length > 0:
                    break
                state.docs_read += 1
                state.docs_empty += length == 0
                if created is not None and (state.newest_created is None or created > state.newest_created):
                    state.newest_created = created
            taken = min(left, tokens)
            entry[0] -= taken
            tokens -= taken
            if entry[0] > 0:
                break
            done += 1
        del state.ahead[:done]

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
        created = (
            batch.column("created").to_pylist() if "created" in batch.schema.names else [None] * len(texts)
        )
        encodings = iter(self._encode([t for t in texts if t], add_special_tokens=False))
        self.state.row += batch.num_rows
        present = 0
        for text, when in zip(texts, created, strict=True):
            iso = None  # a row without text teaches nothing: its date is not the data's
            length = 0
            if text:
                iso = None if when is None else (when.astimezone(UTC) if when.tzinfo else when).isoformat()
                ids = next(encodings).ids
                self.state.carry.extend(ids)
                self.state.carry.append(self._eos)
                length, present = len(ids) + 1, present + 1
            self.state.ahead.append([length, length, iso])
        return present


def _skip_rows(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.RecordBatch]:
    """`batches` without their first `rows` rows (to reopen a shard where a checkpoint left it)."""
    for batch in batches:
        if rows >= batch.num_rows:
            rows -= batch.num_rows
            continue
        yield batch.slice(rows) if rows else batch
        rows = 0
