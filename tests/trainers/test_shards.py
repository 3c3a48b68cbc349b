"""trainers.shards: a mixture's shards listed and read as rows, without torch."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainers.shards import iter_rows, list_shards, newest_month

ROOT = Path(__file__).resolve().parents[2]


def _shard(path: Path, ids: list[str], created: list[datetime | None] | None = None) -> None:
    columns: dict[str, pa.Array] = {"id": pa.array(ids), "text": pa.array([f"text of {i}" for i in ids])}
    if created is not None:
        columns["created"] = pa.array(created, pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table(columns), path)


def test_shards_are_listed_and_read_in_file_name_order(tmp_path) -> None:
    _shard(tmp_path / "part-00001.parquet", ["c", "d", "e"])
    _shard(tmp_path / "part-00000.parquet", ["a", "b"])
    _shard(tmp_path / "other.parquet", ["x"])  # not a shard of the mixture
    shards = list_shards(tmp_path)
    assert [s.name for s in shards] == ["part-00000.parquet", "part-00001.parquet"]
    rows = list(iter_rows(shards, columns=("id", "text"), batch_rows=2))
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    assert rows[2] == {"id": "c", "text": "text of c"}
    assert list_shards(tmp_path / "other.parquet") == [tmp_path / "other.parquet"]


def test_newest_month_reads_created_and_skips_what_lacks_it(tmp_path) -> None:
    _shard(tmp_path / "part-00000.parquet", ["a", "b"], [datetime(2021, 3, 9, tzinfo=UTC), None])
    _shard(tmp_path / "part-00001.parquet", ["c"], [datetime(2020, 12, 31, 23, tzinfo=UTC)])
    _shard(tmp_path / "part-00002.parquet", ["d"])  # no `created` column
    assert newest_month(list_shards(tmp_path)) == "2021-03"
    assert newest_month([tmp_path / "part-00002.parquet"]) is None
    nulls = tmp_path / "nulls.parquet"
    _shard(nulls, ["e"], [None])
    assert newest_month([nulls]) is None


def test_reading_a_mixture_and_predicting_its_cutoff_need_no_torch() -> None:
    """The audit's and the experiment's cutoff prediction read mixtures; torch is a training dependency."""
    code = "import sys; sys.modules['torch'] = None; import trainers.shards, trainers.predict; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_bad_mixtures_say_what_train_reads(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"^mixture: no part"):
        list_shards(tmp_path)
    pq.write_table(pa.table({"id": ["a"], "body": ["x"]}), tmp_path / "part-00000.parquet")
    with pytest.raises(ValueError, match=r"^mixture: column 'text' missing"):
        list(iter_rows(list_shards(tmp_path)))


def test_a_mixture_given_as_another_file_says_what_train_reads(tmp_path) -> None:
    """`train docs.jsonl` said 'no such directory' of a file that is there."""
    (tmp_path / "docs.jsonl").write_text('{"text": "a"}\n')
    with pytest.raises(
        FileNotFoundError, match=r"docs.jsonl is a file; train reads a Parquet file or a mixture"
    ):
        list_shards(tmp_path / "docs.jsonl")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        list_shards(tmp_path / "nowhere")
