"""Normalise, split and hash tokens straight from UTF-8 bytes with numba (the spec of dedup.normalize).

After NFKC, the rest of the spec (simple lower-casing, punctuation and symbols as separators, whitespace
split) is a map per code point, so one pass over the bytes with lookup tables does it without building token
strings. NFKC itself is done in the same pass wherever it is local: a code point that NFKC leaves alone in
any context (a starter that nothing composes with) passes, and one that NFKC replaces by such code points
(no-break space, ligatures, full-width forms, ...) is replaced from a table; both sides of it are then
normalisation boundaries, so the replacement does not depend on its neighbours. Only a document holding a
code point outside these two classes (a combining mark, a Hangul vowel jamo, anything NFKC could compose or
reorder) is normalised by Python's unicodedata and scanned again. The tables come from unicodedata, the same
source as the reference normaliser, and a test compares the two on every code point and on real text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.normalize import CASE_LIMIT, NO_SPACE_RANGES, NO_SPACE_SHARE, format_ranges
from dedup.shingles import FNV_OFFSET, FNV_PRIME, HAVE_NUMBA, _string_buffers

SEPARATOR, NO_SPACE_SCRIPT, NFKC_MAP, NFKC_COMPLEX, FORMAT = 1, 2, 4, 8, 16
# Above U+2FFFF NFKC changes nothing and no code point combines (a test checks it); above CASE_LIMIT
# (dedup.normalize) no code point is a separator or cased: the tables are only filled below these.
NFKC_LIMIT = 0x30000


def _composes_backwards() -> set[int]:
    """Code points NFKC may compose with the character before them (NFKC_QC=Maybe): the second code point of
    every canonical pair that recomposes, and the Hangul vowel and trailing consonant jamo."""
    found = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for cp in range(NFKC_LIMIT):
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            first, second = (int(p, 16) for p in parts)
            if unicodedata.normalize("NFC", chr(first) + chr(second)) == chr(cp):
                found.add(second)
    return found


@lru_cache(maxsize=1)
def codepoint_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(flags uint8[0x110000], lower int32[0x110000], map_offsets int32[NFKC_LIMIT + 1], map_data int32).

    flags: SEPARATOR (whitespace, punctuation, symbol), NO_SPACE_SCRIPT, FORMAT (Cf: removed), NFKC_MAP (NFKC replaces the code
    point by `map_data[map_offsets[cp]:map_offsets[cp + 1]]`, all passing code points), NFKC_COMPLEX (NFKC
    may depend on the neighbours: the document is normalised by Python). lower: the simple lower case.
    Built once per process (about half a second)."""
    flags = np.zeros(0x110000, dtype=np.uint8)
    lower = np.arange(0x110000, dtype=np.int32)
    for cp in range(CASE_LIMIT):
        c = chr(cp)
        if c.isspace() or unicodedata.category(c)[0] in "PS":
            flags[cp] = SEPARATOR
        else:
            low = c.lower()
            if low != c and low:
                lower[cp] = ord(low[0])
    for first, last in NO_SPACE_RANGES:
        span = flags[first : last + 1]
        span[(span & SEPARATOR) == 0] |= NO_SPACE_SCRIPT
    for first, last in format_ranges():  # removed: neither a token character nor a separator
        flags[first : last + 1] = FORMAT
    backwards = _composes_backwards()

    def passes(cp: int) -> bool:
        c = chr(cp)
        return cp not in backwards and unicodedata.combining(c) == 0 and unicodedata.normalize("NFKC", c) == c

    mapped: dict[int, str] = {}
    for cp in range(NFKC_LIMIT):
        if passes(cp):
            continue
        target = unicodedata.normalize("NFKC", chr(cp))
        local = cp not in backwards and unicodedata.combining(chr(cp)) == 0
        if local and target and all(passes(ord(t)) for t in target):
            mapped[cp] = target
            flags[cp] |= NFKC_MAP
        else:
            flags[cp] |= NFKC_COMPLEX
    lengths = np.zeros(NFKC_LIMIT, dtype=np.int32)
    for cp, target in mapped.items():
        lengths[cp] = len(target)
    map_offsets = np.zeros(NFKC_LIMIT + 1, dtype=np.int32)
    np.cumsum(lengths, out=map_offsets[1:])
    map_data = np.array([ord(t) for cp in sorted(mapped) for t in mapped[cp]], dtype=np.int32)
    return flags, lower, map_offsets, map_data


def document_tokens_numba(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(token hashes uint64, per-document token offsets int64) of `texts` by the normalise/tokenise spec of
    dedup.normalize, from the UTF-8 bytes (see the module doc). Null texts have no tokens."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.string())
    tok, tok_offsets, no_space, visible, complex_ = _scan(texts, False, np.zeros(len(texts), np.bool_))
    redo = np.flatnonzero(complex_)
    if len(redo):  # NFKC by Python where it may depend on context, then the same scan without mapping
        normalized = [
            s if unicodedata.is_normalized("NFKC", s) else unicodedata.normalize("NFKC", s)
            for s in texts.take(pa.array(redo)).to_pylist()
        ]
        parts = _scan(pa.array(normalized, pa.string()), False, np.ones(len(redo), np.bool_))
        tok, tok_offsets = _splice(tok, tok_offsets, redo, parts[0], parts[1])
        no_space[redo], visible[redo] = parts[2], parts[3]
        texts = _replace(texts, redo, normalized)
    char_docs = np.flatnonzero((visible > 0) & (no_space > NO_SPACE_SHARE * visible))
    if len(char_docs) == 0:
        return tok, tok_offsets
    # Documents in scripts without spaces: one token per character instead.
    chars, char_offsets, _, _, _ = _scan(texts.take(pa.array(char_docs)), True, np.isin(char_docs, redo))
    return _splice(tok, tok_offsets, char_docs, chars, char_offsets)


def _scan(
    texts: pa.Array, chars: bool, done: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(token hashes, token offsets, no-space characters, visible characters, complex flags) of `texts`."""
    flags, lower, map_offsets, map_data = codepoint_tables()
    offsets, data = _string_buffers(texts)
    docs = len(texts)
    results = np.zeros((4, docs + 1), dtype=np.int64)
    # At most one token per byte, until a mapped code point expands. The ASCII runs store at out[n] on every
    # byte, so the room left must cover every remaining byte (the expansion check counts them all).
    size = len(data) + docs + 1
    while True:
        out = np.empty(size, dtype=np.uint64)
        n = _scan_tokens_nb(data, offsets, flags, lower, map_offsets, map_data, chars, done, out, results)
        if n >= 0:
            break
        size *= 6  # NFKC expands a code point of b bytes to at most 6b code points
    return out[:n], results[0], results[1][:docs], results[2][:docs], results[3][:docs].astype(bool)


def _replace(texts: pa.Array, rows: np.ndarray, values: list[str]) -> pa.Array:
    index = np.arange(len(texts), dtype=np.int64)
    index[rows] = len(texts) + np.arange(len(rows))
    return pa.concat_arrays([pc.fill_null(texts, ""), pa.array(values, pa.string())]).take(pa.array(index))


def _splice(
    tok: np.ndarray, offsets: np.ndarray, rows: np.ndarray, sub: np.ndarray, sub_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Token arrays with the tokens of documents `rows` replaced by those of a second scan of them."""
    counts = np.diff(offsets)
    counts[rows] = np.diff(sub_offsets)
    new_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    out = np.empty(int(new_offsets[-1]), dtype=np.uint64)
    _splice_nb(tok, offsets, rows, sub, sub_offsets, new_offsets, out)
    return out, new_offsets


if HAVE_NUMBA:
    import numba

    from dedup.shingles import _mix64_nb

    @numba.njit(cache=True, nogil=True)
    def _splice_nb(tok, offsets, rows, sub, sub_offsets, new_offsets, out):
        j = 0
        for d in range(len(offsets) - 1):
            at = new_offsets[d]
            if j < len(rows) and rows[j] == d:
                n = sub_offsets[j + 1] - sub_offsets[j]
                out[at : at + n] = sub[sub_offsets[j] : sub_offsets[j + 1]]
                j += 1
            else:
                n = offsets[d + 1] - offsets[d]
                out[at : at + n] = tok[offsets[d] : offsets[d + 1]]

    @numba.njit(cache=True, nogil=True, inline="always")
    def _fnv_codepoint(h, low):
        # FNV-1a over the UTF-8 bytes of one code point.
        prime = np.uint64(FNV_PRIME)
        if low < 0x80:
            return (h ^ np.uint64(low)) * prime
        if low < 0x800:
            h = (h ^ np.uint64(0xC0 | (low >> 6))) * prime
            return (h ^ np.uint64(0x80 | (low & 0x3F))) * prime
        if low < 0x10000:
            h = (h ^ np.uint64(0xE0 | (low >> 12))) * prime
            h = (h ^ np.uint64(0x80 | ((low >> 6) & 0x3F))) * prime
            return (h ^ np.uint64(0x80 | (low & 0x3F))) * prime
        h = (h ^ np.uint64(0xF0 | (low >> 18))) * prime
        h = (h ^ np.uint64(0x80 | ((low >> 12) & 0x3F))) * prime
        h = (h ^ np.uint64(0x80 | ((low >> 6) & 0x3F))) * prime
        return (h ^ np.uint64(0x80 | (low & 0x3F))) * prime

    @numba.njit(cache=True, nogil=True, inline="always")
    def _decode_utf8_nb(data, i, b0):
        """(code point, offset after it) of the UTF-8 sequence at `data[i]`, whose first byte is `b0`."""
        if b0 < 0x80:
            return b0, i + 1
        if b0 < 0xE0:
            return ((b0 & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), i + 2
        if b0 < 0xF0:
            cp = ((b0 & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6) | (np.int64(data[i + 2]) & 0x3F)
            return cp, i + 3
        cp = (
            ((b0 & 0x07) << 18)
            | ((np.int64(data[i + 1]) & 0x3F) << 12)
            | ((np.int64(data[i + 2]) & 0x3F) << 6)
            | (np.int64(data[i + 3]) & 0x3F)
        )
        return cp, i + 4

    @numba.njit(cache=True, nogil=True)
    def _scan_tokens_nb(data, offsets, flags, lower, map_offsets, map_data, chars, done, out, results):
        """Token hashes of every document. `chars`: one token per visible character. `done[d]`: document d
        is NFKC already (no mapping, nothing complex). Writes the hashes into `out` and the per-document
        token offsets, no-space-script characters, visible characters and complex flags into the rows of
        `results` (int64[4, docs + 1]); returns the number of tokens, or -1 where `out` is too small. The
        FNV-1a hashes are mixed (_mix64_nb) in one pass at the end; out[n:] is scratch, and after -1 `out`
        holds unmixed partial data."""
        docs = len(offsets) - 1
        ascii_map = np.zeros(0x80, dtype=np.uint64)
        for b in range(0x80):
            if not flags[b] & SEPARATOR:
                ascii_map[b] = 0x100 | lower[b]
        low_byte = np.uint64(0xFF)
        tok_offsets = results[0]
        no_space = results[1]
        visible = results[2]
        complex_ = results[3]
        tok_offsets[0] = 0
        n = 0
        offset_basis = np.uint64(FNV_OFFSET)
        prime = np.uint64(FNV_PRIME)
        for d in range(docs):
            skip_nfkc = done[d]
            i, end = offsets[d], offsets[d + 1]
            in_token = False
            h = offset_basis
            seen, no_sp = 0, 0
            start_n = n
            while i < end:
                b0 = np.int64(data[i])
                if b0 < 0x80 and not chars:
                    # A run of ASCII (no NFKC, no no-space script, one byte a code point) with no branch on
                    # where a word ends, which is unpredictable: the hash so far is stored at every byte and
                    # kept where a token ends, and `ascii_map` says separator (0) or the lower-case byte
                    # (0x100 | byte) in one value, which lets the compiler use selects (a table of booleans
                    # was about twice as slow). The one branch left per byte, on a non-ASCII byte, is
                    # predictable. bench/minhash.py's `tokenise only` line measures this scan.
                    open_token = np.uint64(1) if in_token else np.uint64(0)
                    while i < end:
                        b = data[i]
                        if b >= 0x80:
                            break
                        v = ascii_map[b]
                        separator = v == 0
                        out[n] = h
                        n += separator & (open_token != 0)
                        open_token = v
                        seen += not separator
                        h = offset_basis if separator else (h ^ (v & low_byte)) * prime
                        i += 1
                    in_token = open_token != 0
                    continue
                cp, i = _decode_utf8_nb(data, i, b0)
                f = flags[cp]
                first, last = 0, 0
                if not skip_nfkc and f & (NFKC_MAP | NFKC_COMPLEX):
                    if f & NFKC_COMPLEX:
                        complex_[d] = 1
                        break
                    first, last = map_offsets[cp], map_offsets[cp + 1]
                    if n + (last - first) + (len(data) - i) + (docs - d) + 1 > len(out):
                        return -1  # expanded past the buffer: the caller retries with a larger one
                    cp = map_data[first]
                    f = flags[cp]
                    first += 1
                while True:
                    if f & SEPARATOR:
                        if in_token:
                            out[n] = h
                            n += 1
                            in_token = False
                            h = offset_basis
                    elif not f & FORMAT:  # a format character is removed: neither kind
                        seen += 1
                        if f & NO_SPACE_SCRIPT:
                            no_sp += 1
                        if chars and in_token:  # one token per character: close the previous one
                            out[n] = h
                            n += 1
                            h = offset_basis
                        in_token = True
                        h = _fnv_codepoint(h, np.int64(lower[cp]))
                    if first >= last:
                        break
                    cp = map_data[first]
                    f = flags[cp]
                    first += 1
            if complex_[d] != 0:
                n = start_n
                tok_offsets[d + 1] = n
                continue
            if in_token:
                out[n] = h
                n += 1
            tok_offsets[d + 1] = n
            no_space[d], visible[d] = no_sp, seen
        for j in range(n):  # the tokens' FNV-1a hashes, mixed in one pass (no dependency between them)
            out[j] = _mix64_nb(out[j])
        return n
