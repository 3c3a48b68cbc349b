"""Shared fixtures: one embedded Spark session for the whole run, and the real samples in ../shared/data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.shared_data import shared_data


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data: real third-party samples (see its README); skips the test where it is absent."""
    return shared_data()


@pytest.fixture(scope="session")
def spark():
    """A local[2] Spark session shared by all tests (the same settings the CLI uses)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from jobs.spark import SparkOptions, spark_session

    session = spark_session(
        SparkOptions(master="local[2]", conf=("spark.sql.shuffle.partitions=4", "spark.driver.memory=2g"))
    )
    yield session
    session.stop()


@pytest.fixture
def no_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a Spark session fails the test: for the checks that must refuse bad arguments
    before Spark starts (a command that got past them would otherwise start one and take seconds)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a Spark session was started")

    monkeypatch.setattr("jobs.spark.session_for_job", refuse)
