"""The per-document dedup kernel: a pure function over an Arrow batch that adds everything the shuffle
needs (bucket keys, exact-text hash, dates, length), so the Spark job only groups and joins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import TIMESTAMP
from dedup.lsh import LshConfig, empty_text_keys, url_keys
from dedup.minhash import SignatureConfig, band_keys, batch_signatures
from dedup.versions import DUMP_DATE, LENGTH, SEEN_DATE, TEXT_HASH, VERSION_DATE, date_columns

BUCKET_KEYS = "_bucket_keys"
N_SHINGLES = "_n_shingles"
# Columns added by the kernel, in order; all are dropped before the stage's output is written.
KERNEL_FIELDS: list[pa.Field] = [
    pa.field(BUCKET_KEYS, pa.list_(pa.int64())),
    pa.field(TEXT_HASH, pa.int64()),
    pa.field(N_SHINGLES, pa.int32()),
    pa.field(LENGTH, pa.int64()),
    pa.field(VERSION_DATE, TIMESTAMP),
    pa.field(SEEN_DATE, TIMESTAMP),
    pa.field(DUMP_DATE, TIMESTAMP),
]


@dataclass(frozen=True)
class DedupConfig:
    """Signature and banding settings of one dedup run."""

    signature: SignatureConfig = field(default_factory=SignatureConfig)
    lsh: LshConfig = field(default_factory=LshConfig)

    @property
    def bands_rows(self) -> tuple[int, int]:
        return self.lsh.resolve(self.signature.num_perm)


def dedup_kernel(config: DedupConfig) -> Callable[[pa.RecordBatch], pa.RecordBatch]:
    """A pure batch kernel adding KERNEL_FIELDS: one bucket key per LSH band (none for a document without
    shingles, which gets its exact-text key instead), plus the URL's resource key when `lsh.url_key`."""
    bands, rows = config.bands_rows

    def kernel(batch: pa.RecordBatch) -> pa.RecordBatch:
        n = batch.num_rows
        texts = batch.column("text") if "text" in batch.schema.names else pa.nulls(n, pa.string())
        sigs = batch_signatures(texts, config.signature)
        keys = band_keys(sigs.signatures, bands, rows)  # int64[n, bands]
        empty = sigs.n_shingles == 0
        per_doc = np.where(empty, 1, bands)
        flat_band = keys.reshape(-1)
        # Documents with shingles: their band keys; without: one exact-text key.
        values = np.where(
            np.repeat(empty, bands), np.repeat(empty_text_keys(sigs.text_hashes), bands), flat_band
        )
        take = np.ones(n * bands, dtype=bool)
        take[(np.repeat(empty, bands)) & (np.tile(np.arange(bands), n) > 0)] = False
        values = values[take]
        if config.lsh.url_key and "url" in batch.schema.names:
            urls = url_keys(batch.column("url"))
            has_url = urls.is_valid().to_numpy(zero_copy_only=False)
            offsets = np.zeros(n + 1, np.int64)
            np.cumsum(per_doc, out=offsets[1:])
            url_values = pc.fill_null(urls, 0).to_numpy()
            insert_at = offsets[1:][has_url]
            values = np.insert(values, insert_at, url_values[has_url])
            per_doc = per_doc + has_url
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(per_doc, out=offsets[1:])
        bucket_keys = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, pa.int64()))
        length = pc.fill_null(pc.utf8_length(texts.cast(pa.string())), 0).cast(pa.int64())
        dates = date_columns(batch)
        added = {
            BUCKET_KEYS: bucket_keys,
            TEXT_HASH: pa.array(sigs.text_hashes, pa.int64()),
            N_SHINGLES: pa.array(sigs.n_shingles.astype(np.int32), pa.int32()),
            LENGTH: length,
            **dates,
        }
        arrays = [batch.column(i) for i in range(batch.num_columns)]
        names = list(batch.schema.names)
        for f in KERNEL_FIELDS:
            if f.name in names:
                arrays[names.index(f.name)] = added[f.name]
            else:
                names.append(f.name)
                arrays.append(added[f.name])
        return pa.RecordBatch.from_arrays(arrays, names=names)

    return kernel
