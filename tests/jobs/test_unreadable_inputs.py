"""A document Parquet file whose footer reads but whose data does not: left out, counted, and the stage done."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.cli import main
from jobs.unreadable_inputs import unreadable_input

ADDED = datetime(2024, 1, 1, tzinfo=UTC)


def _documents(path: Path, prefix: str, n: int) -> None:
    texts = [f"The committee met on a Tuesday to discuss item {i} of the agenda at length." for i in range(n)]
    pq.write_table(
        pa.table(
            {
                "id": [f"{prefix}{i}" for i in range(n)],
                "text": texts,
                "source": ["test"] * n,
                "added": pa.array([ADDED] * n, pa.timestamp("us", tz="UTC")),
            }
        ),
        path,
    )


def _damage_pages(path: Path) -> None:
    """Garble the data pages at the start of the file; the footer at its end still reads."""
    data = bytearray(path.read_bytes())
    for i in range(8, min(len(data) // 2, 2000), 7):
        data[i] = (data[i] + 77) % 256
    path.write_bytes(bytes(data))
    assert pq.read_metadata(path).num_rows > 0
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for a garbled page
        pq.read_table(path)


def test_spark_s_message_names_the_input_it_could_not_read() -> None:
    error = RuntimeError(
        "Py4JJavaError: ... org.apache.spark.SparkException: [FAILED_READ_FILE.NO_HINT] Encountered error while "
        "reading file file:///tmp/in%20put/b.parquet. SQLSTATE: KD001"
    )
    assert (
        unreadable_input(error, {"/tmp/in put/a.parquet", "/tmp/in put/b.parquet"}) == "/tmp/in put/b.parquet"
    )
    assert unreadable_input(error, {"/tmp/in put/a.parquet"}) is None  # not an input of this stage
    assert unreadable_input(RuntimeError("something else"), {"/tmp/in put/b.parquet"}) is None


def test_a_file_with_damaged_pages_is_left_out_counted_and_the_stage_finishes(spark, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _documents(docs / "a.parquet", "a", 40)
    _documents(docs / "b.parquet", "b", 60)
    _damage_pages(docs / "b.parquet")
    out = tmp_path / "langid"
    main(["langid", str(docs), "-o", str(out)])
    rows = pq.read_table(out, columns=["id"]).column("id").to_pylist()
    assert sorted(rows) == sorted(f"a{i}" for i in range(40))
    stats = json.loads((out / "_stats.json").read_text())
    assert stats["docs_in"] == 100 and stats["docs_out"] == 40
    assert stats["dropped"] == {"unreadable_file": 60}
    listed = stats["skipped"]["first"]
    assert [(s["input"], s["reason"]) for s in listed] == [(str(docs / "b.parquet"), "unreadable_file")]
    assert "60 rows left out" in listed[0]["detail"]


def test_a_side_table_that_does_not_read_is_not_counted_as_documents(spark, tmp_path: Path) -> None:
    """label's table is no document input: its damage fails the command rather than dropping documents."""
    docs = tmp_path / "docs"
    docs.mkdir()
    _documents(docs / "a.parquet", "a", 40)
    table = tmp_path / "table.parquet"
    _documents(table, "a", 60)
    _damage_pages(table)
    with pytest.raises(SystemExit) as done:
        main(
            [
                "label",
                str(docs),
                "--table",
                str(table),
                "--column",
                "source",
                "--name",
                "origin",
                "-o",
                str(tmp_path / "o"),
            ]
        )
    assert done.value.code != 0
    assert not (tmp_path / "o").exists()


def test_a_dangling_link_in_an_input_folder_is_counted_as_a_missing_file(spark, tmp_path: Path) -> None:
    """pyarrow's listing leaves a link to a missing file out: the file was lost without a word."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "good.jsonl").write_text('{"id": "a", "text": "hello one"}\n{"id": "b", "text": "hello two"}\n')
    (data / "shard-0001.jsonl").symlink_to(tmp_path / "never-arrived.jsonl")
    out = tmp_path / "out"
    main(["ingest", str(data), "-o", str(out)])
    stats = json.loads((out / "_stats.json").read_text())
    assert (stats["files_in"], stats["docs_in"], stats["docs_out"]) == (2, 2, 2)
    assert stats["skipped"]["by_reason"] == {"missing_file": 1}
    assert [s["input"] for s in stats["skipped"]["first"]] == [str(data / "shard-0001.jsonl")]


def test_files_whose_footer_does_not_read_are_left_out_and_counted_by_every_stage(
    spark, tmp_path: Path
) -> None:
    """A file cut short and a dangling link among a stage's inputs stopped the stage with exit 2, so one bad
    file of thousands stopped a job: each is now left out before Spark starts and counted."""
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = [" ".join(f"w{d}k{k}" for k in range(30)) for d in range(40)]  # no two alike: dedup keeps all
    table = pa.table(
        {
            "id": [f"a{d}" for d in range(40)],
            "text": texts,
            "source": ["test"] * 40,
            "added": pa.array([ADDED] * 40, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, docs / "a.parquet")
    whole = (docs / "a.parquet").read_bytes()
    (docs / "b.parquet").write_bytes(whole[: len(whole) // 2])  # a copy cut short: no footer
    (docs / "c.parquet").symlink_to(tmp_path / "never-arrived.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text("budget_tokens: 100000\n")
    left_out = [str(docs / "b.parquet"), str(docs / "c.parquet")]
    for command, extra in (("date", []), ("dedup", []), ("mix", ["--spec", str(spec)])):  # langid: above
        out = tmp_path / command
        main([command, str(docs), "-o", str(out), *extra])
        ids = pq.read_table(out, columns=["id"]).column("id").to_pylist()
        assert sorted(set(ids)) == sorted(f"a{i}" for i in range(40)), command
        stats = json.loads((out / "_stats.json").read_text())
        assert stats["files_in"] == 3 and stats["docs_in"] == 40, (command, stats)
        assert stats["skipped"]["by_reason"] == {"unreadable_file": 2}, (command, stats)
        spans = stats["skipped"]["first"]
        assert [s["input"] for s in spans] == left_out, command
        assert all("not readable Parquet" in s["detail"] and "all rows" in s["detail"] for s in spans)
        assert stats["bytes_in"] == len(whole) + len(whole) // 2, command  # the link: 0 bytes
    report = tmp_path / "audit"
    main(["audit", str(docs), "-o", str(report)])
    summary = json.loads((report / "summary.json").read_text())
    assert summary["inputs"] == [str(docs / "a.parquet")]
    assert summary["input_skipped"]["by_reason"] == {"unreadable_file": 2}
    assert [s["input"] for s in summary["input_skipped"]["first"]] == left_out
