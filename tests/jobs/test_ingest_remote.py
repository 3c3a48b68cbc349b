"""The ingest job on remote inputs, read by the Spark tasks themselves from servers the tests start: moto's
S3-compatible server (a folder listed on the store) and an HTTP server that honours Range (a `warc.paths.gz`
listing with `--base`). The outputs must be the local ingest's, file for file; a dropped connection is
retried, and one that stays dropped is counted."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from jobs.contract import UsageError
from jobs.ingest import IngestParams, check, run
from jobs.inputs import glob_regex, sample_name, select
from tests import crafted
from tests.corpus.test_remote import big_warc
from tests.jobs.cluster import data_files, parquet_layout
from tests.remote_servers import MotoS3, moto_s3, range_server

ADDED = "2024-06-01T00:00:00Z"
NAMES = ["big.warc.gz", "crc.warc.gz", "cut.warc.wet.gz", "junk.warc.gz", "length.warc", "xxe.xml"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ingest-remote") / "crawl"
    crafted.issue18_inputs(folder)
    for name in {p.name for p in folder.iterdir()} - set(NAMES):
        (folder / name).unlink()
    big_warc(folder / "big.warc.gz", records=120)
    listing = "\n".join(f"crawl/{name}" for name in NAMES) + "\n"
    (folder.parent / "warc.paths.gz").write_bytes(gzip.compress(listing.encode(), mtime=0))
    return folder


@pytest.fixture(scope="module")
def s3(inputs: Path) -> Iterator[MotoS3]:
    with moto_s3() as server:
        server.upload(inputs, "chronomix-ingest", "crawl/")
        yield server


@pytest.fixture()
def s3_env(s3: MotoS3, spark, monkeypatch) -> Iterator[None]:
    """The server's endpoint and test credentials for the driver (listing) and the tasks (reading): the usual
    environment, which a local session's Python workers take from the session's executor environment."""
    environment = spark.sparkContext.environment
    saved = dict(environment)
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
        environment[key] = value
    yield
    environment.clear()
    environment.update(saved)


def ingest(spark, inputs: list[str], output: Path, **options) -> dict:
    params = IngestParams(inputs=inputs, output=str(output), added=ADDED, **options)
    run(check(params), lambda: spark)
    return json.loads((output / "_stats.json").read_text())


def assert_same_ingest(local: Path, remote: Path, bytewise: bool = True) -> None:
    """Same data files, byte for byte (`bytewise`; else equal tables in the same row groups); the same stats
    and rejects but for where the inputs were."""
    assert [p.relative_to(local) for p in data_files(local)] == [
        p.relative_to(remote) for p in data_files(remote)
    ]
    parts = sorted(p.name for p in local.glob("part-*"))
    assert parts and parts == sorted(p.name for p in remote.glob("part-*"))
    for name in parts:
        if bytewise:
            assert (local / name).read_bytes() == (remote / name).read_bytes(), name
        else:
            a, b = pq.ParquetFile(local / name), pq.ParquetFile(remote / name)
            assert a.schema_arrow.equals(b.schema_arrow, check_metadata=True), name
            assert a.read().equals(b.read()) and parquet_layout(a) == parquet_layout(b), name
    a, b = (json.loads((f / "_stats.json").read_text()) for f in (local, remote))
    for stats in (a, b):
        stats.pop("seconds")
        stats["counters"].pop("remote_retries", None)
        for span in stats["skipped"]["first"]:
            span["input"] = span["input"].rsplit("/", 1)[-1]
    assert a == b
    ra, rb = (pq.read_table(f / "_rejects" / "rejects.parquet") for f in (local, remote))
    names = [pc.replace_substring_regex(t.column("reject_input"), r"^.*/", "") for t in (ra, rb)]
    for column in ra.column_names:
        left, right = ra.column(column), rb.column(column)
        if column == "reject_input":
            left, right = names
        if column == "reject_detail":  # a skipped span's detail is JSON naming its input
            left, right = (
                pc.replace_substring_regex(c, r'"input": "[^"]*/', '"input": "') for c in (left, right)
            )
        assert left.equals(right), (column, left.to_pylist(), right.to_pylist())


def test_ingest_from_s3_and_http_equals_local(
    spark, inputs: Path, s3: MotoS3, s3_env, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    stats = ingest(spark, [str(inputs)], local)
    assert stats["docs_out"] > 100 and stats["dropped"] and stats["skipped"]  # damage was met, and counted
    ingest(spark, ["s3://chronomix-ingest/crawl/"], tmp_path / "s3")
    assert_same_ingest(local, tmp_path / "s3")
    with range_server(inputs.parent) as http:
        http.drop_after["big.warc.gz"] = [40_000]  # dropped mid-file once: resumed where it stopped
        stats = ingest(
            spark, [str(inputs.parent / "warc.paths.gz")], tmp_path / "http", base=http.url, retries=3
        )
        resumed = [r.range for r in http.gets("big.warc.gz") if r.range != "bytes=0-"]
    assert stats["counters"]["remote_retries"] == 1 and resumed == ["bytes=40000-"]
    assert_same_ingest(local, tmp_path / "http")


def test_a_connection_that_stays_dropped_is_counted_and_the_job_goes_on(
    spark, inputs: Path, tmp_path: Path
) -> None:
    with range_server(inputs) as http:
        http.drop_after["big.warc.gz"] = [25_000] + [0] * 10
        urls = [http.url + "big.warc.gz", http.url + "crc.warc.gz"]
        stats = ingest(spark, urls, tmp_path / "out", retries=2)
    size = (inputs / "big.warc.gz").stat().st_size
    assert stats["counters"]["remote_retries"] == 1
    assert stats["dropped"]["read_failed"] == 1  # the record the drop cut
    assert stats["skipped"]["by_reason"]["read_failed"] >= 1
    tail = [s for s in stats["skipped"]["first"] if s["reason"] == "read_failed" and s["offset"] == 25_000]
    assert tail and tail[0]["length"] == size - 25_000
    # The other file was read whole, and the records before the drop were kept.
    assert 4 + 10 < stats["docs_out"] < 4 + 120
    assert stats["docs_in"] == stats["docs_out"] + sum(stats["dropped"].values())


def test_an_http_input_the_server_will_not_serve_is_counted_and_the_job_goes_on(
    spark, inputs: Path, tmp_path: Path
) -> None:
    """A 503 for one of two URLs given on the command line stopped the whole job (exit 2, after the driver's
    own six tries, whatever --retries said); it is one unreadable file now, read by its task under --retries,
    as in a listing. A URL that names nothing (404) is still a bad argument, as a missing local path is."""
    with range_server(inputs) as http:
        http.failing["big.warc.gz"] = 503
        urls = [http.url + "big.warc.gz", http.url + "crc.warc.gz"]
        stats = ingest(spark, urls, tmp_path / "out", retries=2)
        big = [r for r in http.requests if r.path.endswith("big.warc.gz")]
    assert stats["skipped"]["by_reason"].get("unreadable_file") == 1 and stats["docs_out"] > 0
    # --retries 2: the driver's look (two tries), the task's size (two), one more try to say why
    assert [r.method for r in big] == ["HEAD"] * 5 and stats["counters"]["remote_retries"] >= 1
    with (
        range_server(inputs) as http,
        pytest.raises(UsageError, match="no such file \\(HTTP 404 Not Found\\)"),
    ):
        check(IngestParams(inputs=[http.url + "nowhere.warc.gz"], output=str(tmp_path / "o")))


def test_a_server_that_never_answers_waits_only_timeout_each_try(spark, tmp_path: Path) -> None:
    """A server that takes the connection and says nothing held each try for a fixed 60 s (202 s for one
    file with --retries 1); --timeout sets it, and the file is counted unreadable, the job goes on."""
    import socket

    from jobs.ingest import settings

    assert settings(IngestParams(inputs=["x"], output="o", timeout=0.5)).retry.timeout_s == 0.5
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/silent.warc.gz"
        stats = ingest(spark, [url], tmp_path / "out", retries=1, timeout=0.5)
    finally:
        listener.close()
    assert stats["docs_out"] == 0 and stats["skipped"]["by_reason"] == {"unreadable_file": 1}


def test_an_output_spark_has_no_file_system_for_is_refused_before_any_input_is_read(
    spark, inputs: Path, s3: MotoS3, s3_env
) -> None:
    """s3a:// without hadoop-aws on Spark's class path (as here) failed with a Java trace after the whole
    input had been read; s3:// is pyarrow's and the driver's alike, and is written the same way."""
    output = "s3a://chronomix-ingest/written/ingest"
    tracker = spark.sparkContext.statusTracker()
    jobs_before = len(tracker.getJobIdsForGroup())
    with pytest.raises(
        UsageError,
        match=r"--output 's3a://chronomix-ingest/written/ingest': Spark cannot "
        r"write s3a:// here \(.*S3AFileSystem not found\); add .*hadoop-aws",
    ):
        run(check(IngestParams(inputs=[str(inputs)], output=output, added=ADDED)), lambda: spark)
    assert len(tracker.getJobIdsForGroup()) == jobs_before  # no Spark job ran: nothing was read
    written = pafs.FileSelector("chronomix-ingest/written", allow_not_found=True, recursive=True)
    assert s3.filesystem().get_file_info(written) == []


def test_stage_output_on_a_store_spark_cannot_read_is_a_bad_argument(
    spark, s3: MotoS3, s3_env, tmp_path: Path
) -> None:
    """Document Parquet on s3:// or s3a:// (read by Spark, which has no file system for either here) failed
    the date, dedup and langid stages with exit 1 and a Java stack trace flattened onto one line."""
    from jobs.langid import read_documents_frame

    folder = tmp_path / "docs"
    folder.mkdir()
    pq.write_table(pa.table({"id": ["a"], "text": ["one page"]}), folder / "part-0.parquet")
    s3.upload(folder, "chronomix-stage", "stage/")
    for scheme in ("s3", "s3a"):
        with pytest.raises(UsageError, match=rf"input '{scheme}://chronomix-stage/stage/part-0.parquet': Spark "
                           rf"cannot read {scheme}:// here \(.*\); give s3a:// with .*hadoop-aws"):  # fmt: skip
            read_documents_frame(spark, [f"{scheme}://chronomix-stage/stage/"])


def test_credentials_in_a_bad_argument_are_not_printed(tmp_path: Path) -> None:
    """The one-line error named the listing or the output with its user, password and presigned query."""
    (tmp_path / "empty.paths").write_text("")
    with range_server(tmp_path) as http:
        secret = http.url.replace("http://", "http://user:PASSWORDX@") + "empty.paths?X-Amz-Signature=LEAKME"
        with pytest.raises(UsageError) as error:
            check(IngestParams(inputs=[secret], output=str(tmp_path / "o"), base=http.url))
    assert "names no files" in str(error.value) and "PASSWORDX" not in str(error.value)
    assert "LEAKME" not in str(error.value)


def test_listing_base_sample_and_limit(inputs: Path, tmp_path: Path) -> None:
    listing = str(inputs.parent / "warc.paths.gz")
    base = "https://data.example.org/"
    plan = check(IngestParams(inputs=[listing], output=str(tmp_path / "o"), base=base))
    assert [f.uri for f in plan.files] == sorted(base + "crawl/" + n for n in NAMES)
    assert all(f.size == -1 for f in plan.files)  # measured by the tasks, not asked one by one
    limited = check(IngestParams(inputs=[listing], output=str(tmp_path / "o"), base=base, limit=2)).files
    assert [f.uri for f in limited] == [f.uri for f in plan.files[:2]]
    half = [f.uri for f in check(IngestParams([listing], str(tmp_path / "o"), base=base, sample=0.5)).files]
    again = [f.uri for f in check(IngestParams([listing], str(tmp_path / "o"), base=base, sample=0.5)).files]
    other = [
        f.uri
        for f in check(IngestParams([listing], str(tmp_path / "o"), base=base, sample=0.5, seed=7)).files
    ]
    assert half == again and half != other and 0 < len(half) < len(NAMES)
    # The same listing under another base (Common Crawl's https and s3) or a copy keeps the same entries:
    # the hash read the joined URI, so each place drew its own sample
    for elsewhere in ("s3://commoncrawl/", "file:///mnt/copy/"):
        moved = check(IngestParams([listing], str(tmp_path / "o"), base=elsewhere, sample=0.5)).files
        assert [f.uri[len(elsewhere) :] for f in moved] == [u[len(base) :] for u in half]
    folder, copy = tmp_path / "here" / "data", tmp_path / "there" / "data"
    for place in (folder, copy):
        for name in NAMES:
            (place / "crawl" / name).parent.mkdir(parents=True, exist_ok=True)
            (place / "crawl" / name).write_bytes(b"x")
    picked = [
        [
            f.uri[len(str(place)) :]
            for f in check(IngestParams([str(place)], str(tmp_path / "o"), sample=0.5)).files
        ]
        for place in (folder, copy)
    ]
    assert picked[0] == picked[1] and 0 < len(picked[0]) < len(NAMES)
    # the input's own name comes first: same-named files of two inputs are drawn apart
    assert sample_name("/x/a/part-0.jsonl", ["/x/a", "/x/b"]) == "a/part-0.jsonl"
    assert sample_name("/x/b/part-0.jsonl", ["/x/a", "/x/b"]) == "b/part-0.jsonl"
    assert (
        sample_name("https://h/crawl/b.warc.gz?x=1", ["https://h/crawl/b.warc.gz?x=1"]) == "crawl/b.warc.gz"
    )
    assert set(select(sorted(half), 0.9, 0, None)) >= set(select(sorted(half), 0.5, 0, None))
    for bad, message in (
        (dict(base=None), "--base"),
        (dict(base=base, sample=1.5), "--sample"),
        (dict(base=base, limit=0), "--limit"),
    ):
        with pytest.raises(UsageError, match=message):
            check(IngestParams(inputs=[listing], output=str(tmp_path / "o"), **bad))
    with pytest.raises(UsageError, match="--base"):
        check(IngestParams(inputs=[str(inputs)], output=str(tmp_path / "o"), base=base))


def test_s3_folders_and_globs_list_on_the_store(
    inputs: Path, s3: MotoS3, monkeypatch, tmp_path: Path
) -> None:
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    folder = check(IngestParams(inputs=["s3a://chronomix-ingest/crawl/"], output=str(tmp_path / "o"))).files
    assert [f.uri.rsplit("/", 1)[-1] for f in folder] == sorted(NAMES)
    assert [f.size for f in folder] == [(inputs / f.uri.rsplit("/", 1)[-1]).stat().st_size for f in folder]
    globbed = check(
        IngestParams(inputs=["s3://chronomix-ingest/*/*.warc.gz"], output=str(tmp_path / "o"))
    ).files
    assert [f.uri for f in globbed] == [
        f"s3://chronomix-ingest/crawl/{n}" for n in ("big.warc.gz", "crc.warc.gz", "junk.warc.gz")
    ]
    # A pattern that matches folders lists them whole, as a local glob does (it named nothing on S3), and
    # `[...]` and `?` are globs there too (locating the pattern as a URI first failed on them).
    for pattern in (
        "s3://chronomix-ingest/*",
        "s3://chronomix-ingest/[c]rawl",
        "s3://chronomix-ingest/?rawl",
    ):
        matched = check(IngestParams(inputs=[pattern], output=str(tmp_path / "o"))).files
        assert [f.uri.rsplit("/", 1)[-1] for f in matched] == sorted(NAMES), pattern
    with pytest.raises(UsageError, match="no such file"):
        check(IngestParams(inputs=["s3://chronomix-ingest/nothing/"], output=str(tmp_path / "o")))
    assert glob_regex("a/**/b*.gz").fullmatch("a/x/y/bz.gz") and not glob_regex("a/*.gz").fullmatch(
        "a/x/y.gz"
    )


def test_one_object_named_as_s3a_and_as_s3_is_read_once(s3: MotoS3, s3_env, tmp_path: Path) -> None:
    """`ingest s3a://b/crawl/ s3://b/crawl/big.warc.gz` read big.warc.gz twice (44 documents for 22)."""
    files = check(
        IngestParams(
            inputs=["s3a://chronomix-ingest/crawl/", "s3://chronomix-ingest/crawl/big.warc.gz"],
            output=str(tmp_path / "o"),
        )
    ).files
    assert sorted(f.uri.rsplit("/", 1)[1] for f in files) == sorted(NAMES)


def test_a_pipeline_stage_reading_an_object_store_reruns_when_a_file_is_added(
    s3: MotoS3, monkeypatch, tmp_path: Path
) -> None:
    """A stage's fingerprint held the size and time of its local input files only: `chronomix run` skipped an
    ingest of s3://.../ after a new object was uploaded there, and never read it."""
    from jobs.registry import stage
    from jobs.runner import StageSpec, fingerprint

    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "one.jsonl").write_text('{"id": "a", "text": "one"}\n')
    prefix = s3.upload(folder, "chronomix-rerun", "dump/")
    spec = StageSpec("ingest", stage("ingest"), IngestParams(inputs=[prefix], output=str(tmp_path / "o")))
    before = fingerprint(spec, {})
    assert fingerprint(spec, {}) == before  # nothing changed: the stage is skipped
    added = tmp_path / "added"
    added.mkdir()
    (added / "two.jsonl").write_text('{"id": "b", "text": "two"}\n')
    s3.upload(added, "chronomix-rerun", "dump/")  # one new object; the first one untouched
    assert fingerprint(spec, {}) != before
    # behind a glob (it fingerprinted nothing there)
    spec = StageSpec(
        "ingest",
        stage("ingest"),
        IngestParams(inputs=["s3://chronomix-rerun/*/*.jsonl"], output=str(tmp_path / "o")),
    )
    before = fingerprint(spec, {})
    (added / "three.jsonl").write_text('{"id": "c", "text": "three"}\n')
    s3.upload(added, "chronomix-rerun", "dump/")
    assert fingerprint(spec, {}) != before
    # an HTTP URL is asked for its version, by its first byte (tests/jobs/test_runner_http.py: what a change or an
    # outage does)
    with range_server(folder) as http:
        url = IngestParams(inputs=[f"{http.url}one.jsonl"], output=str(tmp_path / "o"))
        fingerprint(StageSpec("ingest", stage("ingest"), url), {})
        assert [(r.method, r.path, r.range) for r in http.requests] == [("GET", "/one.jsonl", "bytes=0-0")]
    # a listing's base is a place: what else lies there is not the stage's input
    listing = tmp_path / "dump.paths"
    listing.write_text("dump/one.jsonl\n")
    based = IngestParams(inputs=[str(listing)], output=str(tmp_path / "o"), base="s3://chronomix-rerun/")
    spec = StageSpec("ingest", stage("ingest"), based)
    before = fingerprint(spec, {})
    (added / "elsewhere.jsonl").write_text('{"id": "d", "text": "not listed"}\n')
    s3.upload(added, "chronomix-rerun", "other/")
    assert fingerprint(spec, {}) == before


def test_keys_with_spaces_unicode_and_url_characters_are_read_as_listed(
    spark, s3: MotoS3, s3_env, tmp_path: Path
) -> None:
    """A listed key was made a URI by joining it on, which pyarrow then read as percent-encoded, with a query
    and a fragment: `with space é` could not be parsed, `hash#1` opened `hash`, `a%20b` opened `a b`, and
    each was counted as a missing or unreadable file (its name cut at `?`/`#` in the report)."""
    warc = b"".join(
        gzip.compress(
            crafted.warc_record(
                "response", i, crafted.http_response(crafted.page_html(i)), uri=f"http://x/{i}"
            )
        )
        for i in range(3)
    )
    keys = ["with space é ü.warc.gz", "what?x=1.warc.gz", "hash#1.warc.gz", "a%20b.warc.gz"]
    folder = tmp_path / "odd"
    folder.mkdir()
    for key in keys:
        (folder / key).write_bytes(warc)
    s3.upload(folder, "chronomix-odd", "odd/")
    listed = check(IngestParams(inputs=["s3://chronomix-odd/odd/"], output=str(tmp_path / "o"))).files
    assert sorted(f.uri.rsplit("/", 1)[-1] for f in listed) == sorted(keys)
    assert {f.size for f in listed} == {len(warc)}  # the listing's sizes
    stats = ingest(spark, ["s3://chronomix-odd/odd/"], tmp_path / "out")
    assert stats["docs_out"] == 3 * len(keys) and not stats["dropped"] and not stats["skipped"]["first"]
    # one named whole, as written
    stats = ingest(spark, ["s3://chronomix-odd/odd/hash#1.warc.gz"], tmp_path / "one")
    assert stats["docs_out"] == 3


def test_a_pipeline_rerun_reads_again_an_http_file_its_task_could_not_read(
    spark, inputs: Path, tmp_path: Path
) -> None:
    """The server answered the version check, then the task's reads of one file kept dropping: the stage
    finished without that file's tail, and `chronomix run` took it for complete ever after (the version it
    recorded was the server's). The file is now recorded as not read, and the next run reads it."""
    from corpus.readers import ReadOptions, read_documents
    from corpus.stats import RejectLog
    from jobs.http_versions import UNREACHABLE, url_key
    from jobs.registry import stage
    from jobs.runner import MARKER, StageSpec, run_stages

    whole = sum(
        batch.num_rows
        for name in ("big.warc.gz", "crc.warc.gz")
        for batch in read_documents(str(inputs / name), ReadOptions(), RejectLog())
    )
    output = tmp_path / "ingest"
    with range_server(inputs) as http:
        big = http.url + "big.warc.gz"
        params = IngestParams(
            inputs=[big, http.url + "crc.warc.gz"], output=str(output), added=ADDED, retries=2
        )
        spec = StageSpec("ingest", stage("ingest"), params)
        http.drop_after["big.warc.gz"] = [1] + [25_000] + [0] * 10  # the version check's byte, then the reads
        [first] = run_stages([spec], lambda: spark)
        assert first.status == "ran" and first.stats is not None
        assert first.stats["skipped"]["by_reason"]["read_failed"] >= 1 and first.stats["docs_out"] < whole
        recorded = json.loads((output / MARKER).read_text())["http_versions"]
        assert recorded[url_key(big)] == UNREACHABLE
        assert recorded[url_key(http.url + "crc.warc.gz")].startswith("modified ")
        http.drop_after.clear()
        [second] = run_stages([spec], lambda: spark)
        assert second.status == "ran" and second.stats is not None
        assert second.stats["docs_out"] == whole
        assert set(second.stats["skipped"]["by_reason"]) == {"corrupt_gzip"}  # crc.warc.gz's, by design
        assert UNREACHABLE not in json.loads((output / MARKER).read_text())["http_versions"].values()
        [third] = run_stages([spec], lambda: spark)
    assert third.status == "skipped"
