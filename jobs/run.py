"""`chronomix run PIPELINE.yaml`: the command that runs a declarative pipeline (jobs/pipeline.py)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jobs import progress
from jobs.options import Conf
from jobs.pipeline import Pipeline, load_pipeline, refuse_missing_inputs, run_pipeline
from jobs.registry import KINDS
from jobs.runner import StageOutcome

console = Console(width=None if Console().is_terminal else 160)


def run(
    pipeline: Annotated[
        Path, typer.Argument(help="Pipeline YAML (see pipelines/demo.yaml).", show_default=False)
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output folder; overrides the pipeline's `output`.")
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master; overrides the pipeline's spark.master.", envvar="CHRONOMIX_MASTER"),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Rerun from this stage on (earlier stages must be complete).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Stop after this stage.")] = None,
    conf: Conf = None,
) -> None:
    plan = load_pipeline(pipeline, output=output, master=master, conf=conf)
    refuse_missing_inputs(plan, start, until)  # a later stage's, before the earlier ones run
    names = [spec.name for spec in plan.stages]
    position = progress.current().stages(f"pipeline {plan.path.stem}", names)
    started = time.perf_counter()

    def show(name: str, status: str) -> None:
        position(name, status)
        if status == "done":
            elapsed = time.perf_counter() - started
            progress.current().say(
                f"[green]    done[/] {escape(name)}  [dim]({elapsed:,.0f} s into the pipeline)[/]"
            )

    outcomes = run_pipeline(plan, start=start, until=until, on_stage=show)
    table = Table(title=f"pipeline {escape(plan.path.name)} -> {escape(str(plan.output))}")
    for column in ("stage", "kind", "status", "seconds", "summary"):
        table.add_column(column)
    for outcome in outcomes:
        brief = ", ".join(f"{k}={v}" for k, v in outcome.summary.items() if not isinstance(v, (dict, list)))
        status = f"{outcome.status} (other code)" if outcome.other_code else outcome.status
        table.add_row(outcome.name, outcome.kind, status, f"{outcome.seconds:,.1f}", brief[:100])
        if lost := _losses(outcome):  # the reasons, where they were only in _stats.json
            table.add_row("", "", "", "", f"[yellow]{escape(lost[:200])}[/]")
    console.print(table)
    print_final_results(plan, outcomes, console)


def _losses(outcome: StageOutcome) -> str:
    """A stage's dropped documents and skipped spans by reason, in a line ("" where none)."""
    stats = outcome.stats or {}
    dropped = outcome.summary.get("dropped") or stats.get("dropped") or {}
    skipped = (stats.get("skipped") or {}).get("by_reason") or {}
    parts = [f"dropped {reason} {n:,}" for reason, n in sorted(dropped.items()) if n]
    parts += [f"skipped {reason} {n:,}" for reason, n in sorted(skipped.items()) if n]
    return ", ".join(parts)


# The help lists the stage kinds from the registry, so that a new kind cannot be left out of it.
run.__doc__ = f"""Run a pipeline of stages ({", ".join(KINDS)}), each stage's output feeding the next.
    Complete stages are skipped on a rerun (their `_complete.json` fingerprint covers parameters and inputs),
    so an interrupted run resumes where it stopped."""


def print_final_results(pipeline: Pipeline, outcomes: list[StageOutcome], console: Any) -> None:
    """After a pipeline: where the report is, and the effective-cutoff / long-tail table if one was made."""
    for outcome in outcomes:
        if outcome.kind == "experiment" and outcome.summary.get("rows"):
            from jobs.report import results_table

            console.print(results_table(outcome.summary["rows"]))
            console.print(
                f"experiment tables: {pipeline.stage_dir(outcome.name) / 'experiments.md'}", markup=False
            )
    for outcome in outcomes:
        if outcome.kind == "audit":
            console.print(f"audit report: {pipeline.stage_dir(outcome.name) / 'report.html'}", markup=False)
