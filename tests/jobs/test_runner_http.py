"""The resume rule on HTTP(S) inputs, against a real HTTP server: a stage reruns when the server gives a new
version of a file it read, is skipped when nothing changed, and keeps its finished output while the server
cannot be reached (the version the last run recorded stands in)."""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from jobs.contract import Stage, StageParams, StageResult
from jobs.http_versions import server_version, server_versions, url_key
from jobs.runner import MARKER, StageSpec, fingerprint, http_versions, run_stages
from tests.remote_servers import range_server


@dataclass(frozen=True)
class FetchParams(StageParams):
    source: str
    output: str
    overwrite: bool = False


def _fetch(params: FetchParams, spark: object) -> StageResult:
    with urllib.request.urlopen(params.source, timeout=10) as answer:
        text = answer.read().decode()
    out = Path(params.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "copy.txt").write_text(text)
    return StageResult({"chars": len(text)})


FETCH = Stage("fetch", FetchParams, lambda params: params, _fetch)


def _no_spark() -> object:
    raise AssertionError("no stage here needs Spark")


def _statuses(spec: StageSpec) -> list[str]:
    return [outcome.status for outcome in run_stages([spec], _no_spark)]


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
        spec = StageSpec("fetch", FETCH, FetchParams(url, str(output)))
        assert _statuses(spec) == ["ran"]
        marker = json.loads((output / MARKER).read_text())
        [version] = marker["http_versions"].values()
        assert version.startswith("modified ")
        assert url not in json.dumps(marker)  # keyed by a hash: a URL may carry a token
        before = len(http.requests)
        assert _statuses(spec) == ["skipped"]
        assert [(r.method, r.path, r.range) for r in http.requests[before:]] == [
            ("GET", "/page.txt", "bytes=0-0")
        ]
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


def test_versions_of_missing_files_and_unreachable_servers(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "here.txt").write_text("here")
    with range_server(served) as http:
        here, gone = f"{http.url}here.txt", f"{http.url}gone.txt"
        spec = StageSpec("fetch", FETCH, FetchParams(here, str(tmp_path / "o")))
        [(key, version)] = http_versions(spec, {}, {}).items()
        assert version.startswith("modified ") and version.endswith("; size 4")  # the whole file's size
        spec = StageSpec("fetch", FETCH, FetchParams(gone, str(tmp_path / "o")))
        assert list(http_versions(spec, {}, {}).values()) == ["missing"]
    spec = StageSpec("fetch", FETCH, FetchParams(here, str(tmp_path / "o")))
    assert http_versions(spec, {}, {}) == {key: "unreachable"}
    assert http_versions(spec, {}, {key: version}) == {key: version}
    # an earlier stage's output is no input of its own
    assert http_versions(spec, {here: "fingerprint"}, {}) == {}


def test_a_file_the_server_refuses_keeps_its_version_and_its_host_answers_for_the_others(
    tmp_path: Path,
) -> None:
    """A 403 on one file marked its whole host down: 34 of 39 rewritten files kept their old versions."""
    names = [f"f{i}.txt" for i in range(6)]
    for name in names:
        (tmp_path / name).write_text("old")
    with range_server(tmp_path) as http:
        urls = [f"{http.url}{name}" for name in names]
        before = server_versions(urls, {})
        http.failing["f0.txt"] = 403
        for name in names:
            (tmp_path / name).write_text("a new text")
        after = server_versions(urls, before)
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


def test_a_marker_from_before_http_versions_is_brought_up_to_date_not_rerun(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    (served / "page.txt").write_text("a page")
    output = tmp_path / "out"

    def as_written_before() -> None:
        marker = json.loads((output / MARKER).read_text())
        marker.pop("http_versions")
        marker["fingerprint"] = fingerprint(spec, {}, {})  # the fingerprint without HTTP versions
        (output / MARKER).write_text(json.dumps(marker))

    with range_server(served) as http:
        spec = StageSpec("fetch", FETCH, FetchParams(f"{http.url}page.txt", str(output)))
        assert _statuses(spec) == ["ran"]
        recorded = json.loads((output / MARKER).read_text())
        as_written_before()
        assert _statuses(spec) == ["skipped"]
        assert json.loads((output / MARKER).read_text()) == recorded  # the versions now recorded
        as_written_before()
    assert _statuses(spec) == ["skipped"]  # the server is down as well: still finished
    assert "http_versions" not in json.loads((output / MARKER).read_text())  # recorded once it answers
