"""Input and output folders whose names hold the characters Hadoop reads as a glob ([ ] { } * ?): each stage
reads the files it was given and no others (Spark globbed them again: `dump[1]` read its sibling `dump1`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.cli import main

ADDED = datetime(2024, 1, 1, tzinfo=UTC)


def _documents(folder: Path, prefix: str, n: int) -> None:
    folder.mkdir(parents=True)
    texts = [
        f"Page {prefix} {i}: the committee met on a Tuesday to discuss item {i} at length." for i in range(n)
    ]
    table = {"id": [f"{prefix}{i}" for i in range(n)], "text": texts, "source": ["test"] * n}
    table["added"] = pa.array([ADDED] * n, pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table(table), folder / "part-0.parquet")


@pytest.mark.parametrize(
    ("name", "sibling"), [("dump[1]", "dump1"), ("x{c,d}", "xc"), ("a*b", "aXb"), ("q?q", "qzq")]
)
def test_a_folder_named_like_a_glob_is_read_as_itself(spark, tmp_path: Path, name: str, sibling: str) -> None:
    _documents(tmp_path / name / "docs", "mine", 30)
    _documents(tmp_path / sibling / "docs", "other", 1)
    out = tmp_path / name / "dated"
    main(["date", str(tmp_path / name / "docs"), "-o", str(out)])
    stats = json.loads((out / "_stats.json").read_text())
    assert stats["docs_in"] == stats["docs_out"] == 30
    assert sorted(pq.read_table(out, columns=["id"]).column("id").to_pylist()) == sorted(
        f"mine{i}" for i in range(30)
    )


def test_dedup_and_its_index_in_folders_named_like_globs(spark, tmp_path: Path) -> None:
    _documents(tmp_path / "d[1]" / "docs", "mine", 20)
    _documents(tmp_path / "d1" / "docs", "other", 3)
    index = tmp_path / "d[1]" / "index"
    for run in ("first", "second"):  # the second reads the index back
        out = tmp_path / "d[1]" / run
        main(
            ["dedup", str(tmp_path / "d[1]" / "docs"), "-o", str(out), "--index", str(index), "--keep", "all"]
        )
        assert json.loads((out / "_stats.json").read_text())["docs_in"] == 20
    assert json.loads((index / "_index.json").read_text())["documents"] == 20


def test_a_file_uri_with_escapes_names_the_folder_it_escapes(spark, tmp_path: Path) -> None:
    """`file:///.../my%20data` (a space as RFC 8089 writes it): the driver listed `my data`, and Spark, given
    the URI as written, failed with "Path does not exist" (Hadoop reads a path unescaped)."""
    from urllib.parse import quote

    _documents(tmp_path / "my data" / "docs", "mine", 12)
    for n, uri in enumerate(
        ("file://" + quote(str(tmp_path / "my data" / "docs")), f"file://{tmp_path}/my data/docs")
    ):
        out = tmp_path / f"dated{n}"
        main(["date", uri, "-o", str(out)])
        assert json.loads((out / "_stats.json").read_text())["docs_out"] == 12
