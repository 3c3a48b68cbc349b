"""The same jobs on a real standalone cluster (a master and two workers on loopback) and embedded: the same
output, whatever the engine and the number of partitions; and `chronomix package` + spark-submit works.

The embedded side of the comparison runs in the tests' own session: a new driver and its JVM cost ~15 s on
CI's 2 cores, and only the cluster side needs a driver of its own."""

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
    kill_tree,
    process_env,
    spark_home,
    standalone_cluster,  # noqa: F401 - the fixture
)

ADDED = "2024-06-01T00:00:00Z"


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
    """The WARC samples, a small world's dumps and issue 18's seven damaged files."""
    from tests import crafted

    target.mkdir(parents=True)
    for file in sorted((data_dir / "warc").glob("*.warc.gz")):
        if ".wat" not in file.name:
            shutil.copy(file, target / file.name)
    shutil.copy(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.wet.gz", target)
    shutil.copytree(world_root / "dumps", target / "world")
    crafted.issue18_inputs(target / "crafted")
    return target


def make_world(root: Path) -> Path:
    from jobs.cli import main

    out = root / "world"
    # A world smaller than the tiny preset (8 dumps of a few dozen pages each): the cluster runs every stage
    # twice, and CI has 2 cores.
    config = root / "world.yaml"
    config.write_text(
        "preset: tiny\nentities: 30\ndump_every_months: 12\nmention_pages: 15\nfiller_pages: 8\n"
        "probe_resources: 10\nreference_resources: 10\nmax_fact_probes: 100\n"
    )
    main(["world", "-o", str(out), "--config", str(config), "--seed", "0"])
    return out


def write_chain(inputs: list[str], root: Path, master: str, conf: list[str], spark_path: bool) -> Path:
    """A pipeline file: ingest -> date -> dedup -> mix of `inputs` into `root`. With `spark_path`, dedup takes
    its Spark path (bucket shuffle, verification joins, large-star/small-star) rather than the driver's."""
    root.mkdir(parents=True, exist_ok=True)
    spec = root / "mix.yaml"
    spec.write_text(MIX_SPEC)
    local_edges = {"max_local_edges": 0, "max_local_documents": 0} if spark_path else {}
    stages = [
        {"name": "ingest", "kind": "ingest", "inputs": inputs, "added": ADDED},
        {"name": "date", "kind": "date", "input": "${ingest}"},
        {"name": "dedup", "kind": "dedup", "input": "${date}", **local_edges},
        {"name": "mix", "kind": "mix", "input": "${dedup}", "spec": str(spec)},
    ]
    pipeline = {"output": str(root), "spark": {"master": master, "conf": conf}, "stages": stages}
    path = root / "pipeline.yaml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


STAGES = ("ingest", "date", "dedup", "mix")


@pytest.mark.cluster
@pytest.mark.slow
def test_chain_submitted_to_the_cluster_from_s3_equals_the_embedded_chain(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    spark,
    data_dir: Path,
    tmp_path: Path,
) -> None:
    """ingest -> date -> dedup -> mix twice, compared stage by stage:
    - embedded, in this process's session (4 shuffle partitions), on the files on local disk;
    - `chronomix package`'s zip and entry script under spark-submit on the cluster (7 partitions), as one
      `chronomix run` (one application: a driver and its executors take about a minute to start on CI's 2
      cores), whose executors stream the same files from moto's S3 server themselves (nothing copied first),
      and whose dedup takes its Spark path.
    The outputs are the same but for where the inputs were, and no credential is printed."""
    from jobs.package import Bundle
    from jobs.pipeline import load_pipeline, run_pipeline
    from tests.jobs.test_ingest_remote import assert_same_ingest
    from tests.remote_servers import moto_s3

    world = make_world(tmp_path)
    inputs = sample_inputs(data_dir, tmp_path / "inputs", world)
    embedded = tmp_path / "embedded"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"  # the session the embedded chain runs in
    # The pipeline's `spark:` section does not replace a running session.
    run_pipeline(load_pipeline(write_chain([str(inputs)], embedded, "local[2]", [], spark_path=False)))

    bundle_dir = tmp_path / "bundle"
    zip_path = build_zip(bundle_dir)
    entry = bundle_dir / "chronomix_main.py"
    shutil.copyfile(ROOT / "jobs" / "submit" / "chronomix_main.py", entry)
    bundle = Bundle(zip=zip_path, entry=entry)
    cluster = tmp_path / "cluster"
    log = tmp_path / "submit.log"
    partitions = ["spark.sql.shuffle.partitions=7", "spark.default.parallelism=7"]
    with moto_s3() as s3:
        remote = s3.upload(inputs, "chronomix-cluster", "crawl/")
        pipeline = write_chain([remote], cluster, standalone_cluster.url, partitions, spark_path=True)
        argv = submit_command(bundle, standalone_cluster.url, ["run", str(pipeline)])
        argv[0] = str(spark_home() / "bin" / "spark-submit")
        # The driver lists the bucket with the usual environment; the executors get it as executor env.
        executor_env = [f"spark.executorEnv.{key}={value}" for key, value in s3.env.items()]
        conf = [*standalone_cluster.spark_conf(), *executor_env]
        argv[1:1] = [arg for pair in conf for arg in ("--conf", pair)]
        # Note: this venv has chronomix installed (editable), so here the zip is shipped and put on the path
        # but the checkout would be found without it; test_package_zip_is_reproducible_and_importable checks
        # the zip.
        with open(log, "wb") as out:
            # Its own session, remembered by the cluster: a timed-out or failed submit leaves no driver.
            submit = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**process_env(), **s3.env},
                cwd=tmp_path,
                start_new_session=True,
            )
        standalone_cluster.drivers.append(submit)
        try:
            code = submit.wait(timeout=900)
        finally:
            kill_tree(submit.pid)
    assert code == 0, log.read_text()[-4000:]
    assert "chronomix-test-secret" not in log.read_text()  # credentials are never printed

    # Two JVMs list a column chunk's encodings in different orders: equal tables, not equal bytes.
    assert_same_ingest(embedded / "ingest", cluster / "ingest", bytewise=False)
    for stage in STAGES[1:]:
        # dedup's report says how clusters were found (in the driver, or with Spark on the cluster run). The
        # driver path's files are pyarrow's and the Spark path's parquet-mr's: the same rows, other sizes, so
        # dedup's bytes_out and mix's bytes_in differ.
        how = ("components", "max_local_edges", "max_local_documents") if stage == "dedup" else ()
        sizes = {"dedup": ("bytes_out",), "mix": ("bytes_in",)}.get(stage, ())
        assert_same_output(
            embedded / stage,
            cluster / stage,
            ignore_json_keys=("inputs", "seconds", *how),
            ignore_stats_keys=("seconds", *sizes),
            same_writer=stage != "dedup",
        )
    local = json.loads((embedded / "dedup" / "_dedup.json").read_text())["components"]
    distributed = json.loads((cluster / "dedup" / "_dedup.json").read_text())["components"]
    assert (local["path"], distributed["path"]) == ("driver", "spark")
    assert local["edges"] == distributed["edges"] > 0
    # The comparison saw real documents: the samples', the world's and the damaged files'.
    import pyarrow.parquet as pq

    sources = set(pq.read_table(embedded / "ingest", columns=["source"]).column("source").to_pylist())
    samples = {"dolma_sample-0000", "resiliparse_clueweb09-ja-quirk", "cc/CC-MAIN-2024-22"}
    world = {f"cc/CC-MAIN-{year}-{week}" for year, week in ((2016, 51), (2020, 52), (2023, 51))}
    damaged = {"length", "surrogates", "mediawiki"}
    assert samples | world | damaged <= sources


def test_the_printed_line_with_a_packed_environment_runs_in_client_mode(
    tmp_path: Path,
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
) -> None:
    """`chronomix package --venv` printed a client-mode line whose spark.pyspark.python (the archive's
    interpreter, which only the executors unpack) the driver took for its own: spark-submit failed at once
    with `Cannot run program "./environment/bin/python"`. The driver now runs the packing interpreter and the
    executors the archive's, which here is a wrapper that records each start before it runs this venv's."""
    import tarfile

    from jobs.package import VENV_ALIAS, Bundle
    from tests import crafted

    started = tmp_path / "archive_python_started"
    wrapper = tmp_path / "env" / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {started}\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    archive = tmp_path / "chronomix-venv.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(wrapper, arcname="bin/python")
    warc = tmp_path / "in.warc.gz"
    warc.write_bytes(b"".join(crafted.members([crafted.response(i) for i in range(3)])))
    bundle_dir = tmp_path / "bundle"
    entry = bundle_dir / "chronomix_main.py"
    bundle = Bundle(zip=build_zip(bundle_dir), entry=entry, venv=archive)
    shutil.copyfile(ROOT / "jobs" / "submit" / "chronomix_main.py", entry)
    argv = submit_command(bundle, standalone_cluster.url, ["ingest", str(warc), "-o", str(tmp_path / "out")])
    assert argv[argv.index("--archives") + 1] == f"{archive}#{VENV_ALIAS}"
    argv[0] = str(spark_home() / "bin" / "spark-submit")
    argv[1:1] = [arg for pair in standalone_cluster.spark_conf() for arg in ("--conf", pair)]
    # Neither variable names the driver's interpreter: the line itself must (a user's shell sets neither).
    env = {k: v for k, v in process_env().items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert started.is_file()  # the executors ran the archive's interpreter
    stats = json.loads((tmp_path / "out" / "_stats.json").read_text())
    assert stats["docs_out"] == 3


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


@pytest.mark.parametrize("git", [True, False], ids=["git checkout", "no git"])
def test_package_zip_leaves_out_hidden_ignored_and_linked_files(tmp_path: Path, git: bool) -> None:
    """A checkout's jobs/.env.txt, a git-ignored trainers/notes.json and dating/creds.txt (a link to a file
    outside) were packed, contents and all, into the zip shipped to every executor."""
    from jobs.package import PACKAGES

    tree = tmp_path / "checkout"
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "jobs" / ".env.txt").write_text("AWS_SECRET_ACCESS_KEY=SECRET-7f3a\n")
    (tree / "trainers" / ".hf").mkdir()
    (tree / "trainers" / ".hf" / "token.json").write_text('{"token": "SECRET-7f3a"}')
    (tree / "trainers" / "notes.json").write_text('{"token": "ignored"}')
    (tmp_path / "secret.txt").write_text("SECRET-outside-7f3a")
    (tree / "dating" / "creds.txt").symlink_to(tmp_path / "secret.txt")
    (tree / "corpus" / "new_reader.py").write_text("READER = 1\n")  # not yet committed: shipped
    if git:
        (tree / ".gitignore").write_text("notes.json\n")
        subprocess.run(["git", "init", "-q", str(tree)], check=True)
    code = "import sys; from pathlib import Path; from jobs.package import build_zip; print(build_zip(Path(sys.argv[1])))"
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "dist")],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(done.stdout.strip()) as archive:
        names = set(archive.namelist())
        assert "corpus/new_reader.py" in names and "jobs/stage.py" in names
        assert "analysis/templates/report.html.j2" in names
        assert not any(".env" in n or ".hf" in n or n == "dating/creds.txt" for n in names), sorted(names)
        assert ("trainers/notes.json" in names) is not git
        assert not any(b"SECRET-" in archive.read(n) for n in names)


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
    # An output that is a file: one line, exit 2 (it was a bare "[Errno 17] File exists")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SystemExit) as stopped:
        main(["package", "-o", str(tmp_path / "afile")])
    assert stopped.value.code == 2
    assert "output" in capsys.readouterr().err and (tmp_path / "afile").read_text() == "x"


def test_package_refuses_what_it_cannot_build_before_writing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From an installed wheel, `--wheel` was refused after the zip and the entry script were written."""
    import jobs.package
    from jobs.cli import main

    installed = tmp_path / "site-packages"
    monkeypatch.setattr(jobs.package, "package_dirs", lambda: {"jobs": installed / "jobs"})
    with pytest.raises(SystemExit) as stopped:
        main(["package", "-o", str(tmp_path / "dist"), "--wheel"])
    assert stopped.value.code == 2 and "build the wheel from a checkout" in capsys.readouterr().err
    assert not (tmp_path / "dist").exists()
    if not jobs.package.venv_pack_available():
        with pytest.raises(SystemExit):
            main(["package", "-o", str(tmp_path / "dist2"), "--venv"])
        assert not (tmp_path / "dist2").exists()


def test_a_master_s_web_ui_port_is_refused_naming_the_master(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
) -> None:
    """The web UI's port (8080) for the master's (7077), the usual slip: it accepts a connection, so Spark
    retried for ~70 s and ended with exit 1 and "Cannot call methods on a stopped SparkContext"."""
    from jobs.contract import UsageError
    from jobs.spark import refuse_unreachable_master

    web_ui = f"spark://127.0.0.1:{standalone_cluster.master.webui_port}"
    with pytest.raises(UsageError, match="a web server answers there, not a Spark master") as refused:
        refuse_unreachable_master(web_ui)
    assert f"(this one names {standalone_cluster.url})" in str(refused.value)
    refuse_unreachable_master(standalone_cluster.url)  # the master's own port speaks no HTTP
    assert standalone_cluster.state()["status"] == "ALIVE"  # and the probe did it no harm


@pytest.mark.cluster
@pytest.mark.slow
def test_a_job_no_worker_can_take_says_why_it_waits(
    standalone_cluster: StandaloneCluster,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    """Executors asking more memory than any worker has: the job printed "0 running" every 15 s, forever,
    and Spark's own warning stayed below the log level the CLI shows."""
    import time

    from tests.jobs.cluster import start_driver

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.jsonl").write_text('{"id": "a", "text": "a document no executor will read"}\n')
    conf = [*standalone_cluster.spark_conf(), "spark.executor.memory=4g"]  # each worker has 1g
    args = ["ingest", str(inputs), "-o", str(tmp_path / "out"), "--added", ADDED]
    args += ["--master", standalone_cluster.url, *[a for pair in conf for a in ("--conf", pair)]]
    log = tmp_path / "driver.log"
    env = {"CHRONOMIX_NO_EXECUTOR_NOTICE_S": "3"}
    driver = start_driver(args, log, extra_env=env, cluster=standalone_cluster)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and driver.poll() is None:
            if "spark: no executor for" in log.read_text(errors="replace"):
                break
            time.sleep(0.5)
        said = log.read_text(errors="replace")
        assert driver.poll() is None, said[-3000:]  # still waiting: Spark gives up on nothing
        assert f"no worker of {standalone_cluster.url} has spark.executor.memory=4g" in said, said[-3000:]
    finally:
        kill_tree(driver.pid)
    assert not (tmp_path / "out").exists()
