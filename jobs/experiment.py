"""`chronomix experiment GRID.yaml`: one model per mixture spec and replicate, each probed for effective cutoff
and long-tail accuracy, its cutoff also predicted from its training rows by the audit's predictor, and one
table of all of them with a summary per cell.

A grid file:

```yaml
input: ../out/demo/dedup           # dated, deduplicated documents (dedup --keep all: flags, nothing dropped)
world: ../out/demo/world           # probes/ and truth/ of a synthetic world (or give `probes:` alone)
mixtures:                          # name -> mixture spec (pipelines/mixtures/*.yaml)
  raw: mixtures/raw.yaml
  keep_newest: mixtures/keep_newest.yaml
seeds: [0, 1, 2]                   # shorthand: mixture and initialisation seeds alike
train: {preset: tiny, tokens: 1500000, seq_len: 256, batch_size: 16}
probe: {batch_size: 32}
```

Seeds are separate axes: `mixture_seeds` (how the mixture samples documents) and `init_seeds` (the model's
initialisation; training reads the mixture in its own order, drawn with the mixture seed), and, with `worlds`, `world_seeds`. Instead of `input` and `world`, a grid may
name `worlds` (name -> WorldConfig overrides of the `world_preset`): every world of every world seed is then
generated, ingested, dated against its own reference versions and deduplicated (keep all) under
`worlds/<name>-w<seed>/`, and every mixture is built on each (or those a world lists under `mixtures`). Replicates pair the i-th seed of every axis
(`replicates: paired`, the default; all axes of equal length) or cross them (`replicates: crossed`).

For every replicate and mixture it runs (jobs/runner.py) a `mix`, a `train` and a `probe` stage, then
predicts the run's cutoff from its mixture (trainers/predict.py, against the probed resources' versions);
then writes `experiments.md/.csv/.json`, `cutoff_curves.png`, and `summary.md/.json` (trainers/grid_summary.py:
per cell the cutoff gaps with intervals over replicates, paired contrasts, dose-response slopes over the
worlds' stale shares, long-tail checks and the audit's predicted-against-measured validation). A rerun skips the stages complete with the same parameters and inputs,
and a training run interrupted mid-way resumes from its checkpoint (the runner's one resume rule).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from corpus.config_yaml import load_config_yaml
from corpus.jsonl import finite_json
from jobs import progress
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.experiment_checks import (
    check_output,
    check_probes,
    checked_settings,
    refuse_repeated_draws,
    seed_list,
)
from jobs.experiment_runs import (
    finished_runs,
    forget_unreadable_probe,
    hand_over,
    hand_over_lines,
    predict_run,
    trained_elsewhere,
)
from jobs.experiment_worlds import spec_of, world_dose, world_stages
from jobs.mix import NOT_DOCUMENTS, budget_count, check_columns, input_columns
from jobs.options import Conf, Master, spark_options
from jobs.registry import stage
from jobs.report import results_table
from jobs.run_provenance import with_provenance
from jobs.runner import REMOVED_REBUILDS, StageSpec, run_command, run_stages
from jobs.stage import document_files
from mixers.spec import SpecError, load_spec
from trainers.grid_summary import summarise_grid, write_summary
from trainers.report import write_report
from trainers.train import TrainConfig

# Wide enough for the results table when the output is a file or a pipe (CI logs), not a terminal.
console = Console(width=None if Console().is_terminal else 160)
PROBE_SETTINGS = ("k_tokens", "batch_size", "normalisation", "length_norm", "bucket_base", "device")
REPLICATES = ("paired", "crossed")
RUNNER_OPTIONS = ("output", "overwrite", "finished_only", "mixtures_only")  # the command line's, not a grid's


@dataclass(frozen=True)
class ExperimentParams(StageParams):
    """An experiment grid (see the module doc): `chronomix experiment`'s grid file and the `experiment`
    stage kind's keys. Paths are absolute once loaded."""

    mixtures: dict[str, str]
    output: str
    input: list[str] = field(default_factory=list)
    world: str | None = None
    probes: str | None = None
    worlds: dict[str, dict[str, Any]] = field(default_factory=dict)
    world_preset: str = "tiny"
    world_seeds: list[int] = field(default_factory=lambda: [0])
    seeds: list[int] = field(default_factory=lambda: [0])
    mixture_seeds: list[int] | None = None
    init_seeds: list[int] | None = None
    replicates: str = "paired"
    train: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] = field(default_factory=dict)
    predict: bool = True
    budget_tokens: int | None = None  # overrides every mixture spec's budget (a grid scaled with its world)
    overwrite: bool = False
    # Run nothing: the tables and summary of the runs already probed (a long grid's results so far).
    finished_only: bool = False
    # Build the worlds and mixtures only, and write runs.json for `chronomix train-runs` on another machine.
    mixtures_only: bool = False

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], where: str = "grid", base: Path | None = None, **runner: Any
    ) -> ExperimentParams:
        """A grid from its mapping, relative paths resolved against `base` (default: the working folder);
        raises UsageError naming the bad field."""
        return grid_from_dict(dict(values), base or Path.cwd(), **runner)


def load_grid(path: Path, output: Path) -> ExperimentParams:
    """Parse a grid file; raises UsageError naming the bad field."""
    if path.is_dir():
        raise UsageError(f"grid {str(path)!r} is a folder; give the grid's YAML file")
    if not path.is_file():
        raise UsageError(f"grid {str(path)!r}: no such file")
    try:
        data = load_config_yaml(path.read_text(encoding="utf-8")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(f"grid {str(path)!r}: not valid UTF-8 YAML: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"grid {str(path)!r}: expected a mapping")
    return grid_from_dict(data, path.parent, output=str(output))


def grid_from_dict(data: dict[str, Any], base: Path, **runner: Any) -> ExperimentParams:
    """The grid of `data` (a grid file's mapping), relative paths resolved against `base`."""
    allowed = {f.name for f in dataclasses.fields(ExperimentParams)} - set(RUNNER_OPTIONS)
    unknown = set(data) - allowed
    if unknown:
        raise UsageError(
            f"grid field {sorted(unknown)[0]!r}: unknown (expected {', '.join(sorted(allowed))})"
        )
    if "mixtures" not in data:
        raise UsageError("grid field 'mixtures': required")
    worlds = data.get("worlds") or {}
    if not isinstance(worlds, dict) or not all(isinstance(v, dict | None) for v in worlds.values()):
        raise UsageError("grid field 'worlds': expected a mapping of name -> world config overrides")
    if not worlds and "input" not in data:
        raise UsageError("grid field 'input': required when no 'worlds' are given")
    if worlds and ("input" in data or "world" in data):
        raise UsageError("grid field 'input': give either 'worlds' (built here) or 'input' and 'world'")

    def absolute(value: str) -> str:
        return value if "://" in value or Path(value).is_absolute() else str((base / value).resolve())

    mixtures = data["mixtures"]
    if not isinstance(mixtures, dict) or not mixtures:
        raise UsageError("grid field 'mixtures': expected a mapping of name -> spec file")
    raw_inputs = data.get("input", [])
    inputs = raw_inputs if isinstance(raw_inputs, list) else [raw_inputs]
    seeds = seed_list(data, "seeds", [0])
    trainable = {f.name for f in dataclasses.fields(TrainConfig)} - {"seed"}
    train_settings = checked_settings(data, "train", "training", stage("train").params, trainable)
    probe_settings = checked_settings(data, "probe", "probe", stage("probe").params, PROBE_SETTINGS)
    if not isinstance(data.get("predict", True), bool):
        raise UsageError(f"grid field 'predict': expected true or false, got {data['predict']!r}")
    replicates = data.get("replicates", "paired")
    if replicates not in REPLICATES:
        raise UsageError(f"grid field 'replicates': {replicates!r} is not one of {', '.join(REPLICATES)}")
    world = absolute(data["world"]) if data.get("world") else None
    budget = data.get("budget_tokens")
    probes = absolute(data["probes"]) if data.get("probes") else (f"{world}/probes" if world else None)
    if probes is None and not worlds:
        raise UsageError("grid field 'probes': required when no 'world' is given")
    return ExperimentParams(
        input=[absolute(str(i)) for i in inputs],
        mixtures={str(k): absolute(str(v)) for k, v in mixtures.items()},
        world=world,
        probes=probes,
        worlds={str(k): dict(v or {}) for k, v in worlds.items()},
        world_preset=str(data.get("world_preset", "tiny")),
        world_seeds=seed_list(data, "world_seeds", [0]) or [0],
        seeds=seeds or [0],
        mixture_seeds=seed_list(data, "mixture_seeds", None),
        init_seeds=seed_list(data, "init_seeds", None),
        replicates=replicates,
        train=train_settings,
        probe=probe_settings,
        predict=data.get("predict", True),
        budget_tokens=None if budget is None else budget_count(budget, "grid field 'budget_tokens'"),
        output=str(runner.get("output", "")),
        overwrite=bool(runner.get("overwrite", False)),
    )


@dataclass(frozen=True)
class Replicate:
    """One draw of the grid's seeds: the world (None: the grid's own input) and the mixture and
    initialisation seeds."""

    world: str | None
    world_seed: int | None
    mixture_seed: int
    init_seed: int

    def key(self, mixture: str) -> str:
        """The run's folder name under runs/ (`raw-s0` when one seed drives both mixture and model)."""
        seeds = (
            f"s{self.mixture_seed}"
            if self.mixture_seed == self.init_seed
            else f"m{self.mixture_seed}-i{self.init_seed}"
        )
        run = f"{mixture}-{seeds}"
        return run if self.world is None else f"{self.world}-w{self.world_seed}/{run}"


def replicates(params: ExperimentParams) -> list[Replicate]:
    """The grid's replicates (see the module doc); UsageError when paired axes differ in length."""
    mixture_seeds = params.mixture_seeds or params.seeds
    init_seeds = params.init_seeds or params.seeds
    worlds: list[tuple[str | None, int | None]] = [(None, None)]
    axes: list[list[Any]] = [mixture_seeds, init_seeds]
    names = [
        "mixture_seeds" if params.mixture_seeds else "seeds",
        "init_seeds" if params.init_seeds else "seeds",
    ]
    if params.worlds:
        axes.insert(0, params.world_seeds)
        names.insert(0, "world_seeds")
    if params.replicates == "paired":
        if len({len(a) for a in axes}) != 1:
            raise UsageError(
                "grid field 'replicates': paired seeds need axes of one length "
                f"(got {', '.join(str(len(a)) for a in axes)}); use replicates: crossed"
            )
        draws = list(zip(*axes, strict=True))
    else:
        draws = list(itertools.product(*axes))
    refuse_repeated_draws(draws, list(zip(names, axes, strict=True)))
    out = []
    for draw in draws:
        if params.worlds:
            world_seed, mixture_seed, init_seed = draw
            worlds = [(name, world_seed) for name in params.worlds]
        else:
            mixture_seed, init_seed = draw
        out += [Replicate(w, ws, mixture_seed, init_seed) for w, ws in worlds]
    return out


@dataclass(frozen=True)
class ExperimentPlan:
    params: ExperimentParams
    stages: list[StageSpec]
    runs: dict[str, Path]  # run key -> its run directory
    meta: dict[str, dict[str, Any]]  # run key -> world, seeds, mixture and the reference it is predicted on


def grid_settings(params: ExperimentParams) -> None:
    """Every mixture spec of the grid (a pipeline checks them before any stage runs)."""
    for name, path in params.mixtures.items():
        try:
            load_spec(path)
        except SpecError as error:
            raise UsageError(f"grid mixture {name!r} ({path}): {error}") from None


def check(params: ExperimentParams) -> ExperimentPlan:
    """Every mixture spec, the probe files, the grid's input and every stage's settings (training, probing,
    ...), checked before anything runs or the output folder is made; and the stages of every world, and the
    mix, train and probe stages of every replicate and mixture."""
    grid_settings(params)
    check_output(params)
    if not params.worlds:
        check_probes(params)
        if not params.finished_only:  # finished runs are reported without reading the input again
            _check_input(params)
    output = Path(params.output)
    mix, train, probe = stage("mix"), stage("train"), stage("probe")
    stages: list[StageSpec] = []
    runs: dict[str, Path] = {}
    meta: dict[str, dict[str, Any]] = {}
    built: dict[tuple[str, int], tuple[str, str, dict[str, Any]]] = {}
    for replicate in replicates(params):
        inputs, world_dir, probes = params.input, params.world, params.probes
        needs_world: list[str] = []
        dose: dict[str, Any] = {}  # the world's stale share and other settings (trainers.dose_response)
        if replicate.world is not None:
            where = (replicate.world, int(replicate.world_seed or 0))
            if where not in built:
                overrides = params.worlds[where[0]]
                specs, dedup_dir, world_root = world_stages(
                    params.output, params.world_preset, overrides, *where
                )
                stages += specs
                built[where] = (dedup_dir, world_root, world_dose(params.world_preset, overrides, *where))
            dedup_dir, world_dir, dose = built[where]
            inputs, probes = [dedup_dir], f"{world_dir}/probes"
            needs_world = [f"dedup {where[0]}-w{where[1]}"]
        only = params.worlds.get(replicate.world or "", {}).get("mixtures") if replicate.world else None
        for name, spec in params.mixtures.items():
            if only is not None and name not in only:
                continue
            key = replicate.key(name)
            mixture_dir, run_dir = output / "mixtures" / key, output / "runs" / key
            settings = {"tokens": TrainConfig.tokens, **params.train, "seed": replicate.init_seed}
            train_params = train.params(mixture=str(mixture_dir), output=str(run_dir), **settings)
            probe_params = probe.params(
                run=str(run_dir),
                probes=probes,
                output=str(run_dir / "probe"),
                world=world_dir,
                **params.probe,
            )
            mix_inputs, mix_needs = inputs, needs_world
            if replicate.world is not None and load_spec(spec).strata is not None:
                # A stratified mixture reads the labelled documents (its strata column is page_type).
                mix_inputs = [str(Path(inputs[0]).parent / "labelled")]
                mix_needs = [needs_world[0].replace("dedup ", "label ", 1)]
            overrides = {"seed": replicate.mixture_seed, "budget_tokens": params.budget_tokens}
            mix_params = mix.params(mix_inputs, spec, str(mixture_dir), **overrides)
            stages += [
                spec_of(f"mix {key}", mix, mix_params, needs=mix_needs),
                spec_of(f"train {key}", train, train_params, needs=[f"mix {key}"]),
                spec_of(f"probe {key}", probe, probe_params, needs=[f"train {key}"]),
            ]
            runs[key] = run_dir
            meta[key] = {
                "mixture": name,
                "world": replicate.world,
                "world_seed": replicate.world_seed,
                "mixture_seed": replicate.mixture_seed,
                "init_seed": replicate.init_seed,
                "seed": replicate.init_seed,
                "probes": probes,
                "mixture_dir": str(mixture_dir),
                **dose,
            }
    # Every stage's settings before the first one runs, as a pipeline does (not for --finished-only, which
    # runs nothing: a grid probed on CUDA can still be reported on a machine without it).
    for spec in [] if params.finished_only else stages:
        if spec.stage.settings is not None:
            try:
                spec.stage.settings(spec.params)
            except UsageError as error:
                raise UsageError(f"grid stage {spec.name!r}: {error}", option=error.option) from None
    if elsewhere := [] if params.finished_only or params.mixtures_only else trained_elsewhere(runs):
        raise UsageError(
            f"run {elsewhere[0]!r} and {len(elsewhere) - 1} more were trained elsewhere (train-runs): report "
            "them with --finished-only, or delete them to retrain here (their markers name the other machine)"
        )
    return ExperimentPlan(params, stages, runs, meta)


def _check_input(params: ExperimentParams) -> None:
    """The grid's own input: document Parquet with the columns every mixture's filters and strata need, read
    from the first file's footer (its mix stages would find a bad one only after the output was made)."""
    try:
        columns = input_columns(document_files(params.input, NOT_DOCUMENTS))
        for path in params.mixtures.values():
            check_columns(load_spec(path), columns)
    except UsageError as error:
        raise UsageError(f"grid field 'input': {error}") from None


def run(plan: ExperimentPlan, spark: SparkProvider) -> StageResult:
    """Build the worlds, mix, train and probe every replicate under `output` (complete stages are skipped),
    predict every run's cutoff from its mixture, then write the experiment's tables and summary; the
    summary holds the table's rows."""
    output = Path(plan.params.output)
    output.mkdir(parents=True, exist_ok=True)
    if plan.params.mixtures_only:
        data = [spec for spec in plan.stages if spec.kind not in ("train", "probe")]
        on_stage = progress.current().stages("experiment", [s.name for s in data])
        run_stages(data, spark, on_stage=on_stage, rebuild=REMOVED_REBUILDS)
        return StageResult(hand_over(output, plan.stages, plan.meta), value=[])
    if plan.params.finished_only:
        params = {spec.name: dataclasses.asdict(spec.params) for spec in plan.stages}
        settings = {key: (params[f"train {key}"], params[f"probe {key}"]) for key in plan.runs}
        runs = finished_runs(plan.runs, {key: plan.meta[key]["mixture_dir"] for key in plan.runs}, settings)
    else:
        for key, run_dir in plan.runs.items():
            if forget_unreadable_probe(run_dir / "probe"):  # its complete marker would skip the probe
                progress.current().say(f"probe {key}: probe.json unreadable, probing it again")
        on_stage = progress.current().stages("experiment", [spec.name for spec in plan.stages])
        run_stages(plan.stages, spark, on_stage=on_stage, rebuild=REMOVED_REBUILDS)
        runs = plan.runs
    if plan.params.predict:
        for key, run_dir in runs.items():
            predict_run(run_dir, plan.meta[key])
    report = write_report(runs, output, mixtures={k: plan.meta[k]["mixture"] for k in runs})
    meta = plan.meta
    rows = [{**row, **{k: v for k, v in meta[row["run"]].items() if k != "probes"}} for row in report.rows]
    rows = with_provenance(rows, runs)
    (output / "experiments.json").write_text(json.dumps(finite_json(rows), indent=2, default=str) + "\n")
    summary = summarise_grid(rows)
    write_summary(summary, output)
    return StageResult(
        {"runs": len(rows), "table": str(output / "experiments.md"), "rows": rows, "summary": summary},
        value=rows,
    )


STAGE = Stage("experiment", ExperimentParams, check, run, settings=grid_settings)


def experiment(
    grid: Annotated[Path, typer.Argument(help="Grid YAML (see pipelines/grid.yaml).", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output folder for mixtures, runs and tables.")
    ],
    master: Master = "local[*]",
    conf: Conf = None,
    finished_only: Annotated[
        bool,
        typer.Option("--finished-only", help="Run nothing: tables and summary of the runs already probed."),
    ] = False,
    mixtures_only: Annotated[
        bool,
        typer.Option(
            "--mixtures-only",
            help="Build the worlds and mixtures only and write OUTPUT/runs.json, to train and probe the runs "
            "elsewhere with `chronomix train-runs OUTPUT` (a GPU machine needs no Spark).",
        ),
    ] = False,
) -> None:
    """Train one model per mixture spec and replicate (mixture, initialisation and, with `worlds`, world
    seeds), probe each, and predict each cutoff from its mixture with the audit's predictor: writes
    experiments.md / .csv / .json (effective cutoff with its interval, gap in months, newest-version share,
    predicted cutoff, accuracy per frequency bucket), summary.md / .json (cells, paired contrasts,
    dose-response slopes over the worlds' stale shares, audit validation) and cutoff_curves.png. Reruns reuse what is finished; with --finished-only nothing runs and
    the tables hold the runs probed so far. A grid split across machines: --mixtures-only here, `chronomix
    train-runs OUTPUT` where the GPU is, its runs/ copied back, then --finished-only here."""
    if finished_only and mixtures_only:
        raise UsageError("--mixtures-only: runs the data stages, --finished-only runs nothing; give one")
    params = dataclasses.replace(
        load_grid(grid, output), finished_only=finished_only, mixtures_only=mixtures_only
    )
    result = run_command(STAGE, params, spark_options(master, conf))
    if mixtures_only:
        for line in hand_over_lines(result.summary, grid, output):
            console.print(line, markup=False, highlight=False, soft_wrap=True)  # commands to copy: unbroken
        return
    console.print(results_table(result.value))
    console.print(
        f"tables: {output / 'experiments.md'}  summary: {output / 'summary.md'}  "
        f"curves: {output / 'cutoff_curves.png'}",
        markup=False,
    )
