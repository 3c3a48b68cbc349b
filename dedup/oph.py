"""One-permutation hashing with optimal densification: MinHash signatures in O(shingles + k) per document.

Classic MinHash (datasketch's scheme, dedup.minhash) applies k hash functions to every shingle: O(shingles x
k). One-permutation hashing (Li, Owen and Zhang, "One Permutation Hashing", NIPS 2012) hashes each shingle
once: the hash picks one of k bins and the shingle's value competes for that bin's minimum. Bins that no
shingle reached are filled by optimal densification (Shrivastava, "Optimal Densification for Fast and
Accurate Minwise Hashing", ICML 2017): an empty bin i probes bins j = g(i, 1), g(i, 2), ... (a hash of the
bin and the attempt, the same for every document) and copies the first non-empty one. Two documents then
agree at a bin with probability equal to their Jaccard similarity, as with classic MinHash, and the
estimator's variance is no larger for documents of more shingles than bins (bench/minhash.py measures it on
the Wikipedia versions against classic MinHash at the same k).

Hashing, bit for bit: a shingle's hash is dedup.shingles.shingle_hash; its OPH hash is
`x = mix64(shingle_hash ^ salt(seed))`, its bin `((x >> 32) * k) >> 32` and its value `x & (2^32 - 1)`. The
probe of attempt t for bin i is `((mix64(probe_salt(seed) ^ (i << 32 | t)) >> 32) * k) >> 32`. A document
without shingles gets MAX_HASH in every bin. `oph_reference` is the plain-Python statement of this; the
numba and NumPy kernels must agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from dedup.shingles import FOLD, HAVE_NUMBA, MASK64, _mix64_np, mix64

MAX_HASH = (1 << 32) - 1
_U = np.uint64


def salts(seed: int) -> tuple[int, int]:
    """(value salt, probe salt) of a seed: fixed functions of it, so signatures are reproducible."""
    base = mix64((seed * FOLD + 0x0F0E_0A11) & MASK64)
    return base, mix64(base ^ 0x9E37_79B9_7F4A_7C15)


def _bin(x: int, k: int) -> int:
    return ((x >> 32) * k) >> 32


def oph_reference(shingle_hashes: Iterable[int], k: int, seed: int = 1) -> list[int]:
    """The OPH signature (k values < 2^32) of one document's shingle hashes (plain Python, for tests)."""
    value_salt, probe_salt = salts(seed)
    bins: list[int | None] = [None] * k
    for h in shingle_hashes:
        x = mix64(h ^ value_salt)
        b, v = _bin(x, k), x & MAX_HASH
        current = bins[b]
        if current is None or v < current:
            bins[b] = v
    if all(v is None for v in bins):
        return [MAX_HASH] * k
    out = []
    for i, v in enumerate(bins):
        attempt = 0
        while v is None:
            attempt += 1
            v = bins[_bin(mix64(probe_salt ^ ((i << 32) | attempt)), k)]
        out.append(v)
    return out


def oph_numpy(hashes: np.ndarray, offsets: np.ndarray, k: int, seed: int = 1) -> np.ndarray:
    """OPH signatures (uint64[docs, k]) of documents whose shingle hashes are `hashes[offsets[d]:offsets[d+1]]`
    (NumPy: every shingle at once, then densification one attempt at a time for all empty bins)."""
    value_salt, probe_salt = salts(seed)
    docs = len(offsets) - 1
    empty = _U(np.iinfo(np.uint64).max)
    out = np.full((docs, k), empty, dtype=np.uint64)
    counts = np.diff(offsets)
    if len(hashes):
        x = _mix64_np(np.asarray(hashes, np.uint64) ^ _U(value_salt))
        bins = ((x >> _U(32)) * _U(k)) >> _U(32)
        doc_of = np.repeat(np.arange(docs, dtype=np.int64), counts)
        np.minimum.at(out.reshape(-1), doc_of * k + bins.astype(np.int64), x & _U(MAX_HASH))
    out[counts == 0] = MAX_HASH
    rows, cols = np.nonzero(out == empty)
    filled = out.copy()
    attempt = 0
    while len(rows):
        attempt += 1
        probe = _mix64_np(_U(probe_salt) ^ ((cols.astype(np.uint64) << _U(32)) | _U(attempt)))
        source = out[rows, (((probe >> _U(32)) * _U(k)) >> _U(32)).astype(np.int64)]
        hit = source != empty
        filled[rows[hit], cols[hit]] = source[hit]
        rows, cols = rows[~hit], cols[~hit]
    return filled


if HAVE_NUMBA:
    import numba

    from dedup.shingles import _mix64_nb

    @numba.njit(cache=True, nogil=True)
    def oph_from_tokens_nb(tok, doc_offsets, n, k, value_salt, probe_salt, out):
        """OPH signatures into `out` (uint64[docs, k]) straight from token hashes: each document's word
        n-gram shingle hashes (dedup.shingles.shingle_hashes) are made and binned in one pass, never
        stored. Returns the shingles of each document."""
        docs = len(doc_offsets) - 1
        counts = np.zeros(docs, dtype=np.int64)
        empty = np.uint64(0xFFFFFFFFFFFFFFFF)
        mask = np.uint64(MAX_HASH)
        fold = np.uint64(FOLD)
        kk = np.uint64(k)
        for d in range(docs):
            first, count = doc_offsets[d], doc_offsets[d + 1] - doc_offsets[d]
            row = out[d]
            if count == 0:
                row[:] = mask
                continue
            row[:] = empty
            width = min(count, n)
            shingles = max(count - n + 1, 1)
            counts[d] = shingles
            # The fold of dedup.shingles.shingle_hashes, rolled along: drop the oldest token, add the next.
            top = np.uint64(1)
            for _ in range(width - 1):
                top *= fold
            lead = np.uint64(width) * top * fold
            acc = np.uint64(width)
            for j in range(width):
                acc = acc * fold + tok[first + j]
            for s in range(shingles):
                if s > 0:
                    acc = (acc - lead - tok[first + s - 1] * top) * fold + lead + tok[first + s + width - 1]
                x = _mix64_nb(_mix64_nb(acc) ^ value_salt)
                b = ((x >> np.uint64(32)) * kk) >> np.uint64(32)
                v = x & mask
                current = row[b]
                # a select, not a branch: whether a shingle lowers its bin is a coin toss (a third to two
                # thirds of them do on pages of a few hundred words), and a mispredicted branch costs more
                # than the store (bench/minhash.py)
                row[b] = v if v < current else current
            _densify_nb(row, k, probe_salt, empty)
        return counts

    @numba.njit(cache=True, nogil=True)
    def _densify_nb(row, k, probe_salt, empty):
        kk = np.uint64(k)
        missing = 0
        for i in range(k):
            if row[i] == empty:
                missing += 1
        if missing == 0:
            return
        source = row.copy()
        for i in range(k):
            if source[i] != empty:
                continue
            attempt = np.uint64(0)
            v = empty
            while v == empty:
                attempt += np.uint64(1)
                probe = _mix64_nb(probe_salt ^ ((np.uint64(i) << np.uint64(32)) | attempt))
                v = source[((probe >> np.uint64(32)) * kk) >> np.uint64(32)]
            row[i] = v
