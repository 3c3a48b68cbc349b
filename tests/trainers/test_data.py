"""Packed blocks streamed from mixture shards: exact packing, epochs, resumable position, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transformers import PreTrainedTokenizerFast

from tests.trainers.conftest import wiki_pages, write_mixture
from trainers.data import PackedStream
from trainers.shards import iter_rows, list_shards, newest_month
from trainers.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return [texts[-1] for _, texts in wiki_pages(min_versions=6, chars=300)[:12]]


@pytest.fixture(scope="module")
def tokenizer(docs: list[str]) -> PreTrainedTokenizerFast:
    return train_tokenizer(docs, vocab_size=400)


def mixture(tmp_path: Path, docs: list[str], shards: int = 3) -> Path:
    created = [datetime(2019, 1 + i % 12, 3, tzinfo=UTC) for i in range(len(docs))]
    return write_mixture(tmp_path / "mix", [f"d{i}" for i in range(len(docs))], docs, created, shards)


def expected_stream(tokenizer: PreTrainedTokenizerFast, docs: list[str]) -> list[int]:
    out: list[int] = []
    for doc in docs:
        out += tokenizer(doc, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return out


def test_blocks_are_documents_joined_with_eos_in_shard_order(tmp_path, docs, tokenizer) -> None:
    stream = PackedStream(list_shards(mixture(tmp_path, docs)), tokenizer, seq_len=32)
    tokens = expected_stream(tokenizer, docs)
    n = len(tokens) // 32
    blocks = stream.next_blocks(n)
    assert blocks.shape == (n, 32)
    assert blocks.flatten().tolist() == tokens[: n * 32]
    assert stream.state.epoch == 0
    assert stream.state.carry == tokens[n * 32 :]


def test_mixture_repeats_in_epochs(tmp_path, docs, tokenizer) -> None:
    stream = PackedStream(list_shards(mixture(tmp_path, docs)), tokenizer, seq_len=16, read_rows=5)
    tokens = expected_stream(tokenizer, docs)
    n = (2 * len(tokens)) // 16 + 3
    got = stream.next_blocks(n).flatten().tolist()
    assert got == (tokens * 3)[: n * 16]
    assert stream.state.epoch == 2
    # documents read: those whose first token was given out, not those read ahead into the carry
    lengths = [len(tokenizer(d, add_special_tokens=False)["input_ids"]) + 1 for d in docs] * 3
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    assert (
        stream.state.docs_read == sum(start < n * 16 for start in starts) < 2 * len(docs) + stream.state.row
    )


def test_resumed_stream_gives_the_same_blocks(tmp_path, docs, tokenizer) -> None:
    shards = list_shards(mixture(tmp_path, docs))
    straight = PackedStream(shards, tokenizer, seq_len=24, read_rows=2)
    first = straight.next_blocks(7)
    rest = [straight.next_blocks(5) for _ in range(6)]
    interrupted = PackedStream(shards, tokenizer, seq_len=24, read_rows=2)
    assert interrupted.next_blocks(7).tolist() == first.tolist()
    saved = json.loads(json.dumps(interrupted.state_dict()))
    resumed = PackedStream(shards, tokenizer, seq_len=24, read_rows=2)
    resumed.load_state_dict(saved)
    assert [resumed.next_blocks(5).tolist() for _ in range(6)] == [b.tolist() for b in rest]
    assert resumed.state_dict() == straight.state_dict()


def test_empty_texts_are_counted_and_newest_created_tracked(tmp_path, docs, tokenizer) -> None:
    texts = [docs[0], None, "", docs[1]]
    created = [datetime(2021, 5, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC), None]
    created.append(datetime(2021, 7, 9, tzinfo=UTC))
    directory = tmp_path / "m"
    directory.mkdir()
    pq.write_table(
        pa.table(
            {
                "id": ["a", "b", "c", "d"],
                "text": pa.array(texts, pa.string()),
                "created": pa.array(created, pa.timestamp("us", tz="UTC")),
            }
        ),
        directory / "part-00000.parquet",
    )
    first = len(tokenizer(docs[0], add_special_tokens=False)["input_ids"]) + 1
    assert first > 8
    stream = PackedStream(list_shards(directory), tokenizer, seq_len=8)
    stream.next_blocks(1)  # all four rows are read ahead; the model has seen part of the first only
    assert (stream.state.docs_read, stream.state.docs_empty) == (1, 0)
    assert stream.state.newest_created.startswith("2021-05-01")
    stream.next_blocks(first // 8)  # 8 * (first // 8 + 1) tokens in all: the fourth row's first goes out
    assert (stream.state.docs_read, stream.state.docs_empty) == (4, 2)
    # the row without text carries the newest date, but teaches nothing: what is tracked is the newest row
    # the model was given; the mixture's own newest month still counts it
    assert stream.state.newest_created.startswith("2021-07-09")
    assert newest_month(list_shards(directory)) == "2023-01"


def test_bad_mixtures(tmp_path, tokenizer) -> None:
    with pytest.raises(FileNotFoundError, match=r"^mixture: no part"):
        list_shards(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^mixture: no such directory"):
        list_shards(tmp_path / "absent")
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "part-00000.parquet")
    with pytest.raises(ValueError, match=r"^mixture: column 'text' missing"):
        PackedStream(list_shards(tmp_path), tokenizer, seq_len=8).next_blocks(1)
    with pytest.raises(ValueError, match=r"^mixture: column 'text' missing"):
        list(iter_rows(list_shards(tmp_path)))
    empty = pa.table({"id": ["a", "b"], "text": pa.array([None, ""], pa.string())})
    pq.write_table(empty, tmp_path / "part-00000.parquet")
    with pytest.raises(ValueError, match=r"^mixture: no text to train on"):
        PackedStream(list_shards(tmp_path), tokenizer, seq_len=8).next_blocks(1)
    with pytest.raises(ValueError, match=r"^seq_len:"):
        PackedStream(list_shards(tmp_path), tokenizer, seq_len=1)
