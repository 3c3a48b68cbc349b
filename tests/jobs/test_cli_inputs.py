"""The inputs and outputs a stage checks before Spark starts: an output that is, holds or lies inside an
input (or a table or index it reads) is refused; a corrupt Parquet file, a record column of another type and a
Dolma output are refused naming the file; INT96 timestamps and dictionary-encoded strings are read as the
record's columns."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.jobs.cli_helpers import _documents, _refused
from tests.jobs.cluster import ROOT


def test_an_output_that_holds_an_input_is_refused_overwrite_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`ingest work/raw -o work --overwrite` replaced `work`, and the input with it; every stage refuses an
    output that is, or holds, one of its inputs (a link to the folder as well), before Spark starts."""
    work = tmp_path / "work"
    raw = work / "raw"
    raw.mkdir(parents=True)
    (raw / "a.jsonl").write_text('{"id": "a", "text": "one"}\n')
    documents = _documents(work / "docs")
    references = work / "refs"
    references.mkdir()
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    # a usable reference (a dated text), so that the output check is what refuses the date command
    dated = pa.table({"text": ["version one"], "created": [datetime(2020, 1, 1, tzinfo=UTC)], "url": ["u"]})
    pq.write_table(dated, references / "r.parquet")
    (tmp_path / "link").symlink_to(work)
    spec = ROOT / "pipelines" / "mixtures" / "raw.yaml"
    elsewhere = str(tmp_path / "elsewhere")
    for argv in (
        ["ingest", str(raw), "-o", str(work), "--overwrite"],
        ["ingest", str(raw / "a.jsonl"), "-o", str(tmp_path / "link"), "--overwrite"],
        ["ingest", str(raw / "*.jsonl"), "-o", str(raw)],
        ["date", str(documents), "-o", str(work), "--overwrite"],
        ["date", str(tmp_path / "link" / "docs"), "-o", str(references), "--reference", str(references)],
        ["dedup", str(documents), "-o", str(documents.parent), "--overwrite"],
        ["langid", str(work / "docs"), "-o", str(work), "--overwrite"],
        ["mix", str(documents), "--spec", str(spec), "-o", str(work), "--overwrite"],
    ):
        err = _refused(argv, capsys)
        assert "--output" in err and "holds the input" in err and "choose another output" in err, (argv, err)
    # An output beside the inputs is fine as far as this check goes: here it exists, so --overwrite is asked for.
    (tmp_path / "elsewhere").mkdir()
    assert "pass --overwrite" in _refused(["ingest", str(raw), "-o", elsewhere], capsys)
    assert sorted(p.name for p in work.iterdir()) == ["docs", "raw", "refs"]
    assert (raw / "a.jsonl").read_text() and documents.exists()


def test_an_output_in_an_input_folder_or_on_a_table_or_index_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`label --table tbl -o tbl --overwrite` deleted the table and `dedup --index idx -o idx --overwrite`
    replaced the index by the documents, both with exit 0; `date docs -o docs/dated` was written, and the
    next read of `docs` took it for input (15,342 documents of 7,671)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    documents = _documents(tmp_path / "docs")
    folder = documents.parent
    table = tmp_path / "tbl"
    table.mkdir()
    pq.write_table(pa.table({"id": ["a"], "kind": ["x"]}), table / "t.parquet")
    index = tmp_path / "idx"  # a new index: dedup writes it
    for argv, said in (
        (
            [
                "label",
                str(folder),
                "--table",
                str(table),
                "--column",
                "kind",
                "-o",
                str(table),
                "--overwrite",
            ],
            "holds the input",
        ),
        (["dedup", str(folder), "--index", str(index), "-o", str(index), "--overwrite"], "holds the input"),
        (["date", str(folder), "-o", str(folder / "dated")], "lies inside the input folder"),
        (["dedup", str(folder), "-o", str(folder / "deduped")], "lies inside the input folder"),
        (["langid", str(folder), "-o", str(folder / "lang")], "lies inside the input folder"),
    ):
        err = _refused(argv, capsys)
        assert "--output" in err and said in err, (argv, err)
    assert (table / "t.parquet").exists() and not index.exists()
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]
    # a file given as the input leaves its folder free for outputs: what is refused there is the master
    err = _refused(["date", str(documents), "-o", str(folder / "x"), "--master", "nonsense"], capsys)
    assert "--master" in err and "--output" not in err, err


def test_an_input_of_corrupt_parquet_alone_is_refused_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """A corrupt file failed the job with ~19 KB of Java stack trace, as a message of thousands of
    characters: its footer is read first, and the file named. Where others read, it is left out and
    counted instead (tests/jobs/test_unreadable_inputs.py)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "part-1.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 4)
    for command in ("date", "dedup", "langid", "audit"):  # audit's exited 1 once Spark had started
        err = _refused([command, str(folder), "-o", str(tmp_path / command)], capsys)
        assert f"input '{folder / 'part-1.parquet'}': not readable Parquet" in err and len(err) < 400, err


@pytest.mark.parametrize(
    ("column", "values", "stored"),
    [
        ("created", pa.array(["2020-05-01", "yesterday"]), "string"),  # one bad string failed the whole job
        ("crawl_date", pa.array([1_590_000_000, 1_700_000_000], pa.int64()), "int64"),  # read as 1970
        ("added", pa.array([0, 1], pa.timestamp("ns", tz="UTC")), "timestamp[ns, tz=UTC]"),  # pandas' default
        ("created", pa.array([0, 1], pa.timestamp("us")), "timestamp[us]"),  # zone-less: another Spark type
    ],
)
def test_a_record_column_of_another_type_is_refused_naming_it_and_ingest(
    column: str,
    values: pa.Array,
    stored: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    no_spark: None,
) -> None:
    folder = tmp_path / "docs"
    _documents(folder)
    table = pa.table({"id": ["a", "b"], "text": ["one page", "another page"], column: values})
    pq.write_table(table, folder / "part-1.parquet")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: x\nbudget_tokens: 10\n")
    side = tmp_path / "side.parquet"
    pq.write_table(pa.table({"id": ["a"], "kind": ["news"]}), side)
    commands = [
        ["date"],
        ["dedup"],
        ["langid"],
        ["mix", "--spec", str(spec)],
        ["label", "--table", str(side), "--column", "kind"],
    ]
    for command in commands:
        err = _refused([command[0], str(folder), "-o", str(tmp_path / "out"), *command[1:]], capsys)
        assert f"input '{folder / 'part-1.parquet'}': column '{column}' is {stored}," in err, err
        assert "chronomix ingest" in err
    assert not (tmp_path / "out").exists()


def test_int96_timestamps_and_dictionary_strings_are_of_the_records_kind(tmp_path: Path) -> None:
    """Spark's own writer (and Hive) store timestamps as INT96, which pyarrow reads as zone-less nanoseconds
    and Spark as zoned ones; pandas' categories are dictionary-encoded strings. Both read as the record's
    columns in Spark, and were refused by the type check at first."""
    from jobs.audit_spark import is_record_parquet
    from jobs.stage import document_files, input_files

    folder = tmp_path / "docs"
    folder.mkdir()
    table = pa.table(
        {
            "id": ["a"],
            "text": ["one page"],
            "source": pa.array(["s"]).dictionary_encode(),
            "added": pa.array([0], pa.timestamp("us", "UTC")),
        }
    )
    pq.write_table(table, folder / "part-0.parquet", use_deprecated_int96_timestamps=True, store_schema=False)
    assert pq.read_metadata(folder / "part-0.parquet").schema.column(3).physical_type == "INT96"
    assert [f.uri for f in document_files([str(folder)], "{uri}")] == [str(folder / "part-0.parquet")]
    assert is_record_parquet(input_files([str(folder)]))


def test_the_audit_reads_a_record_column_of_another_type_through_the_reader(tmp_path: Path) -> None:
    from jobs.audit_spark import is_record_parquet
    from jobs.stage import input_files

    folder = tmp_path / "docs"
    _documents(folder)
    base = {
        "id": ["a"],
        "text": ["one page"],
        "source": ["s"],
        "added": pa.array([0], pa.timestamp("us", "UTC")),
    }
    pq.write_table(pa.table(base), folder / "part-0.parquet")
    assert is_record_parquet(input_files([str(folder)]))
    # the second file's nanoseconds made Spark fail the audit; only the first file's footer was read
    pq.write_table(
        pa.table({**base, "created": pa.array([0], pa.timestamp("ns", "UTC"))}), folder / "part-1.parquet"
    )
    assert not is_record_parquet(input_files([str(folder)]))


def test_a_dolma_output_given_to_a_stage_says_why_it_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """The message sent the user back to `chronomix ingest`, the step that had just written it."""
    folder = tmp_path / "dolma"
    folder.mkdir()
    (folder / "part-00000.jsonl.gz").write_bytes(b"")
    for command in ("date", "dedup", "langid"):
        err = _refused([command, str(folder), "-o", str(tmp_path / command)], capsys)
        assert "--format dolma writes for other tools" in err, err


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_a_timeout_that_is_not_a_finite_number_of_seconds_is_refused(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`--timeout inf` was taken: every HTTP file then failed with "OverflowError: timestamp out of range for
    platform time_t", and the job exited 0."""
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"id": "a", "text": "a page"}\n')
    err = _refused(["ingest", str(raw), "-o", str(tmp_path / "out"), "--timeout", value], capsys)
    if value == "inf":  # above the option's lower bound: refused in the check, naming the option
        assert err.endswith("--timeout inf: expected a finite number of seconds above 0"), err
    else:  # nan and -inf fail the option's own bound (nan compares false), which names it
        assert err.endswith("'--timeout': Input should be greater than or equal to 0.001"), err


@pytest.mark.parametrize(
    "command", [["langid"], ["date"], ["dedup"], ["label", "--table", "T", "--column", "k"]]
)
def test_an_output_below_a_file_is_refused_before_spark_as_typed(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """The write found it ~10 s in, after Spark started, as "cannot be written there (File exists)"."""
    docs = _documents(tmp_path / "docs")
    (tmp_path / "afile.txt").write_text("x")
    output = str(tmp_path / "afile.txt" / "sub")
    pq.write_table(pa.table({"id": ["d0"], "k": ["a"]}), tmp_path / "t.parquet")
    rest = [str(tmp_path / "t.parquet") if arg == "T" else arg for arg in command[1:]]
    err = _refused([command[0], str(docs.parent), "-o", output, *rest], capsys)
    assert f"--output {output!r}: {str(tmp_path / 'afile.txt')!r} is a file, so no folder can be made" in err
