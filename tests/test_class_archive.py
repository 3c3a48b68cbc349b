"""The tests' JVMs map Spark's classes from the session's archive (tests/class_archive.py): were the archive
ignored (another class path, another JDK), the suite would only get slower, and nothing else would say so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.class_archive import QUIET, WORKLOAD, java_options


def test_a_spark_jvm_started_with_the_session_options_loads_spark_from_the_archive(
    jvm_class_archive: Path | None, tmp_path: Path
) -> None:
    if jvm_class_archive is None:
        pytest.fail("the JVM could not write the class archive (see tests/class_archive.py)")
    assert f"-XX:SharedArchiveFile={jvm_class_archive}" in os.environ["JDK_JAVA_OPTIONS"]
    loads = tmp_path / "class-load.log"
    options = f"{os.environ['JDK_JAVA_OPTIONS']} -Xlog:class+load=info:file={loads}"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "JDK_JAVA_OPTIONS": options}
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sources = {
        line.split(" source: ")[0].split()[-1]: line.split(" source: ")[1]
        for line in loads.read_text().splitlines()
        if " source: " in line
    }
    assert sources["org.apache.spark.SparkContext"] == "shared objects file (top)"
    from_archive = sum(source == "shared objects file (top)" for source in sources.values())
    assert from_archive > 3000, from_archive  # Spark's own classes, not a handful
    assert "cds" not in done.stdout  # the JVM says nothing of the archive where commands print


def test_the_options_keep_those_already_set() -> None:
    archive = Path("/x/spark-classes.jsa")
    assert java_options(archive, None) == f"-XX:SharedArchiveFile={archive} {QUIET}"
    assert java_options(archive, "-Xmx1g") == f"-Xmx1g -XX:SharedArchiveFile={archive} {QUIET}"
