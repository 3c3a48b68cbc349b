"""write_stage (the one-pass write for callers that know their row count) and AtomicStageOutput, the output
folder that every job moves into place whole or not at all."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions
from corpus.stats import StageStats
from jobs.contract import UsageError
from jobs.fs import AtomicStageOutput, locate
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


def test_files_split_by_max_records_per_file_are_all_kept_in_order(spark, documents, tmp_path: Path) -> None:
    """With spark.sql.files.maxRecordsPerFile=50 a stage kept 19 of its 219 documents with exit 0: every
    file of a shard was renamed to the shard's one name, each overwriting the one before. All are kept,
    numbered in the order Spark wrote them, for both formats."""
    from pyspark.sql import functions as F

    with_rejects = documents.withColumn("reject_reason", F.lit(None).cast("string"))
    spark.conf.set("spark.sql.files.maxRecordsPerFile", "50")
    try:
        stats = write_stage(with_rejects, str(tmp_path / "split"), StageStats(stage="t"), rows_per_shard=200)
        dolma = write_stage(with_rejects, str(tmp_path / "dolma"), StageStats(stage="t"), fmt="dolma")
    finally:
        spark.conf.unset("spark.sql.files.maxRecordsPerFile")
    whole = write_stage(documents, str(tmp_path / "whole"), StageStats(stage="t"), rows_per_shard=200)
    names = sorted(p.name for p in (tmp_path / "split").glob("part-*"))
    assert names[:2] == ["part-00000-c000.parquet", "part-00000-c001.parquet"], names
    rows = [pq.read_metadata(tmp_path / "split" / name).num_rows for name in names]
    assert max(rows) == 50 and sum(rows) == 572 and len(names) >= 12  # 3 shards of about 190 rows
    assert stats.docs_out == whole.docs_out == 572
    split, kept = pq.read_table(tmp_path / "split"), pq.read_table(tmp_path / "whole")
    assert split.equals(kept)  # the same rows in the same order: ids sorted within each shard
    lines = [
        len(gzip.decompress(path.read_bytes()).splitlines()) for path in (tmp_path / "dolma").glob("part-*")
    ]
    assert dolma.docs_out == 572 and sum(lines) == 572 and max(lines) == 50


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


@pytest.mark.parametrize("driver_sees_it", [True, False])
def test_inputs_only_the_driver_sees_are_refused_and_files_deleted_meanwhile_counted(
    spark, tmp_path: Path, driver_sees_it: bool
) -> None:
    """On a cluster whose workers have only some of the driver's local files, the tasks read those, counted
    the rest as missing and the job wrote part of the input with exit 0. Here the tasks read while one file
    is gone (the rows are cached), and the driver then sees it again, or not (a file deleted during the run,
    still a counted skip)."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a.jsonl", "b.jsonl", "c.jsonl"):
        (inputs / name).write_text(f'{{"id": "{name}", "text": "some words here"}}\n')
    files = expand_inputs([str(inputs)])
    gone = inputs / "c.jsonl"
    kept = gone.read_text()
    gone.unlink()
    config = IngestConfig(read=ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC)))
    read = ingest_frame(spark, files, config).drop("html").cache()
    assert read.filter("reject_reason IS NULL").count() == 2  # the tasks read now, without c.jsonl
    if driver_sees_it:
        gone.write_text(kept)
    output = tmp_path / "out"
    stats = StageStats("ingest", files_in=3)
    try:
        if driver_sees_it:
            with pytest.raises(
                UsageError,
                match=r"1 input files listed were missing where the tasks read them, "
                r"and the driver sees them \(such as '.*c\.jsonl'\)",
            ):
                write_stage(read, str(output), stats)
            assert not output.exists()
        else:
            write_stage(read, str(output), stats)
            assert stats.docs_out == 2 and stats.skipped == {"missing_file": 1}
    finally:
        read.unpersist()


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


def _write(folder: Path, **files: str) -> None:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def test_atomic_output_appears_only_when_the_write_succeeds(tmp_path: Path) -> None:
    final = tmp_path / "nested" / "out"
    with AtomicStageOutput(str(final), overwrite=False) as tmp:
        # A hidden sibling, so the move stays on one file system and a reader of the parent skips it.
        assert Path(tmp.path).parent == final.parent and tmp.name.startswith(".out.tmp-")
        _write(Path(tmp.path), **{"part-00000.parquet": "a", "_stats.json": "{}"})
        assert not final.exists()
    assert _contents(final) == {"_stats.json": "{}", "part-00000.parquet": "a"}
    assert [p.name for p in final.parent.iterdir()] == ["out"]


def test_an_output_that_cannot_be_written_is_named_as_given(tmp_path: Path) -> None:
    """`world -o /sys/w` failed with exit 1 and a PermissionError naming the hidden `/sys/.w.tmp-...`."""
    (tmp_path / "afile").write_text("x")
    output = AtomicStageOutput(str(tmp_path / "afile" / "out"), overwrite=False)
    with pytest.raises(UsageError, match=r"output '.*afile/out': cannot be written there \(") as refused:
        output.__enter__()
    assert ".tmp-" not in str(refused.value)


def test_a_killed_runs_working_folders_are_removed_by_the_next_run(tmp_path: Path, capsys) -> None:
    """A run killed outright (SIGKILL, the OOM killer) left its hidden working folder, a full copy of the
    output, for good. The next run on the host removes those whose process is gone, and only those."""
    import subprocess

    from jobs.fs import HOST_TAG, _host_tag, working_sibling

    dead = subprocess.Popen(["true"])
    dead.wait()
    final = tmp_path / "out"
    killed = [f".out.{kind}-{HOST_TAG}-{dead.pid}-0123456789ab" for kind in ("tmp", "work")]
    # the output a run was replacing, where it was killed between its two renames: with no output there,
    # the only copy of it (left); beside an output, what that run replaced (removed)
    replaced = f".out.old-{HOST_TAG}-{dead.pid}-0123456789ab"
    kept = [
        f".out.tmp-{HOST_TAG}-{os.getppid()}-0123456789ab",  # a live process: a run still writing
        f".out.tmp-otherhost-{dead.pid}-0123456789ab",  # another host's: its processes are not seen here
        f".other.tmp-{HOST_TAG}-{dead.pid}-0123456789ab",  # another output's
        ".out.tmp-0123456789ab",  # named before names said whose they were
        f".out.kept-{HOST_TAG}-{dead.pid}-0123456789ab",  # an audit's work folder kept on request (--keep-work)
    ]
    for name in [*killed, *kept, replaced]:
        _write(tmp_path / name, **{"part-00000.parquet": "x"})
    assert working_sibling(locate(str(final)), "tmp").name.startswith(f".out.tmp-{HOST_TAG}-{os.getpid()}-")
    # hosts whose names differ only in where their separators fall keep different tags
    assert _host_tag("ip-172-31-1-110.ec2.internal") != _host_tag("ip-172-31-11-10.ec2.internal")
    assert "-" not in _host_tag("a-b.c") and len(_host_tag("x" * 300)) == 40
    with AtomicStageOutput(str(final), overwrite=False) as tmp:
        _write(Path(tmp.path), **{"_stats.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, replaced, "out"])
    err = capsys.readouterr().err
    assert all(f"removed {name}, left beside the output by a run that was killed" in err for name in killed)
    assert replaced not in err
    with AtomicStageOutput(str(final), overwrite=True) as tmp:
        _write(Path(tmp.path), **{"_stats.json": "{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "out"])
    assert f"removed {replaced}" in capsys.readouterr().err


def test_a_failed_write_leaves_the_old_output_and_no_temporary_folder(tmp_path: Path) -> None:
    final = tmp_path / "out"
    _write(final, old="1")
    with pytest.raises(RuntimeError, match="job failed"), AtomicStageOutput(str(final), True) as tmp:
        _write(Path(tmp.path), half="x")
        raise RuntimeError("job failed")
    assert _contents(final) == {"old": "1"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with pytest.raises(RuntimeError), AtomicStageOutput(str(tmp_path / "new"), False) as tmp:
        _write(Path(tmp.path), half="x")
        raise RuntimeError("job failed")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_existing_output_is_refused_without_overwrite_and_replaced_with_it(tmp_path: Path) -> None:
    final = tmp_path / "out"
    _write(final, old="1", other="2")
    with pytest.raises(UsageError, match=r"^output '.*/out' exists; pass --overwrite to replace it$"):
        AtomicStageOutput(str(final), overwrite=False)
    assert _contents(final) == {"old": "1", "other": "2"}
    with AtomicStageOutput(str(final), overwrite=True) as tmp:
        _write(Path(tmp.path), new="3")
        assert _contents(final) == {"old": "1", "other": "2"}  # readers see the old output until the end
    assert _contents(final) == {"new": "3"}  # replaced whole: no old file is left beside the new ones
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # neither the temporary nor the old folder


def test_an_output_that_appears_during_the_write_is_kept_unless_overwrite(tmp_path: Path) -> None:
    # Another run wrote the output after this one's check: without --overwrite its folder is not replaced.
    final = tmp_path / "out"
    appeared = "appeared while this job wrote it; pass --overwrite"
    with pytest.raises(UsageError, match=appeared), AtomicStageOutput(str(final), overwrite=False) as tmp:
        _write(Path(tmp.path), mine="a")
        _write(final, theirs="b")
    assert _contents(final) == {"theirs": "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    with AtomicStageOutput(str(tmp_path / "out2"), overwrite=True) as tmp:
        _write(Path(tmp.path), mine="a")
        _write(tmp_path / "out2", theirs="b")
    assert _contents(tmp_path / "out2") == {"mine": "a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out2"]


def test_an_output_that_is_a_link_is_written_where_it_points_and_the_link_stays(tmp_path: Path) -> None:
    """`out/current -> /bigdisk/run7`: a link to nowhere was refused, and with --overwrite a link to a folder
    was replaced by a folder on the link's own disk, the target left empty."""
    (tmp_path / "big").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "big" / "run7")  # to nowhere yet: made there
    with AtomicStageOutput(str(tmp_path / "out"), overwrite=False) as tmp:
        tmp.fs.create_dir(tmp.path)
        tmp.child("first.txt").write_text("first")
    assert (tmp_path / "out").is_symlink() and _contents(tmp_path / "big" / "run7") == {"first.txt": "first"}
    with pytest.raises(UsageError, match="exists; pass --overwrite"):
        AtomicStageOutput(str(tmp_path / "out"), overwrite=False)
    with AtomicStageOutput(str(tmp_path / "out"), overwrite=True) as tmp:
        tmp.fs.create_dir(tmp.path)
        tmp.child("new.txt").write_text("new")
    assert (tmp_path / "out").is_symlink() and _contents(tmp_path / "big" / "run7") == {"new.txt": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big", "out"]
    assert [p.name for p in (tmp_path / "big").iterdir()] == ["run7"]  # no working folder left


def test_a_store_that_cannot_be_reached_is_a_one_line_usage_error() -> None:
    """`-o s3a://bucket/x` with no network, or `-o hdfs://...` with no libhdfs, failed with exit 1 and an
    OSError of up to 10 KB; `-o gs://...` hung for 15 minutes a request, deaf to SIGTERM."""
    from datetime import timedelta

    from corpus.remote import GCS_RETRY_LIMIT_S, store_file_system

    with pytest.raises(UsageError, match=r"^'hdfs://nn:8020/x': cannot be reached \(") as refused:
        locate("hdfs://nn:8020/x")
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 400
    gcs, path = store_file_system("gs://bucket/a/key")
    assert path == "bucket/a/key"
    assert gcs.__reduce__()[1][0]["retry_time_limit"] == timedelta(seconds=GCS_RETRY_LIMIT_S)


def test_a_working_folder_written_again_after_an_interrupt_is_removed_when_spark_stops(
    tmp_path: Path,
) -> None:
    """SIGTERM: the output's working folder was removed while Spark's tasks still ran, and a task that
    committed afterwards wrote it again (`.out.tmp-*/_temporary/...` left, 1 run in 8)."""
    from jobs.spark import LazySession

    final = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), AtomicStageOutput(str(final), overwrite=False) as tmp:
        Path(tmp.path).mkdir()
        raise KeyboardInterrupt
    assert not Path(tmp.path).exists()
    late = Path(tmp.path) / "_temporary" / "0" / "part-00000.parquet"  # a task committing after the interrupt
    late.parent.mkdir(parents=True)
    late.write_text("x")
    LazySession().stop(interrupted=True)
    assert list(tmp_path.iterdir()) == []


def test_only_the_files_the_driver_sees_are_named_among_those_missing(spark, tmp_path: Path) -> None:
    """Two files missing for the tasks, one of them there for the driver: the count says which share."""
    from jobs.shared_storage import MISSING_FILE, refuse_inputs_only_the_driver_sees

    here, gone = tmp_path / "here.jsonl", tmp_path / "gone.jsonl"
    here.write_text("{}\n")
    rows = spark.createDataFrame(
        [(MISSING_FILE, str(here)), (MISSING_FILE, str(gone)), (None, None)],
        "reject_reason string, reject_input string",
    )
    with pytest.raises(UsageError, match=r"2 input files listed .* the driver sees 1 of the 2 it looked for"):
        refuse_inputs_only_the_driver_sees(rows, {MISSING_FILE: 2})
    refuse_inputs_only_the_driver_sees(
        rows.filter("reject_input IS NULL OR reject_input != '" + str(here) + "'"), {MISSING_FILE: 1}
    )
