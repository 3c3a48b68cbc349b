"""The inputs of `chronomix train-runs`' runs, checked before the first one trains: a probe that cannot start
(its probes or its world's truth not on this machine) was otherwise found only after its model had trained,
which on a GPU machine is device time lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from jobs.contract import UsageError
from jobs.runner import MARKER
from trainers.probes import find_probe_files


def check_inputs(
    runs: Mapping[str, Mapping[str, Any]],
    todo: Sequence[str],
    unbuilt: Sequence[str],
    experiment: Path,
    relocate: Mapping[str, str] | None = None,
) -> None:
    """Every input of the runs to train, before the first one trains: the mixture built, the probe files
    there and, where the long-tail probe counts each fact's exposure in the world (facts without
    n_train_docs), the world's truth. UsageError naming the first missing path, the runs it stops and the
    fix (`relocate`: the --relocate read_runs applied, OLD -> NEW)."""
    problems: dict[str, list[str]] = {}  # one problem (a world shared by every run) -> the runs it stops
    for key in unbuilt:
        mixture = runs[key]["train"]["mixture"]
        problems.setdefault(
            f"mixture not built: {mixture} has no {MARKER} (build it with `chronomix experiment GRID -o "
            "EXPERIMENT --mixtures-only` and copy its mixtures/ here, or leave the run out with --only)",
            [],
        ).append(key)
    seen: dict[tuple[str, str | None], str | None] = {}
    for key in todo:
        probe = runs[key]["probe"]
        where = (str(probe["probes"]), probe.get("world"))
        if where not in seen:
            seen[where] = _probe_inputs_problem(*where, Path(experiment).resolve(), relocate or {})
        if seen[where] is not None:
            problems.setdefault(str(seen[where]), []).append(key)
    if problems:
        problem, keys = next(iter(problems.items()))  # the others are named once it is fixed
        raise UsageError(f"run {keys[0]!r}{f' and {len(keys) - 1} more' if len(keys) > 1 else ''}: {problem}")


def _probe_inputs_problem(
    probes: str, world: str | None, root: Path, relocate: Mapping[str, str]
) -> str | None:
    """What stops a run's probe from starting (see check_inputs), None when nothing does."""
    try:
        _, facts = find_probe_files(probes)
    except FileNotFoundError as error:
        return f"{error} ({_how_to_bring(probes, world, root, relocate)})"
    if facts is None or not _counts_exposure(facts):
        return None
    world_dir = world or str(facts.parent.parent)  # as the probe stage finds it
    truth = Path(world_dir) / "truth" / "documents.parquet"
    if truth.is_file():
        return None
    return (
        f"{truth}: no such file: the long-tail probe counts each fact's exposure in the world's truth/ "
        f"({_how_to_bring(world_dir, world, root, relocate)})"
    )


def _how_to_bring(path: str, world: str | None, root: Path, relocate: Mapping[str, str]) -> str:
    """How to put a missing input where train-runs reads it: where a --relocate put it, into the experiment
    folder, or, for a path outside it (a grid's own world), anywhere with --relocate naming the folder
    runs.json gives."""
    for old, new in relocate.items():
        if Path(path).is_relative_to(new):
            return f"--relocate {old}={new} reads it there: copy the world's probes/ and truth/ to {new}"
    if Path(path).is_relative_to(root):
        return "copy it into this experiment from the one where the mixtures were built, as mixtures/ was"
    folder = world if world and Path(path).is_relative_to(world) else path
    return f"runs.json names it where the mixtures were built: copy it to this machine, give --relocate {folder}=NEW"


def _counts_exposure(facts: Path) -> bool:
    """Whether the fact probes leave n_train_docs to be counted (a generated world's do); UsageError when the
    table cannot be read, which the probe would find only after the training."""
    try:
        names = pq.read_schema(facts).names if facts.is_file() else pq.ParquetDataset(facts).schema.names
        if "n_train_docs" not in names:
            return True
        return bool(pq.read_table(facts, columns=["n_train_docs"]).column("n_train_docs").null_count)
    except (OSError, pa.ArrowException) as error:
        raise UsageError(f"{facts}: not readable Parquet: {error}") from None
