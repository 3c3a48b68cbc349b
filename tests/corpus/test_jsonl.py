"""Dolma and plain JSON Lines: columns from metadata, kept extra fields, and bad lines with their numbers."""

from __future__ import annotations

import bz2
import gzip
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from corpus.readers import ReadOptions, read_documents, read_schema, stable_id
from corpus.schema import validate
from corpus.stats import RejectLog
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = SHARED_DATA
PAGES = DATA / "versions" / "wikipedia_versions" / "pages"
ADDED = datetime(2025, 1, 1, tzinfo=UTC)


def read(path: Path, options: ReadOptions | None = None) -> tuple[list[dict], RejectLog]:
    options = options or ReadOptions(added=ADDED)
    rejects = RejectLog()
    batches = list(read_documents(str(path), options, rejects))
    for batch in batches:
        validate(batch)
    return pa.Table.from_batches(batches, schema=read_schema(options)).to_pylist(), rejects


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Real article texts (the newest revision of the first 30 Wikipedia pages of the versions sample)."""
    found = []
    for page in sorted(PAGES.iterdir())[:30]:
        newest = max(page.glob("*.txt"), key=lambda p: int(p.stem))
        found.append(newest.read_text(encoding="utf-8", errors="replace"))
    return found


def dolma_line(i: int, text: str) -> dict:
    return {
        "id": f"doc-{i}",
        "text": text,
        "source": "wiki-versions",
        "added": "2024-06-01T12:00:00.000Z",
        "created": "2019-03-04",
        "metadata": {"url": f"https://en.wikipedia.org/wiki/Page_{i}", "lang": "en", "license": "CC BY-SA"},
    }


def write_lines(path: Path, lines: list, opener: Callable = open) -> None:
    with opener(path, "wb") as out:
        for line in lines:
            if isinstance(line, dict):
                line = json.dumps(line)
            out.write((line.encode() if isinstance(line, str) else line) + b"\n")


@needs_shared_data
def test_dolma_lines_become_record_columns(tmp_path: Path, texts: list[str]) -> None:
    path = tmp_path / "docs.jsonl"
    write_lines(path, [dolma_line(i, t) for i, t in enumerate(texts)])
    docs, rejects = read(path)
    assert len(rejects) == 0 and len(docs) == 30
    first = docs[0]
    assert first["id"] == "doc-0" and first["text"] == texts[0]
    assert first["source"] == "wiki-versions" and first["lang"] == "en"
    assert first["url"] == "https://en.wikipedia.org/wiki/Page_0"
    assert first["added"] == datetime(2024, 6, 1, 12, tzinfo=UTC)  # the line's own `added` is kept
    assert first["created"] == datetime(2019, 3, 4, tzinfo=UTC)
    assert json.loads(first["metadata_json"]) == {"license": "CC BY-SA"}


@needs_shared_data
def test_plain_text_lines_get_hash_ids_and_file_source(tmp_path: Path, texts: list[str]) -> None:
    path = tmp_path / "plain.jsonl.gz"
    write_lines(path, [{"text": t} for t in texts[:5]], gzip.open)
    docs, rejects = read(path)
    assert len(rejects) == 0 and len(docs) == 5
    assert docs[0]["source"] == "plain" and docs[0]["added"] == ADDED
    assert docs[0]["id"] == stable_id("plain", None, texts[0])


@needs_shared_data
def test_bad_lines_are_rejected_with_line_numbers(tmp_path: Path, texts: list[str]) -> None:
    lines = [
        dolma_line(0, texts[0]),
        "{not json",
        {"id": "x1"},
        {"text": 42},
        dolma_line(4, texts[4]),
        {"text": "fine", "created": "the 4th of July"},
        {"text": "fine", "metadata": ["not", "an", "object"]},
        '["an", "array"]',
        {"text": "   "},
        dolma_line(9, texts[9]),
        {"text": texts[10], "id": "doc-0"},
        b'{"text": "\xff\xfe not UTF-8"}',
    ]
    path = tmp_path / "bad.jsonl"
    write_lines(path, lines)
    counters: Counter[str] = Counter()
    rejects = RejectLog()
    docs = pa.Table.from_batches(
        list(read_documents(str(path), ReadOptions(added=ADDED), rejects, counters)),
        schema=read_schema(ReadOptions(added=ADDED)),
    ).to_pylist()
    # line 11 repeats doc-0's id with another text: a document all the same, kept under a new id
    assert [d["id"] for d in docs][:2] + [d["id"] for d in docs][3:] == ["doc-0", "doc-4", "doc-9", "doc-0~2"]
    assert docs[-1]["text"] == texts[10] and counters["duplicate_id_renamed"] == 1
    # line 6's time does not read: the document stays, its value kept in metadata_json, counted
    assert docs[2]["text"] == "fine" and docs[2]["created"] is None
    assert json.loads(docs[2]["metadata_json"]) == {"times_not_read": {"created": "the 4th of July"}}
    assert counters["time_not_read:created"] == 1
    assert rejects.counts == Counter({"bad_json": 3, "empty_text": 2, "bad_type": 2})
    where = {r.input.rsplit(":", 1)[1]: r.reason for r in rejects.items}
    assert where == {
        "line 2": "bad_json",
        "line 3": "empty_text",
        "line 4": "bad_type",
        "line 7": "bad_type",
        "line 8": "bad_json",
        "line 9": "empty_text",
        "line 12": "bad_json",
    }
    assert all(r.sample for r in rejects.items)
    assert len(docs) + len(rejects) == len(lines)


@needs_shared_data
@pytest.mark.parametrize(
    ("suffix", "compress", "reason"),
    [
        (".jsonl.gz", gzip.compress, "truncated_gzip"),
        (".jsonl.zst", zstandard.ZstdCompressor().compress, "truncated_zstd"),
        (".jsonl.bz2", lambda data: bz2.compress(data, compresslevel=1), "truncated_bz2"),
    ],
)
def test_truncated_compressed_file_keeps_lines_before_the_cut(
    tmp_path: Path, suffix: str, compress: Callable[[bytes], bytes], reason: str
) -> None:
    # Every revision of every article (a few MB): many zstd/bz2 blocks, so some lie before the cut.
    revisions = sorted(PAGES.glob("*/*.txt"))
    lines = [dolma_line(i, p.read_text(encoding="utf-8", errors="replace")) for i, p in enumerate(revisions)]
    blob = compress(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    whole = tmp_path / f"whole{suffix}"
    whole.write_bytes(blob)
    docs, rejects = read(whole)
    assert len(docs) == len(lines) and len(rejects) == 0
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(blob[: len(blob) // 2])
    docs, rejects = read(cut)
    assert rejects.counts == Counter({reason: 1})
    assert 0 < len(docs) < len(lines)
    assert [d["id"] for d in docs] == [f"doc-{i}" for i in range(len(docs))]
    assert [d["text"] for d in docs] == [line["text"] for line in lines[: len(docs)]]
    assert rejects.items[0].input == f"{cut}:line {len(docs) + 1}"


def test_column_map_renames_input_fields(tmp_path: Path) -> None:
    path = tmp_path / "mapped.jsonl"
    write_lines(
        path, [{"body": "Hello there.", "date": "2020-02-02T10:00:00+02:00", "link": "https://a.example/"}]
    )
    docs, rejects = read(path, ReadOptions(column_map={"text": "body", "created": "date", "url": "link"}))
    assert len(rejects) == 0
    assert docs[0]["text"] == "Hello there." and docs[0]["url"] == "https://a.example/"
    assert docs[0]["created"] == datetime(2020, 2, 2, 8, tzinfo=UTC)
    assert docs[0]["metadata_json"] is None


def test_column_map_renames_at_once_and_keeps_displaced_keys(tmp_path: Path) -> None:
    path = tmp_path / "displaced.jsonl"
    lines = [
        {"id": "orig-1", "doc_id": "d7", "text": "Seven.", "extra": 1},
        {"text": "Swap.", "url": "http://u.example/", "link": "http://l.example/"},
        {"text": "Clash.", "id": "x", "doc_id": "d9", "column_map_displaced": "mine"},
    ]
    write_lines(path, lines)
    docs, rejects = read(path, ReadOptions(column_map={"id": "doc_id"}, added=ADDED))
    assert [d["id"] for d in docs] == ["d7", stable_id("displaced", "http://u.example/", "Swap.")]
    assert json.loads(docs[0]["metadata_json"]) == {"column_map_displaced": {"id": "orig-1"}, "extra": 1}
    assert [(r.reason, r.input.rsplit(":", 1)[1]) for r in rejects.items] == [("bad_value", "line 3")]
    docs, rejects = read(path, ReadOptions(column_map={"url": "link", "id": "url"}, added=ADDED))
    assert (docs[1]["id"], docs[1]["url"]) == ("http://u.example/", "http://l.example/")
    assert docs[1]["metadata_json"] is None


def test_metadata_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "meta.jsonl"
    write_lines(path, [{"text": "a", "metadata": '{"k": 1}'}, {"text": "b", "metadata": None, "id": "b"}])
    docs, rejects = read(path)
    assert [d["id"] for d in docs] == ["b"]
    assert [(r.reason, r.detail) for r in rejects.items] == [
        ("bad_type", "metadata: expected an object, got str")
    ]


def test_nan_and_infinity_in_kept_fields_are_written_as_null(tmp_path: Path) -> None:
    """Python's json reads NaN and Infinity, which JSON has not: they reached `metadata_json` and the Dolma
    output as `NaN`, which a strict reader refuses. They are null now, however deeply nested."""
    from corpus.writers import dolma_rows

    path = tmp_path / "nan.jsonl"
    path.write_text(
        '{"id": "n1", "text": "a page", "score": NaN, "nested": {"values": [1.5, Infinity, -Infinity]}}\n'
    )
    docs, rejects = read(path)
    assert not rejects.items and len(docs) == 1

    def strict(text: str) -> object:
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in {text}"))

    assert strict(docs[0]["metadata_json"]) == {"nested": {"values": [1.5, None, None]}, "score": None}
    # An output written before this (metadata_json holding NaN) is written as null too.
    batch = pa.RecordBatch.from_pylist([{"id": "n2", "text": "x", "metadata_json": '{"score": NaN}'}])
    assert strict(json.dumps(dolma_rows(batch)[0]))["metadata"] == {"score": None}


def test_a_zstd_file_written_with_a_long_window_reads(tmp_path: Path) -> None:
    """`zstd --long=30` writes frames that declare a 1 GiB window, past the library's default limit: the file
    was one `corrupt_zstd` span and every line was lost."""
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=30, enable_ldm=True)
    packer = zstandard.ZstdCompressor(compression_params=params).compressobj()
    lines = "".join(json.dumps({"id": f"d{i}", "text": f"line {i}"}) + "\n" for i in range(40))
    data = packer.compress(lines.encode()) + packer.flush()
    assert zstandard.get_frame_parameters(data).window_size == 1 << 30
    (tmp_path / "long.jsonl.zst").write_bytes(data)
    docs, rejects = read(tmp_path / "long.jsonl.zst")
    assert (
        [d["id"] for d in docs] == [f"d{i}" for i in range(40)] and not rejects.items and not rejects.skipped
    )


def test_a_file_holding_one_json_document_is_read_as_one(tmp_path: Path) -> None:
    """A `.json` file holding an array (indented or on one line) or one indented object was read as JSON Lines:
    10 `bad_json` rejects for 2 records. Its objects are records now; what is not a record is counted once."""
    records = [{"id": "a", "text": "first page"}, {"id": "b", "text": "second page", "score": 1}]
    (tmp_path / "pretty.json").write_text(json.dumps(records, indent=2))
    (tmp_path / "one_line.json").write_text("\n\n" + json.dumps(records))
    (tmp_path / "object.json").write_text(json.dumps(records[0], indent=2))
    for name, ids in (("pretty.json", ["a", "b"]), ("one_line.json", ["a", "b"]), ("object.json", ["a"])):
        docs, rejects = read(tmp_path / name)
        assert [d["id"] for d in docs] == ids and not rejects.items and not rejects.skipped, name
    mixed = [records[0], {"id": "c", "text": 5}, {"id": "d", "text": "kept"}, {"id": "a", "text": "again"}]
    (tmp_path / "mixed.json").write_text(json.dumps(mixed, indent=1))
    docs, rejects = read(tmp_path / "mixed.json")
    assert [(d["id"], d["text"]) for d in docs] == [("a", "first page"), ("d", "kept"), ("a~2", "again")]
    assert [(r.reason, r.input.rsplit(":", 1)[1]) for r in rejects.items] == [("bad_type", "item 1")]
    # `[0, 0]` on one line holds no record: one bad line, as JSON Lines read it
    (tmp_path / "numbers.json").write_text("[0, 0]\n")
    docs, rejects = read(tmp_path / "numbers.json")
    assert not docs and [(r.reason, r.input.rsplit(":", 1)[1]) for r in rejects.items] == [
        ("bad_json", "line 1")
    ]


def test_a_json_document_that_does_not_parse_is_read_as_json_lines(tmp_path: Path) -> None:
    """Broken, it is no JSON document: its lines are read as before, each one reject (none lost, none
    counted twice)."""
    broken = '[\n  {"id": "a", "text": "x"},\n  {"id": "b", \n'
    (tmp_path / "broken.json").write_text(broken)
    docs, rejects = read(tmp_path / "broken.json")
    assert not docs and not rejects.skipped
    assert [(r.reason, r.input.rsplit(":", 1)[1]) for r in rejects.items] == [
        ("bad_json", "line 1"),
        ("bad_json", "line 2"),
        ("bad_json", "line 3"),
    ]
    # JSON Lines whose first line is an object on one line stay JSON Lines.
    (tmp_path / "lines.json").write_text('{"id": "a", "text": "x"}\n{"id": "b", "text": "y"}\n')
    assert [d["id"] for d in read(tmp_path / "lines.json")[0]] == ["a", "b"]


def test_html_meta_modified_reads_back_from_dolma_metadata(tmp_path: Path) -> None:
    """The Dolma writer nests `html_meta_modified` under metadata; the reader kept it in `metadata_json`, so a
    Dolma round trip lost the page's update date and dating moved (an audit's lag went from 275 to 14 days)."""
    line = {
        "id": "p1",
        "text": "a page",
        "metadata": {"html_meta_date": "2008-07-04T00:00:00Z", "html_meta_modified": "2023-08-17T00:00:00Z"},
    }
    (tmp_path / "dated.jsonl").write_text(json.dumps(line) + "\n")
    docs, rejects = read(tmp_path / "dated.jsonl")
    assert not rejects.items and docs[0]["metadata_json"] is None
    assert docs[0]["html_meta_date"] == datetime(2008, 7, 4, tzinfo=UTC)
    assert docs[0]["html_meta_modified"] == datetime(2023, 8, 17, tzinfo=UTC)


def test_a_dataset_s_own_html_field_dropped_without_keep_html_is_counted(tmp_path: Path) -> None:
    """Without --keep-html an input's `html` field went nowhere, not even into metadata_json, and nothing said
    so; it is counted now, and kept with --keep-html."""
    path = tmp_path / "with_html.jsonl"
    path.write_text('{"id": "a", "text": "x", "html": "<p>x</p>"}\n{"id": "b", "text": "y"}\n')
    counters: Counter[str] = Counter()
    rows = [r for b in read_documents(str(path), ReadOptions(), RejectLog(), counters) for r in b.to_pylist()]
    assert len(rows) == 2 and "html" not in rows[0] and counters["html_dropped"] == 1
    kept, _ = read(path, ReadOptions(added=ADDED, keep_html=True))
    assert kept[0]["html"] == "<p>x</p>"


def test_whole_floats_are_integers_and_outranked_metadata_keys_stay(tmp_path: Path) -> None:
    """pandas writes an integer column with a null as floats (7.0, NaN): ingest rejected every such row
    (`bad_type`). A Dolma metadata key that a top-level key outranks (metadata.id, the source dataset's own
    id) vanished without a count."""
    lines = [
        {"id": "a", "text": "first page", "revision_id": 7.0, "staleness_days": float("nan")},
        {"id": "b", "text": "second page", "revision_id": 2.5},
        {
            "id": "d1",
            "text": "third page",
            "source": "dolma-cc",
            "metadata": {"id": "orig-77", "source": "s2orc"},
        },
        {"id": "d2", "text": "fourth page", "metadata": {"id": "d2", "doi": "10.1/x"}},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rejects = RejectLog()
    docs = pa.Table.from_batches(
        list(read_documents(str(path), ReadOptions(added=ADDED), rejects)),
        schema=read_schema(ReadOptions(added=ADDED)),
    ).to_pylist()
    assert [d["id"] for d in docs] == ["a", "d1", "d2"]
    assert (docs[0]["revision_id"], docs[0]["staleness_days"]) == (7, None)
    assert [r.reason for r in rejects.items] == ["bad_type"]  # 2.5 is no integer
    assert (docs[1]["source"], json.loads(docs[1]["metadata_json"])) == (
        "dolma-cc",
        {"metadata_outranked": {"id": "orig-77", "source": "s2orc"}},
    )
    assert json.loads(docs[2]["metadata_json"]) == {"doi": "10.1/x"}  # the same id twice is one id


def test_an_outranked_metadata_value_does_not_replace_its_column_in_dolma_output(tmp_path: Path) -> None:
    """Kept under the column's own name, a stale metadata.url went back into the Dolma file as the url."""
    from corpus.writers import dolma_rows

    line = {"id": "a", "text": "a page", "url": "https://real.example/", "lang": "en"}
    line["metadata"] = {"url": "https://stale.example/", "lang": "de"}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(line) + "\n")
    options = ReadOptions(added=ADDED)
    batch = next(iter(read_documents(str(path), options, RejectLog())))
    written = tmp_path / "w.jsonl"
    written.write_text("".join(json.dumps(r, default=str) + "\n" for r in dolma_rows(batch)))
    again = next(iter(read_documents(str(written), options, RejectLog()))).to_pylist()[0]
    assert (again["url"], again["lang"]) == ("https://real.example/", "en")
    assert json.loads(again["metadata_json"]) == {
        "metadata_outranked": {"url": "https://stale.example/", "lang": "de"}
    }


def test_a_dataset_s_own_html_gives_its_language_tag_as_a_warc_page_s_does(tmp_path: Path) -> None:
    """The same page gave langid its tag (`an`, the Aragonese capture) from its WARC, and none from a JSONL
    record carrying its html: only the WARC reader read the tag."""
    page = '<html lang="an"><head><title>Uesca</title></head><body><p>Uesca ye una ciudat.</p></body></html>'
    lines = [
        {"id": "a", "text": "Uesca ye una ciudat.", "html": page},
        {"id": "b", "text": "Uesca ye una ciudat.", "html": page, "declared_lang": "es"},  # the dataset's own
        {"id": "c", "text": "Uesca ye una ciudat.", "html": "<p>no tag</p>"},
        {"id": "d", "text": "Uesca ye una ciudat."},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rows = [
        r for b in read_documents(str(path), ReadOptions(added=ADDED), RejectLog()) for r in b.to_pylist()
    ]
    assert [r.get("declared_lang") for r in rows] == ["an", "es", None, None]


def test_a_file_compressed_twice_is_one_skipped_span_not_a_reject_a_line(tmp_path: Path) -> None:
    """A .jsonl.gz whose content was gzipped again read its bytes as lines: 191 `bad_json` documents in."""
    import gzip

    inner = gzip.compress(
        b"".join(json.dumps({"id": f"d{i}", "text": f"Doc {i} " * 50}).encode() + b"\n" for i in range(300))
    )
    path = tmp_path / "twice.jsonl.gz"
    path.write_bytes(gzip.compress(inner))
    rejects = RejectLog()
    rows = list(read_documents(str(path), ReadOptions(added=ADDED), rejects))
    assert rows == [] and len(rejects) == 0
    assert [(s.reason, s.offset, s.length) for s in rejects.skipped] == [
        ("compressed_twice", 0, path.stat().st_size)
    ]
    assert rejects.skipped[0].detail == "its content is gzip-compressed again"
