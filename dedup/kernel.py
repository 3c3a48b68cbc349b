"""The per-document dedup kernel: a pure function over an Arrow batch that adds everything the shuffle
needs (band keys, URL key, verification sketch, exact-text hash, dates, length), so the Spark job only groups,
joins and compares sketches."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import TIMESTAMP, as_text
from dedup.lsh import LshConfig, host_keys, url_keys
from dedup.minhash import SignatureConfig, band_keys, batch_signatures
from dedup.verify import sketches
from dedup.versions import DUMP_DATE, LENGTH, SEEN_DATE, TEXT_HASH, VERSION_DATE, date_columns

BAND_KEYS = "_band_keys"
URL_KEY = "_url_key"
HOST_KEY = "_host_key"
SKETCH = "_sketch"
N_SHINGLES = "_n_shingles"
# Columns added by the kernel, in order; all are dropped before the stage's output is written.
KERNEL_FIELDS: list[pa.Field] = [
    pa.field(BAND_KEYS, pa.list_(pa.int64())),
    pa.field(URL_KEY, pa.int64()),
    pa.field(HOST_KEY, pa.int64()),
    pa.field(SKETCH, pa.binary()),
    pa.field(TEXT_HASH, pa.int64()),
    pa.field(N_SHINGLES, pa.int32()),
    pa.field(LENGTH, pa.int64()),
    pa.field(VERSION_DATE, TIMESTAMP),
    pa.field(SEEN_DATE, TIMESTAMP),
    pa.field(DUMP_DATE, TIMESTAMP),
]


@dataclass(frozen=True)
class DedupConfig:
    """Signature, banding and verification settings of one dedup run."""

    signature: SignatureConfig = field(default_factory=SignatureConfig)
    lsh: LshConfig = field(default_factory=LshConfig)

    @property
    def bands_rows(self) -> tuple[int, int]:
        return self.lsh.resolve(self.signature.num_perm)


def kernel_fields(config: DedupConfig) -> list[pa.Field]:
    """KERNEL_FIELDS with the signature settings (`SignatureConfig.metadata`, the MinHash scheme first) as
    the metadata of the columns made from signatures: band keys and sketches of different schemes never
    meet unnoticed."""
    meta = config.signature.metadata
    return [f.with_metadata(meta) if f.name in (BAND_KEYS, SKETCH) else f for f in KERNEL_FIELDS]


def _exact_text_hashes(
    hashes: np.ndarray, n_shingles: np.ndarray, texts: pa.Array | pa.ChunkedArray, batch: pa.RecordBatch
) -> np.ndarray:
    """The documents' exact-text hashes (int64), where a text without shingles is matched only by the same
    text as written, less surrounding whitespace, and a null text by nothing: they all normalise to nothing,
    and one hash joined every empty, symbol-only and null document into one cluster of "exact duplicates".
    A null text's hash is made from its document's id: ValueError where it has none (a row's place in the
    batch would make the hash depend on how the input was split)."""
    empty = np.flatnonzero(n_shingles == 0)
    if not len(empty):
        return hashes
    out = hashes.copy()
    values = texts.take(pa.array(empty)).to_pylist()
    has_ids = "id" in batch.schema.names
    ids = batch.column("id").take(pa.array(empty)).to_pylist() if has_ids else [None] * len(empty)
    for row, text, doc in zip(empty, values, ids, strict=True):
        if text is None and (doc is None or doc == ""):
            raise ValueError(
                f"dedup kernel: row {row} has neither a text nor an id; a document without text needs an id"
            )
        written = f"text\x00{text.strip()}" if text is not None else f"null\x00{doc}"
        out[row] = int.from_bytes(
            hashlib.blake2b(written.encode("utf-8", "replace"), digest_size=8).digest(), "big", signed=True
        )
    return out


def dedup_kernel(config: DedupConfig) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """A pure batch kernel adding KERNEL_FIELDS (`kernel_fields(config)`, with the scheme as metadata): one
    key per LSH band (none for a document without shingles, which only its exact text can match), the URL's
    resource and host keys when `lsh.url_key` (else null; null too without shingles), and the sketch that verifies candidate pairs."""
    bands, rows = config.bands_rows
    fields = kernel_fields(config)

    def kernel(batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        texts = as_text(batch.column("text")) if "text" in batch.schema.names else pa.nulls(n, pa.string())
        sigs = batch_signatures(texts, config.signature)
        keys = band_keys(sigs.signatures, bands, rows)  # int64[n, bands]
        per_doc = np.where(sigs.n_shingles == 0, 0, bands)
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(per_doc, out=offsets[1:])
        values = keys[per_doc > 0].reshape(-1)
        band_lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, pa.int64()))
        if config.lsh.url_key and "url" in batch.schema.names:
            # A document without shingles (empty, or only symbols) has the one text hash every such document
            # shares: a URL edge through it would join every resource with an empty capture. It has no key.
            has_shingles = pa.array(sigs.n_shingles > 0)
            none = pa.scalar(None, pa.int64())
            url = pc.if_else(has_shingles, url_keys(batch.column("url")), none)
            host = pc.if_else(has_shingles, host_keys(batch.column("url")), none)
        else:
            url = host = pa.nulls(n, pa.int64())
        length = pc.fill_null(pc.utf8_length(texts.cast(pa.string())), 0).cast(pa.int64())
        added = {
            BAND_KEYS: band_lists,
            URL_KEY: url,
            HOST_KEY: host,
            SKETCH: sketches(sigs.signatures),
            TEXT_HASH: pa.array(
                _exact_text_hashes(sigs.text_hashes, sigs.n_shingles, texts, batch), pa.int64()
            ),
            N_SHINGLES: pa.array(sigs.n_shingles.astype(np.int32), pa.int32()),
            LENGTH: length,
            **date_columns(batch),
        }
        arrays = [batch.column(i) for i in range(batch.num_columns)]
        schema_fields = list(batch.schema)
        names = [f.name for f in schema_fields]
        for f in fields:
            if f.name in names:
                arrays[names.index(f.name)] = added[f.name]
                schema_fields[names.index(f.name)] = f
            else:
                names.append(f.name)
                schema_fields.append(f)
                arrays.append(added[f.name])
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(schema_fields))

    return kernel
