"""Format detection, read options, file-level failures and the shared helpers of corpus.readers."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import random
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from corpus.readers import (
    ReadOptions,
    base_source,
    detect_format,
    dump_from_path,
    local_path,
    read_documents,
    read_schema,
    stable_id,
)
from corpus.schema import COLUMN_NAMES
from corpus.stats import RejectLog
from tests import crafted
from tests.shared_data import SHARED_DATA, needs_shared_data

DATA = SHARED_DATA
WHIRLWIND = DATA / "warc" / "cc-whirlwind_whirlwind.warc.gz"
WET = DATA / "warc" / "cc-whirlwind_whirlwind.warc.wet.gz"
MEDIAWIKI = DATA / "versions" / "wmf_commonswiki_File13327093_revisions.xml"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("CC-MAIN-20240517233122-20240518023122-00000.warc.gz", "warc"),
        ("x.warc", "warc"),
        ("x.warc.zst", "warc"),
        ("x.warc.wet.gz", "wet"),
        ("docs.jsonl", "jsonl"),
        ("docs.json.gz", "jsonl"),
        ("docs.jsonl.zst", "jsonl"),
        ("part-00000.parquet", "parquet"),
        ("enwiki-pages-meta-history1.xml.bz2", "mediawiki"),
        ("History.XML", "mediawiki"),
    ],
)
def test_detect_format_by_name(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt  # by name alone: the file need not exist


@needs_shared_data
def test_detect_format_by_sniffing(tmp_path: Path) -> None:
    cases = {
        "a": WHIRLWIND.read_bytes(),  # gzip, then "WARC/"
        "b": gzip.decompress(WET.read_bytes()),  # "WARC/" with conversion records
        "c": zstandard.ZstdCompressor().compress(b'{"text": "x"}\n'),
        "d": MEDIAWIKI.read_bytes()[:5000],
        "e": b"\xef\xbb\xbf" + b'{"text": "bom"}\n',
    }
    expected = {"a": "warc", "b": "wet", "c": "jsonl", "d": "mediawiki", "e": "jsonl"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert detect_format(str(tmp_path / name)) == expected[name], name
    pq.write_table(pa.table({"text": ["x"]}), tmp_path / "f")
    assert detect_format(str(tmp_path / "f")) == "parquet"


def test_detect_format_unknown_raises_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "noise.bin"
    # seeded: 1 in 256 draws of os.urandom began with "{", which sniffs as JSON lines (a flaky failure)
    path.write_bytes(b"\x00" + random.Random(0).randbytes(299))
    with pytest.raises(ValueError, match=r"noise\.bin: unknown input format"):
        detect_format(str(path))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"max_doc_bytes": -1}, "max_doc_bytes"),
        ({"min_text_chars": -2}, "min_text_chars"),
        ({"added": datetime(2024, 1, 1)}, "added"),
        ({"source": ""}, "source"),
        ({"column_map": {"no_such_column": "x"}}, "column_map"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        ReadOptions(**kwargs)


def test_file_level_failures_are_skipped_spans_not_records(tmp_path: Path) -> None:
    empty = tmp_path / "empty.warc.gz"
    empty.write_bytes(b"")
    noise = tmp_path / "noise"
    noise.write_bytes(os.urandom(1000))
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    cases = {
        str(tmp_path / "absent.warc.gz"): "missing_file",
        str(empty): "empty_file",
        str(noise): "unknown_format",
        str(folder): "unreadable_file",
        "ftp://example.org/key.warc.gz": "unreadable_file",  # no reader for the scheme
    }
    for path, reason in cases.items():
        rejects = RejectLog()
        assert list(read_documents(path, ReadOptions(), rejects)) == []
        assert len(rejects) == 0 and rejects.skipped_counts == Counter({reason: 1}), path
        assert rejects.skipped[0].input == path and rejects.skipped[0].offset == 0
    rejects = RejectLog()
    list(read_documents(str(noise), ReadOptions(), rejects))
    assert rejects.skipped[0].sample == noise.read_bytes() and rejects.skipped[0].length == 1000


@needs_shared_data
def test_file_uri_reads_like_a_path(tmp_path: Path) -> None:
    copy = tmp_path / "copy of.warc.gz"
    shutil.copy(WHIRLWIND, copy)
    rejects = RejectLog()
    batches = list(read_documents(copy.as_uri(), ReadOptions(), rejects))
    assert len(rejects) == 0 and sum(b.num_rows for b in batches) == 1
    assert local_path(copy.as_uri()) == str(copy)


def test_read_schema_is_the_record_then_extras() -> None:
    plain = read_schema(ReadOptions())
    assert tuple(plain.names[: len(COLUMN_NAMES)]) == COLUMN_NAMES
    assert "html" not in plain.names and "html" in read_schema(ReadOptions(keep_html=True)).names
    assert plain.names[-7:] == [
        "cc_lang",
        "declared_lang",
        "resource",
        "revision_id",
        "revision_ts",
        "html_meta_modified",
        "metadata_json",
    ]


@needs_shared_data
def test_added_is_taken_once_per_read() -> None:
    rejects = RejectLog()
    opts = ReadOptions(batch_size=1)
    table = pa.Table.from_batches(
        list(read_documents(str(MEDIAWIKI), opts, rejects)), schema=read_schema(opts)
    )
    assert table.num_rows == 59 and len(set(table.column("added").to_pylist())) == 1


def test_stable_id_is_sha1_of_source_url_text() -> None:
    expected = hashlib.sha1(b"src\x00https://a.example/\x00hello").hexdigest()
    assert stable_id("src", "https://a.example/", "hello") == expected
    assert stable_id("src", None, "hello") == hashlib.sha1(b"src\x00\x00hello").hexdigest()
    assert stable_id("src", None, "hello") != stable_id("other", None, "hello")


def test_path_helpers() -> None:
    assert (
        dump_from_path("s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/x.warc.gz") == "CC-MAIN-2024-22"
    )
    assert dump_from_path("/data/sample.warc.gz") is None
    assert dump_from_path("/crawl-data/CC-MAIN-2008-2009/x.warc.gz") is None  # yearly: no ISO week
    assert base_source("/data/dolma_sample-0000.warc.gz") == "dolma_sample-0000"
    assert base_source("docs.jsonl.zst") == "docs"


@needs_shared_data
def test_added_option_is_used(tmp_path: Path) -> None:
    when = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    rejects = RejectLog()
    batch = next(read_documents(str(WHIRLWIND), ReadOptions(added=when), rejects))
    assert batch.column("added").to_pylist() == [when]


def test_options_pickle_and_hash_for_spark_tasks() -> None:
    options = ReadOptions(column_map={"created": "date"}, added=datetime(2024, 1, 1, tzinfo=UTC))
    assert pickle.loads(pickle.dumps(options)) == options
    assert hash(options) == hash(
        ReadOptions(column_map={"created": "date"}, added=datetime(2024, 1, 1, tzinfo=UTC))
    )


def test_readers_shared_helpers_import_without_a_circle() -> None:
    """The format readers import corpus.reader_base; only corpus.readers imports the format readers."""
    import grimp

    graph = grimp.build_graph("corpus")
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    for module in imports:  # no module reaches itself
        seen, todo = set(), list(imports[module])
        while todo:
            current = todo.pop()
            assert current != module, f"{module} imports itself through {sorted(seen)}"
            if current not in seen:
                seen.add(current)
                todo.extend(imports.get(current, ()))
    readers = {"corpus.warc", "corpus.jsonl", "corpus.mediawiki", "corpus.parquet_reader"}
    for reader in readers:
        assert "corpus.reader_base" in imports[reader] and "corpus.readers" not in imports[reader]
    assert not imports["corpus.reader_base"] & (readers | {"corpus.readers"})


# --- the last-resort guards: a surprise in one record costs that record, never the task ------------------


def _ids_and_rejects(path: Path) -> tuple[list[str], RejectLog]:
    rejects = RejectLog()
    batches = list(read_documents(str(path), ReadOptions(), rejects))
    return [i for b in batches for i in b.column("id").to_pylist()], rejects


def test_every_reader_turns_a_surprise_into_one_reject(tmp_path: Path, monkeypatch) -> None:
    import corpus.jsonl
    import corpus.mediawiki
    import corpus.parquet_reader
    import corpus.warc

    def fail_on(marker: str, real):
        def wrapped(*args, **kwargs):
            if marker in repr(args):
                raise RuntimeError("a surprise")
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(corpus.jsonl, "record_to_row", fail_on("doc-1", corpus.jsonl.record_to_row))
    monkeypatch.setattr(
        corpus.parquet_reader, "record_to_row", fail_on("doc-1", corpus.parquet_reader.record_to_row)
    )
    monkeypatch.setattr(corpus.warc, "decode_payload", fail_on("Page 2<", corpus.warc.decode_payload))
    monkeypatch.setattr(
        corpus.mediawiki.MediaWikiRowReader,
        "_revision_row",
        fail_on("page_id='2'", corpus.mediawiki.MediaWikiRowReader._revision_row),
    )
    lines = b"".join(crafted.jsonl_line(i) for i in range(3))
    (tmp_path / "a.jsonl").write_bytes(lines)
    pq.write_table(
        pa.table({"id": ["doc-0", "doc-1", "doc-2"], "text": ["a", "b", "c"]}), tmp_path / "a.parquet"
    )
    (tmp_path / "a.warc").write_bytes(b"".join(crafted.response(i) for i in range(1, 4)))
    pages = "".join(crafted.mediawiki_page(i, f"page {i}") for i in range(1, 4))
    (tmp_path / "a.xml").write_text(crafted.mediawiki(pages))
    for name, kept in {
        "a.jsonl": ["doc-0", "doc-2"],
        "a.parquet": ["doc-0", "doc-2"],
        "a.warc": [crafted.record_id(1), crafted.record_id(3)],
        "a.xml": ["mediawiki:1:10", "mediawiki:3:30"],
    }.items():
        ids, rejects = _ids_and_rejects(tmp_path / name)
        assert ids == kept, name
        assert rejects.counts == Counter({"reader_error": 1}), name
        assert "RuntimeError: a surprise" in rejects.items[0].detail


def test_a_value_arrow_refuses_costs_its_row_only(tmp_path: Path, monkeypatch) -> None:
    import corpus.reader_base

    real = corpus.reader_base.DocumentChecks.accept

    def sneak(self, row, where, sample=b""):
        if real(self, row, where, sample):
            if row["id"] == "doc-1":
                row["revision_id"] = "not a number"  # past every check: only Arrow can refuse it
            return True
        return False

    monkeypatch.setattr(corpus.reader_base.DocumentChecks, "accept", sneak)
    (tmp_path / "a.jsonl").write_bytes(b"".join(crafted.jsonl_line(i) for i in range(3)))
    ids, rejects = _ids_and_rejects(tmp_path / "a.jsonl")
    assert ids == ["doc-0", "doc-2"] and rejects.counts == Counter({"invalid_value": 1})


def test_a_reader_that_dies_costs_the_rest_of_its_file_only(tmp_path: Path, monkeypatch) -> None:
    import corpus.readers

    class Panic(BaseException):  # what a Rust parser's panic looks like from Python
        pass

    def dying(ctx):
        yield {"id": "doc-0", "text": "kept before the panic"}
        raise Panic("called `Result::unwrap()` on an `Err` value")

    monkeypatch.setattr(corpus.readers, "iter_jsonl_rows", dying)
    path = tmp_path / "a.jsonl"
    path.write_bytes(crafted.jsonl_line(0))
    ids, rejects = _ids_and_rejects(path)
    assert ids == ["doc-0"] and len(rejects) == 0
    assert rejects.skipped_counts == Counter({"reader_error": 1}) and "Panic" in rejects.skipped[0].detail
