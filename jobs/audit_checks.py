"""The audit's checks that need no Spark (jobs/audit.py `check` runs them before a session starts): where the
report may be written, which listed files are an earlier report's own, whether they are a dedup output that
kept one version of each cluster, and the trained run's probe.json.
Each raises UsageError with one line naming the argument as the user gave it."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.audit_plots import PLOTS
from analysis.months import month_index
from corpus.remote import redact, scheme_of
from jobs.contract import UsageError
from jobs.fs import contained_in, locate
from jobs.stage import InputFile

# An audit report's own files: with summary.json and report.html beside each other they are bookkeeping, not
# data, as a stage's `_stats.json` is (a report folder given as input was read as documents).
REPORT_MARKERS = frozenset({"summary.json", "report.html"})
REPORT_FILES = REPORT_MARKERS | {name for name, _ in PLOTS}


def refuse_remote_report(output: str) -> None:
    """UsageError where the report folder is an object-store URI (`s3://...`): the report is moved into place
    whole, which an object store cannot do with a prefix (a copy failed late, leaving a temporary prefix)."""
    scheme = scheme_of(output)
    if scheme is not None and scheme != "file":
        raise UsageError(
            f"--output {redact(output)!r}: the audit writes its report to a local or mounted folder, not to "
            f"{scheme}://; write it to a local folder and copy that (e.g. `aws s3 cp --recursive`)",
            option="--output",
        )


def without_report_files(files: Sequence[InputFile], given: Sequence[str]) -> list[InputFile]:
    """`files` less those of an earlier audit report found in a listed folder (REPORT_FILES in a folder that
    holds both REPORT_MARKERS); a file named as an input itself is kept. UsageError where nothing is left."""
    names: dict[str, set[str]] = defaultdict(set)
    for file in files:
        folder, _, name = file.uri.rpartition("/")
        names[folder].add(name)
    reports = {folder for folder, held in names.items() if held >= REPORT_MARKERS}

    def is_report_file(file: InputFile) -> bool:
        folder, _, name = file.uri.rpartition("/")
        named = any(contained_in(file.uri)(path) for path in given)
        return folder in reports and name in REPORT_FILES and not named

    kept = [f for f in files if not is_report_file(f)]
    if files and not kept:
        shown = ", ".join(repr(redact(p)) for p in given)
        raise UsageError(f"input {shown}: holds only an audit report (summary.json, report.html), no data")
    return kept


def kept_one_version(files: Sequence[InputFile]) -> bool:
    """Whether any of `files` lies in a dedup output whose keep policy dropped versions (its `_dedup.json`
    keep is not "all"): there dedup's `cluster_size` counts documents the data no longer holds."""
    folders = {uri.rsplit("/", 1)[0] for uri in (f.uri for f in files) if "/" in uri}
    for folder in sorted(folders):
        try:
            marker = locate(folder).child("_dedup.json")
            keep = json.loads(marker.read_text()).get("keep") if marker.exists() else None
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(keep, str) and keep != "all":
            return True
    return False


def read_measured_cutoff(run: str) -> dict[str, Any]:
    """The measured effective cutoff of a trained run: `probe.json` written by `chronomix probe` (in RUN,
    RUN/probe or RUN/probes, or RUN itself when it names the file), checked whole: UsageError naming --run,
    the file and what is wrong (a bad month failed the audit after its Spark work)."""
    path = Path(run)
    candidates = (
        [path]
        if path.is_file()
        else [path / "probe.json", path / "probe" / "probe.json", path / "probes" / "probe.json"]
    )
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise UsageError(f"--run {run!r}: no probe.json there (run `chronomix probe` on the run first)")
    try:
        probe = json.loads(found.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"--run {run!r}: {found.name} is not readable JSON ({error})") from None
    cutoff = probe.get("cutoff") if isinstance(probe, dict) else None
    if not isinstance(cutoff, dict) or cutoff.get("effective_cutoff") is None:
        raise UsageError(
            f"--run {run!r}: {found} holds no cutoff.effective_cutoff (a `chronomix probe` output)"
        )
    measured = {
        "run": run,
        "probe_file": str(found),
        "measured_effective_cutoff": cutoff["effective_cutoff"],
        "newest_month_in_training": probe.get("newest_month"),
        "gap_months": cutoff.get("gap_months"),
        "resources": cutoff.get("resources"),
    }
    for key, name in (
        ("measured_effective_cutoff", "cutoff.effective_cutoff"),
        ("newest_month_in_training", "newest_month"),
    ):
        value = measured[key]
        if value is not None and not _is_month(value):
            raise UsageError(f"--run {run!r}: {found} {name} {value!r} is not a month (YYYY-MM)")
    for key, name in (("gap_months", "cutoff.gap_months"), ("resources", "cutoff.resources")):
        value = measured[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise UsageError(f"--run {run!r}: {found} {name} {value!r} is not a whole number")
    return measured


def _is_month(value: Any) -> bool:
    try:
        month_index(value)
    except ValueError:
        return False
    return True
