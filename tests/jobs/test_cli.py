"""The command line: every command is listed, a command imports only its own job module, a command whose
optional dependency is missing says how to install it, and bad names exit 2 with one line. The inputs and
outputs a stage refuses are checked in test_cli_inputs.py."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.cli import COMMANDS, main
from tests.jobs.cli_helpers import _documents, _refused
from tests.jobs.cluster import ROOT


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter at the project's root."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    main([])  # a bare `chronomix` prints the help and returns
    listed = capsys.readouterr().out.split("Commands:")[1]
    assert [line.split()[0] for line in listed.strip().splitlines()] == list(COMMANDS)
    assert "unavailable" not in listed


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_spark_command_does_not_import_the_trainers() -> None:
    """`chronomix ingest` must not pay for torch and transformers (~10 s of imports), although they are
    installed: a fresh interpreter shows the command's help and reports what it imported."""
    done = run_python(
        "import sys\n"
        "from jobs.cli import main\n"
        "main(['ingest', '--help'])\n"
        "print(sorted(m for m in ('torch', 'transformers', 'jobs.train', 'jobs.dedup') if m in sys.modules))\n"
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: chronomix ingest" in done.stdout and "--added" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_commands_of_a_missing_extra_stay_listed_and_say_how_to_install_it() -> None:
    """Without torch (blocked in a fresh interpreter), `train`, `probe` and `experiment` are still listed,
    and running one, with any arguments, exits 2 with the install hint."""
    done = run_python(
        "import sys\n"
        "sys.modules['torch'] = None  # import torch now raises ModuleNotFoundError\n"
        "from jobs.cli import main\n"
        "main([])\n"
        "main(['train', 'spec.yaml', '-o', 'out'])\n"
    )
    listed = done.stdout.split("Commands:")[1]
    for name in ("train", "probe", "experiment", "train-runs"):
        line = next(line for line in listed.splitlines() if line.split()[:1] == [name])
        assert "(unavailable: pip install 'chronomix[train]'" in line, line
    assert "ingest" in listed and "ingest      (unavailable" not in listed
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "chronomix: error: this command needs an optional dependency: pip install 'chronomix[train]' "
        "(torch is missing)"
    )


def test_an_unknown_command_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["ingset", "x"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chronomix: error: No such command") and "\n" not in err


def test_bad_files_and_values_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each of these failed with exit 1 and an exception's name (or Spark's stack trace) before; none needs
    Spark to be refused."""
    folder = tmp_path
    (folder / "latin1.yaml").write_bytes(b"preset: tiny\nentities: \xff\n")
    (folder / "grid.yaml").write_text("worlds: [{preset: tiny\n")
    (folder / "small.yaml").write_text("preset: small\nentities: 30\n")
    (folder / "spec.yaml").write_bytes(b"name: x\nseed: \xff\n")
    cases = {
        ("world", "-o", str(folder / "w"), "--seed", "-1"): "--seed",
        ("world", "-o", str(folder / "w"), "-c", str(folder / "latin1.yaml")): "world config",
        # the file's preset silently won over the flag
        ("world", "-o", str(folder / "w"), "-c", str(folder / "small.yaml"), "--preset", "tiny"): "disagree",
        ("experiment", str(folder / "grid.yaml"), "-o", str(folder / "e")): "not valid UTF-8 YAML",
        ("run", str(folder / "latin1.yaml")): "not valid UTF-8 YAML",
        ("mix", str(folder), "--spec", str(folder / "spec.yaml"), "--plan"): "not UTF-8",
        ("ingest", "ftp://host/x.warc.gz", "-o", str(folder / "w")): "Unrecognized filesystem type",
        ("ingest", str(folder / "grid.yaml"), "-o", "ftp://host/out"): "'ftp://host/out'",
        ("ingest", str(folder / "grid.yaml"), "-o", str(folder / "w"), "--master", "nonsense"): "--master",
    }
    for argv, expected in cases.items():
        with pytest.raises(SystemExit) as done:
            main(list(argv))
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and "\n" not in err and expected in err, (argv, err)
    assert not (folder / "w").exists() and not (folder / "e").exists()


# ---------------------------------------------------------------------- bad options, refused before Spark
def test_a_bad_dedup_index_is_refused_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """--index was read only after Spark had started and signed every document."""
    import dataclasses

    from dedup.index import META_FILE, IndexMeta
    from dedup.kernel import DedupConfig
    from dedup.lsh import LshConfig

    documents, out = _documents(tmp_path / "docs"), tmp_path / "out"
    a_file = tmp_path / "file"
    a_file.write_text("not an index")
    folders = ("empty", "corrupt", "other", "older", "threshold")
    empty, corrupt, other, older, threshold = (tmp_path / name for name in folders)
    for folder in (empty, corrupt, other, older, threshold):
        folder.mkdir()
    (corrupt / META_FILE).write_text("{not json")
    (other / META_FILE).write_text(dataclasses.replace(IndexMeta.of(DedupConfig()), num_perm=7).to_json())
    (threshold / META_FILE).write_text(IndexMeta.of(DedupConfig(lsh=LshConfig(threshold=0.6))).to_json())
    # Built before URLs had host keys (hash_version 3): refused, not matched without them.
    (older / META_FILE).write_text(dataclasses.replace(IndexMeta.of(DedupConfig()), hash_version=3).to_json())
    for index, needle in (
        (a_file, "not an index folder"),
        (empty, "not an index folder"),
        (corrupt, f"{META_FILE} is not readable"),
        (other, "built with num_perm=7"),
        (older, "hash_version=3, this run uses 7); use a new index folder"),
        # an index built at --threshold 0.6 named the bands and rows it set, not the threshold
        (threshold, "this run uses bands=32, rows=4; they follow from --threshold"),
    ):
        err = _refused(["dedup", str(documents), "-o", str(out), "--index", str(index)], capsys)
        assert "--index" in err and needle in err, err
    assert not out.exists()


def test_a_bad_lid_model_is_refused_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """--lid-model was only checked to exist; the Spark tasks found a folder or a file of another kind."""
    documents, out = _documents(tmp_path / "docs"), tmp_path / "out"
    text = tmp_path / "model.bin"
    text.write_text("__label__en hello\n")
    for model, needle in (
        (tmp_path / "nowhere.bin", "no such file"),
        (tmp_path, "not a file"),
        (text, "not a fastText model"),
    ):
        err = _refused(["langid", str(documents), "-o", str(out), "--lid-model", str(model)], capsys)
        assert f"--lid-model '{model}'" in err and needle in err, err
    assert not out.exists()
    err = _refused(["langid", str(documents), "-o", str(out), "--lingua-unknown", "ignore"], capsys)
    assert "--lingua-unknown 'ignore': one of rule_out, abstain" in err, err
    assert not out.exists()


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_bad_probe_settings_are_refused_before_model_and_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--device and --length-norm were checked after the model and the probes were loaded (--length-norm
    after the whole cutoff probe). Here neither the run nor the probes exist: the setting is named first."""
    run = tmp_path / "run"
    for option, value in (("--device", "tpu"), ("--length-norm", "words"), ("--normalisation", "max")):
        err = _refused(["probe", str(run), "--probes", str(tmp_path / "nowhere"), option, value], capsys)
        assert f"Invalid value for {option}: '{value}'" in err, err
    assert not run.exists()


def test_mix_plan_with_an_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """--plan writes nothing, so an --output beside it was silently ignored; the combination is refused."""
    documents, out = _documents(tmp_path / "docs"), tmp_path / "out"
    spec = ROOT / "pipelines" / "mixtures" / "raw.yaml"
    err = _refused(["mix", str(documents), "--spec", str(spec), "--plan", "-o", str(out)], capsys)
    assert "--output" in err and "--plan writes nothing" in err, err
    assert not out.exists()


def test_a_mixture_spec_s_tokenizer_is_checked_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    documents, out = _documents(tmp_path / "docs"), tmp_path / "out"
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"budget_tokens: 1000\ntokenizer: {tmp_path / 'nowhere.json'}\n")
    err = _refused(["mix", str(documents), "--spec", str(spec), "-o", str(out)], capsys)
    assert f"--spec {spec}: tokenizer" in err and "no such file" in err, err
    assert not out.exists()


def test_run_help_lists_every_stage_kind(capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.registry import KINDS

    try:
        main(["run", "--help"])
    except SystemExit as done:
        assert done.code == 0
    listed = " ".join(capsys.readouterr().out.split())
    assert f"stages ({', '.join(KINDS)})" in listed and "label" in KINDS


def test_run_and_train_refuse_a_remote_output_they_would_write_locally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`run p.yaml --output s3a://bucket/chronomix` wrote ./s3a:/bucket/chronomix with exit 0 (Path() had
    collapsed the URI); `train mix -o foo://x/run` wrote ./foo:/x/run."""
    err = _refused(
        ["run", str(ROOT / "pipelines" / "demo.yaml"), "--output", "s3a://bucket/chronomix"], capsys
    )
    assert "pipeline output 's3a://bucket/chronomix'" in err and "one by one" in err, err
    err = _refused(["train", str(tmp_path), "-o", "foo://x/run", "--tokens", "100"], capsys)
    assert "local (or mounted) folders" in err and "'foo://x/run'" in err, err
    assert not (tmp_path / "s3a:").exists() and not Path("s3a:").exists() and not Path("foo:").exists()


def test_a_conf_value_spark_refuses_is_a_bad_argument(tmp_path: Path) -> None:
    """`--conf spark.sql.shuffle.partitions=abc` failed with exit 1 and a 2,700-character JVM trace. In its
    own process: a test session would be reused, its settings already checked."""
    documents = _documents(tmp_path / "docs")
    argv = ["date", str(documents), "-o", str(tmp_path / "out"), "--master", "local[1]"]
    argv += ["--conf", "spark.sql.shuffle.partitions=abc"]
    done = run_python(f"from jobs.cli import main; main({argv!r})")
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr[-2000:]
    assert last.startswith("chronomix: error: --conf: Spark refuses a setting: [INVALID_CONF_VALUE")
    assert "JVM stacktrace" not in last and len(last) < 300 and not (tmp_path / "out").exists()


def test_a_conf_giving_a_fixed_setting_another_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--conf spark.sql.session.timeZone=Asia/Kolkata` was replaced by UTC without a word (the month
    buckets stayed UTC's, 2021-03 where Kolkata's is 2021-04). Refused before Spark starts; the fixed value
    itself is accepted."""
    from jobs.options import spark_options

    out = tmp_path / "out"
    for setting in ("spark.sql.session.timeZone=Asia/Kolkata", "spark.sql.parquet.compression.codec=snappy"):
        err = _refused(["date", str(tmp_path), "-o", str(out), "--conf", setting], capsys)
        key, _, value = setting.partition("=")
        assert f"--conf {key}={value}: chronomix fixes {key} to " in err and "leave it out" in err, err
    assert not out.exists()
    assert spark_options("local[1]", ["spark.sql.session.timeZone=utc"]).conf == (
        "spark.sql.session.timeZone=utc",
    )
    # spark-submit's own value is said, and chronomix's used
    from jobs.spark import say_overridden_submitted_conf

    say_overridden_submitted_conf({"spark.sql.session.timeZone": "Asia/Kolkata", "spark.ui.enabled": "true"})
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [
        "chronomix: spark-submit's spark.sql.session.timeZone=Asia/Kolkata is not used: chronomix fixes it to UTC"
    ]


def test_probe_names_a_run_folder_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """A missing run was reported as 'facts: n_train_docs is not filled in ...'."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    probes = tmp_path / "probes"
    probes.mkdir()
    pq.write_table(
        pa.table({"resource": ["r"], "month": ["2020-01"], "text": ["t"]}), probes / "temporal.parquet"
    )
    err = _refused(["probe", str(tmp_path / "nowhere"), "--probes", str(probes)], capsys)
    assert f"{tmp_path / 'nowhere'}: no such run or model folder" in err, err
    # a folder without a model is said to be one, not met with the facts' exposure
    (tmp_path / "empty").mkdir()
    err = _refused(["probe", str(tmp_path / "empty"), "--probes", str(probes)], capsys)
    assert f"{tmp_path / 'empty'}: no model in it (no config.json)" in err, err


def test_a_train_stage_folder_of_an_unfinished_run_is_resumable_and_a_users_is_not(tmp_path: Path) -> None:
    """train-runs has no --overwrite: a run killed before its first checkpoint blocked every rerun."""
    from jobs.train import TrainParams, unfinished_checkpoint

    run = tmp_path / "run"
    run.mkdir()
    (run / "tokenizer.json").write_text("{}")
    (run / "log.jsonl").write_text("")
    assert unfinished_checkpoint(TrainParams(mixture=str(tmp_path), output=str(run)))
    assert not unfinished_checkpoint(TrainParams(mixture=str(tmp_path), output=str(run), resume=False))
    (run / "notes.txt").write_text("mine")
    assert not unfinished_checkpoint(TrainParams(mixture=str(tmp_path), output=str(run)))


def test_a_master_nobody_answers_at_is_a_bad_argument(tmp_path: Path) -> None:
    """spark://127.0.0.1:1 failed after ~70 s of Spark's own retries, with Java traces and exit 1. In its own
    process, as the conf test: a test session would be reused, and no master asked for."""
    import socket

    from jobs.spark import refuse_unreachable_master

    with socket.socket() as listening:  # a port that answers: refused nothing
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        refuse_unreachable_master(f"spark://127.0.0.1:{listening.getsockname()[1]}")
        refuse_unreachable_master(f"spark://127.0.0.1:1,127.0.0.1:{listening.getsockname()[1]}")
    documents = _documents(tmp_path / "docs")
    argv = ["date", str(documents), "-o", str(tmp_path / "out"), "--master", "spark://127.0.0.1:1"]
    done = run_python(f"from jobs.cli import main; main({argv!r})")
    last = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr[-2000:]
    assert last == "chronomix: error: --master 'spark://127.0.0.1:1': no Spark master answers there", last


@pytest.mark.parametrize(
    ("master", "says"),
    [
        ("spark://127.0.0.1:7077/", "a master URL ends with the port, with no path"),
        ("spark://127.0.0.1", "give the master's host and port"),
        ("spark://127.0.0.1:port", "give the master's host and port"),
        ("spark://::1:7077", "an IPv6 address in brackets"),
        ("spark://head:7077,:7078", "give the master's host and port"),
    ],
)
def test_a_master_url_spark_refuses_as_written_says_what_is_wrong(master: str, says: str) -> None:
    """A trailing slash or a missing port said "no Spark master answers there" while one answered: the URL's
    form is checked before anything is asked of the network."""
    from jobs.contract import UsageError
    from jobs.spark import refuse_unreachable_master

    with pytest.raises(UsageError, match=re.escape(says)):
        refuse_unreachable_master(master, timeout_s=0.1)


def test_run_takes_conf_after_the_pipelines_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """The README says every Spark command takes --conf; run had none."""
    from jobs.pipeline import load_pipeline
    from jobs.spark import parse_conf

    demo = ROOT / "pipelines" / "demo.yaml"
    plan = load_pipeline(demo, output=tmp_path / "out", conf=["spark.sql.shuffle.partitions=8"])
    assert plan.conf[0] == "spark.sql.shuffle.partitions=4"  # the file's
    assert parse_conf(plan.conf)["spark.sql.shuffle.partitions"] == "8"  # the command line's wins
    err = _refused(["run", str(demo), "--output", str(tmp_path / "o"), "--conf", "novalue"], capsys)
    assert "--conf 'novalue': expected key=value" in err, err


def test_a_java_failure_is_one_short_line_with_its_root_cause_and_the_output_s_own_name() -> None:
    """A full disk under Spark's write ended with 13,387 characters of stack on the "one line", and named the
    hidden folder being written rather than the output."""
    from jobs.cli import MAX_FAILURE_CHARS, failure_line

    frames = "".join(f"\n\tat org.apache.spark.Frame{i}.run(Frame.scala:{i})" for i in range(200))
    message = (
        "An error occurred while calling o224.parquet.\n"
        ": org.apache.spark.SparkException: [TASK_WRITE_FAILED] Task failed while writing rows to "
        "file:/data/run/.dated.tmp-vm-23520-482d85d36888. SQLSTATE: 58030"
        f"{frames}\nCaused by: org.apache.hadoop.fs.FSError: java.io.IOException: No space left on device"
        f"{frames}\nCaused by: java.io.IOException: No space left on device{frames}\n\t... 42 more\n"
    )
    line = failure_line(message)
    assert "\n" not in line and " at org." not in line and len(line) < MAX_FAILURE_CHARS + 200
    assert line.startswith("No space left on device: a disk the job writes to is full")
    assert "[TASK_WRITE_FAILED] Task failed while writing rows to file:/data/run/dated." in line
    assert line.endswith("(caused by java.io.IOException: No space left on device)")
    # a Python error's message stays as it was, on one line
    assert failure_line("bad value\n  in column x") == "bad value in column x"
    assert failure_line("bad record\nat offset 12") == "bad record at offset 12"  # no Java frame
    named = failure_line("failed writing file:/d/out é/.my ing.tmp-vm-12-0123456789ab/part-0")
    assert named == "failed writing file:/d/out é/my ing/part-0"


def test_an_executor_s_python_failure_keeps_the_exception_it_raised() -> None:
    """An executor without dateparser failed with the first 600 characters of the traceback, which end in
    its frames: "... File ".../dateparser/__init__.py", ..." and not the ModuleNotFoundError."""
    from jobs.cli import failure_line

    frames = "".join(
        f'\n  File "/venv/lib/python3.11/site-packages/pkg{i}/module.py", line {i}, in call\n    return step()'
        for i in range(30)
    )
    for head in ("An exception was thrown from the Python worker:\n", "[PYTHON_EXCEPTION] Python worker: "):
        message = (
            f"{head}Traceback (most recent call last):{frames}\nModuleNotFoundError: No module named 'x'\n"
        )
        line = failure_line(message)
        assert line.endswith("ModuleNotFoundError: No module named 'x'") and "File " not in line, line
        assert line.startswith(head.strip().removesuffix(":").strip()[:20]), line
    # the form Py4J raises: the traceback inside the Java error, and again under "Caused by:"
    trace = f"Traceback (most recent call last):{frames}\nModuleNotFoundError: No module named 'x'"
    java = "".join(f"\n\tat org.apache.spark.Frame{i}.run(Frame.scala:{i})" for i in range(40))
    wrapped = (
        "An error occurred while calling o224.parquet.\n: org.apache.spark.SparkException: Job aborted due to "
        "stage failure: Lost task 0.0 in stage 7.0 (TID 18): org.apache.spark.api.python.PythonException: "
        f"{trace}{java}\nCaused by: org.apache.spark.api.python.PythonException: {trace}{java}\n"
    )
    line = failure_line(wrapped)
    assert line.startswith("org.apache.spark.SparkException: Job aborted due to stage failure"), line
    assert line.endswith("PythonException: ModuleNotFoundError: No module named 'x'"), line
    lost = failure_line("[CHECKPOINT_RDD_BLOCK_ID_NOT_FOUND] Checkpoint block rdd_12_3 not found!")
    assert lost.startswith(
        "an executor holding dedup's checkpoints was lost: set --conf spark.checkpoint.dir"
    )
