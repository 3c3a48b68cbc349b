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

For every seed and mixture it runs three stages (jobs/runner.py), a `mix` into `mixtures/<name>-s<seed>` (the
mixture, built with that seed), a `train` into `runs/<name>-s<seed>` (the model) and a `probe` into its
`probe/`; then writes `experiments.md`, `experiments.csv` and `cutoff_curves.png`. A rerun skips the stages
complete with the same parameters and inputs, and a training run interrupted mid-way resumes from its
checkpoint (the runner's one resume rule).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from jobs import progress
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.options import Conf, Master, spark_options
from jobs.registry import stage
from jobs.runner import StageSpec, run_command, run_stages
from mixers.spec import SpecError, load_spec
from trainers.probes import find_probe_files
from trainers.report import write_report
from trainers.train import TrainConfig

# Wide enough for the results table when the output is a file or a pipe (CI logs), not a terminal.
console = Console(width=None if Console().is_terminal else 160)
PROBE_SETTINGS = ("k_tokens", "batch_size", "normalisation", "length_norm", "bucket_base", "device")


@dataclass(frozen=True)
class ExperimentParams(StageParams):
    """An experiment grid (see the module doc): `chronomix experiment`'s grid file and the `experiment`
    stage kind's keys. Paths are absolute once loaded."""

    input: list[str]
    mixtures: dict[str, str]
    output: str
    world: str | None = None
    probes: str | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    train: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    overwrite: bool = False

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], where: str = "grid", base: Path | None = None, **runner: Any
    ) -> ExperimentParams:
        """A grid from its mapping, relative paths resolved against `base` (default: the working folder);
        raises UsageError naming the bad field."""
        return grid_from_dict(dict(values), base or Path.cwd(), **runner)


def load_grid(path: Path, output: Path) -> ExperimentParams:
    """Parse a grid file; raises UsageError naming the bad field."""
    if not path.is_file():
        raise UsageError(f"grid {str(path)!r}: no such file")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise UsageError(f"grid {str(path)!r}: expected a mapping")
    return grid_from_dict(data, path.parent, output=str(output))


def grid_from_dict(data: dict[str, Any], base: Path, **runner: Any) -> ExperimentParams:
    """The grid of `data` (a grid file's mapping), relative paths resolved against `base`."""
    allowed = {f.name for f in dataclasses.fields(ExperimentParams)} - {"output", "overwrite"}
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
    train_settings = dict(data.get("train") or {})
    bad = set(train_settings) - ({f.name for f in dataclasses.fields(TrainConfig)} - {"seed"})
    if bad:
        raise UsageError(f"grid field 'train.{sorted(bad)[0]}': unknown training setting")
    probe_settings = dict(data.get("probe") or {})
    bad = set(probe_settings) - set(PROBE_SETTINGS)
    if bad:
        raise UsageError(f"grid field 'probe.{sorted(bad)[0]}': unknown probe setting")
    world = absolute(data["world"]) if data.get("world") else None
    probes = absolute(data["probes"]) if data.get("probes") else (f"{world}/probes" if world else None)
    if probes is None:
        raise UsageError("grid field 'probes': required when no 'world' is given")
    return ExperimentParams(
        input=[absolute(str(i)) for i in inputs],
        mixtures={str(k): absolute(str(v)) for k, v in mixtures.items()},
        world=world,
        probes=probes,
        seeds=seeds,
        train=train_settings,
        probe=probe_settings,
        output=str(runner.get("output", "")),
        overwrite=bool(runner.get("overwrite", False)),
    )


@dataclass(frozen=True)
class ExperimentPlan:
    params: ExperimentParams
    stages: list[StageSpec]
    runs: dict[str, Path]  # run key (<mixture>-s<seed>) -> its run directory


def check(params: ExperimentParams) -> ExperimentPlan:
    """Every mixture spec, the training settings and the probe files, checked before anything runs; and the
    mix, train and probe stages of every (seed, mixture)."""
    for name, path in params.mixtures.items():
        try:
            load_spec(path)
        except SpecError as error:
            raise UsageError(f"grid mixture {name!r} ({path}): {error}") from None
    try:
        find_probe_files(params.probes)
    except FileNotFoundError as error:
        raise UsageError(f"grid field 'probes': {error}") from None
    output = Path(params.output)
    mix, train, probe = stage("mix"), stage("train"), stage("probe")
    stages: list[StageSpec] = []
    runs: dict[str, Path] = {}
    for seed in params.seeds:
        for name, spec in params.mixtures.items():
            key = f"{name}-s{seed}"
            mixture_dir, run_dir = output / "mixtures" / key, output / "runs" / key
            settings = {"tokens": TrainConfig.tokens, **params.train, "seed": seed}
            train_params = train.params(mixture=str(mixture_dir), output=str(run_dir), **settings)
            train.check(train_params)  # a bad training setting fails before the first mixture is built
            probe_params = probe.params(
                run=str(run_dir),
                probes=params.probes,
                output=str(run_dir / "probe"),
                world=params.world,
                **params.probe,
            )
            stages += [
                _spec(f"mix {key}", mix, mix.params(params.input, spec, str(mixture_dir), seed=seed)),
                _spec(f"train {key}", train, train_params, needs=[f"mix {key}"]),
                _spec(f"probe {key}", probe, probe_params, needs=[f"train {key}"]),
            ]
            runs[key] = run_dir
    return ExperimentPlan(params, stages, runs)


def _spec(name: str, kind: Stage, params: Any, needs: list[str] | None = None) -> StageSpec:
    return StageSpec(name, kind, dataclasses.replace(params, overwrite=True), needs or [])


def run(plan: ExperimentPlan, spark: SparkProvider) -> StageResult:
    """Mix, train and probe every (seed, mixture) under `output` (complete stages are skipped), then write the
    experiment's tables; the summary holds the table's rows."""
    output = Path(plan.params.output)
    output.mkdir(parents=True, exist_ok=True)

    on_stage = progress.current().stages("experiment", [spec.name for spec in plan.stages])
    run_stages(plan.stages, spark, on_stage=on_stage)
    names = {key: key.rsplit("-s", 1)[0] for key in plan.runs}
    rows = write_report(plan.runs, output, mixtures=names).rows
    (output / "experiments.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return StageResult({"runs": len(rows), "table": str(output / "experiments.md"), "rows": rows}, value=rows)


STAGE = Stage("experiment", ExperimentParams, check, run)


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
    rows = run_command(STAGE, load_grid(grid, output), spark_options(master, conf)).value
    console.print(results_table(rows))
    console.print(f"tables: {output / 'experiments.md'}  curves: {output / 'cutoff_curves.png'}")
