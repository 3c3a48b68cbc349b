"""The driver's view of a stage's inputs (jobs/inputs.py), before Spark starts: a listing's order and its
entries under an HTTP base, a --base no reader opens, an empty path, a malformed URL, a folder a job writes
under an input glob or folder, and the notice while HTTP servers keep the size checks waiting. Each case was
found by trying the CLI as a user would."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

import jobs.inputs as inputs_module
from corpus.remote import RetryPolicy
from jobs import progress
from jobs.cli import main
from jobs.contract import UsageError
from jobs.ingest import IngestParams, check
from jobs.inputs import check_base, http_sizes, join_base
from jobs.threads import run_concurrently
from tests.jobs.cli_helpers import _refused
from tests.jobs.cluster import ROOT
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
    # a port that is no number, or out of range, was retried, then counted unreadable in a job that ran
    for url in ("http://127.0.0.1:abc/x.jsonl", "http://127.0.0.1:99999/x.jsonl", "http:///x.jsonl"):
        err = _refused(["ingest", url, "-o", str(tmp_path / "o"), "--retries", "3"], capsys)
        assert "not a valid URL" in err, (url, err)


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
        ("hf3/*/", "hf3/sub"),  # a glob of folders: Python's glob matches hf3/sub/ and reads below it
        ("hf3/**/", "hf3/sub/deeper"),
    ):
        err = _refused(["ingest", str(tmp_path / pattern), "-o", str(tmp_path / output)], capsys)
        assert "what the input glob" in err and "--output" in err, (pattern, err)
    # a glob that cannot reach the output leaves it free: refused only because --format is bad here
    err = _refused(["ingest", str(data / "*.jsonl"), "-o", str(data / "out"), "--format", "x"], capsys)
    assert "--format" in err, err
    # a hidden name is matched by no wildcard of a local glob (Python's glob skips it): free
    err = _refused(["ingest", str(data / "*"), "-o", str(data / ".out"), "--format", "x"], capsys)
    assert "--format" in err, err
    err = _refused(["audit", str(data), "-o", str(tmp_path / "report"), "--work", str(data / "w")], capsys)
    assert "--work" in err and "lies inside the input folder" in err, err
    assert sorted(p.name for p in data.iterdir()) == ["a.jsonl"]


class HeldConnections:
    """A server that takes every connection and never answers, holding it until the client gives up; it
    counts the most connections open at once (checks one after another would never hold more than two)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open = self.most = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                self.open += 1
                self.most = max(self.most, self.open)
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            while conn.recv(4096):  # the request; b"" once the client closes
                pass
        with self.lock:
            self.open -= 1

    def close(self) -> None:
        self.server.close()


def test_a_server_that_keeps_the_size_check_waiting_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that took the connection and said nothing held the driver's checks, one URL after another and
    in silence, for --timeout a try (6 minutes per URL with the defaults)."""
    monkeypatch.setattr(inputs_module, "SLOW_NOTICE_S", 0.2)
    (tmp_path / "here.warc.gz").write_bytes(b"12345")
    policy = RetryPolicy(attempts=1, timeout_s=1.0)
    silent = HeldConnections()
    try:
        with range_server(tmp_path) as http:
            quiet = [f"http://127.0.0.1:{silent.port}/{n}.warc.gz" for n in range(3)]
            console = Console(file=io.StringIO(), width=200)
            with progress.reporting(console, live=False):
                sizes = http_sizes([*quiet, http.url + "here.warc.gz"], policy)
            here = http.url + "here.warc.gz"
    finally:
        silent.close()
    assert sizes == {**dict.fromkeys(quiet, -1), here: 5}
    assert silent.most == 3  # asked together, not one after another (3 x 1 s)
    said = console.file.getvalue()
    assert (
        "waiting on the servers of 3 HTTP input(s) for their sizes (each try waits at most 1 s, 1 tries)"
        in said
    )


def test_a_url_naming_nothing_is_still_refused_with_its_status(tmp_path: Path) -> None:
    with range_server(tmp_path) as http, pytest.raises(UsageError, match="no such file \\(HTTP 404"):
        http_sizes([http.url + "nowhere.warc.gz"])


def test_an_interrupt_during_the_size_checks_stops_the_command_at_once(tmp_path: Path) -> None:
    """Ctrl-C while a server kept the size check waiting: the command waited for every retry of the check's
    thread (58 s with --timeout 20 --retries 3) before it stopped, and a scheduler's SIGKILL would come first."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.jsonl"
        command = [sys.executable, "-m", "jobs.cli", "ingest", url, "-o", str(tmp_path / "o")]
        command += ["--timeout", "20", "--retries", "3"]
        process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        try:
            # The check is waiting on the silent server once it has connected: a fixed sleep could fall in
            # the command's start-up on a loaded machine, where the interrupt met a lock mid-import.
            silent.settimeout(60)
            connection, _ = silent.accept()
            time.sleep(0.5)
            process.send_signal(signal.SIGINT)
            started = time.perf_counter()
            _, stderr = process.communicate(timeout=30)
            stopped_in = time.perf_counter() - started
            connection.close()
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "chronomix: interrupted", stderr
    assert stopped_in < 5, stopped_in
    assert not (tmp_path / "o").exists()


def test_concurrent_checks_keep_their_order_announce_a_wait_and_raise_the_first_error() -> None:
    def slow_square(n: int) -> int:
        time.sleep(0.3 if n == 2 else 0.0)
        if n == 5:
            raise ValueError("five")
        return n * n

    announced: list[int] = []
    assert run_concurrently(slow_square, [1, 2, 3, 4], 2, 0.1, announced.append) == [1, 4, 9, 16]
    assert announced == [1]  # only the slow one was still running
    with pytest.raises(ValueError, match="five"):
        run_concurrently(slow_square, [5, 2], 4, 10.0)
    assert run_concurrently(slow_square, [], 4, 0.1, announced.append) == [] and announced == [1]


def test_files_a_folder_listing_leaves_out_are_said_where_the_folder_is_no_stage_output(
    tmp_path, capsys
) -> None:
    """A crawl's `_2024-05/b.warc.gz` and `_dolma.warc.gz` were skipped without a word (the Hadoop rule for
    a stage output's bookkeeping); a stage output's own `_stats.json` and `_rejects/` are passed over quietly."""
    from jobs.stage import expand_inputs

    crawl = tmp_path / "crawl"
    for name in ("main/a.warc.gz", "_2024-05/b.warc.gz", "_dolma.warc.gz", ".hidden.warc.gz"):
        (crawl / name).parent.mkdir(parents=True, exist_ok=True)
        (crawl / name).write_bytes(b"x")
    assert [f.uri for f in expand_inputs([str(crawl)])] == [str(crawl / "main" / "a.warc.gz")]
    said = capsys.readouterr().err
    assert f"input {str(crawl)!r}: 3 file(s) left out" in said
    output = tmp_path / "dated"
    (output / "_rejects").mkdir(parents=True)
    for name in ("part-00000.parquet", "_stats.json", "_rejects/bad.jsonl"):
        (output / name).write_bytes(b"x")
    assert [f.uri for f in expand_inputs([str(output)])] == [str(output / "part-00000.parquet")]
    assert capsys.readouterr().err == ""
    # a file named itself is read, whatever its name
    assert [f.uri for f in expand_inputs([str(crawl / "_dolma.warc.gz")])] == [str(crawl / "_dolma.warc.gz")]


def test_a_folder_linked_to_itself_is_read_once_and_a_fifo_is_left_out(tmp_path, capsys, spark) -> None:
    """A link `self -> .` made a 5-document folder read 41 times over (205 documents, `files in 42`);
    a FIFO in a folder was left out without a word, and one named as an input stopped the job with
    "cannot list directory ... Not a directory". Here the real ingest reads the 5 documents once."""
    import json
    import os

    from jobs.stage import expand_inputs

    crawl = tmp_path / "crawl"
    (crawl / "sub").mkdir(parents=True)
    lines = [json.dumps({"id": f"d{i}", "text": f"Document number {i} of the crawl."}) for i in range(5)]
    (crawl / "sub" / "docs.jsonl").write_text("\n".join(lines) + "\n")
    (crawl / "self").symlink_to(".")
    (crawl / "sub" / "up").symlink_to("..")
    (crawl / "again").symlink_to("sub")
    os.mkfifo(crawl / "pipe.jsonl")
    assert [f.uri for f in expand_inputs([str(crawl)])] == [str(crawl / "sub" / "docs.jsonl")]
    said = capsys.readouterr().err
    again = str(crawl / "sub" / "up")  # the first of the three links met (the real `sub` is walked first)
    assert f"3 left out, folders reached again through a link, read once, e.g. {again!r}" in said, said
    assert f"1 left out, not regular files, e.g. {str(crawl / 'pipe.jsonl')!r}" in said
    err = _refused(["ingest", str(crawl / "pipe.jsonl"), "-o", str(tmp_path / "no")], capsys)
    assert "is not a regular file or folder (a FIFO, socket or device)" in err, err
    out = tmp_path / "out"
    main(["ingest", str(crawl), "-o", str(out)])  # in the tests' session
    stats = json.loads((out / "_stats.json").read_text())
    assert (stats["files_in"], stats["docs_in"], stats["docs_out"]) == (1, 5, 5), stats
