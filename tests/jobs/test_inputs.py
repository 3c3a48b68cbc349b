"""The driver's view of a stage's inputs (jobs/inputs.py), before Spark starts: a listing's order and its
entries under an HTTP base, a --base no reader opens, an empty path, a malformed URL, a folder a job writes
under an input glob or folder, and the notice while HTTP servers keep the size checks waiting. Each case was
found by trying the CLI as a user would."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import pytest
from rich.console import Console

import jobs.inputs as inputs_module
from corpus.remote import RetryPolicy
from jobs import progress
from jobs.contract import UsageError
from jobs.ingest import IngestParams, check
from jobs.inputs import check_base, http_sizes, join_base
from tests.jobs.cli_helpers import _refused
from tests.remote_servers import range_server


def test_limit_takes_a_listing_s_first_entries_in_its_order(tmp_path: Path) -> None:
    """`--limit 1` took the alphabetically first file of a listing, not its first entry ("the first ten WARCs
    of a dump", as the help says)."""
    listing = tmp_path / "dump.paths"
    listing.write_text("crawl/zz-first.warc.gz\ncrawl/aa-second.warc.gz\ncrawl/mm-third.warc.gz\n")
    base = "https://data.example.org/"
    files = check(IngestParams(inputs=[str(listing)], output=str(tmp_path / "o"), base=base)).files
    assert [f.uri.rsplit("/", 1)[1] for f in files] == [
        "zz-first.warc.gz",
        "aa-second.warc.gz",
        "mm-third.warc.gz",
    ]
    limited = check(IngestParams(inputs=[str(listing)], output=str(tmp_path / "o"), base=base, limit=1)).files
    assert [f.uri for f in limited] == ["https://data.example.org/crawl/zz-first.warc.gz"]


def test_listing_entries_under_an_http_base_are_spelled_as_urls() -> None:
    """An entry with a space gave "InvalidURL: URL can't contain control characters" and no request."""
    base = "http://127.0.0.1:8000/"
    assert join_base("my file.warc.gz", base, "l.paths") == "http://127.0.0.1:8000/my%20file.warc.gz"
    assert (
        join_base("crawl/été.warc.gz", base, "l.paths") == "http://127.0.0.1:8000/crawl/%C3%A9t%C3%A9.warc.gz"
    )
    # already escaped, or holding a query: kept as written
    assert (
        join_base("a%20b.warc.gz?v=1&x=2", base, "l.paths") == "http://127.0.0.1:8000/a%20b.warc.gz?v=1&x=2"
    )
    # an object store's key is a name, not a URL: kept as it is
    assert join_base("my file.warc.gz", "s3://bucket/", "l.paths") == "s3://bucket/my file.warc.gz"


def test_a_base_no_reader_opens_is_a_bad_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`--base ftp://x/` ran the whole job, counted every file unreadable, and exited 0 (an `ftp://` input
    given directly is refused)."""
    listing = tmp_path / "a.paths"
    listing.write_text("one.warc.gz\n")
    err = _refused(["ingest", str(listing), "--base", "ftp://x/", "-o", str(tmp_path / "o")], capsys)
    assert "--base 'ftp://x/': no reader for ftp://" in err, err
    for fine in ("https://data.commoncrawl.org/", "s3://commoncrawl/", "/data/cc/", "file:///data/cc/"):
        check_base(fine)


def test_an_empty_input_path_is_refused_not_read_as_the_current_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`chronomix ingest '' -o out/z` read the whole current folder, earlier outputs included, and exited 0."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n')
    err = _refused(["ingest", "", "-o", str(tmp_path / "out")], capsys)
    assert "input '': an empty path" in err, err


def test_a_malformed_url_is_a_bad_argument(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`http://[bad/x.warc.gz` exited 1: "failed: ValueError: Invalid IPv6 URL"."""
    err = _refused(["ingest", "http://[bad/x.warc.gz", "-o", str(tmp_path / "o")], capsys)
    assert "input 'http://[bad/x.warc.gz': not a valid URL" in err, err
    err = _refused(
        ["ingest", "http://alice:s3cr3t@[bad/x.warc.gz?sig=k3y", "-o", str(tmp_path / "o")], capsys
    )
    assert "not a valid URL" in err and "s3cr3t" not in err and "k3y" not in err, err


def test_a_folder_a_job_writes_under_an_input_glob_or_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`ingest 'hf3/*' -o hf3/sub` was accepted, and the next run of it read its own output (400 documents of
    200); `audit hf2 --work hf2/w --keep-work` left work that the next audit of hf2 read (1,000 of 200)."""
    data = tmp_path / "hf3"
    data.mkdir()
    (data / "a.jsonl").write_text('{"text": "one"}\n')
    for pattern, output in (
        ("hf3/*", "hf3/sub"),
        ("hf3/*", "hf3/sub/deeper"),
        ("hf3/**/*.jsonl", "hf3/x/out.jsonl"),
        ("h?3/*", "hf3/sub"),
    ):
        err = _refused(["ingest", str(tmp_path / pattern), "-o", str(tmp_path / output)], capsys)
        assert "what the input glob" in err and "--output" in err, (pattern, err)
    # a glob that cannot reach the output leaves it free: refused only because --format is bad here
    err = _refused(["ingest", str(data / "*.jsonl"), "-o", str(data / "out"), "--format", "x"], capsys)
    assert "--format" in err, err
    err = _refused(["audit", str(data), "-o", str(tmp_path / "report"), "--work", str(data / "w")], capsys)
    assert "--work" in err and "lies inside the input folder" in err, err
    assert sorted(p.name for p in data.iterdir()) == ["a.jsonl"]


def test_a_server_that_keeps_the_size_check_waiting_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that took the connection and said nothing held the driver's checks, one URL after another and
    in silence, for --timeout a try (6 minutes per URL with the defaults)."""
    monkeypatch.setattr(inputs_module, "SLOW_NOTICE_S", 0.2)
    (tmp_path / "here.warc.gz").write_bytes(b"12345")
    policy = RetryPolicy(attempts=1, timeout_s=1.0)
    with socket.create_server(("127.0.0.1", 0)) as silent, range_server(tmp_path) as http:
        quiet = [f"http://127.0.0.1:{silent.getsockname()[1]}/{n}.warc.gz" for n in range(3)]
        console = Console(file=io.StringIO(), width=200)
        started = time.perf_counter()
        with progress.reporting(console, live=False):
            sizes = http_sizes([*quiet, http.url + "here.warc.gz"], policy)
        seconds = time.perf_counter() - started
        here = http.url + "here.warc.gz"
    assert sizes == {**dict.fromkeys(quiet, -1), here: 5}
    assert seconds < 2.5  # asked together, not one after another (3 x 1 s)
    said = console.file.getvalue()
    assert (
        "waiting on the servers of 3 HTTP input(s) for their sizes (each try waits at most 1 s, 1 tries)"
        in said
    )


def test_a_url_naming_nothing_is_still_refused_with_its_status(tmp_path: Path) -> None:
    with range_server(tmp_path) as http, pytest.raises(UsageError, match="no such file \\(HTTP 404"):
        http_sizes([http.url + "nowhere.warc.gz"])
