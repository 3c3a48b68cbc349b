"""The batched tokeniser (pyarrow, and numba over bytes) against the Python reference on real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dedup.normalize import normalize_text, token_batch, tokens, uses_char_tokens
from dedup.shingles import HAVE_NUMBA, document_tokens_numba, token_hash


def real_texts(data_dir: Path) -> list[str]:
    texts = [
        p.read_text(encoding="utf-8")
        for p in sorted((data_dir / "versions" / "wikipedia_versions" / "pages").glob("*/*.txt"))[:150]
    ]
    for path in sorted((data_dir / "langid" / "sentences").glob("*.txt")):
        texts += path.read_text(encoding="utf-8").splitlines()[:15]
    return texts


def test_reference_spec() -> None:
    assert normalize_text("Hello, World!") == "hello  world "
    assert tokens("Hello, World!  ﬁne ½") == ["hello", "world", "fine", "1", "2"]  # NFKC: ligature, fraction
    assert tokens("İstanbul") == ["istanbul"]  # simple case mapping, no combining dot
    assert tokens("") == [] and tokens(" \n\t ") == [] and tokens("...!?") == []
    assert tokens("日本語のテキスト") == list("日本語のテキスト")
    assert uses_char_tokens("ภาษาไทย") and not uses_char_tokens("plain english words")


def test_pyarrow_tokens_equal_reference_on_real_text(data_dir: Path) -> None:
    texts = [*real_texts(data_dir), "", "   ", "one", "  two  words  ", "日本語のテキストです。"]
    batched = token_batch(pa.array(texts)).to_pylist()
    mismatches = [t[:50] for t, b in zip(texts, batched, strict=True) if tokens(t) != (b or [])]
    assert mismatches == []
    assert len(texts) > 1000


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")
def test_numba_tokens_equal_reference_on_real_text(data_dir: Path) -> None:
    texts = [*real_texts(data_dir), "", "one", "ภาษาไทย คือ ภาษา", "中文 text 混合"]
    hashes, offsets = document_tokens_numba(pa.array(texts))
    for i, text in enumerate(texts):
        expected = [token_hash(t) for t in tokens(text)]
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected, text[:50]


def test_null_text_has_no_tokens() -> None:
    assert token_batch(pa.array([None, "a b"], pa.string())).to_pylist() in (
        [None, ["a", "b"]],
        [[], ["a", "b"]],
    )
    if HAVE_NUMBA:
        _, offsets = document_tokens_numba(pa.array([None, "a b"], pa.string()))
        assert np.diff(offsets).tolist() == [0, 2]
