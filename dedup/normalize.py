"""Text normalisation and tokenisation for near-duplicate detection.

Two implementations of one specification: `normalize_text`/`tokens` (plain Python, the readable reference)
and `token_batch` (pyarrow compute over a whole Arrow array, what the kernels run). A test checks that they
agree on real text in many languages. The spec: NFKC, format characters (Cf: a byte order mark, a soft hyphen,
zero-width spaces and joiners) removed, lower case, every Unicode punctuation (P*) or symbol (S*) character
becomes a space, split on whitespace. Documents written mostly in scripts without spaces
between words (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan) are tokenised into characters instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Code point ranges of the scripts without spaces: Thai, Lao, Khmer, Myanmar, Tibetan, kana (with U+30FC,
# the prolonged sound mark, which is script Common), Han with its iteration and number marks (U+3005,
# U+3007, ...). The only definition of the set: the reference, the numba tables and the RE2 class of the
# pyarrow path are all built from it (RE2's \p{Katakana} would leave U+30FC out).
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


# Above U+1FFFF no code point is whitespace, punctuation, a symbol or a cased letter (planes 2-3 are
# ideographs, 14 tags, 15-16 private use; test_nfkc_tables_agree_with_unicodedata checks it): the separator
# and case tables (here and in dedup.byte_tokens) are built below it, not over all 1.1M code points.
CASE_LIMIT = 0x20000


def _code_point_ranges(keep: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Inclusive ranges of the code points c below CASE_LIMIT for which keep(c)."""
    ranges: list[tuple[int, int]] = []
    for cp in range(CASE_LIMIT):
        if keep(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return ranges


def _re2_class(ranges: Iterable[tuple[int, int]]) -> str:
    """An RE2 character class of inclusive code point ranges."""
    return "[" + "".join(f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges) + "]"


def format_ranges() -> list[tuple[int, int]]:
    """Inclusive ranges of the format characters (Cf) over all of Unicode: they reach past CASE_LIMIT (the
    language tags at U+E0001-U+E007F)."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)) == "Cf":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return ranges


@lru_cache(maxsize=1)
def _format_re2() -> str:
    return _re2_class(format_ranges())


@lru_cache(maxsize=1)
def _re2_classes() -> tuple[str, str, str]:
    """RE2 classes (punctuation or symbol, whitespace, no-space script) for the pyarrow path, built from the
    definitions the reference and the numba tables use (unicodedata categories, str.isspace,
    NO_SPACE_RANGES) so that every engine gives the same bits: RE2's own punctuation and symbol classes
    follow another Unicode version, and its \\s is ASCII only. Built once per process."""
    punct = _code_point_ranges(lambda c: unicodedata.category(c)[0] in "PS")
    space = _code_point_ranges(str.isspace)
    return _re2_class(punct), _re2_class(space), _re2_class(NO_SPACE_RANGES)


def normalize_text(text: str) -> str:
    """NFKC, format characters removed, lower case, punctuation and symbols replaced by spaces (the reference
    normaliser)."""
    text = unicodedata.normalize("NFKC", text)
    # invisible: "bud\u00adget" is "budget", and a text with a BOM in front is the same text
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
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
    punct_re2, space_re2, no_space_re2 = _re2_classes()
    visible = pc.replace_substring_regex(pc.utf8_normalize(texts, "NFKC"), _format_re2(), "")
    normalized = pc.replace_substring_regex(pc.utf8_lower(visible), punct_re2, " ")
    # Splitting keeps empty strings at leading/trailing whitespace and turns "" into [""]: trim, and make
    # texts without a token null (a null list has no values). Arrow's whitespace is str.isspace.
    normalized = pc.utf8_trim_whitespace(normalized)
    normalized = pc.if_else(pc.equal(pc.utf8_length(normalized), 0), pa.scalar(None, pa.string()), normalized)
    words = pc.utf8_split_whitespace(normalized)
    # Null (empty) texts count 0, not NaN, which would make any() true.
    no_space = pc.fill_null(pc.count_substring_regex(normalized, no_space_re2), 0).to_numpy()
    if not no_space.any():
        return words
    spaces = pc.fill_null(pc.count_substring_regex(normalized, space_re2), 0).to_numpy()
    visible = pc.fill_null(pc.utf8_length(normalized), 0).to_numpy() - spaces
    char_rows = np.flatnonzero((visible > 0) & (no_space > NO_SPACE_SHARE * visible))
    if len(char_rows) == 0:
        return words
    texts_of_char_rows = pc.fill_null(normalized.take(pa.array(char_rows)), "").to_pylist()
    chars = pa.array([[c for c in s if not c.isspace()] for s in texts_of_char_rows], pa.list_(pa.string()))
    # Row i comes from `words` unless it is a char row; take() from the two arrays concatenated.
    index = np.arange(len(texts), dtype=np.int64)
    index[char_rows] = len(texts) + np.arange(len(char_rows))
    return pa.concat_arrays([words, chars]).take(pa.array(index))
