"""`chronomix probe`: effective cutoff and long-tail accuracy of a run or any Hugging Face causal LM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from trainers.probes import find_probe_files, run_probes


def probe(
    run: Annotated[
        Path,
        typer.Argument(
            help="Run directory from `chronomix train`, or any local Hugging Face causal LM directory."
        ),
    ],
    probes: Annotated[
        Path,
        typer.Option(
            "--probes",
            help="A world's probes/ directory (temporal.parquet, facts.parquet), a world directory, or any "
            "Parquet file/directory of dated versions (text, created or month, resource or url or id).",
        ),
    ],
    model: Annotated[
        Path | None, typer.Option("--model", help="Probe this Hugging Face model directory instead of RUN's.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the results (default: RUN/probe).")
    ] = None,
    world: Annotated[
        Path | None,
        typer.Option(
            help="World directory to count fact frequencies in (default: the one holding --probes)."
        ),
    ] = None,
    k_tokens: Annotated[int, typer.Option(help="Tokens of each version scored (the first K).", min=1)] = 128,
    batch_size: Annotated[int, typer.Option(help="Sequences scored per forward pass.", min=1)] = 16,
    device: Annotated[str, typer.Option(help="auto (CUDA if present), cpu, cuda or cuda:N.")] = "auto",
    normalisation: Annotated[
        str, typer.Option(help="Per-resource normalisation of NLL: zscore or center.")
    ] = "zscore",
    length_norm: Annotated[
        str, typer.Option(help="Fact scoring: none (sum of log-probs) or chars (per character).")
    ] = "none",
    bucket_base: Annotated[int, typer.Option(help="Frequency buckets: 0, then powers of this.", min=2)] = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing results.")] = False,
) -> None:
    """Measure a model's effective cutoff (the month whose versions of the resources it fits best, by
    normalised NLL of their first K tokens; Cheng et al. 2024) and its long-tail accuracy (fact probes
    ranked against distractors by log-likelihood, per bucket of how many training documents state the fact).

    Writes cutoff_curve.csv, cutoff.png, longtail.csv, longtail.png and probe.json. RUN may be a chronomix run
    (its newest training month and mixture are read from run.json) or, with its own dated versions, any
    Hugging Face causal LM directory.
    """
    model_dir = model or run
    out = output or run / "probe"
    if (out / "probe.json").exists() and not overwrite:
        raise typer.BadParameter(
            f"{out} already holds probe results (use --overwrite)", param_hint="--output"
        )
    try:
        versions, facts = find_probe_files(probes)
    except FileNotFoundError as error:
        raise typer.BadParameter(str(error), param_hint="--probes") from None
    run_info: dict[str, Any] = {}
    if (run / "run.json").exists():
        run_info = json.loads((run / "run.json").read_text())
    world_dir = world or (facts.parent.parent if facts is not None else None)
    try:
        result = run_probes(
            model_dir,
            out,
            versions=versions,
            facts=facts,
            newest_month=run_info.get("newest_month"),
            mixture_dir=run_info.get("mixture"),
            world_dir=world_dir,
            k_tokens=k_tokens,
            batch_size=batch_size,
            device=device,
            normalisation=normalisation,
            length_norm=length_norm,
            bucket_base=bucket_base,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    print_probe(result, out)


def print_probe(result: dict[str, Any], output: Path, console: Console | None = None) -> None:
    """Rich tables of the cutoff and of accuracy per frequency bucket."""
    console = console or Console()
    if "cutoff" in result:
        cutoff = result["cutoff"]
        table = Table(title=f"effective cutoff ({result['model']})")
        for name in ("effective cutoff", "newest month in data", "gap (months)", "resources", "months"):
            table.add_column(name, justify="right")
        table.add_row(
            str(cutoff["effective_cutoff"]),
            str(result.get("newest_month") or "-"),
            str(cutoff["gap_months"] if cutoff["gap_months"] is not None else "-"),
            f"{cutoff['resources']:,}",
            str(cutoff["months"]),
        )
        console.print(table)
    if "longtail" in result:
        longtail = result["longtail"]
        table = Table(title=f"long-tail accuracy (chance {longtail['chance']:.2f})")
        for name in ("training docs stating the fact", "probes", "accuracy"):
            table.add_column(name, justify="right")
        for bucket in longtail["buckets"]:
            table.add_row(bucket["bucket"], f"{bucket['n_probes']:,}", f"{bucket['accuracy']:.3f}")
        for side in ("head", "tail"):
            value = longtail[f"{side}_accuracy"]
            table.add_row(f"{side} third", "", "-" if value is None else f"{value:.3f}")
        console.print(table)
    console.print(f"results in {output}")
