"""Checks on the output folder of the commands that write into a folder of their own (probe, experiment,
run), made before anything runs or is created: that it is none of the command's inputs, and that it holds no
chronomix data of another command (a stage's documents, a world, a run...), which the output's own files
would otherwise land beside: a mixture reading that folder again would read them as documents.

Paths are compared as the Spark stages compare an output with their inputs (jobs.fs.relation): as real
paths, so neither a symbolic link nor `..` gets round a check."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from jobs.contract import UsageError
from jobs.fs import relation

# Files whose presence at a folder's top says what chronomix data it holds, first match wins.
_DATA_MARKERS: tuple[tuple[str, str], ...] = (
    ("world.yaml", "a world (world.yaml)"),
    ("run.json", "a training run (run.json)"),
    ("probe.json", "probe results (probe.json)"),
    ("_stats.json", "a stage's documents (_stats.json)"),
    ("_manifest.json", "a mixture (_manifest.json)"),
    ("_dedup.json", "a dedup output (_dedup.json)"),
    ("runs.json", "an experiment grid's output (runs.json)"),
)


def chronomix_data(folder: str | Path) -> str | None:
    """What chronomix data `folder` holds at its top (a world, a run, a stage's Parquet, an audit report,
    ...), in words; None where it holds none or is no folder. A pipeline's `_complete.json` alone is no
    data: a stage folder's own marker, which the runner checks itself."""
    path = Path(folder)
    if not path.is_dir():
        return None
    try:
        names = {entry.name for entry in os.scandir(path)}
    except OSError:
        return None
    for name, what in _DATA_MARKERS:
        if name in names:
            return what
    if {"summary.json", "report.html"} <= names:
        return "an audit report (summary.json, report.html)"
    if any(name.endswith(".parquet") and not name.startswith((".", "_")) for name in names):
        return "Parquet data"
    return None


def refuse_overlap(
    output: str,
    inputs: Iterable[tuple[str, str | None]],
    flag: str = "--output",
    refused: frozenset[str] = frozenset({"is", "holds", "lies inside"}),
) -> None:
    """UsageError where `output` is, holds or lies inside (those of `refused`) one of `inputs`, pairs of
    (what the input is in words, its path; a None path is left out): writing there would mix the results
    with an input or, replaced, delete it."""
    for label, path in inputs:
        if not path:
            continue
        how = relation(output, path)
        if how in refused:
            raise UsageError(
                f"{flag} {output!r} {how} {label} {path!r}: writing there would mix with or replace an input; "
                "choose another folder",
                option=flag,
            )


def refuse_foreign_data(
    output: str, command: str, own: Callable[[Path], bool] = lambda _: False, flag: str = "--output"
) -> None:
    """UsageError where the folder `output` holds chronomix data (chronomix_data) that is not an earlier
    output of `command` (`own` says which are)."""
    what = chronomix_data(output)
    if what is not None and not own(Path(output)):
        raise UsageError(
            f"{flag} {output!r} already holds {what}, not an earlier {command} output: writing there would "
            "mix with it; choose another folder",
            option=flag,
        )
