"""`chronomix world`: generate the synthetic temporal world (WARC dumps, truth, probes) into a directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from corpus.writers import AtomicOutput
from world import WorldConfigError, WorldSummary, generate_world, load_config


def world(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory to create (refused if it exists).")
    ],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="world.yaml overriding fields of the preset.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives byte-identical files.")] = 0,
    preset: Annotated[
        str, typer.Option("--preset", help="tiny (CPU minutes), small, or large (GPU).")
    ] = "tiny",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")] = False,
) -> None:
    """Generate a synthetic temporal world: Common Crawl-like WARC dumps of versioned resource pages, stale
    mirrors, news and filler pages, with the ground truth (truth/documents.parquet, truth/facts.parquet) and
    probes (probes/temporal.parquet, probes/facts.parquet) for effective-cutoff and long-tail experiments.

    A `preset:` key in the config file picks the preset; its other keys override fields; --seed overrides
    the file's seed.
    """
    try:
        resolved = load_config(config, preset=preset, seed=seed)
    except WorldConfigError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        with AtomicOutput(output, overwrite) as tmp:
            summary = generate_world(resolved, tmp)
    except FileExistsError as error:
        raise typer.BadParameter(str(error), param_hint="--output") from None
    summary.output_dir = str(output)
    print_summary(summary)


def print_summary(summary: WorldSummary, console: Console | None = None) -> None:
    """A rich table of documents, tokens and stale share per dump, with totals."""
    table = Table(title=f"world {summary.preset} (seed {summary.seed}) -> {summary.output_dir}")
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
        f"probes; generated in {summary.seconds:.1f} s"
    )
