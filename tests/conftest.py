"""Shared fixtures: one embedded Spark session for the whole run (its JVM and those started after it map
Spark's classes from one archive), and the real samples in ../shared/data."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.class_archive import ClassArchiveWriter, java_options
from tests.shared_data import shared_data


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data: real third-party samples (see its README); skips the test where it is absent."""
    return shared_data()


ARCHIVE_WRITER = pytest.StashKey[ClassArchiveWriter]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start writing the JVM class archive (tests/class_archive.py) while the first tests run: in the
    process that runs tests (not in pytest-xdist's controller), where tests will run."""
    config = session.config
    if config.option.collectonly or (
        config.getoption("numprocesses", None) and not hasattr(config, "workerinput")
    ):
        return
    config.stash[ARCHIVE_WRITER] = ClassArchiveWriter(Path(tempfile.mkdtemp(prefix="chronomix-jvm-")))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    writer = session.config.stash.get(ARCHIVE_WRITER, None)
    if writer is not None:
        writer.stop()
        shutil.rmtree(writer.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def jvm_class_archive(pytestconfig: pytest.Config) -> Iterator[Path | None]:
    """Every JVM started from here on (this session's, and those of the processes the tests start, which
    inherit the environment) maps Spark's classes from the session's archive (tests/class_archive.py),
    once written; None where it could not be written."""
    writer = pytestconfig.stash.get(ARCHIVE_WRITER, None)
    archive = writer.archive() if writer is not None else None
    before = os.environ.get("JDK_JAVA_OPTIONS")
    if archive is not None:
        os.environ["JDK_JAVA_OPTIONS"] = java_options(archive, before)
    yield archive
    if before is None:
        os.environ.pop("JDK_JAVA_OPTIONS", None)
    else:
        os.environ["JDK_JAVA_OPTIONS"] = before


@pytest.fixture(scope="session")
def spark(jvm_class_archive: Path | None):
    """A local[2] Spark session shared by all tests: the settings the CLI uses, and room for 2,000 of the
    classes Spark generates for its queries where Spark keeps 100 (the suite's queries outnumber them, and a
    class generated again is compiled again, by Janino and then the JIT, which took 35% of the JVM's CPU).
    test_dedup_spark + test_audit_hostile ran in 391 s against 455 s with Spark's 100, one run each, alone
    (`SUITE_CPU_LOG=/tmp/c.jsonl python -m pytest -p bench.suite_cpu ...`, then `python bench/suite_cpu.py
    /tmp/c.jsonl`, 2026-12-07)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from jobs.spark import SparkOptions, spark_session

    conf = (
        "spark.sql.shuffle.partitions=4",
        "spark.driver.memory=2g",
        "spark.sql.codegen.cache.maxEntries=2000",
    )
    session = spark_session(SparkOptions(master="local[2]", conf=conf))
    yield session
    session.stop()


@pytest.fixture
def no_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a Spark session fails the test: for the checks that must refuse bad arguments
    before Spark starts (a command that got past them would otherwise start one and take seconds)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Spark session was started")

    monkeypatch.setattr("jobs.spark.session_for_job", refuse)
