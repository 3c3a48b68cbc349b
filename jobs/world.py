"""`chronomix world`: generate the synthetic temporal world (WARC dumps, truth, probes) into a directory."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.fs import AtomicStageOutput, output_exists
from jobs.runner import run_command
from world import (
    WorldConfig,
    WorldConfigError,
    WorldSummary,
    generate_world,
    load_config,
    preset_config,
    read_config_fields,
)


@dataclass(frozen=True)
class WorldParams(StageParams):
    """`chronomix world` and the `world` stage kind. A pipeline stage may also set any WorldConfig field
    (`overrides`) when it names no config file."""

    output: str
    preset: str = "tiny"  # tiny (CPU minutes), small, or large (GPU)
    seed: int | None = None  # None: the config file's seed, else 0
    config: str | None = None  # a world.yaml overriding fields of the preset
    overrides: dict[str, Any] = field(default_factory=dict)
    overwrite: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], where: str, **runner: Any) -> WorldParams:
        """As StageParams.from_mapping; keys other than preset, seed and config are WorldConfig overrides."""
        known = {f.name for f in dataclasses.fields(cls)} - {"overrides"}
        overrides = {k: v for k, v in values.items() if k not in known}
        given = {k: v for k, v in values.items() if k in known}
        if "preset" in given and given.get("config"):
            _refuse_two_presets(str(given["preset"]), str(given["config"]), f"{where}: preset")
        return super().from_mapping({**given, "overrides": overrides}, where, **runner)

    def fingerprint_values(self) -> dict[str, Any]:
        """As StageParams's, with the seed a stage without a config file gets when it names none (0): a
        pipeline that writes out `seed: 0` and one that leaves it out make the same world, and neither
        reruns it (and every stage after it) for the other."""
        values = super().fingerprint_values()
        if values.get("seed") is None and not self.config:
            values["seed"] = 0
        return values

    def former_fingerprint_values(self) -> list[dict[str, Any]]:
        """Before 2026-12-05 a seed left out fingerprinted as None: those stages stay finished."""
        if self.seed is None and not self.config:
            return [{**self.fingerprint_values(), "seed": None}]
        return []


def _refuse_two_presets(preset: str, config: str, named_as: str) -> None:
    """UsageError when the config file's own `preset:` names another preset than `preset`: the file's
    would win without a word. A file that cannot be read is left to `check`, which names why."""
    try:
        in_file = read_config_fields(config).get("preset")
    except WorldConfigError:
        return
    if in_file is not None and str(in_file) != preset:
        raise UsageError(f"{named_as} {preset} and {config}'s preset: {in_file} disagree; give one")


@dataclass(frozen=True)
class WorldPlan:
    params: WorldParams
    config: WorldConfig


def check(params: WorldParams) -> WorldPlan:
    """The resolved world config (preset, file, seed, overrides); UsageError naming the bad field, or an
    existing output."""
    if params.config and params.overrides:
        raise UsageError(
            f"world: give the config file or field overrides, not both ({sorted(params.overrides)})"
        )
    try:
        if params.config:
            config = load_config(Path(params.config), preset=params.preset, seed=params.seed)
        else:
            config = preset_config(params.preset, seed=params.seed or 0, **params.overrides)
    except WorldConfigError as error:
        raise UsageError(str(error)) from None
    # blank (the current folder, which --overwrite wiped) and a file are refused, whatever --overwrite says
    if output_exists(params.output, params.overwrite) and not params.overwrite:
        raise UsageError(f"{params.output} exists; pass --overwrite to replace it", option="--output")
    return WorldPlan(params, config)


def run(plan: WorldPlan, spark: SparkProvider) -> StageResult:
    """Generate the world into `output`, atomically: an interrupted run leaves no half-written world."""
    with AtomicStageOutput(plan.params.output, plan.params.overwrite) as tmp:
        summary = generate_world(plan.config, tmp.path)  # a local folder: its path is the file system's
    summary.output_dir = str(plan.params.output)
    return StageResult(
        {"documents": summary.documents, "tokens": summary.tokens, "dumps": len(summary.dumps)}, value=summary
    )


STAGE = Stage("world", WorldParams, check, run, settings=check)


def world(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory to create (refused if it exists).")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="world.yaml overriding fields of the preset.")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            help="Seed (>= 0): the same seed gives byte-identical files. Default: the config file's, else 0.",
        ),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            help="tiny (CPU minutes), small, or large (GPU). Default: the config file's, else tiny.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
) -> None:
    """Generate a synthetic temporal world: Common Crawl-like WARC dumps of versioned resource pages, stale
    mirrors, news and filler pages, with the ground truth (truth/documents.parquet, truth/facts.parquet) and
    probes (probes/temporal.parquet, probes/facts.parquet) for effective-cutoff and long-tail experiments.

    A `preset:` key in the config file picks the preset (a --preset naming another is refused); its other
    keys override fields; --seed overrides the file's seed.
    """
    if preset is not None and config is not None:
        try:
            _refuse_two_presets(preset, str(config), "--preset")
        except UsageError as error:
            raise typer.BadParameter(str(error), param_hint="--preset") from None
    params = WorldParams(
        output=str(output),
        preset=preset or "tiny",
        seed=seed,
        config=None if config is None else str(config),
        overwrite=overwrite,
    )
    try:
        summary = run_command(STAGE, params).value
    except UsageError as error:
        raise typer.BadParameter(str(error), param_hint=error.option) from None
    print_summary(summary)


def print_summary(summary: WorldSummary, console: Console | None = None) -> None:
    """A rich table of documents, tokens and stale share per dump, with totals."""
    table = Table(title=f"world {summary.preset} (seed {summary.seed}) -> {escape(str(summary.output_dir))}")
    table.add_column("dump", no_wrap=True, min_width=15)
    table.add_column("month", no_wrap=True)
    for name in ("documents", "tokens", "resource pages", "stale share"):
        table.add_column(name, justify="right")
    for dump in summary.dumps:
        table.add_row(
            dump.dump,
            dump.month,
            f"{dump.documents:,}",
            f"{dump.tokens:,}",
            f"{dump.resource_pages:,}",
            f"{dump.stale_share:.1%}",
        )
    table.add_row("total", "", f"{summary.documents:,}", f"{summary.tokens:,}", "", "", style="bold")
    console = console or Console()
    console.print(table)
    console.print(
        f"{summary.facts:,} facts, {summary.temporal_probes:,} temporal probes, {summary.fact_probes:,} fact "
        f"probes ({summary.facts_unprobed['no_distractor']:,} facts left unprobed: no distractor to draw); "
        f"generated in {summary.seconds:.1f} s"
    )
