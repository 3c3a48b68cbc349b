"""Dedup's Spark path on a real standalone cluster that loses a worker mid-job: with a checkpoint folder
(`spark.checkpoint.dir`) the job recovers and its output is the embedded run's. Its plans' lineage is cut
between rounds; cut with localCheckpoint, the lost executor's share could not be recomputed and the job failed
("Checkpoint block rdd_8_1 not found"), whatever spark.task.maxFailures said.

A module of its own: it needs both workers of a fresh cluster (tests/jobs/test_faults.py kills one of its own)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from corpus.stats import StageStats
from tests.crafted import write_jsonl_gz
from tests.jobs.cluster import (
    StandaloneCluster,
    assert_same_output,
    executor_worker_ui_port,
    free_port,
    get_json,
    standalone_cluster,  # noqa: F401 - the fixture
    start_driver,
)

ADDED = "2024-06-01T00:00:00Z"
SPARK_PATH = ["--max-local-documents", "0", "--max-local-edges", "0"]
FILES, GROUPS_PER_FILE, COPIES, WORDS = 6, 300, 3, 80


def write_near_duplicates(folder: Path, seed: int = 0) -> Path:
    """JSONL files of groups of COPIES documents that differ in one word each (near-duplicate clusters)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(5000)])
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(FILES):
        lines = []
        for g in range(GROUPS_PER_FILE):
            words = vocabulary[rng.integers(0, len(vocabulary), WORDS)]
            for c in range(COPIES):
                edited = words.copy()
                edited[c] = f"edit{c}"
                record = {
                    "id": f"doc-{f}-{g:04d}-{c}",
                    "text": " ".join(edited),
                    "url": f"https://site{c}.example/{f}/{g}",
                    "crawl_date": f"202{c}-0{1 + g % 9}-01T00:00:00Z",
                }
                lines.append(record)
        write_jsonl_gz(folder / f"part-{f}.jsonl.gz", lines)
    return folder


def _busy_worker_after_a_checkpoint(ui: int) -> int | None:
    """The web UI port of a worker whose executor runs a task now, once a checkpoint job (reliable or local)
    has succeeded, from the driver's REST API; None before."""
    apps = get_json(f"http://127.0.0.1:{ui}/api/v1/applications", timeout=2)
    if not isinstance(apps, list) or not apps:
        return None
    app = f"http://127.0.0.1:{ui}/api/v1/applications/{apps[0]['id']}"
    jobs = get_json(f"{app}/jobs?status=succeeded", timeout=2)
    if not any("heckpoint" in str(job.get("name")) for job in jobs or []):
        return None
    executors = get_json(f"{app}/executors", timeout=2)
    busy = [e for e in executors or [] if e.get("id") != "driver" and e.get("activeTasks", 0) > 0]
    return executor_worker_ui_port(busy[0]) if busy else None


@pytest.mark.cluster
@pytest.mark.slow
def test_dedup_loses_a_worker_after_its_first_checkpoint_and_recovers(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from jobs.cli import main

    documents = tmp_path / "documents"
    main(["ingest", str(write_near_duplicates(tmp_path / "corpus")), "-o", str(documents), "--added", ADDED])
    # The reference takes the driver path, in the tests' session: both paths write the same rows
    # (tests/jobs/test_dedup_spark.py), and an embedded Spark-path run would add ~10 s on 2 cores.
    reference = tmp_path / "reference"
    main(["dedup", str(documents), "-o", str(reference)])

    output, checkpoints, ui = tmp_path / "dedup", tmp_path / "checkpoints", free_port()
    conf = [*standalone_cluster.spark_conf(), "spark.ui.enabled=true", f"spark.ui.port={ui}"]
    conf += ["spark.task.maxFailures=8", "spark.excludeOnFailure.enabled=false"]
    conf += [f"spark.checkpoint.dir={checkpoints}"]
    args = ["dedup", str(documents), "-o", str(output), *SPARK_PATH, "--master", standalone_cluster.url]
    args += [arg for pair in conf for arg in ("--conf", pair)]
    driver = start_driver(args, tmp_path / "driver.log", cluster=standalone_cluster)
    # Kill, once a checkpoint is taken, the worker whose executor runs a task: a machine lost mid-job.
    victim = None
    deadline = time.monotonic() + 300
    while victim is None and time.monotonic() < deadline and driver.poll() is None:
        port = _busy_worker_after_a_checkpoint(ui)
        victim = standalone_cluster.worker_by_webui_port(port) if port else None
        time.sleep(0.1)
    assert victim is not None and driver.poll() is None, (tmp_path / "driver.log").read_text()[-3000:]
    victim.kill()
    code = driver.wait(timeout=600)
    assert code == 0, (tmp_path / "driver.log").read_text()[-4000:]
    assert any(checkpoints.glob("*/rdd-*")), "the checkpoints were not written to spark.checkpoint.dir"
    how = ("components", "max_local_edges", "max_local_documents")  # _dedup.json: which path found them
    # pyarrow wrote the reference's files, parquet-mr the cluster's: the same rows, other sizes
    assert_same_output(
        reference,
        output,
        ignore_json_keys=("inputs", "seconds", *how),
        ignore_stats_keys=("seconds", "bytes_out"),
        same_writer=False,
    )
    path = json.loads((output / "_dedup.json").read_text())["components"]["path"]
    assert (
        path == "spark"
        and json.loads((reference / "_dedup.json").read_text())["components"]["path"] == "driver"
    )
    assert StageStats.read(output).docs_in == FILES * GROUPS_PER_FILE * COPIES
