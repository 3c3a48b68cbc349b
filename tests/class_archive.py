"""A class-data-sharing archive of the classes a Spark JVM loads, for the JVMs the tests start.

A JVM that starts Spark spends most of its first seconds loading and verifying the classes of Spark's jars:
a new process starting a local session and running one job took 10.07 s (9.62-10.59 over 5 runs) on this
2-core machine, and 5.48 s (5.17-5.95) with those classes mapped from an archive (Java's dynamic AppCDS:
`-XX:ArchiveClassesAtExit` writes one, `-XX:SharedArchiveFile` reads it; `python bench/jvm_class_archive.py`,
which also writes it: 31 s, 145 MiB). The suite starts dozens of such JVMs (its own session, the
`chronomix` commands it runs as processes, the standalone clusters' daemons and executors), so one driver JVM
running a small local job writes the archive while the first tests run, which run no Spark. The first test
that asks for the `spark` or `standalone_cluster` fixture waits for it, and every JVM started from then on
reads it through JDK_JAVA_OPTIONS; tests/test_class_archive.py checks that one does, and fails where no
archive was written.

Nothing but where classes come from changes. A JVM whose class path is not the archive's (spark-class's own
launcher) or whose jars changed since ignores the archive and loads its classes as before; `-Xlog:cds=off`
keeps it from saying so on stdout, where spark-class reads its launcher's answer and a CLI test reads the
command's output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Unified-logging tags the JVM warns under when it writes or declines an archive (to stdout).
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
# A local session running one small job: most of what any Spark JVM loads. (A job writing and reading
# Parquet, shuffling and running Arrow through Python as well made a larger archive in twice the time, and
# a session started no faster from it.) Java options for the driver alone may follow as the one argument:
# through JDK_JAVA_OPTIONS, spark-class's launcher JVM would write an archive of its own first.
WORKLOAD = """
import sys
from pyspark.sql import SparkSession
builder = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
if len(sys.argv) > 1:
    builder = builder.config("spark.driver.extraJavaOptions", sys.argv[1])
spark = builder.getOrCreate()
spark.range(10).count()
spark.stop()
"""
WRITE_TIMEOUT_S = 300


class ClassArchiveWriter:
    """One driver JVM writing the archive under `folder` in the background (about 30 s here), started with the
    test session: the tests that come first (analysis, corpus, dating, dedup; about 100 s) run no Spark and
    keep one core busy, so it mostly takes the other one."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "spark-classes.jsa"
        # (C1 only: a JVM that lives seconds writes it faster)
        driver = f"-XX:ArchiveClassesAtExit={self.path} -XX:TieredStopAtLevel=1 {QUIET}"
        self.process: subprocess.Popen[bytes] | None = None
        # its own process group, for stop() to reach the JVM the Python process starts
        with contextlib.suppress(OSError):
            self.process = subprocess.Popen(
                [sys.executable, "-c", WORKLOAD, driver],
                env={**os.environ, "PYSPARK_PYTHON": sys.executable},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.written: Path | None = None

    def archive(self) -> Path | None:
        """The archive, once written (waiting for it); None where the JVM could not write one."""
        if self.process is None:
            return self.written
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        try:
            code = self.process.wait(timeout=WRITE_TIMEOUT_S)
            # The JVM writes the archive as it exits, which may be after the Python process that started it.
            while _group_alive(self.process.pid):
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(WORKLOAD, WRITE_TIMEOUT_S)
                time.sleep(0.1)
        except subprocess.TimeoutExpired:
            self.stop()
            return None
        # Done: the group is gone and its number may be reused, so stop() must not signal it again.
        self.process = None
        self.written = self.path if code == 0 and self.path.is_file() else None
        return self.written

    def stop(self) -> None:
        """Stop the writer and every process it started, if it is still at work (a session without Spark)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # (the unreaped leader still holds the group's number)
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        self.process = None


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def java_options(archive: Path, options: str | None) -> str:
    """JDK_JAVA_OPTIONS that read `archive`, after `options` (the ones already set, if any)."""
    return " ".join(part for part in (options, f"-XX:SharedArchiveFile={archive}", QUIET) if part)
