"""Text normalisation and tokenisation for near-duplicate detection.

Two implementations of one specification: `normalize_text`/`tokens` (plain Python, the readable reference)
and `token_batch` (pyarrow compute over a whole Arrow array, what the kernels run). A test checks that they
agree on real text in many languages. The spec: NFKC, lower case, every Unicode punctuation (P*) or symbol
(S*) character becomes a space, split on whitespace. Documents written mostly in scripts without spaces
between words (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan) are tokenised into characters instead.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# RE2 (pyarrow) classes; the Python reference uses unicodedata categories for the same sets.
_PUNCT_RE2 = r"[\p{P}\p{S}]"
_NO_SPACE_RE2 = r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\p{Tibetan}]"
# Code point ranges of the scripts without spaces (the same scripts as _NO_SPACE_RE2).
NO_SPACE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),
    (0x0E80, 0x0EFF),
    (0x1780, 0x17FF),
    (0x1000, 0x109F),
    (0x0F00, 0x0FFF),  # th lo km my bo
    (0x3040, 0x309F),
    (0x30A0, 0x30FF),
    (0x31F0, 0x31FF),
    (0xFF66, 0xFF9F),  # kana
    (0x2E80, 0x2FDF),
    (0x3005, 0x3005),
    (0x3007, 0x3007),
    (0x3021, 0x3029),
    (0x3038, 0x303B),  # Han
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)
_NO_SPACE_SCRIPTS_PY = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in NO_SPACE_RANGES) + "]")
# Share of non-space characters in no-space scripts above which a document is tokenised into characters.
NO_SPACE_SHARE = 0.3


def normalize_text(text: str) -> str:
    """NFKC, lower case, punctuation and symbols replaced by spaces (the reference normaliser)."""
    text = unicodedata.normalize("NFKC", text)
    # Simple (one-to-one) case mapping, as utf8proc does in pyarrow: str.lower() expands 'İ' (the only
    # unconditional one-to-many lower-casing in Unicode) to 'i' + a combining dot; the simple mapping is 'i'.
    lowered = "".join(c.lower()[0] if c.lower() else c for c in text)
    return "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in lowered)


def uses_char_tokens(normalized: str) -> bool:
    """True when most of the text is in scripts written without spaces between words."""
    visible = sum(1 for c in normalized if not c.isspace())
    return visible > 0 and len(_NO_SPACE_SCRIPTS_PY.findall(normalized)) / visible > NO_SPACE_SHARE


def tokens(text: str) -> list[str]:
    """Tokens of one document: words, or characters for no-space scripts (the reference tokeniser)."""
    normalized = normalize_text(text)
    if uses_char_tokens(normalized):
        return [c for c in normalized if not c.isspace()]
    return normalized.split()


def token_batch(texts: pa.Array | pa.ChunkedArray) -> pa.ListArray:
    """Tokens of every document of `texts` as a list<string> array (null text -> no tokens)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.string())
    texts = pc.fill_null(texts, "")
    normalized = pc.replace_substring_regex(pc.utf8_lower(pc.utf8_normalize(texts, "NFKC")), _PUNCT_RE2, " ")
    # Splitting keeps empty strings at leading/trailing whitespace and turns "" into [""]: trim, and make
    # texts without a token null (a null list has no values).
    normalized = pc.utf8_trim_whitespace(normalized)
    normalized = pc.if_else(pc.equal(pc.utf8_length(normalized), 0), pa.scalar(None, pa.string()), normalized)
    words = pc.utf8_split_whitespace(normalized)
    no_space = pc.count_substring_regex(normalized, _NO_SPACE_RE2).to_numpy(zero_copy_only=False)
    if not no_space.any():
        return words
    visible = pc.utf8_length(pc.replace_substring_regex(normalized, r"\s+", "")).to_numpy(
        zero_copy_only=False
    )
    char_rows = np.flatnonzero((visible > 0) & (no_space > NO_SPACE_SHARE * visible))
    if len(char_rows) == 0:
        return words
    texts_of_char_rows = pc.fill_null(normalized.take(pa.array(char_rows)), "").to_pylist()
    chars = pa.array([[c for c in s if not c.isspace()] for s in texts_of_char_rows], pa.list_(pa.string()))
    # Row i comes from `words` unless it is a char row; take() from the two arrays concatenated.
    index = np.arange(len(texts), dtype=np.int64)
    index[char_rows] = len(texts) + np.arange(len(char_rows))
    return pa.concat_arrays([words, chars]).take(pa.array(index))
