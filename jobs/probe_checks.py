"""`chronomix probe`'s checks of its dated versions and of its output folder, made before the model loads:
document Parquet given as --probes (no month on any row) failed deep in the scoring with a TypeError, and an
output folder of someone else's data took the probe's files beside its own."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jobs.contract import UsageError
from jobs.output_folders import refuse_overlap
from jobs.runner import MARKER
from trainers.probes import PROBE_FILES

# What load_versions (trainers/probes.py) needs: text, a month, and a resource key.
MONTH_COLUMNS = ("month", "created")
RESOURCE_COLUMNS = ("resource", "url", "id")
NEEDS = "needs columns text, month or created, and resource, url or id"
# Besides the probe's own files, what may stand in an earlier probe's folder: a pipeline's completion marker
# and the experiment's prediction, which the probe keeps (trainers/probe_output.py).
PROBE_FOLDER_FILES = frozenset({*PROBE_FILES, MARKER, "prediction.json"})


def _parquet_files(path: Path) -> list[Path]:
    """The Parquet files trainers.probes reads for `path` (a file, or a folder's *.parquet less hidden and
    `_` names)."""
    if not path.is_dir():
        return [path]
    return sorted(
        p
        for p in path.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.parts[len(path.parts) :])
    )


def check_versions(versions: Path, given: str, flag: str = "--probes") -> None:
    """UsageError naming `flag` (--probes, or a grid's field) where `versions` is not a table of dated
    versions: no Parquet, columns missing, or no row with both a month and a resource. Reads the footers and
    those two columns only."""
    files = _parquet_files(versions)
    prefix = f"{flag} {given!r}: not a table of dated versions"
    if not files:
        raise UsageError(f"{prefix} (no .parquet files; {NEEDS})", option=flag)
    try:
        schemas = [pq.read_schema(f) for f in files]
        names = {name for schema in schemas for name in schema.names}
        month = next((c for c in MONTH_COLUMNS if c in names), None)
        resource = next((c for c in RESOURCE_COLUMNS if c in names), None)
        if "text" not in names or month is None or resource is None:
            raise UsageError(f"{prefix} ({NEEDS}; it has {', '.join(sorted(names))})", option=flag)
        if not any(_dated_rows(f, schema, month, resource) for f, schema in zip(files, schemas, strict=True)):
            raise UsageError(f"{prefix} (no row has both {month} and {resource} set; {NEEDS})", option=flag)
    except (OSError, pa.ArrowException) as error:
        detail = " ".join(str(error).split())[:200]
        raise UsageError(f"{prefix} (not readable Parquet: {detail})", option=flag) from None


def _dated_rows(file: Path, schema: pa.Schema, month: str, resource: str) -> bool:
    """Whether `file` has a row with a month (non-empty) and a resource: a document table that was never
    dated has a `created` column of nulls."""
    if month not in schema.names or resource not in schema.names:
        return False
    table = pq.read_table(file, columns=[month, resource])
    valid = pc.and_(pc.is_valid(table.column(month)), pc.is_valid(table.column(resource)))
    if pa.types.is_string(table.schema.field(month).type):
        valid = pc.and_(valid, pc.greater(pc.utf8_length(table.column(month)), 0))
    return bool(pc.any(valid).as_py())


def probe_inputs(
    run: str,
    model: str | None,
    probes: str,
    versions: Path | None,
    facts: Path | None,
    world: str | None,
    mixture: str | None,
) -> list[tuple[str, str | None]]:
    """The probe's inputs other than the run, in words, as refuse_overlap takes them: the probes as given,
    the world they are in (a world's probes/ folder sits in one), --world and the mixture."""
    worlds = {str(p.parent.parent) for p in (versions, facts) if p is not None and p.parent.name == "probes"}
    held = [w for w in sorted(worlds) if (Path(w) / "world.yaml").exists()]
    return [
        ("the --probes input", probes),
        *(("the world of --probes", w) for w in held),
        ("the --world", world),
        ("the mixture", mixture),
        *([("the --model", model)] if model else []),
    ]


def check_output(output: Path, given: str | None, run: str, inputs: Sequence[tuple[str, str | None]]) -> None:
    """UsageError naming --output where it is, holds or lies inside an input (inside the run is where the
    probe writes by default: only the run itself, or a folder holding it, is refused there), or where it is
    an existing folder that holds anything but an earlier probe's results."""
    shown = given if given is not None else str(output)
    refuse_overlap(shown, [("the run", run)], refused=frozenset({"is", "holds"}))
    refuse_overlap(shown, inputs)
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {shown!r} is a file; give a folder for the results", option="--output")
    if not output.is_dir() or _earlier_probe(output):
        return
    raise UsageError(
        f"--output {shown!r} is a folder of other files, not an earlier probe's results: choose a new or "
        "empty folder",
        option="--output",
    )


def _earlier_probe(folder: Path) -> bool:
    """Whether `folder` is empty or holds an earlier probe's results (probe.json, or only the files a probe
    writes), hidden names aside (a probe's staging folder)."""
    names = {entry.name for entry in os.scandir(folder) if not entry.name.startswith(".")}
    return "probe.json" in names or names <= PROBE_FOLDER_FILES


def run_mixture(params_mixture: str | None, run_info: dict[str, Any]) -> str | None:
    """The mixture the probe counts facts over: --mixture, else the one the run's run.json names."""
    value = params_mixture or run_info.get("mixture")
    return str(value) if value else None
