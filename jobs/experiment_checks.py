"""Checks of an experiment grid that need nothing run: its seed lists, the replicates they make, and its
output folder (jobs/experiment.py runs them before anything is built or the output folder is made)."""

from __future__ import annotations

import typing
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from jobs.contract import UsageError, type_mismatch
from jobs.output_folders import refuse_foreign_data, refuse_overlap
from jobs.probe_checks import check_versions
from trainers.probes import find_probe_files

# What only an experiment's own output holds at its top (runs.json: --mixtures-only; experiments.json: a
# grid that ran or was reported).
OWN_FILES = ("runs.json", "experiments.json")


def seed_list(data: dict[str, Any], name: str, default: list[int] | None) -> list[int] | None:
    """The grid's seed list `name` (None where neither given nor defaulted); UsageError naming the field."""
    seeds = data.get(name, default)
    if seeds is None:
        return None
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise UsageError(f"grid field {name!r}: expected a list of non-negative integers")
    return seeds


def checked_settings(
    data: dict[str, Any], name: str, what: str, typed: type, allowed: Collection[str]
) -> dict:
    """The grid's `name` section (train, probe): a mapping of `allowed` settings, each of the type the class
    `typed` gives it; UsageError naming the first that is not (a string where a number belongs failed in
    training with a TypeError, and `compile: "no"` was taken as true)."""
    values = data.get(name)
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise UsageError(f"grid field {name!r}: expected a mapping of {what} settings, got {values!r}")
    hints = typing.get_type_hints(typed)
    for key, value in values.items():
        if key not in allowed:
            raise UsageError(f"grid field '{name}.{key}': unknown {what} setting")
        wrong = type_mismatch(value, hints.get(key))
        if wrong:
            raise UsageError(f"grid field '{name}.{key}': expected {wrong}, got {value!r}")
    return dict(values)


def refuse_repeated_draws(
    draws: Sequence[tuple[Any, ...]], axes: Sequence[tuple[str, Sequence[int]]]
) -> None:
    """UsageError naming the seed field whose repeated value makes two replicates the same run (`seeds: [0,
    0]` became one run, silently). `axes` are (field name, seeds) in the order of each draw's values. Equal
    seeds on one axis are fine where another axis tells the replicates apart (paired world seeds [0, 0] with
    seeds [0, 1]: two mixtures of one world)."""
    seen: set[tuple[Any, ...]] = set()
    for draw in draws:
        if draw not in seen:
            seen.add(draw)
            continue
        names = list(dict.fromkeys(name for name, seeds in axes if len(set(seeds)) < len(seeds)))
        repeated = next(seeds for name, seeds in axes if name == names[0])
        value = next(s for s in repeated if list(repeated).count(s) > 1)
        raise UsageError(
            f"grid field {names[0]!r}: seed {value} is given twice, so two replicates would be one run "
            "(give distinct seeds)"
        )


def check_output(params: Any) -> None:
    """The grid's output folder (an ExperimentParams): UsageError where it is or lies inside the grid's
    input, world or probes, where it holds chronomix data of another command (a world, a stage's documents),
    or, for --finished-only, where it does not exist. Before anything is made: `-o dd/x` left an empty dd/x
    behind once a mix stage refused it."""
    output = str(params.output)
    if params.finished_only and not Path(output).is_dir():
        raise UsageError(
            f"--output {output!r}: no such grid output (--finished-only reports the runs a grid wrote there)",
            option="--output",
        )
    inputs = [
        *(("the grid's input", path) for path in params.input),
        ("the grid's world", params.world),
        ("the grid's probes", params.probes),
    ]
    refuse_overlap(output, inputs, refused=frozenset({"is", "lies inside"}))
    refuse_foreign_data(
        output, "experiment", own=lambda folder: any((folder / name).exists() for name in OWN_FILES)
    )


def check_probes(params: Any) -> None:
    """UsageError for a grid's `probes:` that is missing or, before any run trains, not a table of dated
    versions (a run found it only at its probe stage, after training)."""
    try:
        versions, _ = find_probe_files(str(params.probes))
    except FileNotFoundError as error:
        raise UsageError(f"grid field 'probes': {error}") from None
    if versions is not None and not params.finished_only:
        check_versions(versions, str(params.probes), flag="grid field 'probes'")
