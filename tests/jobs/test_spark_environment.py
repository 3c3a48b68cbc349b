"""The environment an embedded Spark starts from (jobs/spark_environment.py): a variable that points nowhere is
one line naming it with exit status 2, before Spark starts; a non-UTF-8 locale still reads and writes
non-ASCII paths. Each case is the real command in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHRONOMIX = [sys.executable, "-m", "jobs.cli"]
ROOT = Path(__file__).resolve().parents[2]


def _documents(path: Path) -> None:
    path.write_text(
        "".join(json.dumps({"id": f"d{i}", "text": f"A page about item {i}."}) + "\n" for i in range(5))
    )


def _chronomix(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "PYSPARK_PYTHON")}
    return subprocess.run(
        [*CHRONOMIX, *args], capture_output=True, text=True, env={**environment, **env}, cwd=ROOT, timeout=600
    )


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("JAVA_HOME", "/nonexistent/jdk", "JAVA_HOME='/nonexistent/jdk': no bin/java there"),
        ("SPARK_HOME", "/nonexistent/spark", "SPARK_HOME='/nonexistent/spark': no bin/spark-submit there"),
        ("PYSPARK_PYTHON", "/nonexistent/python", "PYSPARK_PYTHON='/nonexistent/python': no such program"),
        (
            "PYSPARK_PYTHON",
            "/bin/sh",
            "PYSPARK_PYTHON='/bin/sh': Spark's Python workers run it, and it cannot",
        ),
    ],
)
def test_a_variable_that_points_nowhere_is_named_on_one_line(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    _documents(tmp_path / "docs.jsonl")
    done = _chronomix(
        ["ingest", str(tmp_path / "docs.jsonl"), "-o", str(tmp_path / "out")], **{variable: value}
    )
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"chronomix: error: {said}"), done.stderr[-2000:]
    assert not (tmp_path / "out").exists()


def test_valid_setups_pass_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """This environment's python by another of its names; a workers-only Python on a cluster; a Python
    named by spark.pyspark.python, which wins over the variable; PYSPARK_DRIVER_PYTHON, which the CLI
    does not use."""
    from jobs.spark_environment import refuse_broken_environment

    same_folder = os.path.join(os.path.dirname(sys.executable), "python3")
    for variable, value, local, conf in [
        ("PYSPARK_PYTHON", same_folder, True, {}),
        ("PYSPARK_PYTHON", "./environment/bin/python", False, {}),
        ("PYSPARK_PYTHON", "/nonexistent/python", True, {"spark.pyspark.python": sys.executable}),
        ("PYSPARK_DRIVER_PYTHON", "/nonexistent/python", True, {}),
    ]:
        monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
        monkeypatch.setenv(variable, value)
        refuse_broken_environment(local, conf)


def test_the_workers_python_setting_and_non_ascii_paths_under_the_posix_locale(tmp_path: Path) -> None:
    """Two defects of the embedded driver's start, seen in one real command (a new JVM costs ~15 s on CI):
    - `--conf spark.pyspark.python=...` was passed to the session builder, which PySpark's own context does
      not read: the workers ran the driver's interpreter and the setting's program never ran. Here a wrapper
      that notes each start runs the ingest's Python workers; one pointing nowhere is refused by name.
    - Under the POSIX locale Java named files in ASCII: the job failed as "unmappable" and left a folder
      named `out ?`."""
    started = tmp_path / "started"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{started}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    folder = tmp_path / "café 日本"
    folder.mkdir()
    _documents(folder / "docs.jsonl")
    out = tmp_path / "out é" / "ing"
    args = ["ingest", str(folder), "-o", str(out), "--master", "local[1]"]
    done = _chronomix([*args, "--conf", f"spark.pyspark.python={wrapper}"], LC_ALL="POSIX")
    assert done.returncode == 0, done.stderr[-2000:]
    assert started.exists() and started.read_text().count("started") >= 1
    assert json.loads((out / "_stats.json").read_text())["docs_out"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["café 日本", "out é", "python-wrapper", "started"]
    done = _chronomix(
        [*args[:3], str(tmp_path / "out2"), *args[4:], "--conf", "spark.pyspark.python=/nowhere/py"]
    )
    assert done.returncode == 2, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("chronomix: error: --conf spark.pyspark.python='/nowhere/py': no such program"), (
        last
    )
