"""The stage contract: what every job module exports, so that its CLI command, a pipeline's stage of its kind
(`chronomix run`), an experiment's steps and the audit's stages all run it the same way.

A job module exports
- a parameters dataclass (`<Job>Params`, a `StageParams`): the job's settings, the fields of its CLI command
  and the keys of its pipeline stage alike, plus `output` and `overwrite`, which a pipeline sets itself;
- `check(params) -> plan`: every check that needs no Spark, run before a session starts; it lists the inputs
  once (the plan carries them to `run`) and raises `UsageError` naming the bad argument;
- `run(plan, spark) -> StageResult`: the work, writing into `params.output`; `spark()` returns the session,
  started on first call, so a job that needs none never starts one;
- `STAGE = Stage(kind, Params, check, run)`, which `jobs/registry.py` finds by kind.

Nothing here imports Spark.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from corpus.stats import StageStats

# What `run` gets to reach Spark: a callable returning the session (jobs.spark.LazySession).
SparkProvider = Callable[[], Any]
# Fields of every parameters dataclass that the runner of a pipeline sets, never its file.
RUNNER_FIELDS = frozenset({"output", "overwrite"})

P = TypeVar("P")
C = TypeVar("C")


class UsageError(ValueError):
    """A bad job argument: the CLI prints it as one line and exits with status 2. `option` names the
    command-line option it is about, where one does (for typer's own message format)."""

    def __init__(self, message: str, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class StageParams:
    """Base of the parameters dataclasses: building one from a pipeline's mapping, and the values that
    determine its output (its fingerprint).

    EXECUTION_FIELDS names a kind's parameters that choose how it runs, never what it writes (a test shows
    the output byte-identical across their values): they stay out of the fingerprint, so changing one, or
    adding one with a default, never reruns a finished stage and everything after it.

    PLACE_FIELDS names parameters that give a place other names are resolved against (a path listing's
    base), not files the stage reads: their value is in the fingerprint, and where they name a remote place
    what lies under it is not (a base of s3://commoncrawl/ would list the whole bucket before every run).

    LATER_FIELDS names parameters added after stages of the kind were finished and marked: in the
    fingerprint only where they differ from their default, so those stages stay finished.

    REWRITTEN_FIELDS names parameters that give a place the stage reads and then rewrites (dedup's cross-dump
    index): what lies there after a run is the stage's own work, so it cannot tell whether the stage must
    run again. The runner fingerprints such a place by the stages of the pipeline that wrote it before.

    WRITTEN_FIELDS names parameters that give another folder the stage writes (the audit's --work): locked,
    as its output and REWRITTEN_FIELDS are, while it runs (jobs.locks)."""

    EXECUTION_FIELDS: ClassVar[frozenset[str]] = frozenset()
    PLACE_FIELDS: ClassVar[frozenset[str]] = frozenset()
    REWRITTEN_FIELDS: ClassVar[frozenset[str]] = frozenset()
    WRITTEN_FIELDS: ClassVar[frozenset[str]] = frozenset()
    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str, **runner: Any) -> Any:
        """The parameters of a pipeline stage from its mapping (`where` names it in errors); `runner` sets
        the fields the runner owns (output, overwrite). A single value where a list is expected is a list
        of one. Raises UsageError naming an unknown or missing key."""
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        allowed = names - RUNNER_FIELDS
        for key in values:
            if key not in allowed:
                raise UsageError(
                    f"{where}: unknown parameter {key!r} (expected {', '.join(sorted(allowed))})"
                )
        for key, value in values.items():
            wrong = type_mismatch(value, hints.get(key))
            if wrong:
                raise UsageError(f"{where}: parameter {key!r}: expected {wrong}, got {value!r}")
        given = {k: _as_list(v) if _is_list(hints.get(k)) else v for k, v in values.items()}
        given.update({k: v for k, v in runner.items() if k in names})
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            if required and f.name not in given:
                raise UsageError(f"{where}: parameter {f.name!r} is required")
        return cls(**given)

    def fingerprint_values(self) -> dict[str, Any]:
        """The parameters that determine the output: all but where it goes, whether to replace it, and the
        EXECUTION_FIELDS; a LATER_FIELDS field only where it differs from its default."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        values = {f.name: getattr(self, f.name) for f in fields}
        at_default = {f.name for f in fields if f.name in self.LATER_FIELDS and values[f.name] == _default(f)}
        skipped = RUNNER_FIELDS | self.EXECUTION_FIELDS | at_default
        return {k: v for k, v in values.items() if k not in skipped}

    def former_fingerprint_values(self) -> list[dict[str, Any]]:
        """fingerprint_values as earlier chronomix versions computed them for these same parameters, where
        they differ from today's: a marker written under one of them still marks the stage finished."""
        return []


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


# The scalar types a pipeline file's values are checked against (YAML gives int for a whole-number float).
_SCALARS: dict[Any, tuple[str, tuple[type, ...]]] = {
    bool: ("true or false", (bool,)),
    int: ("a whole number", (int,)),
    float: ("a number", (int, float)),
    str: ("a string", (str,)),
    Path: ("a path", (str, Path)),
}


def type_mismatch(value: Any, hint: Any) -> str | None:
    """What `value` should have been where `hint` is a scalar type (or one of them, or None), else None:
    values of other types (lists, nested mappings) are left to the parameters' own checks."""
    union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
    options = typing.get_args(hint) if union else (hint,)
    scalars = [option for option in options if option is not type(None)]
    if not scalars or any(option not in _SCALARS for option in scalars):
        return None
    if value is None:
        return None if type(None) in options else "a value"
    for option in scalars:
        if isinstance(value, _SCALARS[option][1]) and (option is bool or not isinstance(value, bool)):
            return None
    return " or ".join(_SCALARS[option][0] for option in scalars)


def _is_list(hint: Any) -> bool:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return any(typing.get_origin(option) is list for option in options)


def _as_list(value: Any) -> Any:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


@dataclass
class StageResult:
    """What a stage's `run` returns: a small JSON summary (the pipeline's completion marker and table), the
    stage's `_stats.json` where it writes one, and the job's own result for its command to print."""

    summary: dict[str, Any]
    stats: StageStats | None = None
    value: Any = None


def stats_summary(stats: StageStats) -> dict[str, Any]:
    """The summary of a stage that writes `_stats.json`: documents in and out, and drops per reason."""
    return {"docs_in": stats.docs_in, "docs_out": stats.docs_out, "dropped": dict(stats.dropped)}


@dataclass(frozen=True)
class Stage(Generic[P, C]):
    """One job as a stage kind (see the module doc). `resumable(params)` says whether an incomplete output
    holds work the stage continues (a training checkpoint) rather than replaces. `settings(params)` runs the
    checks of `check` that read no input: a pipeline runs it for every stage before the first one runs, so a
    bad setting of a late stage is named before hours of earlier stages (None: the kind has none)."""

    kind: str
    params: type[P]
    check: Callable[[P], C]
    run: Callable[[C, SparkProvider], StageResult]
    resumable: Callable[[P], bool] = field(default=lambda params: False)
    settings: Callable[[P], object] | None = None
    # whether a finished output still stands though its marker matches (None: it does): a dedup whose index
    # no longer lists it (a rerun of an earlier dump left its rows out) runs again
    still_finished: Callable[[P], bool] | None = None
