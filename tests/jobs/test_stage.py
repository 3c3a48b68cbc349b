"""write_stage: the one-pass write for callers that know their row count."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions
from corpus.stats import StageStats
from jobs.contract import UsageError
from jobs.fs import locate
from jobs.ingest import IngestConfig, ingest_frame
from jobs.stage import expand_inputs, refuse_lost_parts, write_stage
from tests.dedup.helpers import version_documents


@pytest.fixture(scope="module")
def documents(spark, data_dir: Path):
    """The 572 real Wikipedia versions of ../shared/data/versions as a Spark frame."""
    table = version_documents(data_dir)
    return spark.createDataFrame(table).repartition(3)


def test_known_rows_write_the_same_files_as_counted_rows(documents, tmp_path: Path) -> None:
    counted = write_stage(documents, str(tmp_path / "counted"), StageStats(stage="t"), rows_per_shard=200)
    known = write_stage(
        documents, str(tmp_path / "known"), StageStats(stage="t"), rows_per_shard=200, rows=572
    )
    assert counted.docs_out == known.docs_out == 572
    names = sorted(p.name for p in (tmp_path / "counted").glob("part-*"))
    assert len(names) == 3  # ceil(572 / 200)
    assert names == sorted(p.name for p in (tmp_path / "known").glob("part-*"))
    for name in names:
        assert (tmp_path / "counted" / name).read_bytes() == (tmp_path / "known" / name).read_bytes()
    assert pq.read_table(tmp_path / "known").num_rows == 572


def test_a_wrong_row_count_fails_and_leaves_no_output(documents, tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="wrote 572 rows, expected 571"):
        write_stage(documents, str(tmp_path / "out"), StageStats(stage="t"), rows=571)
    assert not (tmp_path / "out").exists()


def test_known_rows_refuse_frames_with_rejects(documents, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    with_rejects = documents.withColumn("reject_reason", F.lit(None).cast("string"))
    with pytest.raises(ValueError, match="without rejects"):
        write_stage(with_rejects, str(tmp_path / "out"), StageStats(stage="t"), rows=572)
    with pytest.raises(ValueError, match="without rejects"):
        write_stage(documents, str(tmp_path / "out"), StageStats(stage="t"), fmt="dolma", rows=572)


def test_inputs_no_task_can_find_are_refused_not_an_empty_output(spark, tmp_path: Path) -> None:
    # On a cluster, a local path only the driver's machine has: the driver lists the files, every task finds
    # none, and the job wrote an empty output with exit 0. Here the files go between listing and reading.
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (inputs / name).write_text('{"id": "x", "text": "some words here"}\n')
    files = expand_inputs([str(inputs)])
    for file in files:
        os.remove(file.uri)
    output = tmp_path / "out"
    config = IngestConfig(read=ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC)))
    with pytest.raises(UsageError, match="none of the 2 input files listed exists where the tasks read them"):
        write_stage(
            ingest_frame(spark, files, config).drop("html"), str(output), StageStats("ingest", files_in=2)
        )
    assert not output.exists()


def test_documents_written_where_the_driver_does_not_see_them_are_refused(tmp_path: Path) -> None:
    # On a cluster, a local output path that is not shared: each task wrote on its own machine, the commit
    # found no part file, and the job said it wrote 18 documents with exit 0.
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "_SUCCESS").write_text("")
    with pytest.raises(UsageError, match="the tasks wrote 18 documents where the driver does not see them"):
        refuse_lost_parts(locate(str(folder)), 18, "out")
    refuse_lost_parts(locate(str(folder)), 0, "out")  # an empty output has no part to lose
    (folder / "part-00000.parquet").write_bytes(b"PAR1")
    refuse_lost_parts(locate(str(folder)), 18, "out")


@pytest.mark.parametrize("rows", [None, 572])
def test_a_write_whose_parts_the_driver_cannot_see_is_refused_on_both_paths(
    documents, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int | None
) -> None:
    # What a cluster's unshared local output path does (each task commits on its own machine), made here by
    # removing the part files after Spark wrote them: the known-rows path failed first in its read-back
    # with Spark's UNABLE_TO_INFER_SCHEMA, not this message.
    from pyspark.sql import DataFrameWriter

    write = DataFrameWriter.parquet

    def write_then_lose_parts(self, path: str, *args, **kwargs) -> None:
        write(self, path, *args, **kwargs)
        for part in Path(path).glob("part-*"):
            part.unlink()

    monkeypatch.setattr(DataFrameWriter, "parquet", write_then_lose_parts)
    with pytest.raises(UsageError, match="the tasks wrote 572 documents where the driver does not see them"):
        write_stage(documents, str(tmp_path / "out"), StageStats(stage="t"), rows=rows)
    assert not (tmp_path / "out").exists()
