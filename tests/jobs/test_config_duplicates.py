"""A key given twice in a grid, a pipeline or a world config is refused naming it: YAML itself keeps the last
value, so `seeds: [0]` then `seeds: [1, 2]` silently ran two replicates where one was written first. A blank
path in a pipeline is refused as the command line refuses one."""

import re
from pathlib import Path

import pytest

from jobs.contract import UsageError
from jobs.experiment import load_grid
from jobs.pipeline import load_pipeline
from world.config import WorldConfigError, read_config_fields


def test_a_grid_key_given_twice_is_refused(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("world: w\nseeds: [0]\nmixtures: [raw]\nseeds: [1, 2]\n")
    with pytest.raises(UsageError, match=r"grid .*: key 'seeds' given twice \(lines 2 and 4\)"):
        load_grid(grid, tmp_path / "out")


def test_a_pipeline_stage_key_given_twice_is_refused(tmp_path: Path) -> None:
    pipeline = tmp_path / "pipe.yaml"
    pipeline.write_text(
        "output: out\nstages:\n  - name: i\n    kind: ingest\n    inputs: [a.jsonl]\n    inputs: [b.jsonl]\n"
    )
    with pytest.raises(UsageError, match=r"pipeline .*: key 'inputs' given twice \(lines 5 and 6\)"):
        load_pipeline(pipeline)


def test_a_world_config_field_given_twice_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "world.yaml"
    config.write_text("entities: 20\npeople: 10\nentities: 40\n")
    with pytest.raises(WorldConfigError, match=r"key 'entities' given twice \(lines 1 and 3\)"):
        read_config_fields(config)


@pytest.mark.parametrize(
    "stage, field",
    [
        ("{name: d, kind: date, inputs: [a], reference: ''}", "stages[0].reference"),
        ("{name: m, kind: mix, input: a, mixtures: {raw: ' '}}", "stages[0].mixtures"),
        ("{name: i, kind: ingest, inputs: [a.jsonl, '']}", "stages[0].inputs"),
    ],
)
def test_a_blank_path_in_a_pipeline_stage_is_refused(tmp_path: Path, stage: str, field: str) -> None:
    # resolved against the pipeline's folder, `reference: ""` read that folder as the reference
    pipeline = tmp_path / "pipe.yaml"
    pipeline.write_text(f"output: out\nstages:\n  - {stage}\n")
    with pytest.raises(UsageError, match=rf"^pipeline field '{re.escape(field)}': an empty path$"):
        load_pipeline(pipeline)
    pipeline.write_text("output: ''\nstages:\n  - {name: i, kind: ingest, inputs: [a.jsonl]}\n")
    with pytest.raises(UsageError, match=r"^pipeline field 'output': an empty path$"):
        load_pipeline(pipeline)
