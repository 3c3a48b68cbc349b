"""Faults cost retries, never documents: a worker killed mid-job, a driver killed mid-job, corrupt inputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog, StageStats
from jobs.ingest import IngestConfig, ingest_frame
from jobs.stage import expand_inputs, write_stage
from tests.crafted import write_jsonl_gz
from tests.jobs.cluster import (
    LOOPBACK,
    StandaloneCluster,
    assert_same_output,
    executor_worker_ui_port,
    free_port,
    kill_tree,
    standalone_cluster,  # noqa: F401 - the fixture
    start_driver,
    wait_for_running_task,
)

ADDED = "2024-06-01T00:00:00Z"
LOCAL = ["--master", "local[2]", "--conf", "spark.driver.memory=1g"]
# Enough input that a job runs for many seconds on a loaded 2-core machine, so a kill lands mid-job.
FILES, DOCS_PER_FILE, WORDS_PER_DOC = 16, 1500, 150


def write_jsonl_corpus(folder: Path, files: int, docs: int, words: int, seed: int = 0) -> Path:
    """`files` gzip JSONL files of `docs` documents of `words` random words (ids unique across files)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        lines = []
        picks = rng.integers(0, len(vocabulary), size=(docs, words))
        for d in range(docs):
            record = {
                "id": f"doc-{f:03d}-{d:05d}",
                "text": " ".join(vocabulary[picks[d]]),
                "url": f"https://example.org/{f}/{d}",
                "crawl_date": f"2023-{1 + d % 12:02d}-01T00:00:00Z",
            }
            lines.append(record)
        write_jsonl_gz(folder / f"part-{f:03d}.jsonl.gz", lines)
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl_corpus(tmp_path_factory.mktemp("corpus"), FILES, DOCS_PER_FILE, WORDS_PER_DOC)


@pytest.fixture(scope="module")
def reference(corpus: Path, spark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ingest of `corpus` by an undisturbed embedded run (in the tests' session: a driver of its own
    would cost ~15 s on CI's 2 cores, and the output does not depend on which session wrote it)."""
    from jobs.cli import main

    root = tmp_path_factory.mktemp("reference")
    main(["ingest", str(corpus), "-o", str(root / "out"), "--added", ADDED])
    return root / "out"


def visible_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_driver_killed_mid_write_leaves_no_output_and_rerun_matches(
    corpus: Path, reference: Path, tmp_path: Path
) -> None:
    output = tmp_path / "jobs" / "ingest"
    ui = free_port()
    job = ["ingest", str(corpus), "-o", str(output), "--added", ADDED]
    args = [*job, *LOCAL, "--conf", "spark.ui.enabled=true", "--conf", f"spark.ui.port={ui}"]
    driver = start_driver(args, tmp_path / "killed.log", extra_env={"SPARK_LOCAL_IP": LOOPBACK})
    try:
        wait_for_running_task(ui, driver)
        # Prefer to kill while the output is being written (its hidden temporary folder exists).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and driver.poll() is None:
            if output.parent.is_dir() and any(output.parent.glob(".ingest.tmp-*")):
                break
            time.sleep(0.05)
        assert driver.poll() is None, "the job ended before it could be killed; give it more input"
        kill_tree(driver.pid, signal.SIGKILL)
    finally:
        kill_tree(driver.pid)
    assert not output.exists()
    if output.parent.exists():
        assert visible_entries(output.parent) == []  # only the hidden .ingest.tmp-* may be left
    # The rerun is the same command, in the tests' session (the kill is what needed a driver of its own).
    from jobs.cli import main

    main(job)
    assert_same_output(reference, output)
    assert visible_entries(output.parent) == ["ingest"]
    assert not list(output.parent.glob(".ingest.*"))  # the killed driver's working folder went with the rerun


@pytest.mark.cluster
@pytest.mark.slow
def test_worker_killed_mid_job_output_unchanged(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    corpus: Path,
    reference: Path,
    tmp_path: Path,
) -> None:
    output = tmp_path / "ingest"
    ui = free_port()
    conf = [*standalone_cluster.spark_conf(), "spark.ui.enabled=true", f"spark.ui.port={ui}"]
    conf += ["spark.task.maxFailures=8", "spark.excludeOnFailure.enabled=false"]
    args = ["ingest", str(corpus), "-o", str(output), "--added", ADDED, "--master", standalone_cluster.url]
    args += [arg for pair in conf for arg in ("--conf", pair)]
    driver = start_driver(args, tmp_path / "driver.log", cluster=standalone_cluster)
    executors = wait_for_running_task(ui, driver)
    busy = [e for e in executors if e.get("id") != "driver" and e.get("activeTasks", 0) > 0]
    victim = standalone_cluster.worker_by_webui_port(executor_worker_ui_port(busy[0]) or -1)
    assert victim is not None, f"no worker hosts executor {busy[0].get('id')}: {busy[0].get('executorLogs')}"
    assert driver.poll() is None
    victim.kill()  # SIGKILL the worker JVM and its executor: a lost machine
    survivors = [w for w in standalone_cluster.workers if w is not victim]
    assert all(w.popen.poll() is None for w in survivors)
    code = driver.wait(timeout=600)
    assert code == 0, (tmp_path / "driver.log").read_text()[-4000:]
    assert_same_output(reference, output)
    assert StageStats.read(output).docs_out == FILES * DOCS_PER_FILE


def test_corrupt_inputs_are_counted_and_the_job_succeeds(spark, data_dir: Path, tmp_path: Path) -> None:
    good = data_dir / "warc" / "dolma_sample-0000.warc.gz"
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(good, inputs / "good.warc.gz")
    # Truncated: a gzip JSONL cut in half (its own ids: the same records in two files would be duplicates).
    whole = write_jsonl_corpus(tmp_path / "whole", files=1, docs=300, words=40, seed=3) / "part-000.jsonl.gz"
    raw = whole.read_bytes()
    (inputs / "truncated.jsonl.gz").write_bytes(raw[: len(raw) // 2])
    (inputs / "random.warc.gz").write_bytes(b"\x1f\x8b" + np.random.default_rng(1).bytes(5000))
    (inputs / "noise.bin").write_bytes(np.random.default_rng(2).bytes(3000))
    (inputs / "empty.jsonl").write_bytes(b"")
    write_jsonl_corpus(inputs / "gone", files=1, docs=10, words=20)
    options = ReadOptions(added=None)
    expected_good = sum(b.num_rows for b in read_documents(str(good), options, RejectLog()))
    truncated_log = RejectLog()
    truncated_docs = sum(
        b.num_rows for b in read_documents(str(inputs / "truncated.jsonl.gz"), options, truncated_log)
    )
    files = expand_inputs([str(inputs)])
    assert len(files) == 6
    gone = inputs / "gone" / "part-000.jsonl.gz"
    gone_size = gone.stat().st_size
    os.remove(gone)  # deleted between listing and reading
    stats = StageStats(stage="ingest", files_in=len(files), bytes_in=sum(f.size for f in files))
    output = tmp_path / "out"
    from datetime import UTC, datetime

    config = IngestConfig(read=ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC)))
    write_stage(ingest_frame(spark, files, config).drop("html"), str(output), stats)

    written = StageStats.read(output)
    assert written.balanced
    assert 0 < truncated_docs < 300  # the lines before the cut are kept
    assert written.docs_out == expected_good + truncated_docs
    # The line the cut runs through is the one record lost; files and bytes that hold no record are spans.
    assert dict(written.dropped) == dict(truncated_log.counts) == {"truncated_gzip": 1}
    assert written.docs_in == written.docs_out + 1
    assert written.skipped["truncated_gzip"] == 1
    assert written.skipped["empty_file"] == 1
    assert written.skipped["missing_file"] == 1
    # Bytes in are bytes read: the file gone before its read gives none back (its listed size was counted).
    assert written.bytes_in == sum(f.size for f in files) - gone_size
    assert written.skipped["unknown_format"] == 1  # noise.bin
    assert written.skipped["corrupt_gzip"] + written.skipped["not_gzip"] == 1  # random.warc.gz
    assert sum(written.skipped.values()) == 5
    rejects = pq.read_table(output / "_rejects" / "rejects.parquet").to_pylist()
    by_file = Counter(Path(r["reject_input"].split(":")[0]).name for r in rejects)
    assert set(by_file) == {
        "truncated.jsonl.gz",
        "random.warc.gz",
        "noise.bin",
        "empty.jsonl",
        "part-000.jsonl.gz",
    }
    assert sum(by_file.values()) == sum(written.dropped.values()) + sum(written.skipped.values())
    assert all(r["reject_detail"] for r in rejects)
    ids = pq.read_table(output, columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == written.docs_out


# ---------------------------------------------------------------------------------------------------------
# Resume: `chronomix run` skips complete stages and reruns a stage whose inputs changed


def _pipeline_kinds() -> set[str]:
    from jobs.registry import KINDS

    return set(KINDS)


def _state(folder: Path) -> tuple[int, int, str]:
    """(marker mtime, inode of the first data file, fingerprint): all three change when a stage reruns."""
    marker = folder / "_complete.json"
    part = sorted(folder.glob("part-*"))[0]
    return marker.stat().st_mtime_ns, part.stat().st_ino, json.loads(marker.read_text())["fingerprint"]


@pytest.mark.slow
def test_pipeline_rerun_skips_complete_stages_and_reruns_changed_ones(
    data_dir: Path, tmp_path: Path, spark
) -> None:
    """The first run through the CLI's `run`, the reruns through the runner, all in this process (the
    resume rule is the runner's, and a driver of its own costs half a minute on CI's 2 cores)."""
    from jobs.cli import main
    from jobs.pipeline import load_pipeline, run_pipeline

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.gz", inputs)
    stages = [{"name": "ingest", "kind": "ingest", "inputs": ["inputs"], "added": ADDED}]
    if "date" in _pipeline_kinds():
        stages.append({"name": "dated", "kind": "date", "input": "${ingest}"})
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(
        json.dumps(
            {
                "output": str(tmp_path / "out"),
                "spark": {
                    "master": "local[2]",
                    "conf": ["spark.driver.memory=1g", "spark.sql.shuffle.partitions=2"],
                },
                "stages": stages,
            }
        )
    )
    names = [s["name"] for s in stages]
    out = tmp_path / "out"

    main(["run", str(pipeline)])
    first = {name: _state(out / name) for name in names}
    assert StageStats.read(out / "ingest").docs_out == 1

    second = run_pipeline(load_pipeline(pipeline))
    assert [o.status for o in second] == ["skipped"] * len(names)
    assert {name: _state(out / name) for name in names} == first  # nothing reran, nothing was rewritten

    # An input changed (a file added to the input folder): the stage and every stage after it rerun.
    shutil.copy(data_dir / "warc" / "dolma_sample-0000.warc.gz", inputs)
    assert [o.status for o in run_pipeline(load_pipeline(pipeline))] == ["ran"] * len(names)
    third = {name: _state(out / name) for name in names}
    for name in names:
        assert third[name][0] != first[name][0] and third[name][2] != first[name][2], name
    assert StageStats.read(out / "ingest").docs_out == 23


# ---------------------------------------------------------------------------------------------------------
# Hardening: no path taken from the data is used to write


def test_paths_in_the_data_never_become_output_paths(spark, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from jobs.ingest import run_ingest

    hostile = ["../../etc/x", "/etc/x", "..\\..\\x", "a/../../../b", "~/x", "file:///etc/x", "%2e%2e%2fx"]
    box = tmp_path / "box"
    inputs = box / "in"
    inputs.mkdir(parents=True)
    lines = [
        {
            "id": value,
            "url": value,
            "source": value,
            "text": f"hostile path document {i} " * 5,
            "dump": value,
            "metadata": {"path": value},
        }
        for i, value in enumerate(hostile)
    ]
    (inputs / "hostile.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    before = {p for p in tmp_path.parent.rglob("*")}
    outputs = box / "out"
    read = ReadOptions(added=datetime(2024, 6, 1, tzinfo=UTC))
    run_ingest(spark, [str(inputs)], str(outputs / "ingest"), IngestConfig(read=read))
    run_ingest(spark, [str(inputs)], str(outputs / "dolma"), IngestConfig(read=read, fmt="dolma"))
    last = outputs / "ingest"
    try:
        from jobs.date import DateConfig, run_date

        run_date(spark, [str(last)], str(outputs / "date"), DateConfig())
        last = outputs / "date"
    except ImportError:
        pass
    try:
        from jobs.dedup import DedupJob, run_dedup

        run_dedup(spark, [str(last)], str(outputs / "dedup"), DedupJob(keep="all"))
        last = outputs / "dedup"
    except ImportError:
        pass
    created = {p for p in tmp_path.parent.rglob("*")} - before
    outside = sorted(str(p) for p in created if outputs not in p.parents and p != outputs)
    assert outside == []
    # Every name under a stage output is one the job chose (part numbers, bookkeeping), never a data value.
    allowed = re.compile(r"^(part-\d{5}\.(parquet|jsonl\.gz)|_[a-z_]+(\.json|\.parquet)?|rejects\.parquet)$")
    names = sorted({p.name for p in outputs.rglob("*")} - {p.name for p in outputs.iterdir()})
    assert [n for n in names if not allowed.match(n)] == []
    table = pq.read_table(last)
    assert sorted(table.column("id").to_pylist()) == sorted(hostile)  # kept verbatim, as data
    assert not Path("/etc/x").exists()
