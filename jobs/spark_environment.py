"""The environment an embedded Spark starts from, checked before it starts.

A variable that points nowhere failed after seconds to minutes with Java and Python traces that never named
it: JAVA_HOME at a missing folder (two bash errors, then JAVA_GATEWAY_EXITED), SPARK_HOME at one (an errno
naming spark-submit), PYSPARK_PYTHON at a missing program (after 21 s) or at a Python without the project
(after 27 s, some 60 lines of traces). Each is now one line naming the variable, exit status 2.

Java names files in the encoding of the locale it starts in: under LC_ALL=POSIX a non-ASCII path was
"unmappable", the job failed, and it left a folder Java had named `out ?`. Where the locale is not UTF-8,
the JVM is started in C.UTF-8 (Python itself already reads and writes UTF-8 there, PEP 540).
"""

from __future__ import annotations

import locale
import os
import shutil
import subprocess
import sys

from jobs.contract import UsageError

UTF8_LOCALE = "C.UTF-8"
# what the workers' Python must import: Spark's own Python side and this project's kernels
WORKER_IMPORTS = "import pyarrow, pyspark, corpus.schema"
WORKER_CHECK_TIMEOUT_S = 60


# The workers' Python as a setting: spark-submit turns it into PYSPARK_PYTHON, which is all PySpark's own
# context reads, so a session started here does the same (jobs.spark.spark_session).
PYTHON_SETTING = "spark.pyspark.python"


def refuse_broken_environment(local: bool, conf: dict[str, str]) -> None:
    """UsageError naming the variable where JAVA_HOME or SPARK_HOME points at nothing Spark can start, or,
    for a `local` master, the workers' Python (`spark.pyspark.python` in `conf`, which wins, else
    PYSPARK_PYTHON) at no program or at a Python that cannot run this project's kernels. On a cluster the
    workers' Python may exist on the workers only (./environment/bin/python), and is not looked for here."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and not os.access(os.path.join(java_home, "bin", "java"), os.X_OK):
        raise UsageError(
            f"JAVA_HOME={java_home!r}: no bin/java there; point it at a Java 17 install, or unset it"
        )
    spark_home = os.environ.get("SPARK_HOME")
    if spark_home and not os.path.isfile(os.path.join(spark_home, "bin", "spark-submit")):
        raise UsageError(
            f"SPARK_HOME={spark_home!r}: no bin/spark-submit there; unset it to use pyspark's own Spark"
        )
    given = conf.get(PYTHON_SETTING)
    python = given or os.environ.get("PYSPARK_PYTHON")
    if not local or not python:
        return
    named = f"--conf {PYTHON_SETTING}" if given else "PYSPARK_PYTHON"
    found = shutil.which(python)
    if found is None:
        drop = "leave it out" if given else "unset it"
        raise UsageError(f"{named}={python!r}: no such program; {drop} (Spark then runs this Python)")
    # a program in this Python's own bin folder is this environment (python, python3, python3.11); a path
    # that only resolves to the same file may be the base Python a virtual environment links to
    if os.path.dirname(os.path.abspath(found)) != os.path.dirname(os.path.abspath(sys.executable)):
        _refuse_python_without_the_project(python, named)


def _refuse_python_without_the_project(python: str, named: str) -> None:
    try:
        done = subprocess.run(
            [python, "-c", WORKER_IMPORTS],
            capture_output=True,
            text=True,
            timeout=WORKER_CHECK_TIMEOUT_S,
            cwd=os.getcwd(),  # where local workers start, as a relative PYTHONPATH reads it
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UsageError(f"{named}={python!r}: cannot be run ({error})") from None
    if done.returncode != 0:
        missing = (done.stderr.strip().splitlines() or ["it failed"])[-1]
        raise UsageError(
            f"{named}={python!r}: Spark's Python workers run it, and it cannot import what they need "
            f"({missing}); {'leave it out' if named.startswith('--conf') else 'unset it'} (the workers then run "
            f"this Python, {sys.executable})"
        )


def utf8_locale_for_java() -> None:
    """Start the JVM in C.UTF-8 where this process's locale does not encode in UTF-8 (module doc)."""
    codeset = locale.nl_langinfo(locale.CODESET) if hasattr(locale, "nl_langinfo") else "UTF-8"
    if codeset.replace("-", "").upper() != "UTF8":
        os.environ["LC_ALL"] = UTF8_LOCALE
