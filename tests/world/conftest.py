"""The tiny world (seed 0) that the world tests read, generated once per session (they only read it): its
WARC response records, its truth tables and its temporal probes."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.world.helpers import read_records
from world import generate_world, preset_config


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("world") / "tiny"
    generate_world(preset_config("tiny", seed=0), root)
    return root


@pytest.fixture(scope="session")
def records(world_dir: Path) -> dict[str, dict[str, object]]:
    return read_records(world_dir)


@pytest.fixture(scope="session")
def truth(world_dir: Path) -> list[dict[str, object]]:
    return pq.read_table(world_dir / "truth" / "documents.parquet").to_pylist()


@pytest.fixture(scope="session")
def facts(world_dir: Path) -> dict[str, dict[str, object]]:
    return {row["fact_id"]: row for row in pq.read_table(world_dir / "truth" / "facts.parquet").to_pylist()}


@pytest.fixture(scope="session")
def temporal(world_dir: Path) -> dict[tuple[str, str], str]:
    table = pq.read_table(world_dir / "probes" / "temporal.parquet")
    return {(r["resource"], r["month"]): r["text"] for r in table.to_pylist()}
