"""The ingest job on real sample files: Spark equals the in-process reader, reruns are byte-identical, bad
files are counted and kept, and the CLI fails fast with one line on bad arguments."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.schema import validate
from corpus.stats import SKIPPED_PREFIX, RejectLog
from jobs.cli import main
from jobs.ingest import IngestConfig, run_ingest
from tests import crafted

ADDED = datetime(2026, 1, 1, tzinfo=UTC)  # after every sample's newest time (a revision of 2025-09)


def _samples(data_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (
        "cc-whirlwind_whirlwind.warc.gz",
        "cc-whirlwind_whirlwind.warc.wet.gz",
        "dolma_sample-0000.warc.gz",
        "resiliparse_clueweb09-ja-quirk.warc.gz",
    ):
        shutil.copy(data_dir / "warc" / name, folder / name)
    shutil.copy(data_dir / "versions" / "wmf_commonswiki_File13327093_revisions.xml", folder / "history.xml")
    return folder


def _in_process(folder: Path, options: ReadOptions) -> tuple[pa.Table, RejectLog]:
    rejects = RejectLog()
    files = [f for f in sorted(folder.iterdir()) if not f.name.startswith("_")]  # not _stats.json
    batches = [b for f in files for b in read_documents(str(f), options, rejects)]
    return pa.Table.from_batches(batches), rejects


def _file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_spark_ingest_equals_in_process_reader_and_reruns_are_identical(spark, data_dir, tmp_path):
    folder = _samples(data_dir, tmp_path)
    options = ReadOptions(added=ADDED, batch_size=7)
    stats = run_ingest(spark, [str(folder)], str(tmp_path / "a"), IngestConfig(read=options))
    expected, rejects = _in_process(folder, options)

    got = pq.read_table(tmp_path / "a")
    validate(got)
    assert got.num_rows == expected.num_rows == stats.docs_out
    assert stats.docs_in == stats.docs_out + sum(stats.dropped.values())
    assert dict(stats.dropped) == dict(rejects.counts)
    by_id = {r["id"]: r for r in expected.to_pylist()}
    for row in got.to_pylist():
        want = by_id[row["id"]]
        for column in ("text", "url", "dump", "source", "crawl_date", "last_modified", "created", "cc_lang"):
            assert row[column] == want[column], (row["id"], column)
    # The ids come out sorted within the one shard, whatever order the tasks ran in.
    assert got.column("id").to_pylist() == sorted(got.column("id").to_pylist())

    # The whirlwind capture, checked against its WARC headers.
    whirlwind = [r for r in got.to_pylist() if r["source"] == "cc/CC-MAIN-2024-22" and r["cc_lang"] is None]
    assert len(whirlwind) == 1
    assert whirlwind[0]["crawl_date"] == datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)
    assert whirlwind[0]["dump"] == "CC-MAIN-2024-22"
    assert whirlwind[0]["last_modified"].date().isoformat() == "2024-05-04"
    # The MediaWiki history: one document per visible revision.
    assert (
        sum(1 for r in got.to_pylist() if r["source"] == "mediawiki") + stats.dropped.get("deleted_text", 0)
        == 59
    )

    # A second run in a different partitioning gives byte-identical files (added is pinned).
    run_ingest(spark, [str(folder)], str(tmp_path / "b"), IngestConfig(read=options, rows_per_shard=50_000))
    assert _file_hashes(tmp_path / "a") == _file_hashes(tmp_path / "b") | {
        "_stats.json": _file_hashes(tmp_path / "a")["_stats.json"]
    }
    a = json.loads((tmp_path / "a" / "_stats.json").read_text())
    b = json.loads((tmp_path / "b" / "_stats.json").read_text())
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def test_runs_differ_only_in_added_when_added_is_not_pinned(spark, data_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(data_dir / "warc" / "dolma_sample-0000.warc.gz", folder)
    first = run_ingest(spark, [str(folder)], str(tmp_path / "a"), IngestConfig(read=ReadOptions()))
    second = run_ingest(spark, [str(folder)], str(tmp_path / "b"), IngestConfig(read=ReadOptions()))
    assert first.docs_out == second.docs_out == 22
    a, b = pq.read_table(tmp_path / "a"), pq.read_table(tmp_path / "b")
    assert a.drop_columns(["added"]).equals(b.drop_columns(["added"]))
    assert a.column("added").to_pylist() != b.column("added").to_pylist()


def test_bad_files_are_counted_sampled_and_do_not_stop_the_job(spark, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    members = crafted.members([crafted.response(i) for i in range(22)])
    (folder / "good.warc.gz").write_bytes(b"".join(members))
    truncated = crafted.members([crafted.response(i) for i in range(100, 122)])
    cut = sum(map(len, truncated[:10])) + len(truncated[10]) // 2  # through the 11th record
    (folder / "truncated.warc.gz").write_bytes(b"".join(truncated)[:cut])
    (folder / "empty.warc.gz").write_bytes(b"")
    (folder / "noise.warc.gz").write_bytes(bytes(range(256)) * 40)
    lines = [json.dumps({"text": "first good line"}), "{not json", json.dumps({"text": "second good line"})]
    (folder / "lines.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))

    stats = run_ingest(
        spark, [str(folder)], str(tmp_path / "out"), IngestConfig(read=ReadOptions(added=ADDED))
    )

    table = pq.read_table(tmp_path / "out")
    texts = set(table.column("text").to_pylist())
    assert {"first good line", "second good line"} <= texts
    # The good file's 22 pages and the truncated file's 10 pages before the cut all survive.
    assert stats.docs_out == 22 + 10 + 2
    assert dict(stats.dropped) == {"truncated_gzip": 1, "bad_json": 1}  # records, each once
    assert stats.docs_in == 22 + 11 + 3 == stats.docs_out + sum(stats.dropped.values())
    # Bytes no record came from: spans, not records.
    assert dict(stats.skipped) == {"truncated_gzip": 1, "empty_file": 1, "unparsed_bytes": 1}
    listed = {(Path(s["input"]).name, s["reason"], s["offset"]) for s in stats.skipped_spans}
    assert ("truncated.warc.gz", "truncated_gzip", sum(map(len, truncated[:10]))) in listed
    assert ("noise.warc.gz", "unparsed_bytes", 0) in listed
    assert stats.skipped_bytes == len(truncated[10]) // 2 + 0 + 256 * 40
    rejects = pq.read_table(tmp_path / "out" / "_rejects" / "rejects.parquet")
    reasons = set(rejects.column("reject_reason").to_pylist())
    assert reasons == set(stats.dropped) | {SKIPPED_PREFIX + r for r in stats.skipped}
    assert all(r for r in rejects.column("reject_input").to_pylist())


def test_issue_18_inputs_through_the_job(spark, tmp_path):
    """The seven broken inputs of issue 18 in one job: it succeeds, keeps every intact record and counts each
    damaged record once, with the skipped bytes reported apart."""
    expected = crafted.issue18_inputs(tmp_path / "in")
    stats = run_ingest(
        spark, [str(tmp_path / "in")], str(tmp_path / "out"), IngestConfig(read=ReadOptions(added=ADDED))
    )
    assert stats.docs_out == sum(expected.values()) == 21
    assert dict(stats.dropped) == {"corrupt_gzip": 1, "truncated_gzip": 1, "bad_xml": 1, "bad_warc_header": 2}
    assert stats.docs_in == 26 and stats.balanced
    assert dict(stats.skipped) == {"corrupt_gzip": 1, "not_gzip": 1, "truncated_gzip": 1}
    assert stats.counters["replaced_lone_surrogate"] == 1 and stats.counters["replaced_nul"] == 1
    assert stats.counters["content_encoding_truncated"] == 1
    written = json.loads((tmp_path / "out" / "_stats.json").read_text())
    assert written["skipped"]["spans"] == 3 and len(written["skipped"]["first"]) == 3
    assert {s["reason"] for s in written["skipped"]["first"]} == set(stats.skipped)
    table = pq.read_table(tmp_path / "out")
    assert "\ufffd-id-d" in table.column("id").to_pylist()
    rejects = pq.read_table(tmp_path / "out" / "_rejects" / "rejects.parquet").to_pylist()
    bad_xml = [r for r in rejects if r["reject_reason"] == "bad_xml"]
    assert [r["reject_input"].rsplit(":", 1)[1] for r in bad_xml] == ["page 102"]


def test_dolma_output_reads_back_to_the_same_records(spark, data_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(data_dir / "warc" / "dolma_sample-0000.warc.gz", folder)
    options = ReadOptions(added=ADDED)
    run_ingest(spark, [str(folder)], str(tmp_path / "parquet"), IngestConfig(read=options))
    run_ingest(spark, [str(folder)], str(tmp_path / "dolma"), IngestConfig(read=options, fmt="dolma"))
    shards = sorted((tmp_path / "dolma").glob("part-*.jsonl.gz"))
    assert shards
    first = json.loads(gzip.decompress(shards[0].read_bytes()).splitlines()[0])
    assert set(first) == {"id", "text", "source", "added", "created", "metadata"}
    assert first["added"] == "2026-01-01T00:00:00Z"
    assert "url" in first["metadata"] and "crawl_date" in first["metadata"]

    back, rejects = _in_process(tmp_path / "dolma", options)
    assert len(rejects) == 0
    original = pq.read_table(tmp_path / "parquet").sort_by("id")
    back = back.sort_by("id")
    for column in ("id", "text", "url", "crawl_date", "last_modified", "source"):
        assert back.column(column).to_pylist() == original.column(column).to_pylist(), column


def test_cli_ingest_and_its_one_line_errors(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["ingest", str(tmp_path / "nothing-here"), "--output", str(tmp_path / "o")])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chronomix: error: input") and "\n" not in err

    (tmp_path / "exists").mkdir()
    with pytest.raises(SystemExit) as done:
        main(["ingest", str(data_dir / "warc"), "--output", str(tmp_path / "exists")])
    assert done.value.code == 2
    assert "--overwrite" in capsys.readouterr().err

    with pytest.raises(SystemExit) as done:
        main(["ingest", str(data_dir / "warc"), "--output", str(tmp_path / "o"), "--format", "csv"])
    assert done.value.code == 2
    assert "--format" in capsys.readouterr().err

    with pytest.raises(SystemExit) as done:
        main(["ingest", str(data_dir / "warc"), "--output", str(tmp_path / "o"), "--conf", "nonsense"])
    assert done.value.code == 2
    assert "key=value" in capsys.readouterr().err


def test_ingest_dates_html_metadata_while_it_has_the_html(spark, data_dir, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.gz", folder)
    run_ingest(spark, [str(folder)], str(tmp_path / "out"), IngestConfig(read=ReadOptions(added=ADDED)))
    table = pq.read_table(tmp_path / "out")
    assert "html" not in table.column_names  # not kept unless --keep-html
    (row,) = table.to_pylist()
    # The page's JSON-LD says datePublished 2008-07-04 (see ../shared/data/README.md).
    assert row["html_meta_date"].date().isoformat() == "2008-07-04"


def test_a_mixture_folder_lists_its_shards_not_its_manifest(tmp_path):
    from jobs.stage import expand_inputs

    mixture = tmp_path / "mixture"
    (mixture / "_rejects").mkdir(parents=True)
    names = ("part-00000.parquet", "part-00001.parquet", "_manifest.json", "manifest.json", "_stats.json")
    for name in names:
        (mixture / name).write_bytes(b"x")
    (mixture / "_rejects" / "rejects.parquet").write_bytes(b"x")
    listed = [Path(f.uri.split("://", 1)[-1]).name for f in expand_inputs([str(mixture)])]
    assert listed == ["part-00000.parquet", "part-00001.parquet"]
    # A manifest.json (a mixture's name for it before _manifest.json) named on its own, or in a folder of
    # JSON data, is an input like any other.
    assert len(expand_inputs([str(mixture / "manifest.json")])) == 1
    dolma = tmp_path / "dolma"
    dolma.mkdir()
    (dolma / "manifest.json").write_bytes(b"{}")
    assert len(expand_inputs([str(dolma)])) == 1


def test_a_file_named_with_glob_characters_is_itself(tmp_path):
    """`dump[1].jsonl` was read as a pattern (matching `dump1.jsonl`) and reported as no such file."""
    from jobs.stage import expand_inputs

    (tmp_path / "dump[1].jsonl").write_text("{}\n")
    (tmp_path / "dump1.jsonl").write_text("{}\n")
    (tmp_path / "dump2.jsonl").write_text("{}\n")

    def names(path: str) -> list[str]:
        return [Path(f.uri).name for f in expand_inputs([path])]

    assert names(str(tmp_path / "dump[1].jsonl")) == ["dump[1].jsonl"]
    assert names(str(tmp_path / "dump[12].jsonl")) == [
        "dump1.jsonl",
        "dump2.jsonl",
    ]  # no such file: a pattern


def test_column_names_a_field_of_another_name_in_ingest_and_audit(spark, tmp_path, capsys):
    """A Parquet dataset keeping its text under `content` was ingested as 0 documents, every row dropped as
    empty_text, with nothing on the terminal to say why or what to do; `--column text=content` reads it."""
    from jobs.audit import AuditConfig, run_audit
    from jobs.ingest import IngestParams, check, run

    folder = tmp_path / "content"
    folder.mkdir()
    texts = [f"the page number {i} about the new library of the town" for i in range(20)]
    pq.write_table(pa.table({"content": texts, "doc_id": [f"d{i}" for i in range(20)]}), folder / "p.parquet")
    main(["ingest", str(folder), "-o", str(tmp_path / "plain"), "--master", "local[1]"])
    said = capsys.readouterr().out
    assert "no record had a text" in said and "--column text=FIELD" in " ".join(said.split())
    params = IngestParams(
        [str(folder)],
        str(tmp_path / "named"),
        column_map={"text": "content", "id": "doc_id"},
        added="2024-01-01",
    )
    run(check(params), lambda: spark)
    table = pq.read_table(tmp_path / "named")
    assert sorted(table.column("text").to_pylist()) == sorted(texts)
    assert sorted(table.column("id").to_pylist()) == sorted(f"d{i}" for i in range(20))
    config = AuditConfig(bootstrap=0, column_map={"text": "content"})
    summary = run_audit(spark, [str(folder)], str(tmp_path / "report"), config, print_table=False)
    assert summary["headline"]["documents"] == 20 and summary["input_rejects"] == {}
    for bad, message in (("text", "expected COLUMN=FIELD"), ("nonsense=content", "not a record column")):
        with pytest.raises(SystemExit) as done:
            main(["audit", str(folder), "-o", str(tmp_path / "r2"), "--column", bad])
        assert done.value.code == 2 and message in capsys.readouterr().err
