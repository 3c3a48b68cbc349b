"""Running a pipeline from a bench: the stages written to a YAML file and run by `python -m jobs.cli run` with
this checkout first on the path, so the code measured is this checkout's, not whatever the environment's
`chronomix` script was installed from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_pipeline_stages(out: Path, description: str, stages: list[dict[str, Any]], master: str) -> Path:
    """Run `stages` into `out` on `master` (a stage already finished there is skipped); returns `out`."""
    spec = {
        "description": description,
        "output": str(out),
        "spark": {"master": master, "conf": ["spark.sql.shuffle.partitions=4", "spark.driver.memory=4g"]},
        "stages": stages,
    }
    path = out.parent / f"{out.name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "jobs.cli", "run", str(path)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
    return out
