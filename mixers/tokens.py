"""Token counts: `n_tokens` under a `tokenizers` JSON tokenizer, or words without one (`word_counts`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import as_text, set_columns
from mixers.cjk import CJK_PUNCTUATION, HAN, KANA, KANA_MARKS

_TOKENIZERS: dict[str, Any] = {}


def load_tokenizer(path: str) -> Any:
    """A `tokenizers.Tokenizer` from its JSON file, loaded once per process; ValueError naming a file that
    holds no tokenizer."""
    tokenizer = _TOKENIZERS.get(path)
    if tokenizer is None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"tokenizer {path!r}: no such file")
        from tokenizers import Tokenizer

        try:
            tokenizer = Tokenizer.from_file(path)
        except Exception as error:  # tokenizers raises a bare Exception for a file it cannot read
            raise ValueError(f"tokenizer {path!r}: not a tokenizer file ({error})") from None
        _TOKENIZERS[path] = tokenizer
    return tokenizer


# Han and kana: Chinese and Japanese are written without spaces between words, so a whole sentence was one
# "word" and a Chinese corpus counted about a hundredth of an English one of the same length. Each character
# is counted as a word: a unit of meaning, as a BPE tokenizer also cuts them. Thai, Lao, Khmer, Myanmar and
# Tibetan, also written without spaces, are alphabets: a character is no word, and they stay undercounted
# (mix says so; a spec's `tokenizer` counts them right).
_HAN_AND_KANA = f"[{HAN}{KANA}{KANA_MARKS}]"
# their punctuation, which whitespace words would count as words
_CJK_PUNCTUATION = f"[{CJK_PUNCTUATION}]"
# written without spaces, yet counted in whitespace words (see above)
UNDERCOUNTED_LANGUAGES = frozenset({"th", "lo", "km", "my", "bo"})


def word_counts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Words per text: whitespace-separated words, each Han or kana character a word of its own (null text =
    0), as int64."""
    filled = pc.fill_null(texts, "")
    characters = pc.count_substring_regex(filled, _HAN_AND_KANA).cast(pa.int64())
    spaced_out = pc.replace_substring_regex(filled, f"{_HAN_AND_KANA}|{_CJK_PUNCTUATION}", " ")
    trimmed = pc.utf8_trim_whitespace(spaced_out)
    # Splitting "" gives [""]: one empty word, so blank texts are set to 0 explicitly.
    words = pc.list_value_length(pc.utf8_split_whitespace(trimmed)).cast(pa.int64())
    spaced = pc.if_else(pc.equal(pc.utf8_length(trimmed), 0), pa.scalar(0, pa.int64()), words)
    return pc.add(spaced, characters)


def tokenizer_counts(texts: list[str | None], path: str) -> pa.Array:
    """Tokens per text under the tokenizer at `path`, without special tokens, as int64."""
    tokenizer = load_tokenizer(path)
    encodings = tokenizer.encode_batch([t or "" for t in texts], add_special_tokens=False)
    return pa.array([len(e.ids) for e in encodings], pa.int64())


@dataclass(frozen=True)
class TokenCountKernel:
    """Batch kernel: sets `n_tokens` from `text`. With `fill_missing_only`, existing non-null counts are kept
    (they were counted the same way by an earlier stage); otherwise every count is recomputed."""

    tokenizer_path: str | None = None
    fill_missing_only: bool = False

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = as_text(batch.column("text"))
        if self.tokenizer_path is None:
            counts = word_counts(texts)
        else:
            counts = tokenizer_counts(texts.to_pylist(), self.tokenizer_path)
        if self.fill_missing_only and "n_tokens" in batch.schema.names:
            counts = pc.coalesce(batch.column("n_tokens").cast(pa.int64()), counts)
        return set_columns(batch, {"n_tokens": counts})
