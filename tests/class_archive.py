"""A class-data-sharing archive of the classes a Spark JVM loads, for the JVMs the tests start.

A JVM that starts Spark spends most of its first seconds loading and verifying the classes of Spark's jars:
a local session and one job took 9.1-9.6 s on this 2-core machine, and 5.2-5.5 s with those classes mapped
from an archive (Java's dynamic AppCDS: `-XX:ArchiveClassesAtExit` writes one, `-XX:SharedArchiveFile` reads
it); a standalone cluster started in 7.4 s, and 4.5 s. The suite starts dozens of such JVMs (its own
session, the `chronomix` commands it runs as processes, the standalone clusters' daemons and executors), so
one JVM running a small local job writes the archive (27-31 s) before the tests' session starts, and every
JVM started after it reads it through JDK_JAVA_OPTIONS. tests/test_class_archive.py checks that one does.

Nothing but where classes come from changes. A JVM whose class path is not the archive's (spark-class's own
launcher) or whose jars changed since ignores the archive and loads its classes as before; `-Xlog:cds=off`
keeps it from saying so on stdout, where spark-class reads its launcher's answer and a CLI test reads the
command's output. Where the archive cannot be written, the tests run without it, only slower.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Unified-logging tags the JVM warns under when it writes or declines an archive (to stdout).
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
# A local session running one small job: most of what any Spark JVM loads. (A job writing and reading
# Parquet, shuffling and running Arrow through Python as well made a larger archive in twice the time, and
# a session started no faster from it.)
WORKLOAD = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
spark.range(10).count()
spark.stop()
"""
WRITE_TIMEOUT_S = 300


def write_class_archive(folder: Path) -> Path | None:
    """An archive of the classes a local Spark job loads, written under `folder` by one JVM (about 15-20 s
    here); None where the JVM could not write one."""
    archive = folder / "spark-classes.jsa"
    env = {
        **os.environ,
        "PYSPARK_PYTHON": sys.executable,
        # (C1 only: a JVM that lives seconds writes it faster)
        "JDK_JAVA_OPTIONS": f"-XX:ArchiveClassesAtExit={archive} -XX:TieredStopAtLevel=1 {QUIET}",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", WORKLOAD],
            env=env,
            capture_output=True,
            timeout=WRITE_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return archive if done.returncode == 0 and archive.is_file() else None


def java_options(archive: Path, options: str | None) -> str:
    """JDK_JAVA_OPTIONS that read `archive`, after `options` (the ones already set, if any)."""
    return " ".join(part for part in (options, f"-XX:SharedArchiveFile={archive}", QUIET) if part)
