"""The audit's deterministic sample: a document is in a sample of fraction f when a hash of its id (and a
seed) falls below f, so a sample is the same on any engine, partitioning or rerun."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pyarrow as pa

IN_SAMPLE = "in_sample"


def sample_key(doc_id: str, seed: int = 0) -> float:
    """A document's position in [0, 1) for the deterministic sample: the first 8 bytes of BLAKE2b(seed, id)
    over 2^64. Depends on the id and the seed only, so a sample is the same on any engine or partitioning.
    ValueError for a seed outside 0..2^64-1 (the key of the hash is its 8 bytes)."""
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed {seed}: expected 0 to {2**64 - 1}")
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8, key=seed.to_bytes(8, "little")).digest()
    return int.from_bytes(digest, "little") / 2.0**64


def check_fraction(fraction: float) -> float:
    """`fraction` if it is in (0, 1]; else ValueError naming --sample."""
    real = isinstance(fraction, int | float | np.floating | np.integer) and not isinstance(fraction, bool)
    if not (real and 0 < fraction <= 1) or math.isnan(fraction):
        raise ValueError(f"--sample {fraction!r}: expected a fraction in (0, 1]")
    return float(fraction)


def in_sample_batch(batch: pa.RecordBatch, fraction: float, seed: int = 0) -> pa.RecordBatch:
    """`batch` with a boolean `in_sample` column: sample_key(id) < fraction (null ids are never sampled)."""
    check_fraction(fraction)
    ids = batch.column("id").to_pylist()
    mask = [doc_id is not None and sample_key(doc_id, seed) < fraction for doc_id in ids]
    return batch.append_column(pa.field(IN_SAMPLE, pa.bool_()), pa.array(mask, pa.bool_()))
