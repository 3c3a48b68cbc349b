"""jobs.stage_arrow: Spark's hash partitioning, and pyarrow writing the files jobs.stage.write_stage writes,
with Spark's own hash() and write_stage as the references."""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.stats import StageStats
from jobs.contract import UsageError
from jobs.stage import write_stage
from jobs.stage_arrow import (
    SPILL_PREFIX,
    arrow_schema,
    new_spill_folder,
    spark_hash,
    spark_partition,
    write_stage_arrow,
)

# Tails of 0-3 bytes (Spark hashes each tail byte alone, sign-extended), 2-, 3- and 4-byte UTF-8.
ALPHABET = "ab0-_ \u00e9\u00ff\u0416\u4e2d\uffff\U0001f600"


def random_ids(n: int, seed: int = 0) -> list[str | None]:
    rng = random.Random(seed)
    ids: list[str | None] = ["", None, "a", "ab", "abc", "abcd", "abcde", "\u00e9", "\U0001f600"]
    ids += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 13))) for _ in range(n)]
    return ids


def test_the_hash_and_partition_are_sparks(spark) -> None:
    from pyspark.sql import functions as F

    ids = pa.array(random_ids(3000), pa.string())
    spark_side = (
        spark.createDataFrame(pa.table({"id": ids}))
        .select(F.hash("id").alias("h"), F.expr("pmod(hash(id), 7)").alias("p"), F.expr("pmod(hash(id), 1)"))
        .toArrow()
    )
    assert np.array_equal(spark_hash(ids), spark_side.column("h").to_numpy())
    assert np.array_equal(spark_partition(ids, 7), spark_side.column("p").to_numpy())
    assert not spark_partition(ids, 1).any()
    # A slice, a chunked array and large_string read the same bytes.
    assert np.array_equal(spark_hash(ids.slice(5, 100)), spark_hash(ids)[5:105])
    chunked = pa.chunked_array([ids.slice(0, 10), ids.slice(10)])
    assert np.array_equal(spark_hash(chunked), spark_hash(ids))
    assert np.array_equal(spark_hash(ids.cast(pa.large_string())), spark_hash(ids))
    assert spark_hash(pa.array([], pa.string())).shape == (0,)


def documents(n: int) -> pa.Table:
    """`n` rows with ties on id (broken by url, then crawl_date, then text), null ids and null tie columns."""
    rng = random.Random(1)
    ids = random_ids(n // 2, seed=2)
    ids = [rng.choice(ids) for _ in range(n)]  # repeated ids: the tie columns decide
    start = datetime(2020, 1, 1, tzinfo=UTC)
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            # Unique texts: rows equal in every sort column would come in no defined order.
            "text": [f"{rng.choice('ba')} \u00e9 {i}" for i in range(n)],
            "source": ["s"] * n,
            "url": [
                None if i % 5 == 0 else f"https://h{i % 3}.example/{rng.randint(0, 2)}" for i in range(n)
            ],
            "crawl_date": pa.array(
                [None if i % 7 == 0 else start + timedelta(days=rng.randint(0, 2)) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "n_tokens": pa.array([i for i in range(n)], pa.int64()),
        }
    )


def units_of(table: pa.Table, pieces: int, batches: int = 3) -> list:
    """`table` cut into `pieces` units, each yielding its rows in `batches` tables."""

    def unit(lo: int, hi: int):
        cuts = np.linspace(lo, hi, batches + 1).astype(int)
        return (table.slice(a, b - a) for a, b in itertools.pairwise(cuts))

    cuts = np.linspace(0, table.num_rows, pieces + 1).astype(int)
    return [lambda lo=lo, hi=hi: unit(lo, hi) for lo, hi in itertools.pairwise(cuts)]


def test_the_files_are_write_stages(spark, tmp_path: Path) -> None:
    table = documents(900)
    frame = spark.createDataFrame(table).repartition(3)
    reference = write_stage(frame, str(tmp_path / "spark"), StageStats(stage="t"), rows_per_shard=200)
    unit_table = table.cast(arrow_schema(frame.schema))
    stats = write_stage_arrow(
        units_of(unit_table, 4),
        frame.schema,
        str(tmp_path / "arrow"),
        StageStats(stage="t", docs_in=900),
        rows=900,
        spark_version=spark.version,
        rows_per_shard=200,
    )
    assert stats.docs_out == reference.docs_out == 900 and stats.balanced
    names = sorted(p.name for p in (tmp_path / "spark").glob("part-*"))
    assert len(names) == 5  # ceil(900 / 200)
    assert names == sorted(p.name for p in (tmp_path / "arrow").glob("part-*"))
    for name in names:
        ours, theirs = pq.read_table(tmp_path / "arrow" / name), pq.read_table(tmp_path / "spark" / name)
        assert ours.equals(theirs, check_metadata=True)  # rows, order, schema and Spark's footer metadata
        for folder in ("arrow", "spark"):  # both writers give readers a page index to skip pages by id
            first_id = pq.ParquetFile(tmp_path / folder / name).metadata.row_group(0).column(0)
            assert first_id.path_in_schema == "id" and first_id.has_column_index, folder
    assert stats.bytes_out == sum(p.stat().st_size for p in (tmp_path / "arrow").glob("part-*"))
    read_back = spark.read.parquet(str(tmp_path / "arrow"))
    assert read_back.schema == spark.read.parquet(str(tmp_path / "spark")).schema
    assert read_back.count() == 900


def test_an_empty_output_is_one_file_with_the_schema(spark, tmp_path: Path) -> None:
    frame = spark.createDataFrame(documents(10)).limit(0)
    write_stage(frame, str(tmp_path / "spark"), StageStats(stage="t"))
    stats = write_stage_arrow(
        [], frame.schema, str(tmp_path / "arrow"), StageStats(stage="t"), rows=0, spark_version=spark.version
    )
    assert stats.docs_out == 0
    names = sorted(p.name for p in (tmp_path / "arrow").glob("part-*"))
    assert names == sorted(p.name for p in (tmp_path / "spark").glob("part-*")) == ["part-00000.parquet"]
    ours = pq.read_table(tmp_path / "arrow" / names[0])
    assert ours.num_rows == 0 and ours.schema.equals(pq.read_schema(tmp_path / "spark" / names[0]))


def test_bad_units_fail_and_leave_no_output(spark, tmp_path: Path) -> None:
    table = documents(50)
    frame = spark.createDataFrame(table)
    good = table.cast(arrow_schema(frame.schema))
    out = tmp_path / "out"
    with pytest.raises(AssertionError, match="hold 50 rows, expected 49"):
        write_stage_arrow(
            units_of(good, 2), frame.schema, str(out), StageStats(stage="t"), rows=49, spark_version="4"
        )
    assert not out.exists()
    wrong = good.drop_columns(["n_tokens"])
    with pytest.raises(ValueError, match="unit 0: schema"):
        write_stage_arrow(
            [lambda: [wrong]], frame.schema, str(out), StageStats(stage="t"), rows=50, spark_version="4"
        )
    assert not out.exists() and not list(tmp_path.glob(".out.tmp-*"))
    out.mkdir()
    with pytest.raises(UsageError, match="exists"):
        write_stage_arrow(
            units_of(good, 1), frame.schema, str(out), StageStats(stage="t"), rows=50, spark_version="4"
        )


def test_a_killed_writers_spill_is_removed_by_the_next_write(spark, tmp_path: Path) -> None:
    # A SIGKILL runs no cleanup: the next write on this host removes the spill of a process that is gone,
    # and leaves a live process's, another host's and any other folder alone.
    from jobs.fs import HOST_TAG as host  # the working folders' tag: no "-", two hosts never share one

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    killed = tmp_path / f"{SPILL_PREFIX}{host}-{gone.pid}-abc123"
    live = tmp_path / f"{SPILL_PREFIX}{host}-{os.getpid()}-def456"
    other = tmp_path / f"{SPILL_PREFIX}elsewhere-{gone.pid}-ghi789"
    unrelated = tmp_path / f"{SPILL_PREFIX}{host}-notapid-x"
    for folder in (killed, live, other, unrelated):
        (folder / "00000").mkdir(parents=True)
        (folder / "00000" / "000000.arrow").write_bytes(b"rows")
    made = new_spill_folder(str(tmp_path))
    assert not killed.exists() and live.exists() and other.exists() and unrelated.exists()
    assert made.is_dir() and made.name.startswith(f"{SPILL_PREFIX}{host}-{os.getpid()}-")
    made.rmdir()
    # a write spills there and removes its own folder when it ends
    table = documents(20)
    schema = spark.createDataFrame(table).schema
    write_stage_arrow(
        units_of(table.cast(arrow_schema(schema)), 2),
        schema,
        str(tmp_path / "out"),
        StageStats(stage="t"),
        rows=20,
        spark_version="4",
        spill_dir=str(tmp_path),
    )
    assert sorted(p.name for p in tmp_path.glob(f"{SPILL_PREFIX}*")) == sorted(
        p.name for p in (live, other, unrelated)
    )
