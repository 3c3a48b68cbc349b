"""64-bit hashes of tokens, word (or character) n-gram shingles and whole documents.

Hashes are fixed functions of the bytes (FNV-1a 64 then the splitmix64 finaliser; shingles fold their token
hashes), never Python's salted `hash`, so signatures are bit-identical across processes, runs and machines,
which the cross-dump index relies on. Each hash has a scalar reference (`token_hash`, `shingle_hash`) used by
the tests and as datasketch's `hashfunc`, and batched NumPy versions (plus numba ones when numba is
installed) that must agree with it bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

MASK64 = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
FOLD = 0x9E3779B97F4A7C15  # odd: multiplication by it is a bijection mod 2^64
_U = np.uint64

try:  # numba is optional: the NumPy path gives the same bits, slower.
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    numba = None
    HAVE_NUMBA = False


def mix64(x: int) -> int:
    """splitmix64's finaliser (a bijection of 64-bit ints with full avalanche)."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def token_hash(token: str) -> int:
    """64-bit hash of one token's UTF-8 bytes (reference implementation)."""
    h = FNV_OFFSET
    for byte in token.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & MASK64
    return mix64(h)


def shingle_hash(shingle: Sequence[str] | str) -> int:
    """64-bit hash of one shingle: a tuple of tokens, or the tokens joined by single spaces (reference)."""
    parts = shingle.split(" ") if isinstance(shingle, str) else shingle
    acc = len(parts)
    for token in parts:
        acc = (acc * FOLD + token_hash(token)) & MASK64
    return mix64(acc)


def shingles(tokens: Sequence[str], n: int) -> list[str]:
    """Word n-grams of `tokens` joined by spaces; a document shorter than n words is one shingle."""
    if not tokens:
        return []
    if len(tokens) < n:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def _mix64_np(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _U(30))
    x *= _U(0xBF58476D1CE4E5B9)
    x ^= x >> _U(27)
    x *= _U(0x94D049BB133111EB)
    return x ^ (x >> _U(31))


def _string_buffers(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(offsets int64, data uint8) of a string array without copying the text."""
    if strings.offset or strings.null_count:
        strings = pc.fill_null(strings, "")
        strings = pa.concat_arrays([strings])  # normalises the offset to 0
    buffers = strings.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(strings) + 1).astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    if strings.offset:
        offsets = offsets[strings.offset :]
    return offsets, data


def token_hashes(tokens: pa.Array, engine: str = "auto") -> np.ndarray:
    """token_hash of every string of `tokens` (uint64)."""
    if pa.types.is_large_string(tokens.type):
        tokens = tokens.cast(pa.string())
    if len(tokens) == 0:
        return np.zeros(0, np.uint64)
    if use_numba(engine):
        offsets, data = _string_buffers(tokens)
        return _token_hashes_nb(data, offsets)
    # NumPy: hash each distinct token once, one byte position at a time, longest tokens first.
    encoded = pc.dictionary_encode(tokens)
    unique = encoded.dictionary
    offsets, data = _string_buffers(unique)
    starts, lengths = offsets[:-1], np.diff(offsets)
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    h = np.full(len(unique), FNV_OFFSET, dtype=np.uint64)
    for j in range(int(lengths[0]) if len(lengths) else 0):
        active = int(np.count_nonzero(lengths > j))
        h[:active] ^= data[starts[:active] + j].astype(np.uint64)
        h[:active] *= _U(FNV_PRIME)
    by_unique = np.empty_like(h)
    by_unique[order] = _mix64_np(h)
    return by_unique[encoded.indices.to_numpy(zero_copy_only=False)]


def shingle_hashes(
    tok_hashes: np.ndarray, doc_offsets: np.ndarray, n: int, engine: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of documents whose tokens are `tok_hashes[doc_offsets[d]:doc_offsets[d+1]]`.
    Returns (hashes uint64, per-document offsets into them, int64)."""
    doc_offsets = np.asarray(doc_offsets, dtype=np.int64)
    counts = np.diff(doc_offsets)
    per_doc = np.where(counts == 0, 0, np.maximum(counts - n + 1, 1))
    sh_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(per_doc, out=sh_offsets[1:])
    total = int(sh_offsets[-1])
    if total == 0:
        return np.zeros(0, np.uint64), sh_offsets
    if use_numba(engine):
        return _shingle_hashes_nb(tok_hashes, doc_offsets, sh_offsets, n), sh_offsets
    doc_of = np.repeat(np.arange(len(counts)), per_doc)
    start = doc_offsets[doc_of] + (np.arange(total) - sh_offsets[doc_of])
    width = np.minimum(counts[doc_of], n).astype(np.uint64)
    acc = width.copy()
    last = len(tok_hashes) - 1
    for k in range(n):
        valid = k < width
        step = acc * _U(FOLD) + tok_hashes[np.minimum(start + k, last)]
        acc = np.where(valid, step, acc)
    return _mix64_np(acc), sh_offsets


def document_hashes(tok_hashes: np.ndarray, doc_offsets: np.ndarray, engine: str = "auto") -> np.ndarray:
    """An order-sensitive 64-bit hash of each document's token sequence (exact duplicates after
    normalisation share it). Documents without tokens all hash to mix64(0)."""
    doc_offsets = np.asarray(doc_offsets, dtype=np.int64)
    if use_numba(engine):
        return _document_hashes_nb(tok_hashes, doc_offsets)
    counts = np.diff(doc_offsets)
    out = np.zeros(len(counts), dtype=np.uint64)
    if len(tok_hashes):
        local = np.arange(len(tok_hashes), dtype=np.int64) - np.repeat(doc_offsets[:-1], counts)
        terms = _mix64_np(tok_hashes + local.astype(np.uint64) * _U(FOLD))
        nonempty = counts > 0
        sums = np.add.reduceat(terms, doc_offsets[:-1][nonempty])
        out[nonempty] = sums
    return _mix64_np(out + counts.astype(np.uint64))


def use_numba(engine: str) -> bool:
    """Whether `engine` (auto | numba | numpy: the same bits either way) runs the numba kernels here; raises
    ValueError for numba where it is not installed."""
    if engine == "numba" and not HAVE_NUMBA:
        raise ValueError("engine 'numba': numba is not installed (pip install numba)")
    return HAVE_NUMBA and engine in ("auto", "numba")


if HAVE_NUMBA:

    @numba.njit(cache=True, nogil=True)
    def _mix64_nb(x):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))

    @numba.njit(cache=True, nogil=True)
    def _token_hashes_nb(data, offsets):
        out = np.empty(len(offsets) - 1, dtype=np.uint64)
        for t in range(len(offsets) - 1):
            h = np.uint64(FNV_OFFSET)
            for j in range(offsets[t], offsets[t + 1]):
                h = (h ^ np.uint64(data[j])) * np.uint64(FNV_PRIME)
            out[t] = _mix64_nb(h)
        return out

    @numba.njit(cache=True, nogil=True)
    def _document_hashes_nb(tok, doc_offsets):
        # the NumPy formula of document_hashes, one document at a time (uint64 sums wrap the same way)
        out = np.empty(len(doc_offsets) - 1, dtype=np.uint64)
        for d in range(len(doc_offsets) - 1):
            total = np.uint64(0)
            for i in range(doc_offsets[d], doc_offsets[d + 1]):
                total += _mix64_nb(tok[i] + np.uint64(i - doc_offsets[d]) * np.uint64(FOLD))
            out[d] = _mix64_nb(total + np.uint64(doc_offsets[d + 1] - doc_offsets[d]))
        return out

    @numba.njit(cache=True, nogil=True)
    def _shingle_hashes_nb(tok, doc_offsets, sh_offsets, n):
        out = np.empty(sh_offsets[-1], dtype=np.uint64)
        for d in range(len(doc_offsets) - 1):
            first, count = doc_offsets[d], doc_offsets[d + 1] - doc_offsets[d]
            width = min(count, n)
            for s in range(sh_offsets[d + 1] - sh_offsets[d]):
                acc = np.uint64(width)
                for k in range(width):
                    acc = acc * np.uint64(FOLD) + tok[first + s + k]
                out[sh_offsets[d] + s] = _mix64_nb(acc)
        return out
