"""64-bit hashes of tokens, word (or character) n-gram shingles and whole documents.

Hashes are fixed functions of the bytes (FNV-1a 64 then the splitmix64 finaliser; shingles fold their token
hashes), never Python's salted `hash`, so signatures are bit-identical across processes, runs and machines,
which the cross-dump index relies on. Each hash has a scalar reference (`token_hash`, `shingle_hash`) used by
the tests and as datasketch's `hashfunc`, and batched NumPy versions (plus numba ones when numba is
installed) that must agree with it bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

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
    if _use_numba(engine):
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
    if _use_numba(engine):
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
    if _use_numba(engine):
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


def _use_numba(engine: str) -> bool:
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


# --- numba: normalise, split and hash tokens straight from the UTF-8 bytes --------------------------------
# After NFKC, the rest of the spec (simple lower-casing, punctuation/symbols as separators, whitespace split)
# is a per-code-point map, so one pass over the bytes with two lookup tables does it without building token
# strings. The tables come from Python's unicodedata, the same source as the reference normaliser.
SEPARATOR, NO_SPACE_SCRIPT = 1, 2


@lru_cache(maxsize=1)
def codepoint_tables() -> tuple[np.ndarray, np.ndarray]:
    """(flags uint8[0x110000]: SEPARATOR | NO_SPACE_SCRIPT, lower int32[0x110000]: simple lower case).
    Built once per process (~0.1 s). Above U+1FFFF there is no space, punctuation, symbol or cased letter
    (planes 2-3 are CJK ideographs, 14 format tags, 15-16 private use; a test checks it), so the loop stops
    there."""
    import unicodedata

    from dedup.normalize import NO_SPACE_RANGES

    flags = np.zeros(0x110000, dtype=np.uint8)
    lower = np.arange(0x110000, dtype=np.int32)
    for cp in range(0x20000):
        c = chr(cp)
        if c.isspace() or unicodedata.category(c)[0] in "PS":
            flags[cp] = SEPARATOR
        else:
            low = c.lower()
            if low != c and low:
                lower[cp] = ord(low[0])
    for first, last in NO_SPACE_RANGES:
        span = flags[first : last + 1]
        span[span == 0] = NO_SPACE_SCRIPT
    return flags, lower


def document_tokens_numba(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(token hashes uint64, per-document token offsets int64) of `texts` by the normalise/tokenise spec of
    dedup.normalize, computed from the UTF-8 bytes with numba: NFKC in Python only for the non-ASCII texts
    that are not already NFKC (a quick check), the rest in one compiled pass."""
    import unicodedata

    from dedup.normalize import NO_SPACE_SHARE

    if pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.string())
    texts = pc.fill_null(texts, "")
    non_ascii = np.flatnonzero(~pc.string_is_ascii(texts).to_numpy(zero_copy_only=False))
    if len(non_ascii):
        originals = texts.take(pa.array(non_ascii)).to_pylist()
        normalized = [
            s if unicodedata.is_normalized("NFKC", s) else unicodedata.normalize("NFKC", s) for s in originals
        ]
        changed = [i for i, (a, b) in enumerate(zip(originals, normalized, strict=True)) if a is not b]
        if changed:
            index = np.arange(len(texts), dtype=np.int64)
            index[non_ascii[changed]] = len(texts) + np.arange(len(changed))
            texts = pa.concat_arrays([texts, pa.array([normalized[i] for i in changed], pa.string())])
            texts = texts.take(pa.array(index))
    flags, lower = codepoint_tables()
    offsets, data = _string_buffers(texts)
    tok, tok_offsets, no_space, visible = _scan_tokens_nb(data, offsets, flags, lower, False)
    char_docs = np.flatnonzero((visible > 0) & (no_space > NO_SPACE_SHARE * visible))
    if len(char_docs) == 0:
        return tok, tok_offsets
    # Documents in scripts without spaces: one token per character instead.
    sub = texts.take(pa.array(char_docs))
    sub_offsets, sub_data = _string_buffers(sub)
    chars, char_offsets, _, _ = _scan_tokens_nb(sub_data, sub_offsets, flags, lower, True)
    pieces, counts = [], np.diff(tok_offsets).copy()
    position = dict(zip(char_docs.tolist(), range(len(char_docs)), strict=True))
    for d in range(len(texts)):
        j = position.get(d)
        if j is None:
            pieces.append(tok[tok_offsets[d] : tok_offsets[d + 1]])
        else:
            pieces.append(chars[char_offsets[j] : char_offsets[j + 1]])
            counts[d] = char_offsets[j + 1] - char_offsets[j]
    new_offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return np.concatenate(pieces), new_offsets


if HAVE_NUMBA:

    @numba.njit(cache=True, nogil=True)
    def _scan_tokens_nb(data, offsets, flags, lower, chars):
        docs = len(offsets) - 1
        out = np.empty(len(data) + docs + 1, dtype=np.uint64)
        tok_offsets = np.zeros(docs + 1, dtype=np.int64)
        no_space = np.zeros(docs, dtype=np.int64)
        visible = np.zeros(docs, dtype=np.int64)
        n = 0
        prime = np.uint64(FNV_PRIME)
        for d in range(docs):
            i, end = offsets[d], offsets[d + 1]
            in_token = False
            h = np.uint64(FNV_OFFSET)
            while i < end:
                b0 = np.int64(data[i])
                if b0 < 0x80:
                    cp, size = b0, 1
                elif b0 < 0xE0:
                    cp, size = ((b0 & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), 2
                elif b0 < 0xF0:
                    cp = (
                        ((b0 & 0x0F) << 12)
                        | ((np.int64(data[i + 1]) & 0x3F) << 6)
                        | (np.int64(data[i + 2]) & 0x3F)
                    )
                    size = 3
                else:
                    cp = (
                        ((b0 & 0x07) << 18)
                        | ((np.int64(data[i + 1]) & 0x3F) << 12)
                        | ((np.int64(data[i + 2]) & 0x3F) << 6)
                        | (np.int64(data[i + 3]) & 0x3F)
                    )
                    size = 4
                i += size
                f = flags[cp]
                if f & SEPARATOR:
                    if in_token:
                        out[n] = _mix64_nb(h)
                        n += 1
                        in_token = False
                        h = np.uint64(FNV_OFFSET)
                    continue
                visible[d] += 1
                if f & NO_SPACE_SCRIPT:
                    no_space[d] += 1
                if chars and in_token:  # one token per character: close the previous one
                    out[n] = _mix64_nb(h)
                    n += 1
                    h = np.uint64(FNV_OFFSET)
                in_token = True
                low = np.int64(lower[cp])
                # FNV-1a over the UTF-8 bytes of the lower-cased code point.
                if low < 0x80:
                    h = (h ^ np.uint64(low)) * prime
                elif low < 0x800:
                    h = (h ^ np.uint64(0xC0 | (low >> 6))) * prime
                    h = (h ^ np.uint64(0x80 | (low & 0x3F))) * prime
                elif low < 0x10000:
                    h = (h ^ np.uint64(0xE0 | (low >> 12))) * prime
                    h = (h ^ np.uint64(0x80 | ((low >> 6) & 0x3F))) * prime
                    h = (h ^ np.uint64(0x80 | (low & 0x3F))) * prime
                else:
                    h = (h ^ np.uint64(0xF0 | (low >> 18))) * prime
                    h = (h ^ np.uint64(0x80 | ((low >> 12) & 0x3F))) * prime
                    h = (h ^ np.uint64(0x80 | ((low >> 6) & 0x3F))) * prime
                    h = (h ^ np.uint64(0x80 | (low & 0x3F))) * prime
            if in_token:
                out[n] = _mix64_nb(h)
                n += 1
            tok_offsets[d + 1] = n
        return out[:n], tok_offsets, no_space, visible
