"""Parquet and Dolma writers: shard layout, byte-identical reruns, round trip."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents, read_schema
from corpus.stats import RejectLog
from corpus.writers import dolma_rows, iso_utc, write_dolma_jsonl_gz, write_parquet_shards
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = SHARED_DATA
DOLMA = DATA / "warc" / "dolma_sample-0000.warc.gz"
WHIRLWIND = DATA / "warc" / "cc-whirlwind_whirlwind.warc.gz"
HISTORY = DATA / "versions" / "wmf_commonswiki_File13327093_revisions.xml"
ADDED = datetime(2026, 1, 1, tzinfo=UTC)  # after the history sample's last revision (2025-09)


def batches(path: Path, batch_size: int = 1000, keep_html: bool = False) -> list[pa.RecordBatch]:
    rejects = RejectLog()
    found = list(
        read_documents(
            str(path), ReadOptions(batch_size=batch_size, keep_html=keep_html, added=ADDED), rejects
        )
    )
    assert len(rejects) == 0
    return found


@needs_shared_data
def test_parquet_shards_have_exact_sizes_and_names(tmp_path: Path) -> None:
    n = write_parquet_shards(batches(HISTORY, batch_size=7), tmp_path, rows_per_shard=25, row_group_rows=10)
    assert n == 59
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    files = [pq.ParquetFile(tmp_path / name) for name in names]
    assert [f.metadata.num_rows for f in files] == [25, 25, 9]
    assert [f.metadata.row_group(0).num_rows for f in files] == [10, 10, 9]
    table = pa.concat_tables([f.read() for f in files])
    expected = pa.Table.from_batches(batches(HISTORY), schema=read_schema(ReadOptions()))
    assert table.equals(expected)


@needs_shared_data
def test_parquet_bytes_do_not_depend_on_input_batching(tmp_path: Path) -> None:
    write_parquet_shards(batches(DOLMA, batch_size=3), tmp_path / "a", rows_per_shard=10, row_group_rows=4)
    write_parquet_shards(batches(DOLMA, batch_size=8), tmp_path / "b", rows_per_shard=10, row_group_rows=4)
    a = sorted((tmp_path / "a").iterdir())
    b = sorted((tmp_path / "b").iterdir())
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 3
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


@needs_shared_data
def test_dolma_rows_layout() -> None:
    (batch,) = batches(WHIRLWIND, keep_html=True)
    (row,) = dolma_rows(batch)
    assert list(row) == ["id", "text", "source", "added", "created", "metadata"]
    assert row["added"] == "2026-01-01T00:00:00Z" and row["created"] is None
    meta = row["metadata"]
    assert meta["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert meta["crawl_date"] == "2024-05-18T01:58:10Z" and meta["last_modified"] == "2024-05-04T01:58:10Z"
    assert meta["dump"] == "CC-MAIN-2024-22"
    assert "html" not in meta and "lang" not in meta  # html dropped unless asked; nulls left out
    assert "<html" in dolma_rows(batch, keep_html=True)[0]["metadata"]["html"].lower()
    assert iso_utc(datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=UTC)) == "2024-01-02T03:04:05.000600Z"


@needs_shared_data
def test_dolma_round_trip_through_the_jsonl_reader(tmp_path: Path) -> None:
    for source in (DOLMA, HISTORY):
        out = tmp_path / source.name
        written = batches(source, batch_size=9)
        n = write_dolma_jsonl_gz(written, out, rows_per_shard=20)
        shards = sorted(out.iterdir())
        assert shards[0].name == "part-00000.jsonl.gz" and all(
            s.suffixes[-2:] == [".jsonl", ".gz"] for s in shards
        )
        rejects = RejectLog()
        back = [b for s in shards for b in read_documents(str(s), ReadOptions(), rejects)]
        assert len(rejects) == 0
        schema = read_schema(ReadOptions())
        original = pa.Table.from_batches(written, schema=schema)
        assert n == original.num_rows
        assert pa.Table.from_batches(back, schema=schema).equals(original)


def test_dolma_round_trip_keeps_years_before_1000(tmp_path: Path) -> None:
    lines = [
        {"id": "beowulf", "text": "Hwaet.", "created": "0900-01-01T00:00:00Z"},
        {"id": "first", "text": "Year one.", "created": "0001-02-03T04:05:06.000007Z", "added": "0999-12-31"},
    ]
    source = tmp_path / "old.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rejects = RejectLog()
    written = list(read_documents(str(source), ReadOptions(added=ADDED), rejects))
    write_dolma_jsonl_gz(written, tmp_path / "out")
    shard = tmp_path / "out" / "part-00000.jsonl.gz"
    dumped = [json.loads(line) for line in gzip.decompress(shard.read_bytes()).decode().splitlines()]
    assert [(d["created"], d["added"]) for d in dumped] == [
        ("0900-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("0001-02-03T04:05:06.000007Z", "0999-12-31T00:00:00Z"),
    ]
    back = list(read_documents(str(shard), ReadOptions(), rejects))
    assert len(rejects) == 0
    schema = read_schema(ReadOptions())
    table = pa.Table.from_batches(back, schema=schema)
    assert table.equals(pa.Table.from_batches(written, schema=schema))
    assert table.column("created").to_pylist()[0] == datetime(900, 1, 1, tzinfo=UTC)


@needs_shared_data
def test_dolma_files_are_deterministic_gzip(tmp_path: Path) -> None:
    write_dolma_jsonl_gz(batches(DOLMA, batch_size=4), tmp_path / "a")
    write_dolma_jsonl_gz(batches(DOLMA, batch_size=11), tmp_path / "b")
    a = (tmp_path / "a" / "part-00000.jsonl.gz").read_bytes()
    assert a == (tmp_path / "b" / "part-00000.jsonl.gz").read_bytes()
    lines = gzip.decompress(a).decode().splitlines()
    assert len(lines) == 22 and json.loads(lines[0])["metadata"]["url"].startswith("https://")


@needs_shared_data
def test_rows_per_shard_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^rows_per_shard: "):
        write_parquet_shards(batches(WHIRLWIND), tmp_path, rows_per_shard=0)


def test_metadata_json_reads_back_unchanged_from_parquet_and_dolma_output(tmp_path: Path) -> None:
    """Re-ingesting chronomix's own Parquet output wrapped `metadata_json` once more each time
    (`{"language": "en"}` became `{"metadata_json": "{\\"language\\": \\"en\\"}"}`), and a null one became
    `{"metadata_json": null}`, which the Dolma writer then carried as a key."""
    given = tmp_path / "given.jsonl"
    given.write_text(
        '{"id": "a", "text": "one page", "metadata": {"language": "en", "token_count": 59}}\n'
        '{"id": "b", "text": "another page"}\n'
    )
    first = pa.Table.from_batches(batches(given))
    assert first.column("metadata_json").to_pylist() == ['{"language": "en", "token_count": 59}', None]
    again = first
    for round_trip in range(2):  # Parquet output read back, twice
        path = tmp_path / f"out-{round_trip}.parquet"
        pq.write_table(again, path)
        again = pa.Table.from_batches(batches(path))
        assert again.column("metadata_json").to_pylist() == first.column("metadata_json").to_pylist()
    write_dolma_jsonl_gz(again.to_batches(), tmp_path / "dolma", rows_per_shard=10)
    lines = gzip.decompress((tmp_path / "dolma" / "part-00000.jsonl.gz").read_bytes()).decode().splitlines()
    metadata = [json.loads(line)["metadata"] for line in lines]
    assert all("metadata_json" not in m for m in metadata) and metadata[0]["token_count"] == 59
    back = pa.Table.from_batches(batches(tmp_path / "dolma" / "part-00000.jsonl.gz"))
    assert back.column("metadata_json").to_pylist() == first.column("metadata_json").to_pylist()
    # a dataset's own field of that name that is no JSON object is kept as a field
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"id": "c", "text": "a page", "metadata_json": "not json"}\n')
    assert pa.Table.from_batches(batches(odd)).column("metadata_json").to_pylist() == [
        '{"metadata_json": "not json"}'
    ]
