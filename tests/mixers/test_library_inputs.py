"""What a caller of the mixers' kernels may hand them: a text column of another Arrow type, a single string
for a list of texts, rows without ids, undated data with `unknown: drop`. Each gives the right answer or
an error naming the problem."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mixers.allocation import allocate
from mixers.langid import LangIdKernel, identify
from mixers.sampling import MixKeyKernel
from mixers.spec import parse_spec
from mixers.tokens import TokenCountKernel

TEXTS = ["The cat sat on the mat and looked at the dog.", "Der Hund schläft heute den ganzen Tag im Garten."]


def test_dictionary_and_null_typed_texts_count_and_identify_as_plain_strings() -> None:
    plain = pa.RecordBatch.from_pydict({"text": TEXTS})
    encoded = pa.RecordBatch.from_arrays([pc.dictionary_encode(plain.column("text"))], names=["text"])
    assert TokenCountKernel()(encoded).column("n_tokens").to_pylist() == [len(t.split()) for t in TEXTS]
    assert LangIdKernel()(encoded).column("lang").to_pylist() == ["en", "de"]
    nulls = pa.RecordBatch.from_arrays([pa.nulls(2)], names=["text"])
    assert TokenCountKernel()(nulls).column("n_tokens").to_pylist() == [0, 0]
    assert LangIdKernel()(nulls).column("lang").to_pylist() == ["und", "und"]


def test_a_text_column_of_numbers_is_refused_by_name() -> None:
    batch = pa.RecordBatch.from_pydict({"text": [1, 2]})
    for kernel in (TokenCountKernel(), LangIdKernel()):
        with pytest.raises(TypeError, match="column 'text' is int64: expected strings"):
            kernel(batch)


def test_identify_refuses_one_string_for_a_list_of_texts() -> None:
    with pytest.raises(TypeError, match="texts is one string; give a list of texts"):
        identify(TEXTS[0])
    assert [d.lang for d in identify([TEXTS[0]])] == ["en"]


def test_rows_without_an_id_get_no_shared_sampling_key() -> None:
    kernel = MixKeyKernel(seed=1)
    for ids in (["a", None, None], ["a", "", "b"]):
        with pytest.raises(ValueError, match=r"rows without an id \(null or empty\)"):
            kernel(pa.RecordBatch.from_pydict({"id": pa.array(ids, pa.string())}))
    keys = kernel(pa.RecordBatch.from_pydict({"id": ["a", "b"]})).column("mix_key").to_pylist()
    assert len(set(keys)) == 2


def test_dropped_undated_data_takes_no_share_of_the_budget() -> None:
    spec = parse_spec(
        {
            "budget_tokens": 1000,
            "max_repeats": 4,
            "redistribute": "global",
            "time": {"strategy": "uniform", "unknown": "drop"},
        }
    )
    cells = {("en", "2020"): (10, 1000), ("en", "unknown"): (10, 1000), ("de", "unknown"): (10, 2000)}
    plan = allocate(cells, spec)
    # de has only undated data: with it dropped, the whole budget goes to the dated cell, which has room
    assert {(c.lang, c.bucket): c.target for c in plan.cells} == {("en", "2020"): 1000}
    assert plan.unplaced == 0
    kept = allocate(cells, parse_spec({"budget_tokens": 1000, "max_repeats": 4, "time": {"unknown": "keep"}}))
    assert sum(c.target for c in kept.cells) == 1000
    assert {c.lang for c in kept.cells if c.target} == {"en", "de"}


def test_a_weight_given_twice_in_two_yaml_spellings_is_named() -> None:
    from mixers.spec import SpecError

    spec = {"budget_tokens": 1000, "time": {"strategy": "weights", "granularity": "year"}}
    spec["time"]["weights"] = {"2020": 0.5, 2020: 0.5}
    with pytest.raises(SpecError, match=r"time\.weights: 2020 is given twice"):
        parse_spec(spec)


def test_a_file_that_holds_no_tokenizer_is_named(tmp_path: Path) -> None:
    from mixers.tokens import load_tokenizer

    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match=r"tokenizer\.json': not a tokenizer file"):
        load_tokenizer(str(bad))


def test_the_kernels_take_a_table_of_several_chunks_as_they_take_a_batch() -> None:
    whole = pa.RecordBatch.from_pydict({"id": ["a", "b"], "text": TEXTS})
    table = pa.Table.from_batches([whole.slice(0, 1), whole.slice(1)])
    for kernel in (LangIdKernel(), TokenCountKernel(), MixKeyKernel(seed=3)):
        got = kernel(table)
        assert isinstance(got, pa.Table)
        assert got.combine_chunks().to_batches()[0].equals(kernel(whole))


def test_time_buckets_read_dates_and_strings_and_refuse_numbers() -> None:
    from mixers.buckets import time_buckets

    batch = pa.RecordBatch.from_pydict(
        {"created": ["2020-06-01", None], "crawl_date": ["2021-01-05T10:00:00Z"] * 2}
    )
    assert time_buckets(batch, "month").to_pylist() == ["2020-06", "2021-01"]
    with pytest.raises(TypeError, match="column 'created' is int64"):
        time_buckets(pa.RecordBatch.from_pydict({"created": [1590969600]}), "month")  # no epoch guessed
    assert MixKeyKernel(seed=1)(pa.RecordBatch.from_pydict({"id": [0, 1]})).num_rows == 2  # 0 is an id
