"""The same jobs on a real standalone cluster (a master and two workers on loopback) and embedded: the same
output, whatever the engine and the number of partitions; and `chronomix package` + spark-submit works."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from jobs.package import build_zip, submit_command
from tests.jobs.cluster import (
    ROOT,
    StandaloneCluster,
    assert_same_output,
    process_env,
    run_chronomix,
    spark_home,
    standalone_cluster,  # noqa: F401 - the fixture
)

ADDED = "2024-06-01T00:00:00Z"
LOCAL_CONF = ["--conf", "spark.driver.memory=1g"]


MIX_SPEC = """\
name: cluster_test
seed: 7
budget_tokens: 20K
max_repeats: 2
filters: {drop_stale: true, drop_exact_dup: true}
language: {strategy: temperature, alpha: 0.5}
time: {strategy: uniform, granularity: year}
"""


def sample_inputs(data_dir: Path, target: Path, world_root: Path) -> Path:
    """The WARC samples, plus a small world's dumps."""
    target.mkdir(parents=True)
    for file in sorted((data_dir / "warc").glob("*.warc.gz")):
        if ".wat" not in file.name:
            shutil.copy(file, target / file.name)
    shutil.copy(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.wet.gz", target)
    shutil.copytree(world_root / "dumps", target / "world")
    return target


def make_world(root: Path, log: Path) -> Path:
    out = root / "world"
    # A world smaller than the tiny preset (8 dumps of a few dozen pages each): the cluster runs every stage
    # twice, and CI has 2 cores.
    config = root / "world.yaml"
    config.write_text(
        "preset: tiny\nentities: 30\ndump_every_months: 12\nmention_pages: 15\nfiller_pages: 8\n"
        "probe_resources: 10\nreference_resources: 10\nmax_fact_probes: 100\n"
    )
    run_chronomix(["world", "-o", str(out), "--config", str(config), "--seed", "0"], log)
    return out


def run_chain(
    inputs: Path,
    root: Path,
    master: str,
    conf: list[str],
    cluster: StandaloneCluster | None = None,
) -> dict[str, Path]:
    """ingest -> date -> dedup -> mix into `root`, as one `chronomix run` (one driver, one application: a
    driver and its executors take about a minute to start on CI's 2 cores). On the cluster, dedup takes its
    Spark path (bucket shuffle, verification joins, large-star/small-star) rather than the driver path it
    takes embedded. Returns each stage's output folder."""
    root.mkdir(parents=True, exist_ok=True)
    spec = root / "mix.yaml"
    spec.write_text(MIX_SPEC)
    local_edges = {"max_local_edges": 0, "max_local_documents": 0} if cluster is not None else {}
    stages = [
        {"name": "ingest", "kind": "ingest", "inputs": [str(inputs)], "added": ADDED},
        {"name": "date", "kind": "date", "input": "${ingest}"},
        {"name": "dedup", "kind": "dedup", "input": "${date}", **local_edges},
        {"name": "mix", "kind": "mix", "input": "${dedup}", "spec": str(spec)},
    ]
    pipeline = {"output": str(root), "spark": {"master": master, "conf": conf}, "stages": stages}
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    run_chronomix(["run", str(path)], root / "run.log", cluster=cluster)
    return {stage["name"]: root / stage["name"] for stage in stages}


@pytest.mark.cluster
@pytest.mark.slow
def test_chain_on_cluster_with_7_partitions_equals_embedded_with_2(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    data_dir: Path,
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path, tmp_path / "world.log")
    inputs = sample_inputs(data_dir, tmp_path / "inputs", world)
    embedded = run_chain(
        inputs,
        tmp_path / "embedded",
        "local[2]",
        ["spark.sql.shuffle.partitions=2", "spark.default.parallelism=2", "spark.driver.memory=1g"],
    )
    cluster = run_chain(
        inputs,
        tmp_path / "cluster",
        standalone_cluster.url,
        [*standalone_cluster.spark_conf(), "spark.sql.shuffle.partitions=7", "spark.default.parallelism=7"],
        cluster=standalone_cluster,
    )
    assert list(embedded) == list(cluster)
    for stage in embedded:
        # dedup's report says how clusters were found (in the driver, or with Spark on the cluster run).
        how = ("components", "max_local_edges", "max_local_documents") if stage == "dedup" else ()
        assert_same_output(
            embedded[stage],
            cluster[stage],
            ignore_json_keys=("inputs", "seconds", *how),
            ignore_stats_keys=("seconds",),
        )
    if "dedup" in embedded:
        local = json.loads((embedded["dedup"] / "_dedup.json").read_text())["components"]
        distributed = json.loads((cluster["dedup"] / "_dedup.json").read_text())["components"]
        assert (local["path"], distributed["path"]) == ("driver", "spark")
        assert local["edges"] == distributed["edges"] > 0
    # The comparison saw real documents, from every input file.
    import pyarrow.parquet as pq

    table = pq.read_table(embedded["ingest"])
    assert table.num_rows >= 53
    assert {"CC-MAIN-2024-22"} <= set(table.column("dump").drop_null().to_pylist())


@pytest.mark.cluster
@pytest.mark.slow
def test_spark_submit_of_the_package_streams_warcs_from_the_s3_server(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    spark,
    tmp_path: Path,
) -> None:
    """`chronomix package`'s zip and entry script under spark-submit, on the cluster, whose executors stream
    the WARCs from moto's S3 server themselves (nothing copied first): the output is the in-process ingest's
    of the same files on local disk, and no credential is printed. (One application for both: a driver and
    its executors take about a minute to start on CI's 2 cores.)"""
    from jobs.package import Bundle
    from tests import crafted
    from tests.corpus.test_remote import big_warc
    from tests.jobs.test_ingest_remote import assert_same_ingest, ingest
    from tests.remote_servers import moto_s3

    inputs = tmp_path / "crawl"
    crafted.issue18_inputs(inputs)
    big_warc(inputs / "big.warc.gz", records=60)
    ingest(spark, [str(inputs)], tmp_path / "local")

    bundle_dir = tmp_path / "bundle"
    zip_path = build_zip(bundle_dir)
    entry = bundle_dir / "chronomix_main.py"
    shutil.copyfile(ROOT / "jobs" / "submit" / "chronomix_main.py", entry)
    bundle = Bundle(zip=zip_path, entry=entry)
    log = tmp_path / "submit.log"
    with moto_s3() as s3:
        s3.upload(inputs, "chronomix-cluster", "crawl/")
        job = ["ingest", "s3://chronomix-cluster/crawl/", "-o", str(tmp_path / "cluster"), "--added", ADDED]
        argv = submit_command(bundle, standalone_cluster.url, job)
        argv[0] = str(spark_home() / "bin" / "spark-submit")
        # The driver lists the bucket with the usual environment; the executors get it as executor env.
        executor_env = [f"spark.executorEnv.{key}={value}" for key, value in s3.env.items()]
        conf = [*standalone_cluster.spark_conf(), "spark.sql.shuffle.partitions=7", *executor_env]
        argv[1:1] = [arg for pair in conf for arg in ("--conf", pair)]
        # Note: this venv has chronomix installed (editable), so here the zip is shipped and put on the path
        # but the checkout would be found without it; test_package_zip_is_reproducible_and_importable checks
        # the zip.
        with open(log, "wb") as out:
            done = subprocess.run(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**process_env(), **s3.env},
                cwd=tmp_path,
                timeout=600,
            )
    assert done.returncode == 0, log.read_text()[-4000:]
    # Two JVMs list a column chunk's encodings in different orders: equal tables, not equal bytes.
    assert_same_ingest(tmp_path / "local", tmp_path / "cluster", bytewise=False)
    assert "chronomix-test-secret" not in log.read_text()  # credentials are never printed


def test_package_zip_is_reproducible_and_importable(tmp_path: Path) -> None:
    first = build_zip(tmp_path / "a")
    second = build_zip(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    names = zipfile.ZipFile(first).namelist()
    assert (
        "jobs/stage.py" in names and "corpus/readers.py" in names and "jobs/submit/chronomix_main.py" in names
    )
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # A fresh interpreter that finds chronomix only in the zip imports it from there.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import jobs.stage, corpus.readers; "
        "print(jobs.stage.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(first)], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert done.stdout.strip().startswith(str(first))


def test_submit_entry_restores_submitted_conf() -> None:
    """Under spark-submit a submitted value of a key chronomix defaults is handed back as --conf."""
    from jobs.submit import conf_overrides

    submitted = {"spark.sql.shuffle.partitions": "400", "spark.master": "yarn", "spark.app.name": "x"}
    assert conf_overrides("ingest", submitted) == ["--conf", "spark.sql.shuffle.partitions=400"]
    assert conf_overrides("world", submitted) == []
    assert conf_overrides("dedup", {}) == []


def test_package_command_prints_submit_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.cli import main

    main(["package", "-o", str(tmp_path / "dist"), "--master", "spark://10.0.0.1:7077"])
    printed = capsys.readouterr().out
    assert "spark-submit --master spark://10.0.0.1:7077" in printed
    assert f"--py-files {tmp_path / 'dist'}/chronomix-" in printed
    assert (tmp_path / "dist" / "chronomix_main.py").is_file()
