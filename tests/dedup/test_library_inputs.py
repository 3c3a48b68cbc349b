"""What a caller of the dedup functions may hand them: junk URLs, shared or missing ids, an empty table,
texts of other Arrow types, bad edges and bad signature settings. Each gives the right answer or a
ValueError/TypeError naming the problem, never a wrong cluster."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dedup.kernel import DedupConfig, dedup_kernel
from dedup.local import dedup_table
from dedup.lsh import host_keys, normalize_urls
from dedup.minhash import SignatureConfig, batch_signatures
from dedup.union_find import component_roots, components
from dedup.versions import TEXT_HASH

TEXTS = [
    "the quick brown fox jumps over the lazy dog while the cat watches from the window sill",
    "a recipe for bread with flour water salt and yeast baked slowly in a very hot oven",
    "the stock market closed higher today as investors cheered strong quarterly earnings reports",
]


def _dated(n: int) -> pa.Array:
    return pa.array([datetime(2020 + i, 1, 1, tzinfo=UTC) for i in range(n)], pa.timestamp("us", tz="UTC"))


def test_strings_that_name_no_web_resource_have_no_resource_key() -> None:
    junk = [
        "N/A",
        "unknown",
        "not a url",
        "/relative/path",
        "http:///x",
        "mailto:a@b.com",
        "javascript:void(0)",
    ]
    assert normalize_urls(pa.array(junk)).to_pylist() == [None] * len(junk)
    assert host_keys(pa.array(junk)).null_count == len(junk)


def test_real_urls_keep_their_keys_in_every_spelling() -> None:
    urls = [
        "https://WWW.Example.com:8080/a/",
        "http://example.com./a",  # a fully qualified host
        "http://example.com/a \t",  # trailing whitespace, as some datasets keep it
        "example.com/a",  # no scheme, as some datasets write URLs
        "http://user:pw@example.com/a#part",
    ]
    assert normalize_urls(pa.array(urls)).to_pylist() == ["example.com/a"] * len(urls)
    # a scheme does not make a placeholder a web host
    placeholders = [
        "http://localhost/x",
        "localhost/x",
        "https://N/A",
        "http://-",
        "https://n.a./",
        "http://intranet/",
    ]
    assert normalize_urls(pa.array(placeholders)).to_pylist() == [None] * len(placeholders)


def test_unrelated_documents_with_a_placeholder_url_are_not_one_resource() -> None:
    table = pa.table({"id": ["a", "b", "c"], "text": TEXTS, "url": ["N/A"] * 3, "created": _dated(3)})
    out = dedup_table(table)
    assert out.column("cluster_id").to_pylist() == ["a", "b", "c"]
    assert out.column("is_stale").to_pylist() == [False, False, False]


def test_the_same_placeholder_with_one_real_url_still_joins_the_real_captures() -> None:
    urls = ["http://example.com/page", "http://example.com/page", "N/A"]
    table = pa.table({"id": ["a", "b", "c"], "text": TEXTS, "url": urls, "created": _dated(3)})
    assert dedup_table(table).column("cluster_id").to_pylist() == ["a", "a", "c"]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a", "a", "b"], "ids shared by two or more rows: 'a'"),
        (["a", None, "b"], "rows without an id (null or empty): 1"),
        (["a", "", "b"], "rows without an id (null or empty): 1"),
    ],
)
def test_dedup_table_refuses_ids_that_do_not_name_one_document(ids: list[str | None], message: str) -> None:
    table = pa.table({"id": pa.array(ids, pa.string()), "text": TEXTS, "created": _dated(3)})
    with pytest.raises(ValueError, match=re.escape(message)):
        dedup_table(table)


def test_dedup_table_of_no_rows_is_no_rows_with_the_columns_of_a_result() -> None:
    empty = pa.table({"id": pa.array([], pa.string()), "text": pa.array([], pa.string())})
    out = dedup_table(empty)
    assert out.num_rows == 0
    assert {"cluster_id", "is_stale", "version_rank"} <= set(out.schema.names)


def test_a_null_text_is_hashed_from_its_id_whatever_the_split() -> None:
    kernel = dedup_kernel(DedupConfig())
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b", "c", "d"], "text": [TEXTS[0], None, TEXTS[1], None]})
    whole = kernel(batch).column(TEXT_HASH).to_pylist()
    split = (
        kernel(batch.slice(0, 2)).column(TEXT_HASH).to_pylist()
        + kernel(batch.slice(2)).column(TEXT_HASH).to_pylist()
    )
    assert whole == split
    assert whole[1] != whole[3]  # two documents without text are no exact copies of each other


def test_a_null_text_without_an_id_is_refused() -> None:
    kernel = dedup_kernel(DedupConfig())
    with pytest.raises(ValueError, match="row 1 has neither a text nor an id"):
        kernel(pa.RecordBatch.from_pydict({"text": [TEXTS[0], None]}))
    with pytest.raises(ValueError, match="row 0 has neither a text nor an id"):
        kernel(
            pa.RecordBatch.from_pydict(
                {"id": pa.array([None], pa.string()), "text": pa.array([None], pa.string())}
            )
        )


def test_dictionary_and_null_typed_texts_sign_as_plain_strings() -> None:
    plain = pa.array([TEXTS[0], TEXTS[1], TEXTS[0]])
    expected = batch_signatures(plain)
    for config in (SignatureConfig(), SignatureConfig(engine="numpy")):
        got = batch_signatures(pc.dictionary_encode(plain), config)
        assert np.array_equal(got.signatures, batch_signatures(plain, config).signatures)
    assert np.array_equal(batch_signatures(pc.dictionary_encode(plain)).signatures, expected.signatures)
    assert batch_signatures(pa.nulls(2)).n_shingles.tolist() == [0, 0]
    with pytest.raises(TypeError, match="column 'text' is int64: expected strings"):
        batch_signatures(pa.array([1, 2]))


def test_components_refuse_nodes_outside_the_graph() -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.2, found -1"):
        components(np.array([-1]), np.array([1]), 3)  # NumPy would take -1 as node 2
    with pytest.raises(ValueError, match=r"within 0\.\.2, found 5"):
        components(np.array([0, 5]), np.array([1, 2]), 3)
    with pytest.raises(ValueError, match="1 edge sources against 2 destinations"):
        components(np.array([0]), np.array([1, 2]), 3)
    assert components(np.array([0]), np.array([2]), 3).tolist() == [0, 1, 0]


def test_component_roots_refuse_a_null_node() -> None:
    # joined through null, z and y would be one component
    with pytest.raises(ValueError, match="an edge has a null node"):
        component_roots(pa.array(["z", None]), pa.array([None, "y"]))


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"num_perm": 128.0}, TypeError, "num_perm 128.0: expected an integer"),
        ({"num_perm": "128"}, TypeError, "num_perm '128': expected an integer"),
        ({"seed": 1.5}, TypeError, "seed 1.5: expected an integer"),
        ({"ngram": True}, TypeError, "ngram True: expected an integer"),
        ({"seed": -1, "scheme": "rensa"}, ValueError, "seed -1: expected 0 to 4294967295"),
        ({"seed": 2**32, "scheme": "datasketch"}, ValueError, "seed 4294967296: expected 0 to 4294967295"),
    ],
)
def test_signature_settings_of_the_wrong_type_or_range_are_refused(
    settings: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SignatureConfig(**settings)  # type: ignore[arg-type]
    assert SignatureConfig(num_perm=np.int64(64), seed=2**32 - 1).num_perm == 64


def test_url_keys_take_trailing_whitespace_and_refuse_what_reads_as_no_web_host() -> None:
    urls = [
        "http://example.com ",
        "http://example.com\n",
        "example.com/x",
        "xn--bcher-kva.de/x",
        "10.0.0.1/x",
    ]
    assert normalize_urls(pa.array(urls)).to_pylist() == [
        "example.com",
        "example.com",
        "example.com/x",
        "xn--bcher-kva.de/x",
        "10.0.0.1/x",
    ]
    # placeholders with dots, e-mail addresses: no top-level domain, or an "@" without a scheme
    assert normalize_urls(pa.array(["N.A.", "e.g.", "a@b.com"])).to_pylist() == [None, None, None]


def test_bytes_texts_and_integer_ids_are_read_as_what_they_are() -> None:
    # Parquet strings written without their UTF-8 annotation arrive as binary
    binary = pa.table(
        {"id": ["a", "b", "c"], "text": pa.array([t.encode() for t in (TEXTS[0], TEXTS[0], TEXTS[1])])}
    )
    assert dedup_table(binary).column("cluster_id").to_pylist() == ["a", "a", "c"]
    # an id of 0 is an id: a document without text is named by it
    numbered = pa.table({"id": [0, 1, 2], "text": pa.array([None, TEXTS[0], TEXTS[1]], pa.string())})
    assert dedup_table(numbered).column("cluster_id").to_pylist() == ["0", "1", "2"]


def test_the_oph_scheme_takes_a_64_bit_seed() -> None:
    texts = pa.array([TEXTS[0]])
    wide = batch_signatures(texts, SignatureConfig(seed=2**40)).signatures
    assert not np.array_equal(wide, batch_signatures(texts, SignatureConfig(seed=1)).signatures)
    with pytest.raises(ValueError, match="expected 0 to 18446744073709551615"):
        SignatureConfig(seed=2**64)
