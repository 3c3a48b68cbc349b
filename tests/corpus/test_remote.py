"""Remote inputs read in process against real servers the tests start: an HTTP server that honours Range (and
drops connections on purpose) and moto's S3-compatible server. What a remote read gives must equal the local
read of the same bytes; a dropped connection is resumed at the byte reached, and one that stays dropped is
counted: a reject for the record it cut and a skipped span for the bytes never read."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, input_size, read_documents
from corpus.remote import HttpChannel, InputReadError, RemoteFile, RetryPolicy, redact, transient
from corpus.stats import RejectLog
from tests import crafted
from tests.remote_servers import MotoS3, RangeServer, moto_s3, range_server

FAST = RetryPolicy(attempts=4, first_wait_s=0.0, max_wait_s=0.0, timeout_s=10)
OPTIONS = ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC), retry=FAST)


def big_warc(path: Path, records: int = 150) -> Path:
    """One gzip member per record, as Common Crawl writes them: a few hundred KiB."""
    body = [crafted.warcinfo()] + [
        crafted.warc_record("response", i, crafted.http_response(crafted.page_html(i, words=300)))
        for i in range(1, records + 1)
    ]
    path.write_bytes(b"".join(crafted.members(body)))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("remote-inputs")
    crafted.issue18_inputs(folder)  # seven damaged files: recovery must work remotely as it does locally
    big_warc(folder / "big.warc.gz")
    table = pa.table({"id": [f"p{i}" for i in range(50)], "text": [f"parquet row {i}" for i in range(50)]})
    pq.write_table(table, folder / "rows.parquet", row_group_size=10)
    return folder


@pytest.fixture(scope="module")
def http(inputs: Path) -> Iterator[RangeServer]:
    with range_server(inputs) as server:
        yield server


@pytest.fixture(scope="module")
def s3(inputs: Path) -> Iterator[MotoS3]:
    with moto_s3() as server:
        server.upload(inputs, "chronomix-remote", "crawl/")
        yield server


def read(path: str, options: ReadOptions = OPTIONS) -> tuple[pa.Table, RejectLog, Counter[str]]:
    rejects, counters = RejectLog(), Counter()
    batches = list(read_documents(path, options, rejects, counters))
    table = pa.Table.from_batches(batches) if batches else None
    return table, rejects, counters


def accounting(rejects: RejectLog) -> list[tuple]:
    """Rejects and spans with their location's file name only (local path and URI differ there)."""
    name = lambda where: where.split("/")[-1]  # noqa: E731
    items = sorted((r.reason, r.detail, name(r.input)) for r in rejects.items)
    spans = sorted((s.reason, s.offset, s.length, s.space, name(s.input)) for s in rejects.skipped)
    return [items, spans]


def test_http_and_s3_reads_equal_local_reads(
    inputs: Path, http: RangeServer, s3: MotoS3, monkeypatch
) -> None:
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    names = sorted(p.name for p in inputs.iterdir())
    assert len(names) == 9
    for name in names:
        local, local_rejects, local_counters = read(str(inputs / name))
        for uri in (
            f"{http.url}{name}",
            f"s3://chronomix-remote/crawl/{name}",
            f"s3a://chronomix-remote/crawl/{name}",
        ):
            remote, rejects, counters = read(uri)
            assert (remote is None) == (local is None), uri
            if local is not None:
                assert remote.equals(local), uri
            assert accounting(rejects) == accounting(local_rejects), uri
            assert counters == local_counters, uri
            assert input_size(uri, FAST) == (inputs / name).stat().st_size
    # The damaged files did lose records, the same ones remotely as locally.
    assert sum(len(read(f"{http.url}{n}")[1]) for n in names) > 0


def test_a_dropped_connection_resumes_at_the_byte_reached(inputs: Path, http: RangeServer) -> None:
    name = "big.warc.gz"
    size = (inputs / name).stat().st_size
    local = read(str(inputs / name))[0]
    http.drop_after[name] = [20_000, 50_000]
    before = len(http.gets(name))
    remote, rejects, counters = read(http.url + name)
    assert remote.equals(local) and len(rejects) == 0 and not rejects.skipped
    assert counters["remote_retries"] == 2
    asked = [r.range for r in http.gets(name)[before:]]
    # one stream from the start, cut twice, each time resumed where it stopped
    assert asked == ["bytes=0-", "bytes=20000-", "bytes=70000-"] and size > 70_000


def test_a_connection_that_stays_dropped_is_counted(inputs: Path, http: RangeServer) -> None:
    name = "big.warc.gz"
    size = (inputs / name).stat().st_size
    local = read(str(inputs / name))[0]
    http.drop_after[name] = [30_000] + [0] * FAST.attempts
    remote, rejects, counters = read(http.url + name)
    http.drop_after[name] = []
    kept = remote.column("id").to_pylist()
    assert kept == local.column("id").to_pylist()[: len(kept)] and 0 < len(kept) < local.num_rows
    assert counters["remote_retries"] == FAST.attempts - 1
    # The record the drop cut is one reject; the bytes never read are one span; nothing else is lost.
    assert rejects.counts == Counter({"read_failed": 1})
    spans = [(s.reason, s.offset, s.length) for s in rejects.skipped]
    assert ("read_failed", 30_000, size - 30_000) in spans
    assert all(s.reason == "read_failed" and s.offset + s.length <= 30_000 for s in rejects.skipped[1:])
    assert local.num_rows > len(kept) + 1  # records after the drop were never seen: the span counts them


def test_missing_and_refused_inputs_are_skipped_spans(http: RangeServer, s3: MotoS3, monkeypatch) -> None:
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    for uri in (http.url + "absent.warc.gz", "s3://chronomix-remote/crawl/absent.warc.gz"):
        table, rejects, _ = read(uri)
        assert table is None and rejects.skipped_counts == Counter({"missing_file": 1}), uri
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")  # moto checks no signatures: a bucket that is not
    table, rejects, _ = read("s3://no-such-bucket-here/x.warc.gz")
    assert table is None and sum(rejects.skipped_counts.values()) == 1


def test_an_s3_object_is_opened_with_one_request_and_a_folder_is_named(
    inputs: Path, s3: MotoS3, monkeypatch
) -> None:
    """Opening an object cost a HEAD to check it and another to open it; a dump's WARCs are 90,000 objects."""
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    with s3.recorded() as requests:
        table, rejects, _ = read("s3://chronomix-remote/crawl/big.warc.gz")
    assert table.num_rows == read(str(inputs / "big.warc.gz"))[0].num_rows and not rejects.skipped
    paths = {path for _, path in requests}
    assert paths == {"/chronomix-remote/crawl/big.warc.gz"}
    assert [method for method, _ in requests].count("HEAD") == 1
    assert {method for method, _ in requests} == {"HEAD", "GET"}
    table, rejects, _ = read("s3://chronomix-remote/crawl")
    assert table is None and rejects.skipped_counts == Counter({"unreadable_file": 1})
    assert rejects.skipped[0].detail == "IsADirectoryError: a folder, not a file"


def test_a_server_that_gives_no_size_is_one_unreadable_file_without_retries(
    inputs: Path, http: RangeServer
) -> None:
    """No Content-Length and no Content-Range: the same answer on every try, retried six times for nothing."""
    name = "big.warc.gz"
    http.sizeless.add(name)
    try:
        before = len(http.requests)
        assert input_size(http.url + name, FAST) is None
        table, rejects, counters = read(http.url + name)
        asked = len(http.requests) - before
    finally:
        http.sizeless.discard(name)
    assert (
        table is None
        and sum(rejects.skipped_counts.values()) == 1
        and "gives no size" in rejects.skipped[0].detail
    )
    assert asked <= 4 and not counters["remote_retries"]  # a look or two each, no retries (were 2 x 4 tries)


def test_remote_file_seeks_from_what_it_kept_and_reopens_far_away(inputs: Path, http: RangeServer) -> None:
    name = "big.warc.gz"
    data = (inputs / name).read_bytes()
    before = len(http.gets(name))
    with RemoteFile(HttpChannel(http.url + name, 10), FAST) as remote:
        assert remote.size == len(data) and remote.read() == data
        rng = random.Random(0)
        for _ in range(200):
            offset, length = rng.randrange(len(data)), rng.randrange(1, 5000)
            remote.seek(offset)
            assert remote.read(length) == data[offset : offset + length]
        remote.seek(len(data) - 10)
        assert remote.read(100) == data[-10:] and remote.read(100) == b""
    # The whole file fits in what it keeps: one streamed request served every seek.
    assert [r.range for r in http.gets(name)[before:]] == ["bytes=0-"]
    with RemoteFile(HttpChannel(http.url + name, 10), FAST, size=len(data)) as remote:
        remote.seek(100_000)
        assert remote.read(10) == data[100_000:100_010]
    assert [r.range for r in http.gets(name)[before + 1 :]] == ["bytes=100000-"]


def test_redact_drops_credentials() -> None:
    assert redact("https://user:secret@host/a/b.warc.gz?X-Amz-Signature=abc") == "https://host/a/b.warc.gz"
    assert redact("/local/path.warc.gz") == "/local/path.warc.gz"
    assert transient(ConnectionResetError()) and not transient(FileNotFoundError())
    assert not transient(InputReadError("gone", 10))


def test_credentials_in_a_url_never_reach_the_rejects(http: RangeServer) -> None:
    url = http.url.replace("http://", "http://user:hunter2@") + "absent.warc.gz?token=hunter2"
    _, rejects, _ = read(url)
    assert rejects.skipped and all("hunter2" not in s.input + s.detail for s in rejects.skipped)
