"""Signatures: the datasketch scheme is bit-identical to datasketch's MinHash (legacy scheme) for the same
seed, permutations and hash, and stays the reference of the default (one-permutation hashing), which must
agree with it on Jaccard estimates within the sampling error, as rensa must; schemes are never mixed; bad
input handled."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash

from dedup.minhash import (
    MAX_HASH,
    SchemeMismatch,
    SignatureConfig,
    band_keys,
    batch_signatures,
    minhash_signatures,
    permutations,
)
from dedup.normalize import tokens
from dedup.oph import oph_reference
from dedup.shingles import HAVE_NUMBA, shingle_hash, shingle_hashes, shingles, token_hash, token_hashes

ENGINES = ["numpy"] + (["numba"] if HAVE_NUMBA else [])


def wiki_texts(data_dir: Path, n: int = 40) -> list[str]:
    files = sorted((data_dir / "versions" / "wikipedia_versions" / "pages").glob("*/*.txt"))
    return [f.read_text(encoding="utf-8") for f in files[:: max(1, len(files) // n)]][:n]


def datasketch_signature(text: str, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> np.ndarray:
    m = MinHash(num_perm=num_perm, seed=seed, scheme="legacy", hashfunc=shingle_hash)
    m.update_batch(shingles(tokens(text), ngram))
    return m.hashvalues


def test_permutations_are_datasketchs() -> None:
    a, b = permutations(64, seed=7)
    reference = MinHash(num_perm=64, seed=7, scheme="legacy").permutations
    assert np.array_equal(a, reference[0]) and np.array_equal(b, reference[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_signatures_bit_identical_to_datasketch(data_dir: Path, engine: str) -> None:
    texts = [*wiki_texts(data_dir), "one", "two words", "", "Ünïcödé ÇÀFÉ, straße!"]
    result = batch_signatures(pa.array(texts), SignatureConfig(scheme="datasketch", engine=engine))
    for i, text in enumerate(texts):
        assert np.array_equal(result.signatures[i], datasketch_signature(text)), text[:40]
    assert result.n_shingles[-4:].tolist() == [1, 1, 0, 1]  # fewer words than n: one shingle; empty: none


@pytest.mark.parametrize("engine", ENGINES)
def test_other_parameters_match_datasketch(data_dir: Path, engine: str) -> None:
    texts = wiki_texts(data_dir, 8)
    config = SignatureConfig(num_perm=32, ngram=3, seed=42, scheme="datasketch", engine=engine)
    result = batch_signatures(pa.array(texts), config)
    for i, text in enumerate(texts):
        assert np.array_equal(result.signatures[i], datasketch_signature(text, 32, 42, 3))


def test_batched_hashes_equal_references() -> None:
    words = ["alpha", "béta", "", "日本", "x" * 300]
    for engine in ENGINES:
        assert token_hashes(pa.array(words), engine).tolist() == [token_hash(w) for w in words]
    tok = np.array([token_hash(w) for w in ["a", "b", "c", "d", "e", "f", "g", "a", "b"]], dtype=np.uint64)
    hashes, offsets = shingle_hashes(tok, np.array([0, 7, 7, 9]), 5)
    expected = [shingle_hash(" ".join("abcdefg"[i : i + 5])) for i in range(3)]
    assert hashes[:3].tolist() == expected and offsets.tolist() == [0, 3, 3, 4]
    assert hashes[3] == shingle_hash(("a", "b"))  # two tokens: one short shingle


def test_engines_agree_on_mixed_scripts(data_dir: Path) -> None:
    texts = [
        line
        for p in sorted((data_dir / "langid" / "sentences").glob("*.txt"))
        for line in p.read_text(encoding="utf-8").splitlines()[:3]
    ]
    runs = [
        batch_signatures(pa.array(texts), SignatureConfig(scheme=s, engine=e))
        for s in ("oph", "datasketch")
        for e in ENGINES
    ]
    for other in runs[1 : len(ENGINES)]:
        assert np.array_equal(runs[0].signatures, other.signatures)
        assert np.array_equal(runs[0].text_hashes, other.text_hashes)
    for other in runs[len(ENGINES) + 1 :]:
        assert np.array_equal(runs[len(ENGINES)].signatures, other.signatures)


def test_empty_and_huge_documents() -> None:
    huge = " ".join(f"w{i % 5000}" for i in range(300_000))  # 300k words, ~2 MB
    result = batch_signatures(pa.array(["", None, "word", huge], pa.string()))
    assert result.n_shingles[3] == 300_000 - 4
    assert (result.signatures[0] == MAX_HASH).all() and (result.signatures[1] == MAX_HASH).all()
    assert result.n_shingles.tolist()[:3] == [0, 0, 1]
    assert result.n_shingles[3] == 300_000 - 4
    assert result.text_hashes[0] == result.text_hashes[1]  # both have no tokens
    assert (result.signatures[3] < MAX_HASH).all()


def test_exact_text_hash_ignores_case_and_punctuation() -> None:
    result = batch_signatures(pa.array(["Hello, world!", "hello world", "world hello"]))
    assert result.text_hashes[0] == result.text_hashes[1] != result.text_hashes[2]


def test_numpy_chunking_handles_documents_across_chunks() -> None:
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, 3000, dtype=np.uint64)
    offsets = np.array([0, 1, 600, 600, 2999, 3000])
    a, b = permutations(16)
    got = minhash_signatures(hashes, offsets, 16, engine="numpy")
    for d in range(5):
        part = hashes[offsets[d] : offsets[d + 1]]
        expected = (
            np.full(16, MAX_HASH, np.uint64)
            if len(part) == 0
            else ((np.multiply.outer(part, a) + b) % np.uint64((1 << 61) - 1) & np.uint64(MAX_HASH)).min(0)
        )
        assert np.array_equal(got[d], expected)


def test_band_keys_equal_exactly_when_bands_equal() -> None:
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [9, 9, 3, 4]], dtype=np.uint64)
    keys = band_keys(sig, 2, 2)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] == keys[2, 1]
    assert keys[0, 1] != keys[1, 1] and keys[0, 0] != keys[2, 0]
    assert keys[0, 0] != band_keys(np.array([[3, 4, 1, 2]], np.uint64), 2, 2)[0, 1]  # band index is hashed
    with pytest.raises(ValueError, match="exceeds num_perm"):
        band_keys(sig, 3, 2)


def _estimates_agree(data_dir: Path, scheme: str) -> None:
    """`scheme`'s Jaccard estimates agree with datasketch's (the reference) within the sampling error."""
    texts = wiki_texts(data_dir, 60)
    ours = batch_signatures(pa.array(texts), SignatureConfig(scheme="datasketch")).signatures
    other = batch_signatures(pa.array(texts), SignatureConfig(scheme=scheme)).signatures
    errors = []
    for i in range(len(texts)):
        for j in range(i + 1, min(len(texts), i + 8)):
            a, b = set(shingles(tokens(texts[i]), 5)), set(shingles(tokens(texts[j]), 5))
            jaccard = len(a & b) / len(a | b)
            sigma = math.sqrt(max(jaccard * (1 - jaccard), 1e-4) / 128)
            estimate_ours = float(np.mean(ours[i] == ours[j]))
            estimate_other = float(np.mean(other[i] == other[j]))
            errors.append(abs(estimate_other - estimate_ours) / sigma)
    # Both estimate the same Jaccard with standard error sigma each: their difference is within ~4 sigma.
    assert max(errors) < 4 * math.sqrt(2)
    assert len(errors) > 100


def test_rensa_agrees_with_datasketch_jaccard(data_dir: Path) -> None:
    pytest.importorskip("rensa")
    _estimates_agree(data_dir, "rensa")


def test_oph_agrees_with_datasketch_jaccard(data_dir: Path) -> None:
    _estimates_agree(data_dir, "oph")


@pytest.mark.parametrize("engine", ENGINES)
def test_oph_equals_its_reference(data_dir: Path, engine: str) -> None:
    texts = [*wiki_texts(data_dir, 12), "", None, "one", "two words", "a b c d e f", "x " * 2000]
    for num_perm, seed, ngram in ((128, 1, 5), (37, 9, 3)):
        config = SignatureConfig(num_perm=num_perm, ngram=ngram, seed=seed, engine=engine)
        result = batch_signatures(pa.array(texts, pa.string()), config)
        for i, text in enumerate(texts):
            grams = [shingle_hash(g) for g in shingles(tokens(text or ""), ngram)]
            assert result.signatures[i].tolist() == oph_reference(grams, num_perm, seed), (text or "")[:40]
            assert result.n_shingles[i] == len(grams)


def test_oph_signature_is_a_set_function() -> None:
    # Order and repetition of shingles do not matter; an empty document gets the empty value everywhere.
    assert oph_reference([5, 9, 11], 16) == oph_reference([11, 5, 9, 9, 5], 16)
    assert oph_reference([], 16) == [MAX_HASH] * 16
    single = oph_reference([12345], 16)
    assert len(set(single)) == 1  # one shingle: every bin densified from the one filled bin


def test_schemes_are_never_mixed() -> None:
    texts = pa.array(["the same words in the same order here", "the same words in the same order here"])
    oph = batch_signatures(texts, SignatureConfig())
    classic = batch_signatures(texts, SignatureConfig(scheme="datasketch"))
    assert oph.jaccard(0, oph, 1) == 1.0
    assert oph.metadata["minhash_scheme"].startswith("oph/")
    with pytest.raises(SchemeMismatch, match="minhash_scheme"):
        oph.jaccard(0, classic, 1)
    with pytest.raises(SchemeMismatch, match="seed"):
        oph.jaccard(0, batch_signatures(texts, SignatureConfig(seed=2)), 1)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="num_perm"):
        SignatureConfig(num_perm=1)
    with pytest.raises(ValueError, match="ngram"):
        SignatureConfig(ngram=0)
    with pytest.raises(ValueError, match="engine"):
        SignatureConfig(engine="gpu")
    with pytest.raises(ValueError, match="scheme"):
        SignatureConfig(scheme="simhash")
