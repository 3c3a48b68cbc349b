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

Two texts that a template-heavy host serves both of (dedup.site_templates) need more: `same_host_threshold`
(0.9 by default). A page's versions share its URL and are joined by it (except a hub text's, dedup.lsh);
elsewhere on its own site, a page is the same page only as a near-copy (another path to it, a print view). On
the real ClueWeb09 shop pages of ../shared/data, 29 pages of 27 products of one shop pair at a median of 0.55
and up to 0.88 between products of one series (`bench/dedup_same_host.py`), and at the plain threshold they
were one cluster, 28 of them "stale". The hosts of a text are all the hosts its documents name (the smallest
MAX_TEXT_HOSTS), so a scraper's exact copy of a page does not free it from its site. Texts of different hosts
(a mirror's copy of a page, a syndicated article), texts without URLs, and any two texts of a host whose
template does not make its pages alike keep the plain threshold, save texts that carry a template-heavy
host's template from elsewhere (dedup.template_carriers: a copy another site wraps in its own markup keeps it
with its best match among that host's texts only).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.lsh import unique_pairs

SKETCH_BITS = 8
_CHANCE = 2.0**-SKETCH_BITS
# Hosts kept per text for the same-host rule: a text that more hosts serve (a licence, a cookie wall) is
# compared by its smallest MAX_TEXT_HOSTS host keys. A template-heavy host beyond them counts as not serving
# it: the text then carries that host (dedup.template_carriers), and keeps the plain threshold only with its
# best match there.
MAX_TEXT_HOSTS = 16


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
    as (src, dst, similarity). A pure kernel: the Spark job maps it over the candidate pairs where no host is
    template-heavy (else jobs.templates_spark.carrier_edges decides)."""
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


def text_host_sets(
    n_texts: int, text_of_row: np.ndarray, hosts: np.ndarray, cap: int = MAX_TEXT_HOSTS
) -> pa.ListArray:
    """The hosts that serve each of `n_texts` texts: its distinct host keys, ascending, the smallest `cap` of
    them. `text_of_row[i]` (0..n_texts-1) is the text of a row with host key `hosts[i]`; rows without a host
    are left out by the caller."""
    text, host = unique_pairs(text_of_row, hosts)
    within = np.arange(len(text)) - np.searchsorted(text, text)  # a host's place in its text's set
    return owned_lists(n_texts, text[within < cap], host[within < cap])


def keep_hosts(sets: pa.Array | pa.ChunkedArray, hosts: np.ndarray) -> pa.ListArray:
    """`sets` (list<int64> host sets; null is empty) with only the hosts in `hosts` (sorted int64) left."""
    owner, values = explode_sets(sets)
    kept = np.isin(values, hosts)
    return owned_lists(len(sets), owner[kept], values[kept])


def explode_sets(sets: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(the row of each value, the values as int64) of a list<int64> array; null lists are empty."""
    sets = one_chunk(sets)
    lengths = pc.fill_null(pc.list_value_length(sets), 0).to_numpy(zero_copy_only=False)
    values = pc.list_flatten(sets).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return np.repeat(np.arange(len(sets)), lengths), values


def owned_lists(n_rows: int, owner: np.ndarray, values: np.ndarray) -> pa.ListArray:
    """list<int64> of `n_rows` rows, row i holding the `values` whose `owner` is i, in their order
    (`owner` ascending)."""
    offsets = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(owner, minlength=n_rows), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.int64()))


def shared_host_keys(sets: pa.Array | pa.ChunkedArray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The hosts (sorted, distinct int64) that some pair's two host sets (`sets[left[i]]`, `sets[right[i]]`:
    list<int64>, each without repeats; null is empty) have in common."""
    sets = one_chunk(sets)
    lengths = pc.fill_null(pc.list_value_length(sets), 0).to_numpy(zero_copy_only=False)
    values = pc.list_flatten(sets).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    first = np.zeros(len(lengths), dtype=np.int64)  # each set's smallest host, 0 where it is empty
    first[lengths > 0] = values[starts[lengths > 0]]
    n_left, n_right = lengths[left], lengths[right]
    shared = (n_left == 1) & (n_right == 1) & (first[left] == first[right])  # nearly every text: one host
    met = [first[left][shared]]
    several = np.flatnonzero((n_left > 0) & (n_right > 0) & ((n_left > 1) | (n_right > 1)))
    if len(several):
        rows = np.concatenate([np.repeat(several, n_left[several]), np.repeat(several, n_right[several])])
        hosts = np.concatenate(
            [pc.list_flatten(sets.take(pa.array(end[several]))).to_numpy() for end in (left, right)]
        )
        order = np.lexsort((hosts, rows))
        rows, hosts = rows[order], hosts[order]
        # a (pair, host) met twice was in both sets, since neither set repeats a host
        twice = (rows[1:] == rows[:-1]) & (hosts[1:] == hosts[:-1])
        met.append(hosts[1:][twice])
    return np.unique(np.concatenate(met))


def one_chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`values` as one array (a ChunkedArray's chunks combined)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


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
