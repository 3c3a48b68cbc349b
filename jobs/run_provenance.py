"""Which chronomix code made an experiment's runs: the train and probe stages' markers name it.

A grid continued after an upgrade keeps the runs it finished (their stages are kept as finished, said in one
line each as they are skipped), yet its tables set their figures beside new ones. Where a figure's definition
changed in between (the newest-version share was redefined once), a paired contrast mixed two definitions and
its sign could flip. The report marks those runs, and the summary names them at its top.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobs.registry import stage
from jobs.runner import read_marker, stage_code


def runs_of_other_code(run_dirs: Mapping[str, Path]) -> list[str]:
    """The run keys whose model or probe results were written by other chronomix code than this (a marker
    whose `code` differs, or one from before markers recorded it), in key order."""
    now = {kind: stage_code(stage(kind)) for kind in ("train", "probe")}
    other = []
    for key, run_dir in sorted(run_dirs.items()):
        for kind, folder in (("train", run_dir), ("probe", run_dir / "probe")):
            marker = read_marker(str(folder))
            if marker is not None and now[kind] and marker.get("code") != now[kind]:
                other.append(key)
                break
    return other


def with_provenance(rows: list[dict[str, Any]], run_dirs: Mapping[str, Path]) -> list[dict[str, Any]]:
    """`rows` (an experiment's, keyed by `run`) with `other_code`: whether other code made the run."""
    other = set(runs_of_other_code(run_dirs))
    return [{**row, "other_code": row["run"] in other} for row in rows]
