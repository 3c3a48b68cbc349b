from datetime import UTC, datetime

import pyarrow as pa
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from corpus.schema import TIMESTAMP
from mixers.buckets import TimeBucketKernel, bucket_name, bucket_start, time_buckets
from mixers.tokens import TokenCountKernel, word_counts
from tests.mixers.conftest import sentences


def _dates(*values):
    return pa.array(values, TIMESTAMP)


def test_buckets_from_created_then_crawl_date_then_unknown():
    batch = pa.RecordBatch.from_pydict(
        {
            "created": _dates(
                datetime(2021, 5, 3, tzinfo=UTC), None, None, datetime(999, 12, 31, tzinfo=UTC)
            ),
            "crawl_date": _dates(
                datetime(2024, 5, 18, tzinfo=UTC), datetime(2024, 11, 1, tzinfo=UTC), None, None
            ),
        }
    )
    assert time_buckets(batch, "month").to_pylist() == ["2021-05", "2024-11", "unknown", "0999-12"]
    assert time_buckets(batch, "quarter").to_pylist() == ["2021-Q2", "2024-Q4", "unknown", "0999-Q4"]
    assert time_buckets(batch, "year").to_pylist() == ["2021", "2024", "unknown", "0999"]
    assert TimeBucketKernel("year")(batch).column("time_bucket").to_pylist()[0] == "2021"


def test_buckets_without_date_columns_are_unknown():
    batch = pa.RecordBatch.from_pydict({"text": ["a", "b"]})
    assert time_buckets(batch, "year").to_pylist() == ["unknown", "unknown"]
    with pytest.raises(ValueError, match="granularity"):
        time_buckets(batch, "week")


def test_bucket_names_and_starts_agree():
    when = datetime(2023, 8, 9, tzinfo=UTC)
    for granularity, start in (
        ("month", datetime(2023, 8, 1, tzinfo=UTC)),
        ("quarter", datetime(2023, 7, 1, tzinfo=UTC)),
        ("year", datetime(2023, 1, 1, tzinfo=UTC)),
    ):
        assert bucket_start(bucket_name(when, granularity)) == start
    assert bucket_start("unknown") is None


def test_word_counts_on_real_sentences(data_dir):
    lines = sentences(data_dir, ["en", "de"])["en"][:20]
    counted = word_counts(pa.array([*lines, None, "  \n "])).to_pylist()
    assert counted == [len(t.split()) for t in lines] + [0, 0]


def test_tokenizer_counts_match_the_tokenizer(tmp_path, data_dir):
    lines = sentences(data_dir, ["en"])["en"]
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(lines, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    path = tmp_path / "tok.json"
    tokenizer.save(str(path))
    batch = pa.RecordBatch.from_pydict(
        {"text": lines[:10], "n_tokens": pa.array([None] * 9 + [7], pa.int64())}
    )
    counted = TokenCountKernel(str(path))(batch).column("n_tokens").to_pylist()
    assert counted == [len(tokenizer.encode(t, add_special_tokens=False).ids) for t in lines[:10]]
    kept = TokenCountKernel(None, fill_missing_only=True)(batch).column("n_tokens").to_pylist()
    assert kept[9] == 7 and kept[0] == len(lines[0].split())
    with pytest.raises(FileNotFoundError, match="tokenizer"):
        TokenCountKernel(str(tmp_path / "none.json"))(batch)


def test_han_and_kana_count_a_word_a_character_and_their_punctuation_none(data_dir):
    # a Chinese sentence was one whitespace "word": 40 sentences counted 39 tokens against English's 683
    assert word_counts(
        pa.array(["我爱北京天安门。", "人々は「東京」へ行く！", "hello 日本 world", "𠀀x"])
    ).to_pylist() == [
        7,
        8,
        4,
        2,
    ]
    for lang in ("zh", "ja"):
        lines = sentences(data_dir, [lang])[lang]
        counted = word_counts(pa.array(lines)).to_pylist()
        # about one word a character: of the order of an English sentence's words, not 1
        assert sum(counted) / len(lines) > 15, lang
        assert all(n <= len(t) for n, t in zip(counted, lines, strict=True))
