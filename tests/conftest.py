"""Shared fixtures: one embedded Spark session for the whole run, and the real sample data in tests/data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: real sample files (see tests/data/SOURCES.md)."""
    return DATA


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
