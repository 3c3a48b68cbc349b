"""Remote inputs read in process against real servers the tests start: an HTTP server that honours Range (and
drops connections on purpose) and moto's S3-compatible server. What a remote read gives must equal the local
read of the same bytes; a dropped connection is resumed at the byte reached, and one that stays dropped is
counted: a reject for the record it cut and a skipped span for the bytes never read."""

from __future__ import annotations

import base64
import math
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, input_size, read_documents
from corpus.remote import InputReadError, RemoteFile, RetryPolicy, redact, transient
from corpus.remote_http import HttpChannel
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
    # The damaged files did lose records, the same ones remotely as locally: (documents, rejects, skipped
    # spans) of each over HTTP, by hand from how crafted.issue18_inputs and the fixture made them.
    lost = {}
    for name in names:
        table, rejects, _ = read(f"{http.url}{name}")
        lost[name] = (table.num_rows, dict(rejects.counts), dict(rejects.skipped_counts))
    assert lost == {
        "big.warc.gz": (150, {}, {}),
        "crc.warc.gz": (4, {"corrupt_gzip": 1}, {"corrupt_gzip": 1}),  # 5 responses, the 3rd's CRC bad
        "cut.warc.wet.gz": (3, {"truncated_gzip": 1}, {"truncated_gzip": 1}),  # 4 conversions, the last cut
        "junk.warc.gz": (3, {}, {"not_gzip": 1}),  # the proxy's page after the last member
        "length.warc": (4, {"bad_warc_header": 2}, {}),  # 6 responses, 2 with no or a bad Content-Length
        "rows.parquet": (50, {}, {}),
        "surrogates.jsonl": (3, {}, {}),
        "trailer.warc": (1, {}, {}),
        "xxe.xml": (3, {"bad_xml": 1}, {}),  # 4 pages, one naming an external entity
    }


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


def test_a_stalled_read_keeps_its_bytes_and_resumes_at_the_byte_reached(
    inputs: Path, http: RangeServer
) -> None:
    """A read that timed out part way through a block started the block again and lost what it had: a server
    that stalled after 50,000 bytes was asked `bytes=0-` on every try and the file was never read."""
    name = "big.warc.gz"
    data = (inputs / name).read_bytes()
    http.stall_after[name] = [50_000, 20_000]
    before = len(http.gets(name))
    policy = RetryPolicy(attempts=2, first_wait_s=0.0, max_wait_s=0.0, timeout_s=0.5)
    retries: list[str] = []
    with RemoteFile(HttpChannel(http.url + name, policy.timeout_s), policy, retries.append) as remote:
        assert remote.read() == data
    asked = [(r.range, r.sent) for r in http.gets(name)[before:]]
    rest = len(data) - 70_000
    assert asked == [("bytes=0-", 50_000), ("bytes=50000-", 20_000), ("bytes=70000-", rest)]
    # A try that made progress resets the count of tries, as after a dropped connection.
    assert retries == ["TimeoutError: timed out at byte 50000", "TimeoutError: timed out at byte 70000"]


def test_credentials_in_a_url_follow_a_redirect_within_the_server_only(
    inputs: Path, http: RangeServer
) -> None:
    """urllib copies a request's headers to wherever a redirect points: user:password from the URL went, as
    Basic authentication, to another host. Like curl and requests, they stay with the URL's own server."""
    name = "big.warc.gz"
    data = (inputs / name).read_bytes()
    sent = "Basic " + base64.b64encode(b"alice:s3cr3t").decode()
    signed = http.url.replace("http://", "http://alice:s3cr3t@")
    with range_server(inputs) as other:
        http.redirects["away.warc.gz"] = other.url.replace("127.0.0.1", "localhost") + name
        http.redirects["here.warc.gz"] = http.url + name
        try:
            before = len(http.requests)
            with RemoteFile(HttpChannel(signed + "away.warc.gz", 10), FAST) as remote:
                assert remote.read() == data
            with RemoteFile(HttpChannel(signed + "here.warc.gz", 10), FAST) as remote:
                assert remote.read() == data
        finally:
            del http.redirects["away.warc.gz"], http.redirects["here.warc.gz"]
        here = [(r.method, r.path, r.status, r.authorization) for r in http.requests[before:]]
        away = [(r.method, r.path, r.range, r.authorization) for r in other.requests]
    # The URL's server got the credentials, before and after its redirect to itself (a HEAD redirected
    # becomes a GET, urllib's way); the other server never did.
    assert here == [
        ("HEAD", "/away.warc.gz", 302, sent),
        ("GET", "/away.warc.gz", 302, sent),
        ("HEAD", "/here.warc.gz", 302, sent),
        ("GET", f"/{name}", 200, sent),
        ("GET", "/here.warc.gz", 302, sent),
        ("GET", f"/{name}", 206, sent),
    ]
    assert away == [("GET", f"/{name}", None, None), ("GET", f"/{name}", "bytes=0-", None)]


def test_a_url_whose_head_is_refused_403_is_read_with_gets(inputs: Path, http: RangeServer) -> None:
    """An S3 URL presigned for GET refuses HEAD with 403 (its signature names the method): only HEADs were
    made and the file counted unreadable. A GET refused too is a permission error, not retried."""
    name = "big.warc.gz"
    data = (inputs / name).read_bytes()
    before = len(http.requests)
    http.head_status[name] = 403
    try:
        with RemoteFile(HttpChannel(http.url + name, 10), FAST) as remote:
            assert remote.read() == data
        http.failing[name] = 403
        with pytest.raises(PermissionError, match="HTTP 403"):
            RemoteFile(HttpChannel(http.url + name, 10), FAST)
    finally:
        http.head_status.pop(name, None), http.failing.pop(name, None)
    asked = [(r.method, r.range, r.status) for r in http.requests[before:]]
    assert asked == [
        ("HEAD", None, 403),
        ("GET", "bytes=0-0", 206),
        ("GET", "bytes=0-", 206),
        ("HEAD", None, 403),
        ("GET", "bytes=0-0", 403),
    ]


@pytest.mark.parametrize("field", ["timeout_s", "first_wait_s", "max_wait_s"])
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_a_retry_policy_needs_finite_times(field: str, value: float) -> None:
    """`--timeout inf` was taken, and every HTTP read failed with "OverflowError: timestamp out of range"."""
    with pytest.raises(ValueError, match="finite"):
        RetryPolicy(**{field: value})
