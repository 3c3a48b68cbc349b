"""Deterministic sampling: how many copies of each document a mixture holds, from the seed, the document's id
and its cell's rate only, never from partitioning or order.

Every document gets a key, a 63-bit hash of (seed, id). A cell with rate r = target / available tokens gives
each document floor(r) copies, plus one more to the documents whose key is under the cell's threshold. The
threshold is chosen so the extra copies add up, in tokens, to the cell's remainder (within one document),
which a per-document coin flip with probability r - floor(r) would only hit on average. A cell smaller than
a document would round to nothing every time (a month-granularity mixture of 600 cells wanting 3 tokens each
of 7-token documents came out empty), so the rounding error of each cell is carried to the next cell (the
cells of a language in time order, then the next language's), and each cell takes whole documents up to its
carried need, never past it: the mixture's total stays at or under its target (so its budget) by less than
one document, and each language's within one document of its own. The order of the mixture is a second
hash, of (seed, id, repeat_index).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from corpus.schema import set_columns

KEY_BITS = 63  # keys fit a signed 64-bit column (Spark LongType)
KEY_LIMIT = 1 << KEY_BITS
HISTOGRAM_BITS = 10  # the threshold search first bins keys into 2^10 bins per cell
BIN_SHIFT = KEY_BITS - HISTOGRAM_BITS  # a key's bin is key >> BIN_SHIFT (the Spark job shifts the same)
MIX_KEY_FIELD = pa.field("mix_key", pa.int64())
# The columns a mixture adds to the record (docs/design.md): no input column may take these names.
MIXTURE_COLUMNS = ("time_bucket", "repeat_index", "mix_order")


def _hash63(text: str) -> int:
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - KEY_BITS)


def doc_key(seed: int, doc_id: str) -> int:
    """The document's sampling key in [0, 2^63)."""
    return _hash63(f"key\x00{seed}\x00{doc_id}")


def mix_order(seed: int, doc_id: str, repeat_index: int) -> int:
    """Position key of one training example in the shuffled mixture, in [0, 2^63)."""
    return _hash63(f"order\x00{seed}\x00{doc_id}\x00{repeat_index}")


def key_bin(key: int) -> int:
    """The histogram bin of a key (the top HISTOGRAM_BITS bits)."""
    return key >> BIN_SHIFT


def repeat_count(key: int, base_repeats: int, threshold: int) -> int:
    """Copies of a document: the cell's base repeats, plus one when its key is under the cell's threshold."""
    return base_repeats + (1 if key < threshold else 0)


@dataclass(frozen=True)
class MixKeyKernel:
    """Batch kernel: adds `mix_key` (the document's sampling key) from `id`. ValueError for a row without
    an id: every such row would share one key and be drawn all or none (the job gives them ids first)."""

    seed: int

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ids = batch.column("id").to_pylist()
        missing = sum(1 for i in ids if i is None or i == "")
        if missing:
            raise ValueError(f"MixKeyKernel: rows without an id (null or empty): {missing}")
        keys = [doc_key(self.seed, i) for i in ids]
        return set_columns(batch, {"mix_key": pa.array(keys, pa.int64())})


def boundary_bin(histogram: Iterable[tuple[int, int]], need: float) -> tuple[int, float]:
    """Given (bin, tokens) of one cell and the tokens the extra copies need, the bin where the running total
    crosses `need`, and the tokens still needed inside that bin. Bins below it are taken whole."""
    running = 0.0
    ordered = sorted(histogram)
    for b, tokens in ordered:
        if running + tokens >= need:
            return b, need - running
        running += tokens
    return (ordered[-1][0] if ordered else 0), need - running


def threshold_in_bin(
    docs: Sequence[tuple[int, int]], need: float, bin_index: int, at_most: bool = False
) -> int:
    """The key threshold inside one bin: from (key, tokens) of the bin's documents, take the shortest run of
    smallest keys whose tokens come closest to `need` (ties: fewer tokens), or with `at_most` the longest
    run whose tokens do not pass it. Returns the first key not taken (or the bin's upper edge when all are
    taken)."""
    ordered = sorted(docs)
    running = 0.0
    best_count, best_error = 0, abs(need)
    for count, (_, tokens) in enumerate(ordered, start=1):
        running += tokens
        if at_most:
            if running > need + 1e-6:  # targets are whole tokens; the margin absorbs float sums
                break
            best_count = count
            continue
        error = abs(need - running)
        if error < best_error:
            best_count, best_error = count, error
    if best_count < len(ordered):
        return ordered[best_count][0]
    return (bin_index + 1) << BIN_SHIFT


def thresholds_with_carry(
    boundaries: Mapping[tuple[str, str], tuple[int, float]],
    docs: Mapping[tuple[str, str], Sequence[tuple[int, int]]],
) -> dict[tuple[str, str], int]:
    """Each cell's key threshold, from its boundary bin and the tokens still needed there (`boundary_bin`) and
    the (key, tokens) of that bin's documents. Cells are taken in one chain, languages in turn and each
    language's cells in time order; each needs what it needs plus what the cells before it fell short, and
    takes whole documents up to that, never past it. So the chain's running total never passes its running
    target: the mixture stays at or under its budget (rounded to the nearest document, languages of a
    weighted global mixture went 3,003 tokens for 3,000), short by less than one document in all, and each
    cell and language is within one document of its target (the shortfall before it, less the one after)."""
    thresholds: dict[tuple[str, str], int] = {}
    carry = 0.0
    for cell in sorted(boundaries, key=lambda c: (c[0] or "", c[1] or "")):
        bin_index, left = boundaries[cell]
        need = left + carry
        threshold = threshold_in_bin(docs[cell], need, bin_index, at_most=True)
        taken = sum(tokens for key, tokens in docs[cell] if key < threshold)
        carry = need - taken
        thresholds[cell] = threshold
    return thresholds


@dataclass(frozen=True)
class CellRate:
    """What sampling needs to know about a cell: every document gets `base_repeats` copies, plus one if its
    key is under `threshold`."""

    base_repeats: int
    threshold: int


@dataclass(frozen=True)
class RepeatKernel:
    """Batch kernel: from `lang`, `time_bucket`, `mix_key`, adds `repeats` (copies of the document)."""

    rates: dict[tuple[str, str], CellRate]

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        langs = batch.column("lang").to_pylist()
        buckets = batch.column("time_bucket").to_pylist()
        keys = batch.column("mix_key").to_pylist()
        out = []
        for lang, bucket, key in zip(langs, buckets, keys, strict=True):
            rate = self.rates.get((lang, bucket))
            out.append(0 if rate is None else repeat_count(key, rate.base_repeats, rate.threshold))
        return set_columns(batch, {"repeats": pa.array(out, pa.int32())})

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.rates.items())))


@dataclass(frozen=True)
class MixOrderKernel:
    """Batch kernel: from `id` and `repeat_index`, adds `mix_order`."""

    seed: int

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ids = batch.column("id").to_pylist()
        repeats = batch.column("repeat_index").to_pylist()
        order = [mix_order(self.seed, i, r) for i, r in zip(ids, repeats, strict=True)]
        return set_columns(batch, {"mix_order": pa.array(order, pa.int64())})
