"""`chronomix experiment GRID.yaml`: one model per mixture spec (same seed, budget and model), each probed for
effective cutoff and long-tail accuracy, and one table of all of them.

A grid file:

```yaml
input: ../out/demo/dedup           # dated, deduplicated documents (dedup --keep all: flags, nothing dropped)
world: ../out/demo/world           # probes/ and truth/ of a synthetic world (or give `probes:` alone)
seeds: [0, 1, 2]
mixtures:                          # name -> mixture spec (pipelines/mixtures/*.yaml)
  raw: mixtures/raw.yaml
  keep_newest: mixtures/keep_newest.yaml
train: {preset: tiny, tokens: 2000000, seq_len: 128, batch_size: 16}
probe: {k_tokens: 64}
```

For every seed and mixture it writes `mixtures/<name>-s<seed>` (the mixture, built with that seed),
`runs/<name>-s<seed>` (the model) and its `probe/`; then `experiments.md`, `experiments.csv` and
`cutoff_curves.png`. Finished pieces are reused on a rerun (mixtures by their `_stats.json`, runs by
resuming their checkpoint, probes by their `probe.json`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from jobs.options import Conf, Master
from jobs.stage import UsageError

# Wide enough for the results table when the output is a file or a pipe (CI logs), not a terminal.
console = Console(width=None if Console().is_terminal else 160)


@dataclass
class Grid:
    """An experiment grid (see the module doc). Paths are absolute once loaded."""

    input: list[str]
    mixtures: dict[str, str]
    world: str | None = None
    probes: str | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    train: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)


def load_grid(path: Path) -> Grid:
    """Parse a grid file; raises UsageError naming the bad field."""
    if not path.is_file():
        raise UsageError(f"grid {str(path)!r}: no such file")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise UsageError(f"grid {str(path)!r}: expected a mapping")
    return grid_from_dict(data, path.parent)


def grid_from_dict(data: dict[str, Any], base: Path) -> Grid:
    allowed = {f.name for f in fields(Grid)}
    unknown = set(data) - allowed
    if unknown:
        raise UsageError(
            f"grid field {sorted(unknown)[0]!r}: unknown (expected {', '.join(sorted(allowed))})"
        )
    for required in ("input", "mixtures"):
        if required not in data:
            raise UsageError(f"grid field {required!r}: required")

    def absolute(value: str) -> str:
        return value if "://" in value or Path(value).is_absolute() else str((base / value).resolve())

    mixtures = data["mixtures"]
    if not isinstance(mixtures, dict) or not mixtures:
        raise UsageError("grid field 'mixtures': expected a mapping of name -> spec file")
    inputs = data["input"] if isinstance(data["input"], list) else [data["input"]]
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not all(isinstance(s, int) and s >= 0 for s in seeds) or not seeds:
        raise UsageError("grid field 'seeds': expected a list of non-negative integers")
    from trainers.train import TrainConfig

    train = dict(data.get("train") or {})
    train_fields = {f.name for f in fields(TrainConfig)} - {"seed"}
    bad = set(train) - train_fields
    if bad:
        raise UsageError(f"grid field 'train.{sorted(bad)[0]}': unknown training setting")
    probe = dict(data.get("probe") or {})
    bad = set(probe) - {"k_tokens", "batch_size", "normalisation", "length_norm", "bucket_base", "device"}
    if bad:
        raise UsageError(f"grid field 'probe.{sorted(bad)[0]}': unknown probe setting")
    world = absolute(data["world"]) if data.get("world") else None
    probes = absolute(data["probes"]) if data.get("probes") else (f"{world}/probes" if world else None)
    if probes is None:
        raise UsageError("grid field 'probes': required when no 'world' is given")
    return Grid(
        input=[absolute(str(i)) for i in inputs],
        mixtures={str(k): absolute(str(v)) for k, v in mixtures.items()},
        world=world,
        probes=probes,
        seeds=seeds,
        train=train,
        probe=probe,
    )


def run_experiment(
    spark: Callable[[], Any], grid: Grid, output: Path, on_step: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Mix, train and probe every (seed, mixture) of `grid` under `output`; returns the table's rows."""
    from jobs.langid import langid_config
    from jobs.mix import run_mix
    from mixers.langid import LangIdConfig
    from mixers.spec import SpecError, load_spec
    from trainers.probes import find_probe_files, run_probes
    from trainers.report import write_report
    from trainers.train import TrainConfig, train

    specs = {}
    for name, path in grid.mixtures.items():
        try:
            specs[name] = load_spec(path)
        except SpecError as error:
            raise UsageError(f"grid mixture {name!r} ({path}): {error}") from None
    versions, facts = find_probe_files(grid.probes)
    defaults = LangIdConfig()
    lid = langid_config(None, defaults.threshold, True, defaults.prefix_chars)
    runs: dict[str, Path] = {}
    for seed in grid.seeds:
        for name, spec in specs.items():
            key = f"{name}-s{seed}"
            mixture_dir = output / "mixtures" / key
            if not (mixture_dir / "_stats.json").exists():
                if on_step:
                    on_step(f"mix {key}")
                run_mix(spark(), grid.input, replace(spec, seed=seed), str(mixture_dir), lid, overwrite=True)
            run_dir = output / "runs" / key
            config = TrainConfig(**{**grid.train, "seed": seed})
            if not (run_dir / "run.json").exists():
                if on_step:
                    on_step(f"train {key}")
                train(mixture_dir, run_dir, config, resume=True)
            info = json.loads((run_dir / "run.json").read_text())
            probe_dir = run_dir / "probe"
            if not (probe_dir / "probe.json").exists():
                if on_step:
                    on_step(f"probe {key}")
                run_probes(
                    run_dir,
                    probe_dir,
                    versions=versions,
                    facts=facts,
                    newest_month=info.get("newest_month"),
                    mixture_dir=mixture_dir,
                    world_dir=grid.world,
                    **grid.probe,
                )
            runs[key] = run_dir
    names = {key: key.rsplit("-s", 1)[0] for key in runs}
    rows = write_report(runs, output, mixtures=names).rows
    (output / "experiments.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return rows


def results_table(
    rows: list[dict[str, Any]], title: str = "effective cutoff and long-tail accuracy"
) -> Table:
    """The grid's rows as a rich table: cutoff, gap to the newest training month, accuracy head/tail."""
    table = Table(title=title)
    for column in (
        "mixture",
        "seed",
        "tokens",
        "newest month",
        "effective cutoff",
        "gap (months)",
        "accuracy",
        "head acc",
        "tail acc",
    ):
        table.add_column(column, justify="right" if column not in ("mixture",) else "left")

    def pct(value: Any) -> str:
        return "-" if value is None else f"{value:.1%}"

    for row in rows:
        table.add_row(
            str(row["mixture"]),
            str(row["seed"]),
            f"{row['tokens']:,}",
            str(row.get("newest_month") or "-"),
            str(row.get("effective_cutoff") or "-"),
            str(row.get("gap_months") if row.get("gap_months") is not None else "-"),
            pct(row.get("accuracy")),
            pct(row.get("head_accuracy")),
            pct(row.get("tail_accuracy")),
        )
    return table


def experiment(
    grid: Annotated[Path, typer.Argument(help="Grid YAML (see pipelines/grid.yaml).", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder for mixtures, runs and tables.")
    ],
    master: Master = "local[*]",
    conf: Conf = None,
) -> None:
    """Train one model per mixture spec (same seed, token budget and model) and probe each: writes
    experiments.md / .csv (mixture, tokens, newest month in the data, effective cutoff, gap in months,
    accuracy per frequency bucket) and cutoff_curves.png with the curves of all runs. Reruns reuse what is
    finished."""
    from jobs.spark import SparkOptions, session_for_job

    plan = load_grid(grid)
    output.mkdir(parents=True, exist_ok=True)
    holder: dict[str, Any] = {}

    def spark() -> Any:  # started only when a mixture must be built
        if "session" not in holder:
            holder["session"], holder["owned"] = session_for_job(SparkOptions(master, tuple(conf or ())))
        return holder["session"]

    try:
        rows = run_experiment(spark, plan, output, on_step=lambda step: console.print(f"[yellow]{step}[/]"))
    finally:
        if holder.get("owned"):
            holder["session"].stop()
    console.print(results_table(rows))
    console.print(f"tables: {output / 'experiments.md'}  curves: {output / 'cutoff_curves.png'}")
