"""The audit of a dataset on an object store (moto's S3 server, started here): its report may not go to the
store, and neither the report nor --work may lie under the input's prefix. Both are refused before Spark
starts, with exit status 2 and one line; they failed late, or not at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.cli_helpers import _refused as refused_line
from tests.remote_servers import MotoS3, moto_s3

WORDS = "the council met again to discuss the budget for the coming year"
BUCKET = "chronomix-audit"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    folder = tmp_path_factory.mktemp("audit-remote")
    (folder / "part.jsonl").write_text(json.dumps({"id": "a", "text": WORDS}) + "\n")
    with moto_s3() as server:
        server.upload(folder, BUCKET, "in/")
        yield server


def _refused(argv: list[str], capsys) -> str:
    err = refused_line(argv, capsys)  # exit 2, one line
    assert ".work-" not in err and ".tmp-" not in err, err
    return err


def test_a_report_on_an_object_store_is_refused_before_spark(
    s3: MotoS3, tmp_path: Path, capsys, monkeypatch, no_spark: None
) -> None:
    """`audit s3://b/in/ -o s3://b/reports/r1` exited 2 only after Spark started, naming the hidden work
    folder; with --work local the whole audit ran, then failed moving the report (S3 cannot move a prefix)
    and left a `.r1.tmp-*` prefix in the bucket."""
    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    for extra in ([], ["--work", str(tmp_path / "w")]):
        err = _refused(["audit", f"s3://{BUCKET}/in/", "-o", f"s3://{BUCKET}/reports/r1", *extra], capsys)
        assert f"--output 's3://{BUCKET}/reports/r1'" in err and "local" in err and "copy" in err, err
    keys = sorted(info.path for info in s3.filesystem().get_file_info(_selector(BUCKET)))
    assert keys == [f"{BUCKET}/in", f"{BUCKET}/in/part.jsonl"]


def test_output_or_work_under_a_remote_input_prefix_is_refused(
    s3: MotoS3, tmp_path: Path, capsys, monkeypatch, no_spark: None
) -> None:
    """`-o s3://b/in/rep` with input `s3://b/in/` was not refused: refuse_inside_inputs looked only at
    local folders. Names are compared as normalised URIs (s3a:// is s3://, a trailing slash is none)."""
    from jobs.contract import UsageError
    from jobs.inputs import refuse_inside_inputs

    for key, value in s3.env.items():
        monkeypatch.setenv(key, value)
    err = _refused(
        ["audit", f"s3a://{BUCKET}/in", "-o", str(tmp_path / "r"), "--work", f"s3://{BUCKET}/in/w"], capsys
    )
    assert f"--work 's3://{BUCKET}/in/w' lies inside the input prefix 's3a://{BUCKET}/in'" in err, err
    with pytest.raises(UsageError, match="lies inside the input prefix"):
        refuse_inside_inputs(f"s3a://{BUCKET}/in/rep", [f"s3://{BUCKET}/in/"], "--output")
    refuse_inside_inputs(f"s3://{BUCKET}/inner/rep", [f"s3://{BUCKET}/in/"], "--output")  # a sibling: fine


def _selector(bucket: str):
    import pyarrow.fs as pafs

    return pafs.FileSelector(bucket, recursive=True)
