"""Verification of LSH candidate pairs: a pair becomes an edge only when its estimated Jaccard similarity
reaches the threshold.

Banding finds pairs that share a band, which pairs well below the threshold also do now and then (at 25 x 5
bands, a pair at Jaccard 0.28 is a candidate with probability ~4%; a corpus of template pages has thousands).
Connected components over unverified candidates chain such pairs into clusters of unrelated pages, so every
candidate is checked against the signatures before it counts.

Each document keeps a *sketch*: the low 8 bits of each of its MinHash values (b-bit minwise hashing, Li and
König, "b-Bit Minwise Hashing", WWW 2010). Two sketches agree at a position when the full values agree, or
by chance with probability 2^-8 otherwise, so P(agree) = J + (1 - J) 2^-8 and the estimate below corrects
for it. A 128-value sketch is 128 bytes, a quarter of the full signature, and the estimate's standard error
at J = 0.5 grows from 0.0442 to 0.0443 (the variance of P(agree) times 1 / (1 - 2^-8)^2).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SKETCH_BITS = 8
_CHANCE = 2.0**-SKETCH_BITS


def sketches(signatures: np.ndarray) -> pa.Array:
    """Binary sketch of each signature row (uint64[docs, num_perm] -> num_perm bytes per document)."""
    low = np.ascontiguousarray(signatures.astype(np.uint8, copy=False))  # keeps the low 8 bits
    width = low.shape[1]
    offsets = np.arange(low.shape[0] + 1, dtype=np.int32) * width
    return pa.BinaryArray.from_buffers(
        pa.binary(), low.shape[0], [None, pa.py_buffer(offsets), pa.py_buffer(low.tobytes())]
    )


def sketch_matrix(values: pa.Array | pa.ChunkedArray, num_perm: int) -> np.ndarray:
    """uint8[rows, num_perm] of a binary sketch column (every value num_perm bytes; a zero-copy view of a
    single chunk)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.binary())
    if values.null_count:
        raise ValueError("a sketch is null: every document of a candidate pair needs its sketch")
    _, offset_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32)[values.offset : values.offset + len(values) + 1]
    if np.any(np.diff(offsets) != num_perm):
        raise ValueError(f"sketches must hold {num_perm} values of {SKETCH_BITS} bits each")
    if len(values) == 0:
        return np.zeros((0, num_perm), np.uint8)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return data.reshape(len(values), num_perm)


def estimated_similarity(left: pa.Array, right: pa.Array, num_perm: int) -> np.ndarray:
    """Estimated Jaccard similarity (float64, 0..1) of each pair of sketches `left[i]`, `right[i]`."""
    a, b = sketch_matrix(left, num_perm), sketch_matrix(right, num_perm)
    return _similarity((a == b).mean(axis=1) if len(a) else np.zeros(0))


def _similarity(agree: np.ndarray) -> np.ndarray:
    """Jaccard from the share of agreeing sketch positions: P(agree) = J + (1 - J) 2^-bits, solved for J."""
    return np.clip((agree - _CHANCE) / (1.0 - _CHANCE), 0.0, 1.0)


def verify_batch(batch: pa.RecordBatch, num_perm: int, threshold: float) -> pa.RecordBatch:
    """The rows of a (src, dst, src_sketch, dst_sketch) batch whose estimated similarity reaches `threshold`,
    as (src, dst, similarity). A pure kernel: the Spark job maps it over the candidate pairs."""
    similarity = estimated_similarity(batch.column("src_sketch"), batch.column("dst_sketch"), num_perm)
    keep = pa.array(similarity >= threshold)
    return pa.RecordBatch.from_arrays(
        [
            pc.filter(batch.column("src"), keep),
            pc.filter(batch.column("dst"), keep),
            pc.filter(pa.array(similarity, pa.float64()), keep),
        ],
        names=["src", "dst", "similarity"],
    )


VERIFIED_SCHEMA = pa.schema(
    [pa.field("src", pa.int64()), pa.field("dst", pa.int64()), pa.field("similarity", pa.float64())]
)


def row_similarity(
    matrix: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 65_536
) -> np.ndarray:
    """Estimated Jaccard similarity (float64) of sketch rows `matrix[left[i]]` and `matrix[right[i]]` of a
    uint8[texts, num_perm] sketch matrix (the same estimate as `estimated_similarity`), in chunks of pairs."""
    out = np.empty(len(left), dtype=np.float64)
    for lo in range(0, len(left), chunk):
        a, b = matrix[left[lo : lo + chunk]], matrix[right[lo : lo + chunk]]
        out[lo : lo + chunk] = (a == b).mean(axis=1) if len(a) else 0.0
    return _similarity(out)
