"""corpus.schema's readers of a column as the kernels take it (as_text, as_utc_timestamps) and the Dolma
writer's JSON for columns of every Arrow type."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.schema import TIMESTAMP, as_text, as_utc_timestamps
from corpus.writers import write_dolma_jsonl_gz


def test_as_text_decodes_dictionaries_and_types_all_null_columns() -> None:
    plain = pa.array(["a", None, "a"])
    assert as_text(pc.dictionary_encode(plain)).to_pylist() == ["a", None, "a"]
    assert as_text(pa.nulls(2)).type == pa.string()
    assert as_text(pa.chunked_array([["x"], ["y"]], pa.large_string())).to_pylist() == ["x", "y"]
    with pytest.raises(TypeError, match="column 'body' is double: expected strings"):
        as_text(pa.array([1.5]), "body")


def test_as_utc_timestamps_reads_every_spelling_of_one_moment() -> None:
    noon = datetime(2024, 5, 20, 12, tzinfo=UTC)
    spellings = [
        pa.array([noon], TIMESTAMP),
        pa.array([noon.replace(tzinfo=None)], pa.timestamp("s")),  # naive: UTC
        pa.array([int(noon.timestamp() * 1e9)], pa.timestamp("ns", tz="UTC")).cast(
            pa.timestamp("ns", tz="Asia/Tokyo")
        ),
        pa.array(["2024-05-20T12:00:00Z"]),
        pa.array(["2024-05-20T14:00:00+02:00"]),
        pa.array(["2024-05-20T12:00:00"]),  # no offset: UTC
        pc.dictionary_encode(pa.array(["2024-05-20T12:00:00Z"])),
    ]
    for values in spellings:
        got = as_utc_timestamps(values, "crawl_date")
        assert got.type == TIMESTAMP and got.to_pylist() == [noon], values.type
    day = as_utc_timestamps(pa.array([date(2024, 5, 20), None], pa.date32()), "created")
    assert day.to_pylist() == [datetime(2024, 5, 20, tzinfo=UTC), None]
    assert as_utc_timestamps(pa.array(["2024-05-20", None]), "c").to_pylist()[0] == datetime(
        2024, 5, 20, tzinfo=UTC
    )
    assert as_utc_timestamps(pa.nulls(1), "c").to_pylist() == [None]


def test_as_utc_timestamps_names_the_column_it_cannot_read() -> None:
    with pytest.raises(TypeError, match="column 'crawl_date' is int64: expected timestamps"):
        as_utc_timestamps(pa.array([1]), "crawl_date")
    with pytest.raises(ValueError, match="column 'created': 'garbage' is no ISO 8601 time"):
        as_utc_timestamps(pa.array(["2024-05-20", "garbage"]), "created")


def test_dolma_metadata_holds_columns_of_every_type(tmp_path: Path) -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["x"],
            "text": ["some text"],
            "day": pa.array([date(2020, 1, 2)], pa.date32()),
            "blob": pa.array([b"\x00\xff"], pa.binary()),
            "price": pa.array([Decimal("1.50")], pa.decimal128(5, 2)),
            "took": pa.array([timedelta(seconds=5)], pa.duration("s")),
            "nested": pa.array([{"when": date(2021, 3, 4), "tags": [b"ab"]}]),
            "pairs": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
        }
    )
    write_dolma_jsonl_gz([batch], str(tmp_path / "out"))
    with gzip.open(tmp_path / "out" / "part-00000.jsonl.gz", "rt") as f:
        (row,) = [json.loads(line) for line in f]
    assert row["metadata"] == {
        "day": "2020-01-02",
        "blob": "AP8=",
        "price": "1.50",
        "took": 5.0,
        "nested": {"when": "2021-03-04", "tags": ["YWI="]},
        "pairs": [["k", 1]],
    }


def test_an_empty_wiki_revision_is_empty_text_and_a_stub_or_suppressed_one_deleted(tmp_path: Path) -> None:
    from collections import Counter

    from corpus.readers import ReadOptions, read_documents
    from corpus.stats import RejectLog

    revisions = [
        '<text xml:space="preserve"></text>',  # an older export's empty revision: no size
        '<text bytes="0" />',
        '<text bytes="1200" />',  # a stub dump leaves the text out
        '<text deleted="deleted" />',
        "<text>a revision with words in it</text>",
    ]
    xml = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11">'
        "<siteinfo><base>https://en.example.org/wiki/Main_Page</base></siteinfo>"
        "<page><title>P</title><ns>0</ns><id>10</id>"
        + "".join(
            f"<revision><id>{100 + i}</id><timestamp>2020-0{i + 1}-01T00:00:00Z</timestamp>{t}</revision>"
            for i, t in enumerate(revisions)
        )
        + "</page></mediawiki>"
    )
    path = tmp_path / "w.xml"
    path.write_text(xml)
    rejects = RejectLog()
    rows = sum(b.num_rows for b in read_documents(str(path), ReadOptions(), rejects))
    assert rows == 1
    assert Counter(r.reason for r in rejects.items) == Counter({"empty_text": 2, "deleted_text": 2})


def test_blank_and_unholdable_times_and_byte_texts() -> None:
    assert as_utc_timestamps(pa.array(["", " ", None]), "created").to_pylist() == [None, None, None]
    with pytest.raises(ValueError, match="column 'created': '0001-01-01T00:00:00"):
        as_utc_timestamps(pa.array(["0001-01-01T00:00:00+01:00"]), "created")
    assert as_text(pa.array([b"abc", None], pa.binary())).to_pylist() == ["abc", None]
    assert as_text(pa.array([b"\xffa"], pa.large_binary())).to_pylist() == ["\ufffda"]  # not UTF-8: replaced


def _read_all(path: Path) -> tuple[list[dict], Counter[str]]:
    from corpus.readers import ReadOptions, read_documents
    from corpus.stats import RejectLog

    rejects = RejectLog()
    rows = [r for b in read_documents(str(path), ReadOptions(), rejects) for r in b.to_pylist()]
    return rows, Counter(r.reason for r in rejects.items)


def test_one_date_out_of_range_loses_neither_its_row_nor_the_file(tmp_path: Path) -> None:
    days = [date(2020, 1, d + 1).toordinal() - date(1970, 1, 1).toordinal() for d in range(9)] + [3_000_000]
    path = tmp_path / "d.parquet"
    created = pa.array(days, pa.int32()).cast(pa.date32())  # the last: about the year 10183
    pq.write_table(
        pa.table({"id": [str(i) for i in range(10)], "text": ["words"] * 10, "created": created}), path
    )
    rows, reasons = _read_all(path)
    assert [r["id"] for r in rows] == [str(i) for i in range(10)]
    assert rows[0]["created"] == datetime(2020, 1, 1, tzinfo=UTC) and rows[9]["created"] is None
    assert json.loads(rows[9]["metadata_json"]) == {"times_not_read": {"created": "10183-09-21"}}
    assert reasons == Counter()
    from corpus.readers import ReadOptions, read_documents
    from corpus.stats import RejectLog

    counters: Counter[str] = Counter()
    assert sum(b.num_rows for b in read_documents(str(path), ReadOptions(), RejectLog(), counters)) == 10
    assert counters["time_not_read:created"] == 1


def test_blank_times_are_no_times_and_byte_texts_are_text(tmp_path: Path) -> None:
    texts = [b"first text", b"second text", b"third text"]
    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": pa.array(texts, pa.binary()),
            "created": ["", "   ", "2020-01-01T00:00:00Z"],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    rows, reasons = _read_all(tmp_path / "t.parquet")
    assert [(r["text"], r["created"]) for r in rows] == [
        ("first text", None),
        ("second text", None),
        ("third text", datetime(2020, 1, 1, tzinfo=UTC)),
    ]
    assert not reasons
    (tmp_path / "t.jsonl").write_text('{"id": "a", "text": "x y", "created": "", "last_modified": " "}\n')
    rows, reasons = _read_all(tmp_path / "t.jsonl")
    assert [(r["created"], r["last_modified"]) for r in rows] == [(None, None)] and not reasons
    pq.write_table(
        pa.table({"id": ["z"], "text": pa.array([b"\xff\xfe"], pa.binary())}), tmp_path / "bad.parquet"
    )
    rows, reasons = _read_all(tmp_path / "bad.parquet")
    assert rows == [] and reasons == Counter({"bad_type": 1})  # not UTF-8: counted, not guessed
