"""The n-gram fit of reference versions: counts restricted to the reference, surprisal per version, and the
Spark kernel's partial counts adding up to the in-process ones."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dating.reference_ngrams import NgramCounter, ReferenceNgrams, ngram_hashes


def test_ngram_hashes_keep_repeats_and_short_texts() -> None:
    assert len(ngram_hashes("a b a b")) == 3 and len(set(ngram_hashes("a b a b").tolist())) == 2
    assert len(ngram_hashes("Alone")) == 1 and len(ngram_hashes("")) == 0 and len(ngram_hashes(None)) == 0
    assert np.array_equal(ngram_hashes("The CEO, Ana."), ngram_hashes("the ceo ana"))


def test_versions_the_data_repeats_score_lower() -> None:
    versions = [
        ("acme", "2020-01", "Acme is led by Ana Berg since 2019."),
        ("acme", "2020-02", "Acme is led by Olaf Kim since 2020."),
    ]
    reference = ReferenceNgrams(versions)
    data = ["News: Acme is led by Olaf Kim, a former pilot."] * 3 + ["Unrelated words here entirely."]
    counts = reference.count(data)
    assert set(counts) <= set(reference.vocabulary.tolist())
    assert counts[int(ngram_hashes("olaf kim")[0])] == 3
    scores = reference.scores(counts)["acme"]
    assert scores["2020-02"] < scores["2020-01"]
    grams = ngram_hashes(versions[0][2])
    expected = np.mean([-math.log(counts.get(int(g), 0) + 0.5) for g in grams])
    assert scores["2020-01"] == pytest.approx(expected)


def test_the_kernel_counts_what_the_index_counts(tmp_path) -> None:
    rows = [
        {"resource": "r", "month": f"2020-{m:02d}", "text": f"alpha beta gamma {m} delta"} for m in (1, 2, 3)
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "ref.parquet")
    kernel = pickle.loads(pickle.dumps(NgramCounter(str(tmp_path / "ref.parquet"))))
    texts = ["alpha beta gamma 2 delta", "beta gamma beta gamma", "nothing to see"]
    parts = [kernel(pa.RecordBatch.from_pydict({"text": [t]})) for t in texts]
    summed: dict[int, int] = {}
    for part in parts:
        for gram, n in zip(part.column("ngram").to_pylist(), part.column("count").to_pylist(), strict=True):
            summed[gram] = summed.get(gram, 0) + n
    assert summed == ReferenceNgrams.from_file(str(tmp_path / "ref.parquet")).count(texts)


def test_a_reference_without_a_resource_column_is_named_not_a_stop_iteration(tmp_path) -> None:
    from dating.reference import ReferenceError
    from trainers.predict import reference_versions

    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"name": ["a"], "month": ["2020-01"], "text": ["x y z"]}), path)
    for read in (ReferenceNgrams.from_file, reference_versions):
        with pytest.raises(ReferenceError, match="no resource, url or id column"):
            read(str(path))
