import pyarrow as pa
import pytest

from mixers.sampling import (
    HISTOGRAM_BITS,
    KEY_LIMIT,
    CellRate,
    MixKeyKernel,
    MixOrderKernel,
    RepeatKernel,
    boundary_bin,
    doc_key,
    key_bin,
    mix_order,
    repeat_count,
    threshold_in_bin,
    thresholds_with_carry,
)
from mixers.tokens import word_counts
from tests.mixers.conftest import sentences


def test_keys_are_deterministic_in_range_and_depend_on_seed_and_id():
    assert doc_key(1, "a") == doc_key(1, "a")
    assert doc_key(1, "a") != doc_key(2, "a") != doc_key(1, "b")
    keys = [doc_key(7, f"doc-{i}") for i in range(2000)]
    assert all(0 <= k < KEY_LIMIT for k in keys)
    # Roughly uniform: each quarter of the key space holds about a quarter of the keys.
    quarters = [sum(1 for k in keys if q * KEY_LIMIT // 4 <= k < (q + 1) * KEY_LIMIT // 4) for q in range(4)]
    assert all(400 < n < 600 for n in quarters)
    assert mix_order(7, "a", 0) != mix_order(7, "a", 1)


def test_repeat_count():
    assert repeat_count(5, 2, 10) == 3
    assert repeat_count(10, 2, 10) == 2
    assert repeat_count(0, 0, 0) == 0


def _select(docs, need):
    """The two-level threshold search as the Spark job runs it, over (key, tokens)."""
    histogram = {}
    for key, tokens in docs:
        histogram[key_bin(key)] = histogram.get(key_bin(key), 0) + tokens
    b, left = boundary_bin(histogram.items(), need)
    threshold = threshold_in_bin([d for d in docs if key_bin(d[0]) == b], left, b)
    return sum(t for k, t in docs if k < threshold)


def test_threshold_hits_token_targets_within_one_percent_on_real_sentences(data_dir):
    texts = [t for lines in sentences(data_dir).values() for t in lines]
    counts = word_counts(pa.array(texts)).to_pylist()
    docs = [(doc_key(42, f"s{i}"), n) for i, n in enumerate(counts)]
    total = sum(counts)
    for fraction in (0.01, 0.1, 0.37, 0.5, 0.9, 0.999):
        need = fraction * total
        got = _select(docs, need)
        assert abs(got - need) <= max(0.01 * need, max(counts)), (fraction, got, need)
        if need >= 100 * max(counts):
            assert abs(got - need) <= 0.01 * need


def test_threshold_edges():
    docs = [(doc_key(1, str(i)), 10) for i in range(50)]
    assert _select(docs, 0) == 0
    assert _select(docs, 500) == 500
    assert _select(docs, 10_000) == 500  # asking for more than the cell has takes all of it
    # An empty boundary bin list still gives a threshold.
    assert threshold_in_bin([], 0.0, 3) == 4 << (63 - HISTOGRAM_BITS)


def test_kernels_add_columns_and_repeats():
    batch = pa.RecordBatch.from_pydict(
        {"id": ["a", "b", "c"], "lang": ["en", "en", "yo"], "time_bucket": ["2020", "2020", "unknown"]}
    )
    keyed = MixKeyKernel(5)(batch)
    keys = keyed.column("mix_key").to_pylist()
    assert keys == [doc_key(5, "a"), doc_key(5, "b"), doc_key(5, "c")]
    rates = {("en", "2020"): CellRate(1, max(keys[0], keys[1])), ("yo", "unknown"): CellRate(2, 0)}
    repeats = RepeatKernel(rates)(keyed).column("repeats").to_pylist()
    smaller = 0 if keys[0] < keys[1] else 1
    expected = [1, 1, 2]
    expected[smaller] = 2
    assert repeats == expected
    missing = RepeatKernel({})(keyed).column("repeats").to_pylist()
    assert missing == [0, 0, 0]
    ordered = MixOrderKernel(5)(keyed.append_column("repeat_index", pa.array([0, 1, 0], pa.int32())))
    assert ordered.column("mix_order").to_pylist() == [
        mix_order(5, "a", 0),
        mix_order(5, "b", 1),
        mix_order(5, "c", 0),
    ]


@pytest.mark.parametrize("seed", [0, 99])
def test_sampling_does_not_depend_on_batch_split(seed):
    ids = [f"d{i}" for i in range(100)]
    whole = MixKeyKernel(seed)(pa.RecordBatch.from_pydict({"id": ids})).column("mix_key").to_pylist()
    parts = []
    for chunk in (ids[:13], ids[13:70], ids[70:]):
        parts += MixKeyKernel(seed)(pa.RecordBatch.from_pydict({"id": chunk})).column("mix_key").to_pylist()
    assert whole == parts


def test_rounding_errors_carry_to_the_next_cell_of_the_same_language():
    """600 monthly cells each wanting 3 tokens of its one 7-token document: rounded cell by cell, none took
    its document and the mixture was empty; carried, the language gets its 1,800 tokens within a document,
    and a second language's carry is its own."""
    boundaries, docs = {}, {}
    for lang, need in (("en", 3.0), ("de", 5.5)):
        for m in range(600):
            cell = (lang, f"{1970 + m // 12}-{1 + m % 12:02d}")
            key = doc_key(9, f"{lang}{m}")
            boundaries[cell] = (key_bin(key), need)
            docs[cell] = [(key, 7)]
    thresholds = thresholds_with_carry(boundaries, docs)
    taken = {"en": 0, "de": 0}
    for cell, threshold in thresholds.items():
        ((key, tokens),) = docs[cell]
        taken[cell[0]] += tokens if key < threshold else 0
    assert abs(taken["en"] - 1_800) <= 7 and abs(taken["de"] - 3_300) <= 7
    # a cell whose need is a whole document still takes exactly it, carry or not
    one = {("en", "2020"): (0, 7.0)}
    assert thresholds_with_carry(one, {("en", "2020"): [(5, 7)]}) == {
        ("en", "2020"): threshold_in_bin([(5, 7)], 7.0, 0)
    }
