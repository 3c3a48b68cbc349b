"""Byte-level BPE tokenizer: round trips in any script, saved with the run, deterministic sample."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from tests.shared_data import SHARED_DATA, needs_shared_data
from tests.trainers.conftest import write_mixture
from trainers.tokenizer import (
    EOS_TOKEN,
    keep_for_sample,
    load_tokenizer,
    sample_texts,
    save_tokenizer,
    train_tokenizer,
)

SENTENCES = SHARED_DATA / "langid" / "sentences"


def sentences(lang: str, n: int = 100) -> list[str]:
    return SENTENCES.joinpath(f"{lang}.txt").read_text(encoding="utf-8").splitlines()[:n]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    texts = [s for lang in ("en", "de", "fr", "es", "ru") for s in sentences(lang, 80)]
    return train_tokenizer(texts, vocab_size=800)


@needs_shared_data
def test_round_trip_in_seen_and_unseen_scripts(tokenizer: PreTrainedTokenizerFast) -> None:
    held_out = [s for lang in ("en", "de", "ru", "zh", "ja", "ar", "hi", "yo") for s in sentences(lang)[80:]]
    held_out += ["emoji 🧪 and tabs\tand  double  spaces\n", ""]
    for text in held_out:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    # unseen scripts fall back to byte tokens: Chinese costs many more tokens per character than English
    en, zh = sentences("en")[90], sentences("zh")[90]
    assert len(tokenizer(zh)["input_ids"]) / len(zh) > 2 * len(tokenizer(en)["input_ids"]) / len(en)


@needs_shared_data
def test_vocabulary_and_eos(tokenizer: PreTrainedTokenizerFast) -> None:
    assert 700 < len(tokenizer) <= 800
    assert tokenizer.eos_token == EOS_TOKEN
    assert tokenizer.convert_tokens_to_ids(EOS_TOKEN) == tokenizer.eos_token_id == tokenizer.pad_token_id
    # a frequent English word is one token after training on English
    assert len(tokenizer(" the", add_special_tokens=False)["input_ids"]) == 1


@needs_shared_data
def test_saved_tokenizer_loads_as_hugging_face_tokenizer(
    tmp_path: Path, tokenizer: PreTrainedTokenizerFast
) -> None:
    path = save_tokenizer(tokenizer, tmp_path)
    assert path == tmp_path / "tokenizer.json" and path.exists()
    text = sentences("fr")[95]
    expected = tokenizer(text)["input_ids"]
    for loaded in (AutoTokenizer.from_pretrained(tmp_path), load_tokenizer(tmp_path), load_tokenizer(path)):
        assert loaded(text)["input_ids"] == expected
        assert loaded.eos_token_id == tokenizer.eos_token_id


@needs_shared_data
def test_sample_is_deterministic_deduplicated_and_independent_of_sharding(tmp_path: Path) -> None:
    texts = sentences("en")
    ids = [f"doc-{i}" for i in range(len(texts))]
    ids[5], texts[5] = ids[4], texts[4]  # a document sampled twice into the mixture
    created = [datetime(2020, 1, 1, tzinfo=UTC)] * len(ids)
    one = write_mixture(tmp_path / "one", ids, texts, created, shards=1)
    three = write_mixture(tmp_path / "three", ids, texts, created, shards=3)
    full = list(sample_texts(one))
    assert full == texts[:5] + texts[6:]
    half = list(sample_texts(one, rate=0.5, seed=7))
    assert half == list(sample_texts(three, rate=0.5, seed=7))
    unique = [(i, t) for k, (i, t) in enumerate(zip(ids, texts, strict=True)) if k != 5]
    assert half == [t for i, t in unique if keep_for_sample(i, 7, 0.5)]
    assert 30 < len(half) < 70
    assert half != list(sample_texts(one, rate=0.5, seed=8))
    capped = list(sample_texts(one, max_chars=500))
    assert sum(len(t) for t in capped[:-1]) < 500 <= sum(len(t) for t in capped)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"^vocab_size:"):
        train_tokenizer(["abc"], vocab_size=100)
    with pytest.raises(FileNotFoundError, match=r"^tokenizer:"):
        load_tokenizer("/nonexistent/tokenizer")
