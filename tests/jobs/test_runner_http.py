"""The resume rule on HTTP(S) inputs, against a real HTTP server: a stage reruns when the server gives a new
version of a file it read, is skipped when nothing changed, keeps its finished output while the server cannot
be reached (the version the last run recorded stands in), and a file it could not read is read by the first
run that reaches it."""

from __future__ import annotations

import io
import json
import os
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import jobs.http_versions as http_versions_module
from jobs import progress
from jobs.contract import Stage, StageParams, StageResult
from jobs.http_versions import UNREACHABLE, server_version, server_versions, url_key
from jobs.runner import MARKER, StageSpec, fingerprint, http_versions, run_stages, write_marker
from tests.remote_servers import range_server


@dataclass(frozen=True)
class FetchParams(StageParams):
    sources: list[str]
    output: str
    overwrite: bool = False


def _fetch(params: FetchParams, spark: object) -> StageResult:
    """Each source's text on a line of copy.txt; a source that cannot be read is counted and left out, as
    ingest counts an unreadable file."""
    texts, unread = [], 0
    for source in params.sources:
        try:
            with urllib.request.urlopen(source, timeout=10) as answer:
                texts.append(answer.read().decode())
        except (urllib.error.URLError, OSError):
            unread += 1
    out = Path(params.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "copy.txt").write_text("\n".join(texts))
    return StageResult({"read": len(texts), "unread": unread})


@dataclass(frozen=True)
class ShoutParams(StageParams):
    source: str
    output: str
    overwrite: bool = False


def _shout(params: ShoutParams, spark: object) -> StageResult:
    text = (Path(params.source) / "copy.txt").read_text().upper()
    Path(params.output).mkdir(parents=True, exist_ok=True)
    (Path(params.output) / "shout.txt").write_text(text)
    return StageResult({"chars": len(text)})


FETCH = Stage("fetch", FetchParams, lambda params: params, _fetch)
SHOUT = Stage("shout", ShoutParams, lambda params: params, _shout)


def _no_spark() -> object:
    raise AssertionError("no stage here needs Spark")


def _statuses(*specs: StageSpec) -> list[str]:
    return [outcome.status for outcome in run_stages(list(specs), _no_spark)]


def _fetch_spec(urls: list[str], output: Path) -> StageSpec:
    return StageSpec("fetch", FETCH, FetchParams(urls, str(output)))


def test_a_stage_reruns_when_its_http_file_changes_and_keeps_its_output_through_an_outage(
    tmp_path: Path,
) -> None:
    served = tmp_path / "served"
    served.mkdir()
    page = served / "page.txt"
    page.write_text("first version")
    output = tmp_path / "out"
    with range_server(served) as http:
        url = f"{http.url}page.txt"
        spec = _fetch_spec([url], output)
        assert _statuses(spec) == ["ran"]
        marker = json.loads((output / MARKER).read_text())
        [version] = marker["http_versions"].values()
        assert version.startswith("modified ")
        assert url not in json.dumps(marker)  # keyed by a hash: a URL may carry a token
        before = len(http.requests)
        assert _statuses(spec) == ["skipped"]
        asked = [(r.method, r.path, r.range) for r in http.requests[before:]]
        assert asked == [("GET", "/page.txt", "bytes=0-0")]
        page.write_text("second, longer version")  # a new size
        assert _statuses(spec) == ["ran"]
        assert (output / "copy.txt").read_text() == "second, longer version"
        page.write_text("third, longer  version")  # the same size, a later date
        os.utime(page, (page.stat().st_atime, page.stat().st_mtime + 60))
        assert _statuses(spec) == ["ran"]
        assert (output / "copy.txt").read_text() == "third, longer  version"
    # The server is gone: the stage keeps its output rather than rerun and fail to read the file.
    assert _statuses(spec) == ["skipped"]
    assert (output / "copy.txt").read_text() == "third, longer  version"


def test_a_file_refused_while_the_stage_reran_is_read_once_the_server_serves_it(tmp_path: Path) -> None:
    """Recorded at its old version though the rerun could not read it, a refused file's documents stayed
    out of the output for good: every later run took the stage for complete."""
    (tmp_path / "a.txt").write_text("a one")
    (tmp_path / "c.txt").write_text("c one")
    output = tmp_path / "out"
    with range_server(tmp_path) as http:
        spec = _fetch_spec([f"{http.url}a.txt", f"{http.url}c.txt"], output)
        assert _statuses(spec) == ["ran"]
        http.failing["c.txt"] = 403
        (tmp_path / "a.txt").write_text("a two, longer")
        with progress.reporting(Console(file=io.StringIO(), width=200)) as reporter:
            assert _statuses(spec) == ["ran"]  # a changed; c could not be read
        said = reporter.console.file.getvalue()
        assert "fetch: 1 HTTP input(s) changed on their server" in said
        assert "fetch: 1 HTTP input(s) not answering now: the next run that reaches them reruns it" in said
        assert (output / "copy.txt").read_text() == "a two, longer"
        recorded = json.loads((output / MARKER).read_text())["http_versions"]
        assert recorded[url_key(f"{http.url}c.txt")] == UNREACHABLE
        with progress.reporting(Console(file=io.StringIO(), width=200)) as reporter:
            assert _statuses(spec) == ["skipped"]  # still refused: nothing new to read
        said = reporter.console.file.getvalue()
        assert "fetch: 1 HTTP input(s) not answering now: taken as last read" in said
        del http.failing["c.txt"]
        with progress.reporting(Console(file=io.StringIO(), width=200)) as reporter:
            assert _statuses(spec) == ["ran"]
        said = reporter.console.file.getvalue()
        assert "fetch: 1 input file(s) the last run could not read: reading them now" in said
        assert "changed on their server" not in said
        assert (output / "copy.txt").read_text() == "a two, longer\nc one"


def test_versions_of_missing_files_and_unreachable_servers(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "here.txt").write_text("here")
    with range_server(served) as http:
        here, gone = f"{http.url}here.txt", f"{http.url}gone.txt"
        spec = _fetch_spec([here], tmp_path / "o")
        versions = http_versions(spec, {}, {})
        [(key, version)] = versions.compared.items()
        assert version.startswith("modified ") and version.endswith("; size 4")  # the whole file's size
        assert versions.answered == {key}
        spec = _fetch_spec([gone], tmp_path / "o")
        assert list(http_versions(spec, {}, {}).compared.values()) == ["missing"]
    spec = _fetch_spec([here], tmp_path / "o")
    down = http_versions(spec, {}, {})
    assert down.compared == {key: UNREACHABLE} and not down.answered
    down = http_versions(spec, {}, {key: version})
    assert down.compared == {key: version} and down.to_record() == {key: UNREACHABLE}
    # an earlier stage's output is no input of its own
    assert http_versions(_fetch_spec([here], tmp_path / "o"), {here: "fingerprint"}, {}).compared == {}


def test_a_url_s_key_holds_no_password(tmp_path: Path) -> None:
    """A plain hash of the URL let a weak password be guessed back from _complete.json."""
    with_password = url_key("https://alice:s3cretPW@example.org/c.jsonl?part=1")
    assert with_password == url_key("https://example.org/c.jsonl?part=1")
    assert with_password != url_key("https://example.org/c.jsonl?part=2")


def test_a_file_the_server_refuses_keeps_its_version_and_its_host_answers_for_the_others(
    tmp_path: Path,
) -> None:
    """A 403 on one file marked its whole host down: 34 of 39 rewritten files kept their old versions."""
    names = [f"f{i}.txt" for i in range(6)]
    for name in names:
        (tmp_path / name).write_text("old")
    with range_server(tmp_path) as http:
        urls = [f"{http.url}{name}" for name in names]
        before = server_versions(urls, {}).compared
        http.failing["f0.txt"] = 403
        for name in names:
            (tmp_path / name).write_text("a new text")
        after = server_versions(urls, before).compared
    first, *others = (url_key(url) for url in urls)
    assert after[first] == before[first]  # refused: the recorded version stands
    assert all(after[k] != before[k] and after[k].endswith("; size 10") for k in others)


def test_etags_signed_urls_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "signed.txt").write_text("twelve bytes")
    (tmp_path / "empty.txt").write_text("")
    with range_server(tmp_path) as http:
        http.no_head.add("signed.txt")  # a HEAD would be refused: no HEAD is sent
        assert server_version(f"{http.url}signed.txt").endswith("; size 12")
        http.etags["signed.txt"] = '"v7"'
        assert server_version(f"{http.url}signed.txt") == 'etag "v7"'
        assert server_version(f"{http.url}empty.txt") == ""  # 416: no date given, no version to compare
        assert [r.method for r in http.requests] == ["GET"] * 3


def test_stages_finished_before_http_versions_stay_finished_and_so_do_the_stages_after_them(
    tmp_path: Path,
) -> None:
    """Brought up to date, an old marker took a new fingerprint, and every stage after it reran."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "page.txt").write_text("a page")
    fetched, shouted = tmp_path / "fetched", tmp_path / "shouted"

    def as_written_before(specs: list[StageSpec]) -> None:
        """The markers an older chronomix wrote: no HTTP versions in the fingerprints."""
        upstream: dict[str, str] = {}
        for spec in specs:
            marker = json.loads((Path(spec.output) / MARKER).read_text())
            marker.pop("http_versions")
            marker["fingerprint"] = fingerprint(spec, upstream, {})
            (Path(spec.output) / MARKER).write_text(json.dumps(marker))
            upstream = {spec.output: marker["fingerprint"]}

    with range_server(served) as http:
        chain = [
            _fetch_spec([f"{http.url}page.txt"], fetched),
            StageSpec("shout", SHOUT, ShoutParams(str(fetched), str(shouted)), needs=["fetch"]),
        ]
        assert _statuses(*chain) == ["ran", "ran"]
        as_written_before(chain)
        markers = [(Path(s.output) / MARKER).read_text() for s in chain]
        assert _statuses(*chain) == ["skipped", "skipped"]
        assert [(Path(s.output) / MARKER).read_text() for s in chain] == markers
    assert _statuses(*chain) == ["skipped", "skipped"]  # the server down as well
    assert (shouted / "shout.txt").read_text() == "A PAGE"


def test_a_server_that_does_not_answer_is_announced_while_the_check_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that takes the connection and never answers: the run says it is waiting (after
    SLOW_NOTICE_S), the check ends at CHECK_TIMEOUT_S and the finished stage keeps its output."""
    monkeypatch.setattr(http_versions_module, "SLOW_NOTICE_S", 0.2)
    monkeypatch.setattr(http_versions_module, "CHECK_TIMEOUT_S", 1.5)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens: connections queue, nothing answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/page.txt"
        calls: list[int] = []
        started = time.perf_counter()
        versions = server_versions([url, url + "?again"], {}, calls.append)
        assert 1.4 < time.perf_counter() - started < 5
        assert calls == [2] and not versions.answered
        assert set(versions.compared.values()) == {UNREACHABLE}
        output = tmp_path / "out"
        spec = _fetch_spec([url], output)
        read = {url_key(url): 'etag "v1"'}  # as a finished run that read the file recorded it
        write_marker(str(output), fingerprint(spec, {}, read), {}, 0.0, read)
        console = Console(file=io.StringIO(), width=200)
        with progress.reporting(console, live=False):
            assert _statuses(spec) == ["skipped"]
        said = console.file.getvalue()
    assert "fetch: waiting on 1 HTTP input(s) to learn whether they changed" in said
    assert "fetch: 1 HTTP input(s) not answering now: taken as last read" in said
    # answered quickly: nothing is announced
    calls.clear()
    assert server_versions([], {}, calls.append).compared == {} and calls == []


def test_a_version_check_sends_credentials_to_the_urls_own_server_only(tmp_path: Path) -> None:
    """user:password from the URL went, as Basic authentication, to the host a redirect pointed at."""
    (tmp_path / "page.txt").write_text("a page")
    with range_server(tmp_path) as http, range_server(tmp_path) as other:
        http.redirects["away.txt"] = other.url.replace("127.0.0.1", "localhost") + "page.txt"
        http.redirects["here.txt"] = http.url + "page.txt"
        signed = http.url.replace("http://", "http://alice:s3cr3t@")
        assert server_version(signed + "away.txt") == server_version(signed + "here.txt") != ""
        here = [(r.path, r.range, r.authorization) for r in http.requests]
        away = [(r.path, r.range, r.authorization) for r in other.requests]
    sent = "Basic YWxpY2U6czNjcjN0"  # alice:s3cr3t
    assert here == [
        ("/away.txt", "bytes=0-0", sent),
        ("/here.txt", "bytes=0-0", sent),
        ("/page.txt", "bytes=0-0", sent),
    ]
    assert away == [("/page.txt", "bytes=0-0", None)]
