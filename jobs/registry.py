"""The registry of stage kinds: kind -> the job module that exports its `STAGE` (jobs/contract.py). The CLI
registers one command per kind from here (plus `train-runs`, `run` and `package`), and pipelines resolve
their stages' kinds here.

Modules are imported when a kind is used, not when the registry is: the `train` and `probe` kinds need the
optional `train` extra (torch), which a pipeline of Spark stages does not.
"""

from __future__ import annotations

import importlib

from jobs.contract import Stage, UsageError

# In the order of the CLI's help.
KINDS: dict[str, str] = {
    "ingest": "jobs.ingest",
    "date": "jobs.date",
    "dedup": "jobs.dedup",
    "langid": "jobs.langid",
    "label": "jobs.label",
    "mix": "jobs.mix",
    "world": "jobs.world",
    "train": "jobs.train",
    "probe": "jobs.probe",
    "experiment": "jobs.experiment",
    "audit": "jobs.audit",
}
# Modules of the optional `train` extra: a kind that needs them is unavailable without it.
OPTIONAL_MODULES = frozenset({"torch", "transformers", "tokenizers"})


class MissingExtra(UsageError):
    """A stage kind whose job needs an optional dependency that is not installed."""


def stage(kind: str) -> Stage:
    """The Stage of `kind`; UsageError for an unknown kind, MissingExtra when its dependencies are missing."""
    if kind not in KINDS:
        raise UsageError(f"unknown stage kind {kind!r} (expected one of {', '.join(sorted(KINDS))})")
    try:
        module = importlib.import_module(KINDS[kind])
    except ModuleNotFoundError as error:
        if error.name not in OPTIONAL_MODULES:
            raise
        raise MissingExtra(
            f"{kind} needs an optional dependency: pip install 'chronomix[train]' ({error.name} is missing)"
        ) from None
    return module.STAGE
