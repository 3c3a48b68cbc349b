"""Parquet input: FineWeb-style column mapping, kept extra columns, bad rows and a corrupt file."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.parquet_reader import column_map_for
from corpus.readers import ReadOptions, read_documents, read_schema
from corpus.schema import validate
from corpus.stats import RejectLog
from tests.shared_data import SHARED_DATA, needs_shared_data

PAGES = SHARED_DATA / "versions" / "wikipedia_versions" / "pages"


@pytest.fixture(scope="module")
def fineweb_rows() -> list[dict]:
    """FineWeb-shaped rows around real article texts (the oldest revision of 40 pages)."""
    rows = []
    for i, page in enumerate(sorted(PAGES.iterdir())[:40]):
        rows.append(
            {
                "text": (page / "0.txt").read_text(encoding="utf-8", errors="replace"),
                "id": f"<urn:uuid:{i:08d}-0000-0000-0000-000000000000>",
                "dump": "CC-MAIN-2013-20",
                "url": f"https://en.wikipedia.org/wiki/{page.name}",
                "date": f"2013-05-{1 + i % 28:02d}T05:48:54Z",
                "file_path": "s3://commoncrawl/crawl-data/CC-MAIN-2013-20/segments/x.warc.gz",
                "language": "en",
                "language_score": 0.93,
                "token_count": 1000 + i,
            }
        )
    return rows


def read(path: Path, options: ReadOptions) -> tuple[list[dict], RejectLog, list[int]]:
    rejects = RejectLog()
    batches = list(read_documents(str(path), options, rejects))
    for batch in batches:
        validate(batch)
    table = pa.Table.from_batches(batches, schema=read_schema(options))
    return table.to_pylist(), rejects, [b.num_rows for b in batches]


@needs_shared_data
def test_fineweb_columns_map_by_default(tmp_path: Path, fineweb_rows: list[dict]) -> None:
    path = tmp_path / "fineweb.parquet"
    pq.write_table(pa.Table.from_pylist(fineweb_rows), path, row_group_size=16)
    docs, rejects, sizes = read(path, ReadOptions(batch_size=10))
    assert len(rejects) == 0 and len(docs) == 40 and sizes == [10, 10, 10, 10]
    first = docs[0]
    assert first["text"] == fineweb_rows[0]["text"] and first["id"] == fineweb_rows[0]["id"]
    assert first["crawl_date"] == datetime(2013, 5, 1, 5, 48, 54, tzinfo=UTC)
    assert first["dump"] == "CC-MAIN-2013-20" and first["url"].startswith("https://en.wikipedia.org/wiki/")
    assert first["source"] == "fineweb"
    assert json.loads(first["metadata_json"]) == {
        "file_path": fineweb_rows[0]["file_path"],
        "language": "en",
        "language_score": 0.93,
        "token_count": 1000,
    }


def test_column_map_overrides_and_record_columns_by_name(tmp_path: Path) -> None:
    table = pa.table(
        {
            "content": ["Alpha text.", "Beta text."],
            "published": pa.array([datetime(2020, 1, 2, tzinfo=UTC), None], pa.timestamp("ms", tz="UTC")),
            "lang": ["en", "de"],
            "date": ["2021-01-01", "2021-02-02"],
        }
    )
    path = tmp_path / "custom.parquet"
    pq.write_table(table, path)
    docs, rejects, _ = read(
        path, ReadOptions(column_map={"text": "content", "created": "published"}, source="s")
    )
    assert len(rejects) == 0
    assert [d["text"] for d in docs] == ["Alpha text.", "Beta text."]
    assert docs[0]["created"] == datetime(2020, 1, 2, tzinfo=UTC) and docs[1]["created"] is None
    assert [d["lang"] for d in docs] == ["en", "de"]
    assert docs[1]["crawl_date"] == datetime(2021, 2, 2, tzinfo=UTC)
    assert {d["source"] for d in docs} == {"s"}
    assert column_map_for(table.schema, {})["crawl_date"] == "date"


def test_column_map_override_takes_the_default_input_column(tmp_path: Path) -> None:
    table = pa.table({"text": ["hello", "world"], "id": ["a", "b"], "date": ["2024-01-02T00:00:00Z", None]})
    path = tmp_path / "fineweb.parquet"
    pq.write_table(table, path)
    docs, rejects, _ = read(path, ReadOptions(column_map={"created": "date"}))
    assert len(rejects) == 0
    assert [d["created"] for d in docs] == [datetime(2024, 1, 2, tzinfo=UTC), None]
    assert [d["crawl_date"] for d in docs] == [None, None]
    assert [d["metadata_json"] for d in docs] == [None, None]
    assert column_map_for(table.schema, {"created": "date"}) == {
        "text": "text",
        "id": "id",
        "created": "date",
    }


def test_metadata_column_of_strings_is_an_extra_column(tmp_path: Path) -> None:
    path = tmp_path / "meta.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "id": ["a", "b"], "metadata": ['{"k": 1}', None]}), path)
    docs, rejects, _ = read(path, ReadOptions())
    assert len(rejects) == 0
    # Kept as the string it was (like any extra column, a null included), not parsed.
    assert [json.loads(d["metadata_json"]) for d in docs] == [{"metadata": '{"k": 1}'}, {"metadata": None}]


def test_metadata_struct_and_map_columns_are_read_as_fields(tmp_path: Path) -> None:
    struct = pa.array([{"url": "http://s.example/", "k": 1}, None])
    pairs = pa.array([[("url", "http://m.example/"), ("k", "2")], None], pa.map_(pa.string(), pa.string()))
    for name, metadata in (("struct", struct), ("map", pairs)):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table({"text": ["a", "b"], "id": ["a", "b"], "metadata": metadata}), path)
        docs, rejects, _ = read(path, ReadOptions())
        assert len(rejects) == 0
        assert [d["url"] for d in docs] == [f"http://{name[0]}.example/", None]
        expected = {"struct": '{"k": 1}', "map": '{"k": "2"}'}[name]
        assert [d["metadata_json"] for d in docs] == [expected, None]


@needs_shared_data
def test_bad_rows_are_rejected_and_the_rest_survive(tmp_path: Path, fineweb_rows: list[dict]) -> None:
    rows = [dict(r) for r in fineweb_rows[:6]]
    rows[1]["text"] = None
    rows[2]["date"] = "not a date"
    rows[3]["text"] = "x" * 2_000_000
    rows[4]["id"] = rows[0]["id"]
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    docs, rejects, _ = read(path, ReadOptions(max_doc_bytes=1_000_000))
    # row 4 repeats row 0's id with another text: kept under a new id, not rejected; row 2's date does not
    # read: the document stays without it
    assert [d["id"] for d in docs] == [rows[0]["id"], rows[2]["id"], rows[0]["id"] + "~2", rows[5]["id"]]
    assert [d["text"] for d in docs] == [rows[0]["text"], rows[2]["text"], rows[4]["text"], rows[5]["text"]]
    assert docs[1]["crawl_date"] is None and docs[0]["crawl_date"] is not None  # FineWeb's `date`
    where = {r.input.rsplit(":", 1)[1]: r.reason for r in rejects.items}
    assert where == {"row 1": "empty_text", "row 3": "too_large"}


@needs_shared_data
def test_corrupt_parquet_is_one_skipped_span(tmp_path: Path, fineweb_rows: list[dict]) -> None:
    path = tmp_path / "whole.parquet"
    pq.write_table(pa.Table.from_pylist(fineweb_rows), path)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(path.read_bytes()[:-100])
    docs, rejects, _ = read(cut, ReadOptions())
    assert docs == [] and len(rejects) == 0
    assert rejects.skipped_counts == Counter({"corrupt_parquet": 1})
    assert rejects.skipped[0].sample.startswith(b"PAR1")
    assert rejects.skipped[0].length == cut.stat().st_size


def test_date32_and_date64_columns_are_midnight_utc(tmp_path: Path) -> None:
    """A dataset that stores its crawl day as a Parquet date (date32, or date64 as pandas writes it): every
    row was rejected as `bad_type` ("expected an ISO 8601 string, got date")."""
    from datetime import date

    days = [date(2013, 5, 1), date(2024, 2, 29), None]
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["one page", "another page", "a third page"],
            "date": pa.array(days, pa.date32()),
            "created": pa.array(days, pa.date64()),
        }
    )
    pq.write_table(table, tmp_path / "days.parquet")
    docs, rejects, _ = read(tmp_path / "days.parquet", ReadOptions())
    expected = [datetime(2013, 5, 1, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC), None]
    assert [d["crawl_date"] for d in docs] == expected and [d["created"] for d in docs] == expected
    assert not rejects.items


def test_a_value_over_the_size_cap_is_refused_before_python_holds_it(tmp_path: Path) -> None:
    """A 600 MB text in a Parquet row group took 3.5 GB of a worker (the Arrow value, then its Python
    string) before being refused as too_large. Refused from its Arrow length: the rows around it are kept,
    and the reader's Python memory stays far under the value's size."""
    import tracemalloc

    huge = "日本語の文章。" * 2_000_000  # 14 M characters, 42 MB of UTF-8
    texts = ["A first short document.", huge, "A last short document."]
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": texts}), path)
    del huge, texts
    rejects, counters = RejectLog(), Counter()
    options = ReadOptions(added=datetime(2025, 1, 1, tzinfo=UTC), max_doc_bytes=10_000_000)
    tracemalloc.start()
    try:
        rows = [r for b in read_documents(str(path), options, rejects, counters) for r in b.to_pylist()]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["id"] for r in rows] == ["a", "c"]
    assert rejects.counts == Counter({"too_large": 1}) and rejects.items[0].input.endswith("row 1")
    assert peak < 16 << 20, f"peak {peak >> 20} MiB"
