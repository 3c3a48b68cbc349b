"""The experiment table and the combined curves plot: one row per trained and probed run.

An experiment grid trains one model per mixture (same seed, budget and model) and probes each; this module
turns the run directories (run.json) and probe directories (probe.json, cutoff_curve.csv) into
`experiments.md`, `experiments.csv` and `cutoff_curves.png`, so a grid only has to call `write_report`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.probe_plots import plot_curves
from analysis.spreadsheet import write_csv

BASE_COLUMNS = [
    "run",
    "mixture",
    "seed",
    "tokens",
    "newest_month",
    "effective_cutoff",
    "cutoff_low",
    "cutoff_high",
    "cutoff_abs_deviation_months",
    "gap_months",
    "newest_version_share",
    "predicted_cutoff",
    "predicted_low",
    "predicted_high",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "zero_exposure_at_chance",
    "bucket_rank_correlation",
    "head_accuracy",
    "tail_accuracy",
    "final_loss",
]


def summarise_run(
    run_dir: str | Path, probe_dir: str | Path | None = None, name: str | None = None
) -> dict[str, Any]:
    """One table row for a run: its run.json and the probe.json in `probe_dir` (default RUN/probe).
    Accuracy per frequency bucket goes in columns `acc <bucket>` (e.g. `acc 0`, `acc 2-3`). ValueError naming
    the file when one of them cannot be read."""
    run_dir = Path(run_dir)
    probe_dir = Path(probe_dir) if probe_dir is not None else run_dir / "probe"
    info = _read_object(run_dir / "run.json", missing=None)
    lacking = [key for key in ("mixture", "config", "tokens_seen") if key not in info]
    if lacking or not isinstance(info["config"], dict) or "seed" not in info["config"]:
        raise ValueError(
            f"{run_dir / 'run.json'}: not a training run's record (lacks {', '.join(lacking) or 'config.seed'})"
        )
    probe = _read_object(probe_dir / "probe.json", missing={})
    prediction = _read_object(probe_dir / "prediction.json", missing={})
    cutoff = probe.get("cutoff", {})
    longtail = probe.get("longtail", {})
    interval = cutoff.get("interval") or [None, None]
    predicted = prediction.get("interval") or [None, None]
    accuracy_interval = _proportions(longtail.get("accuracy_interval")) or (None, None)
    row: dict[str, Any] = {
        "run": name or run_dir.name,
        "mixture": Path(info["mixture"]).name,
        "seed": info["config"]["seed"],
        "tokens": info["tokens_seen"],
        "newest_month": info.get("newest_month"),
        "effective_cutoff": cutoff.get("effective_cutoff"),
        "cutoff_low": interval[0],
        "cutoff_high": interval[1],
        "cutoff_abs_deviation_months": cutoff.get("abs_deviation_months"),
        "gap_months": cutoff.get("gap_months"),
        "gap_interval": cutoff.get("gap_interval"),
        "newest_version_share": cutoff.get("newest_version_share"),
        "newest_version_share_interval": _proportions(cutoff.get("newest_version_share_interval")),
        "predicted_cutoff": prediction.get("month"),
        "predicted_low": predicted[0],
        "predicted_high": predicted[1],
        "accuracy": longtail.get("accuracy"),
        "accuracy_low": accuracy_interval[0],
        "accuracy_high": accuracy_interval[1],
        "zero_exposure_at_chance": longtail.get("zero_exposure_at_chance"),
        "zero_exposure": _zero_bucket(longtail.get("buckets", [])),
        "bucket_rank_correlation": longtail.get("bucket_rank_correlation"),
        "head_accuracy": longtail.get("head_accuracy"),
        "tail_accuracy": longtail.get("tail_accuracy"),
        "final_loss": info.get("final_loss"),
    }
    for bucket in longtail.get("buckets", []):
        row[f"acc {bucket['bucket']}"] = bucket["accuracy"]
    return row


def _is_proportion(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _proportions(pair: Any) -> tuple[float, float] | None:
    """(low, high) of a 95% interval of a proportion as probe.json writes it, or None where it is not two
    proportions in order (an older probe.json has none)."""
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        return None
    low, high = pair
    return (float(low), float(high)) if _is_proportion(low) and _is_proportion(high) and low <= high else None


def _zero_bucket(buckets: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The 0-exposure bucket's probes, accuracy, chance (what the grid's summary pools over runs) and the
    accuracy's 95% interval (`interval`, None where the probe wrote none), or None where the probe scored
    none or its figures are not a count and two proportions (a probe.json edited or cut short)."""
    zero = next((b for b in buckets if isinstance(b, Mapping) and b.get("hi") == 0), None)
    if zero is None:
        return None
    probes, accuracy, chance = zero.get("n_probes"), zero.get("accuracy"), zero.get("chance")
    if not (isinstance(probes, int) and not isinstance(probes, bool) and probes > 0):
        return None
    if not (_is_proportion(accuracy) and _is_proportion(chance)):
        return None
    interval = _proportions((zero.get("low"), zero.get("high")))
    return {"probes": probes, "accuracy": float(accuracy), "chance": float(chance), "interval": interval}


def _read_object(path: Path, missing: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON object in `path`, `missing` where there is no such file (None: it must be there);
    ValueError naming the file otherwise (a grid's report names the run it cannot read, not a bare
    JSONDecodeError)."""
    if missing is not None and not path.exists():
        return missing
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path}: not readable JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def table_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """BASE_COLUMNS, then the bucket columns of all rows ordered by their lower bound."""
    buckets = {key for row in rows for key in row if key.startswith("acc ")}
    return BASE_COLUMNS + sorted(buckets, key=lambda key: int(key[4:].split("-")[0]))


def write_table(
    rows: Sequence[Mapping[str, Any]], output_dir: str | Path, stem: str = "experiments"
) -> tuple[Path, Path]:
    """Write the rows as `<stem>.md` (Markdown) and `<stem>.csv`; returns both paths."""
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    columns = table_columns(rows)
    csv_path = output / f"{stem}.csv"
    write_csv(csv_path, rows, columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    md_path = output / f"{stem}.md"
    md_path.write_text("\n".join(lines) + "\n")
    return md_path, csv_path


@dataclass
class Report:
    """What `write_report` wrote: the table's rows and the files."""

    rows: list[dict[str, Any]]
    paths: dict[str, Path]


def write_report(
    runs: Mapping[str, str | Path],
    output_dir: str | Path,
    probe_dirs: Mapping[str, str | Path] | None = None,
    mixtures: Mapping[str, str] | None = None,
) -> Report:
    """The whole report of a grid: `runs` maps a name to a run directory (probed into RUN/probe unless
    `probe_dirs` says otherwise); `mixtures` names each run's mixture (default: its mixture folder's name).
    Writes experiments.md, experiments.csv and cutoff_curves.png (removed when no run has a curve)."""
    probe_dirs = probe_dirs or {}
    mixtures = mixtures or {}
    rows, curves = [], {}
    for name, run_dir in runs.items():
        probe_dir = Path(probe_dirs.get(name, Path(run_dir) / "probe"))
        row = summarise_run(run_dir, probe_dir, name)
        if name in mixtures:
            row["mixture"] = mixtures[name]
        rows.append(row)
        if (probe_dir / "cutoff_curve.csv").exists():
            curves[name] = probe_dir / "cutoff_curve.csv"
    md_path, csv_path = write_table(rows, output_dir)
    paths = {"markdown": md_path, "csv": csv_path}
    plot = Path(output_dir) / "cutoff_curves.png"
    if curves:
        paths["plot"] = plot_curves(curves, plot)
    else:  # an earlier report's plot would show runs this one left out (a --finished-only of none)
        plot.unlink(missing_ok=True)
    return Report(rows=rows, paths=paths)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):  # before int: True is an int, and printed as 1
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
