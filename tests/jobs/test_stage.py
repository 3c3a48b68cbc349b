"""write_stage: the one-pass write for callers that know their row count."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.stats import StageStats
from jobs.stage import write_stage
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
