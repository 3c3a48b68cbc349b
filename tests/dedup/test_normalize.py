"""The batched tokeniser (pyarrow, and numba over bytes) against the Python reference on real text."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from dedup.byte_tokens import CASE_LIMIT, NFKC_COMPLEX, NFKC_LIMIT, NFKC_MAP, codepoint_tables
from dedup.minhash import SignatureConfig, batch_signatures
from dedup.normalize import normalize_text, token_batch, tokens, uses_char_tokens
from dedup.oph import oph_reference
from dedup.shingles import FOLD, HAVE_NUMBA, MASK64, mix64, shingle_hash, shingles, token_hash

if HAVE_NUMBA:
    from dedup import byte_tokens
    from dedup.byte_tokens import _scan, document_tokens_numba


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


def test_nfkc_tables_agree_with_unicodedata() -> None:
    flags, _, map_offsets, map_data = codepoint_tables()
    for cp in range(NFKC_LIMIT):
        c = chr(cp)
        if flags[cp] & NFKC_MAP:
            target = "".join(chr(t) for t in map_data[map_offsets[cp] : map_offsets[cp + 1]])
            assert unicodedata.normalize("NFKC", c) == target, hex(cp)
        elif not flags[cp] & NFKC_COMPLEX:
            assert unicodedata.normalize("NFKC", c) == c and unicodedata.combining(c) == 0, hex(cp)
    # Above the tables' limits NFKC changes nothing, nothing combines, and nothing is cased or a separator.
    for cp in range(NFKC_LIMIT, 0x110000, 7):
        c = chr(cp)
        assert unicodedata.normalize("NFKC", c) == c and unicodedata.combining(c) == 0, hex(cp)
    for cp in range(CASE_LIMIT, 0x110000, 7):
        c = chr(cp)
        assert c.lower() == c and not c.isspace() and unicodedata.category(c)[0] not in "PS", hex(cp)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")
def test_numba_nfkc_in_context_equals_reference() -> None:
    # Mapped code points next to each other, to combining marks, to Hangul jamo and in no-space scripts.
    rng = np.random.default_rng(5)
    alphabet = [*"aZ é\u00a0\ufb01½Ａ\u3000ｶﾞ\u0301\u0308e\u1100\u1161\u11a8가\ufdfa日本\u2460İ.,-\u212b"]
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(400)]
    hashes, offsets = document_tokens_numba(pa.array(texts))
    for i, text in enumerate(texts):
        assert hashes[offsets[i] : offsets[i + 1]].tolist() == [token_hash(t) for t in tokens(text)], text


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba is not installed")
def test_numba_ascii_runs_equal_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scanner's branch-free ASCII runs: control bytes (NUL is a word character, not a separator), every
    # separator class, and tokens that start in ASCII and go on past a non-ASCII letter, or the reverse.
    rng = np.random.default_rng(11)
    alphabet = [
        *"abcXYZ09 \t\n\r\x0b\x0c\x1c\x1e\x00\x01\x1f\x7f.,;!?-_'\"()[]{}<>@#$%^&*+=|\\/~`é€日\u00a0ß"
    ]
    texts = ["".join(rng.choice(alphabet, size=int(rng.integers(0, 60)))) for _ in range(2000)]
    texts += ["café au lait", "naïve\x00word", "\x00", "a" * 5000, "ends with é", "é starts", "a\u00a0b"]
    # a document NFKC may change in context (combining acute) is scanned again
    texts += ["abc e\u0301 xyz", "e\u0301 b c"]
    # alone in a batch, a mapped code point that expands (U+FDFA is 18 code points) before an ASCII run
    # overflows the first buffer: the scan retries with a larger one
    retried = ["\ufdfa" + " a" * 30, "e\u0301 b c"]
    scans: list[int] = []
    scan_nb = byte_tokens._scan_tokens_nb

    def counted(*args: object) -> int:
        scans.append(scan_nb(*args))
        return scans[-1]

    for batch in (texts, retried):
        scans.clear()
        monkeypatch.setattr(byte_tokens, "_scan_tokens_nb", counted)
        hashes, offsets = document_tokens_numba(pa.array(batch))
        monkeypatch.undo()
        for i, text in enumerate(batch):
            expected = [token_hash(t) for t in tokens(text)]
            assert hashes[offsets[i] : offsets[i + 1]].tolist() == expected, repr(text)
    assert scans[0] == -1 and scans[1] >= 0  # the retried batch did overflow its first buffer
    # the visible characters counted in the ASCII runs (they decide character tokens for no-space scripts)
    visible = _scan(pa.array(texts[:300]), False, np.zeros(300, np.bool_))[3]
    assert visible.tolist() == [sum(not c.isspace() for c in normalize_text(t)) for t in texts[:300]]


def _reference_text_hash(words: list[str]) -> int:
    """dedup.shingles.document_hashes of one document, in plain Python."""
    total = sum(mix64(token_hash(w) + i * FOLD) for i, w in enumerate(words))
    return mix64((total + len(words)) & MASK64)


def test_format_characters_are_removed_so_invisible_differences_are_the_same_text() -> None:
    """A byte order mark in front, a soft hyphen or a zero-width space inside: the same text to a reader, but
    different tokens (and so not exact duplicates, and short texts not even near ones) before Cf was removed."""
    body = "The council approved the budget for the new library on Tuesday evening."
    variants = [
        body,
        "\ufeff" + body,
        body.replace("budget", "bud\u00adget"),
        body.replace(" new", "\u200b new"),
    ]
    assert {tuple(tokens(t)) for t in variants} == {tuple(tokens(body))}
    assert tokens("zero\u200bwidth joiner\u2060s") == ["zerowidth", "joiners"]
    for engine in ["numpy"] + (["numba"] if HAVE_NUMBA else []):
        result = batch_signatures(pa.array(variants), SignatureConfig(num_perm=16, engine=engine))
        assert len(set(result.text_hashes.tolist())) == 1, engine  # one text: exact duplicates
        assert len({tuple(row) for row in result.signatures.tolist()}) == 1, engine


def test_every_engine_equals_reference_on_mixed_scripts() -> None:
    # Each document mixes no-space scripts (Han, kana with U+30FC and U+3005-3007, Thai) and the rest
    # (Latin, digits, many kinds of space, zero-width space, combining marks, emoji) in a random share, so
    # that documents fall on both sides of NO_SPACE_SHARE and every character class decides some of them.
    # U+1F6DC is an emoji newer than some unicodedata versions: its class must be unicodedata's everywhere.
    rng = np.random.default_rng(2024)
    no_space = [*"日本語中文漢字ひらがなカタコーヒーバッテリーレビュー々〆〇ภาษาไทย", "\u30fc", "\uff70"]
    other = [
        *"abcXYZ éß09 .,!?-", "word", "Apple", "\u00e9", "e\u0301", "o\u0308",
        *"\v\f\t\n\u00a0\u2003\u3000\u200b\u200d\u1680\u0085", "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f6dc",
        "\ufeff", "\u00ad", "\u2060", "\U000e0041",  # format characters (Cf), removed
    ]  # fmt: skip
    texts: list[str] = []
    for _ in range(300):
        share = rng.random()
        size = int(rng.integers(0, 40))
        texts.append("".join(rng.choice(no_space if rng.random() < share else other) for _ in range(size)))
    texts += [
        "Apple Watch Series 9 レビュー: バッテリー",
        "日本\v\v\v\v\v\v abc",
        "ミルク ー ー ー ー abcdefghijk",
    ]
    expected = [tokens(t) for t in texts]
    assert [b or [] for b in token_batch(pa.array(texts)).to_pylist()] == expected
    if HAVE_NUMBA:
        hashes, offsets = document_tokens_numba(pa.array(texts))
        numba_tokens = [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))]
        assert numba_tokens == [[token_hash(w) for w in words] for words in expected]
    grams = [[shingle_hash(g) for g in shingles(words, 3)] for words in expected]
    for engine in ["numpy"] + (["numba"] if HAVE_NUMBA else []):
        config = SignatureConfig(num_perm=16, ngram=3, engine=engine)
        result = batch_signatures(pa.array(texts), config)
        assert result.n_shingles.tolist() == [len(g) for g in grams], engine
        assert result.text_hashes.view(np.uint64).tolist() == [_reference_text_hash(w) for w in expected]
        assert result.signatures.tolist() == [oph_reference(g, 16, config.seed) for g in grams], engine
    # both char-token and word-token documents are covered
    assert 50 < sum(uses_char_tokens(normalize_text(t)) for t in texts) < 250
