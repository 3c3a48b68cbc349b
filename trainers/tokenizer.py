"""Byte-level BPE tokenizers trained with `tokenizers` on a deterministic sample of a mixture.

Byte-level (GPT-2 style) so every string in every language and script encodes without unknown tokens. The
tokenizer is saved in the run directory with `save_pretrained`, so the run directory loads with
`AutoTokenizer.from_pretrained` like any Hugging Face model directory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from trainers.shards import iter_rows, list_shards

EOS_TOKEN = "<|endoftext|>"


def keep_for_sample(doc_id: str, seed: int, rate: float) -> bool:
    """Whether document `doc_id` is in the tokenizer sample: a hash of (seed, id) under `rate`, so the
    sample depends only on the seed and the document, not on shard boundaries or row order."""
    if rate >= 1.0:
        return True
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def sample_texts(
    mixture_dir: str | Path, max_chars: int = 20_000_000, rate: float = 1.0, seed: int = 0
) -> Iterator[str]:
    """Texts of the mixture's documents kept by `keep_for_sample`, in shard order, each id once (a document
    sampled twice into the mixture must not count twice), until `max_chars` characters have been given."""
    seen: set[str] = set()
    given = 0
    for row in iter_rows(list_shards(mixture_dir), columns=("id", "text")):
        doc_id, text = row["id"], row["text"]
        if not text or doc_id in seen or not keep_for_sample(str(doc_id), seed, rate):
            continue
        seen.add(doc_id)
        yield text
        given += len(text)
        if given >= max_chars:
            return


def train_tokenizer(
    texts: Iterable[str], vocab_size: int, min_frequency: int = 2, model_max_length: int | None = None
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer of at most `vocab_size` tokens (256 byte tokens + merges + EOS) trained on
    `texts`, wrapped as a PreTrainedTokenizerFast whose EOS (also BOS and pad) is `<|endoftext|>`."""
    if vocab_size < 257:
        raise ValueError(f"vocab_size: a byte-level BPE needs at least 257 tokens, got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return wrap(tokenizer, model_max_length)


def wrap(tokenizer: Tokenizer, model_max_length: int | None = None) -> PreTrainedTokenizerFast:
    """`tokenizer` as a PreTrainedTokenizerFast with EOS as BOS and padding."""
    kwargs = {"model_max_length": model_max_length} if model_max_length else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        bos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        unk_token=None,
        **kwargs,
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: str | Path) -> Path:
    """Write `tokenizer.json` (+ its Hugging Face config files) into `directory`; returns tokenizer.json."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(directory)
    return directory / "tokenizer.json"


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """A tokenizer from a directory (a run directory or any Hugging Face model directory) or from a bare
    `tokenizer.json` file."""
    path = Path(path)
    if path.is_file():
        try:
            return wrap(Tokenizer.from_file(str(path)))
        except Exception as error:  # tokenizers raises a bare Exception for a file it cannot read
            raise ValueError(f"tokenizer {str(path)!r}: not a tokenizer file ({error})") from None
    if not path.is_dir():
        raise FileNotFoundError(f"tokenizer: no such file or directory: {path}")
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer: {path} has no EOS token, which packing needs between documents")
    return tokenizer
