"""The label stage: a side table's column joined onto documents by id, values mapped, none dropped."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.schema import conform
from jobs.cli import main
from jobs.contract import UsageError
from jobs.label import LabelParams, check, run


def _documents(folder: Path) -> Path:
    added = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"id": f"d{i}", "text": f"page {i}", "source": "t", "added": added} for i in range(6)]
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(rows)
    pq.write_table(pa.Table.from_batches([conform(b) for b in table.to_batches()]), folder / "part-0.parquet")
    return folder


def test_labels_are_joined_mapped_and_missing_ones_counted(spark, tmp_path: Path) -> None:
    documents = _documents(tmp_path / "docs")
    truth = tmp_path / "truth.parquet"
    kinds = ["fresh", "stale", "mention", "filler", "recrawl"]  # d5 has no row
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(5)], "kind": kinds}), truth)
    params = LabelParams(
        input=[str(documents)],
        output=str(tmp_path / "out"),
        table=str(truth),
        column="kind",
        name="page_type",
        values={"fresh": "resource", "recrawl": "resource", "stale": "resource", "mention": "news"},
    )
    result = run(check(params), lambda: spark)
    out = {r["id"]: r["page_type"] for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert out == {
        "d0": "resource",
        "d1": "resource",
        "d2": "news",
        "d3": "filler",
        "d4": "resource",
        "d5": None,
    }
    assert result.stats.docs_in == result.stats.docs_out == 6 and result.stats.counters["unlabelled"] == 1


def test_bad_label_arguments_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    documents = _documents(tmp_path / "docs")
    with pytest.raises(UsageError, match="--column: required"):
        check(LabelParams(input=[str(documents)], output=str(tmp_path / "o"), table=str(documents)))
    with pytest.raises(SystemExit) as exit_info:
        main(["label", str(documents), "--output", str(tmp_path / "o2"), "--table", "x", "--column", "k",
              "--value", "nonsense"])  # fmt: skip
    assert exit_info.value.code == 2
    assert "--value 'nonsense': expected OLD=NEW" in capsys.readouterr().err


def test_a_wrong_table_or_column_is_refused_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture, no_spark: None
) -> None:
    """--column and --table are checked against the table's footer before Spark starts (they were checked
    only once the session ran): exit 2, one line naming the option, and no output folder."""
    documents = _documents(tmp_path / "docs")
    truth = tmp_path / "truth.parquet"
    pq.write_table(pa.table({"id": ["d0"], "kind": ["fresh"]}), truth)
    no_id = tmp_path / "no_id.parquet"
    pq.write_table(pa.table({"key": ["d0"], "kind": ["fresh"]}), no_id)
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 not really parquet PAR1")
    out = tmp_path / "out"
    cases = [
        (["--table", str(truth), "--column", "knd"], "--column 'knd': the table", "(it has id, kind)"),
        (["--table", str(no_id), "--column", "kind"], "--table", "no 'id' column"),
        (["--table", str(corrupt), "--column", "kind"], "--table", "not readable Parquet"),
        (["--table", str(tmp_path / "nowhere.parquet"), "--column", "kind"], "--table", "no such file"),
        # a label named as a record column replaced it: `lang` went null, `created` became a string
        (["--table", str(truth), "--column", "kind", "--name", "lang"], "--name 'lang'", "document record"),
        (
            ["--table", str(truth), "--column", "kind", "--name", "created"],
            "--name 'created'",
            "document record",
        ),
        (["--table", str(truth), "--column", "id"], "--name 'id'", "document record"),
    ]
    for options, option, needle in cases:
        with pytest.raises(SystemExit) as done:
            main(["label", str(documents), "-o", str(out), *options])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2, err
        assert err.startswith(f"chronomix: error: {option}") and needle in err and "\n" not in err, err
    assert not out.exists()


def test_an_id_given_two_values_is_left_unlabelled_and_counted(spark, tmp_path: Path) -> None:
    """Which of two values an id got was up to Spark's dropDuplicates, and rows without an id vanished;
    values equal after mapping do not conflict."""
    documents = _documents(tmp_path / "docs")
    table = tmp_path / "table"
    table.mkdir()
    pq.write_table(
        pa.table({"id": ["d0", "d1", "d2", "d3"], "kind": ["news", "fresh", "shop", None]}),
        table / "a.parquet",
    )
    pq.write_table(
        pa.table({"id": ["d0", "d1", None, "d3"], "kind": ["spam", "stale", "orphan", "x"]}),
        table / "b.parquet",
    )
    params = LabelParams(
        input=[str(documents)],
        output=str(tmp_path / "out"),
        table=str(table),
        column="kind",
        values={"fresh": "resource", "stale": "resource"},
    )
    result = run(check(params), lambda: spark)
    out = {r["id"]: r["kind"] for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert out == {"d0": None, "d1": "resource", "d2": "shop", "d3": "x", "d4": None, "d5": None}
    counters = result.stats.counters
    assert (counters["conflicting_labels"], counters["table_rows_without_id"], counters["unlabelled"]) == (
        1,
        1,
        3,
    )
    assert result.stats.docs_in == result.stats.docs_out == 6


def test_a_table_with_integer_ids_labels_the_documents_whose_ids_spell_them(spark, tmp_path: Path) -> None:
    """A side table with integer ids (as pandas writes them) failed the job with a Java stack trace: Spark
    cast the documents' string ids to bigint for the join."""
    folder = tmp_path / "docs"
    folder.mkdir()
    added = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [{"id": i, "text": f"page {i}", "source": "t", "added": added} for i in ("1", "2", "d3")]
    pq.write_table(
        pa.Table.from_batches([conform(b) for b in pa.Table.from_pylist(rows).to_batches()]),
        folder / "p.parquet",
    )
    table = tmp_path / "kinds.parquet"
    pq.write_table(pa.table({"id": [1, 2, 3], "kind": ["a", "b", "c"]}), table)
    params = LabelParams(input=[str(folder)], output=str(tmp_path / "out"), table=str(table), column="kind")
    result = run(check(params), lambda: spark)
    out = {r["id"]: r["kind"] for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert out == {"1": "a", "2": "b", "d3": None} and result.stats.counters["unlabelled"] == 1
    # pandas writes integer ids with one missing as floats (7.0, NaN): they labelled nothing, silently
    pq.write_table(pa.table({"id": [1.0, float("nan"), 2.5, 2.0], "kind": ["a", "x", "y", "b"]}), table)
    params = dataclasses.replace(params, output=str(tmp_path / "floats"))
    result = run(check(params), lambda: spark)
    out = {r["id"]: r["kind"] for r in pq.read_table(tmp_path / "floats").to_pylist()}
    assert out == {"1": "a", "2": "b", "d3": None}
    assert result.stats.counters["table_rows_without_id"] == 1


def test_a_numeric_label_keeps_its_type_and_a_mapped_one_is_text(spark, tmp_path: Path) -> None:
    """A float quality score came out as text, so a sort took 9.0 for the best document before 10.5."""
    documents = _documents(tmp_path / "docs")
    ids = pq.read_table(documents, columns=["id"]).column("id").to_pylist()
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ids[:3], "quality": [2.0, 10.5, 9.0]}), table)
    params = LabelParams(
        input=[str(documents)], output=str(tmp_path / "o"), table=str(table), column="quality"
    )
    run(check(params), lambda: spark)
    out = pq.read_table(tmp_path / "o", columns=["id", "quality"])
    assert out.schema.field("quality").type == pa.float64()
    best = max((r for r in out.to_pylist() if r["quality"] is not None), key=lambda r: r["quality"])
    assert best == {"id": ids[1], "quality": 10.5}
    mapped = dataclasses.replace(params, output=str(tmp_path / "m"), values={"10.5": "top"})
    run(check(mapped), lambda: spark)
    values = {r["id"]: r["quality"] for r in pq.read_table(tmp_path / "m").to_pylist()}
    assert [values[i] for i in ids[:3]] == ["2.0", "top", "9.0"]
    tags = pa.array([[("k", "v")], [("k", "w")], None], pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table({"id": ids[:3], "tags": tags}), table)  # a map has no order: it is text
    nested = dataclasses.replace(params, output=str(tmp_path / "n"), column="tags")
    run(check(nested), lambda: spark)
    values = {r["id"]: r["tags"] for r in pq.read_table(tmp_path / "n").to_pylist()}
    assert [values[i] for i in ids[:3]] == ["{k -> v}", "{k -> w}", None]


@pytest.mark.parametrize("name", ["Text", "LANG", "ID", "time_bucket", "mix_order", "date_notes", "_label_x"])
def test_a_label_may_not_take_a_record_or_stage_column_in_any_case(tmp_path: Path, name: str) -> None:
    """Spark matches names without regard to case: `--name Text` once dropped every document's text."""
    documents = _documents(tmp_path / "docs")
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["d0"], "kind": ["a"]}), table)
    params = LabelParams(input=[str(documents)], output=str(tmp_path / "o"), table=str(table), column="kind")
    with pytest.raises(
        UsageError, match=f"--name {name!r}: a column of the document record or one a stage adds"
    ):
        check(dataclasses.replace(params, name=name))


def test_a_column_whose_name_holds_a_dot_is_attached_as_named(spark, tmp_path: Path) -> None:
    documents = _documents(tmp_path / "docs")
    table = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["d0", "d1"], "page.type": ["news", "blog"]}), table)
    params = LabelParams(
        input=[str(documents)], output=str(tmp_path / "o"), table=str(table), column="page.type"
    )
    result = run(check(params), lambda: spark)
    out = {r["id"]: r["page.type"] for r in pq.read_table(tmp_path / "o").to_pylist()}
    assert out == {"d0": "news", "d1": "blog", "d2": None, "d3": None, "d4": None, "d5": None}
    assert result.stats.counters["unlabelled"] == 4
    assert [r["text"] for r in pq.read_table(tmp_path / "o").to_pylist()] == [f"page {i}" for i in range(6)]
