"""`chronomix probe`: effective cutoff and long-tail accuracy of a run or any Hugging Face causal LM."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analysis.cutoff import NORMALISATIONS
from jobs import progress
from jobs.contract import SparkProvider, Stage, StageParams, StageResult, UsageError
from jobs.fs import relation
from jobs.probe_checks import check_output, check_versions, probe_inputs, run_mixture
from jobs.runner import run_command
from trainers.checkpoint import RUN_FORMAT
from trainers.probes import LENGTH_NORMS, find_probe_files, run_probes
from trainers.train import resolve_device


@dataclass(frozen=True)
class ProbeParams(StageParams):
    """`chronomix probe` and the `probe` stage kind."""

    run: str  # a run directory from `chronomix train`, or any local Hugging Face causal LM directory
    probes: str  # a world's probes/, a world, or Parquet of dated versions
    output: str | None = None  # None: RUN/probe
    model: str | None = None  # probe this model directory instead of RUN's
    world: str | None = None  # where to count fact frequencies; None: the world holding the probes
    # the mixture the model was trained on, to count fact frequencies over; None: the one RUN's run.json names
    mixture: str | None = None
    k_tokens: int | None = None  # None: whole versions, as far as the model's context reaches
    batch_size: int = 16
    device: str = "auto"
    normalisation: str = "zscore"
    length_norm: str = "none"
    bucket_base: int = 2
    overwrite: bool = False

    # added after probe stages were finished: at its default (None) it leaves their fingerprints as they were
    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset({"mixture"})


@dataclass(frozen=True)
class ProbePlan:
    params: ProbeParams
    output: Path
    versions: Path | None
    facts: Path | None
    run_info: dict[str, Any] = field(default_factory=dict)


def settings(params: ProbeParams) -> ProbeParams:
    """The scoring settings, checked before any model or data is loaded (a pipeline checks them before any
    stage runs); reads no input. UsageError naming the bad option."""
    if params.normalisation not in NORMALISATIONS:
        raise UsageError(
            f"--normalisation {params.normalisation!r}: expected one of {', '.join(NORMALISATIONS)}",
            option="--normalisation",
        )
    if params.length_norm not in LENGTH_NORMS:
        raise UsageError(
            f"--length-norm {params.length_norm!r}: expected one of {', '.join(LENGTH_NORMS)}",
            option="--length-norm",
        )
    for option, value, least in (
        ("--batch-size", params.batch_size, 1),
        ("--bucket-base", params.bucket_base, 2),
        ("--k-tokens", params.k_tokens, 1),
    ):
        if value is not None and value < least:
            raise UsageError(f"{option} {value}: must be {least} or more", option=option)
    try:
        resolve_device(params.device)  # an absent CUDA device too, not only a name torch does not know
    except ValueError as error:
        detail = str(error).removeprefix("device: ").removeprefix(repr(params.device)).strip()
        raise UsageError(f"--device {params.device!r}: {detail}", option="--device") from None
    return params


def check(params: ProbeParams) -> ProbePlan:
    """The settings, where the results go, the probe files and the run's run.json; UsageError naming the bad
    option."""
    settings(params)
    run = Path(params.run)
    model = Path(params.model or params.run)
    if not model.is_dir():
        raise UsageError(f"{model}: no such run or model folder", option="--model" if params.model else "RUN")
    output = Path(params.output) if params.output else run / "probe"
    if (output / "probe.json").exists() and not params.overwrite:
        raise UsageError(f"{output} already holds probe results (use --overwrite)", option="--output")
    if params.mixture is not None and not Path(params.mixture).exists():
        raise UsageError(f"{params.mixture}: no such mixture folder or Parquet file", option="--mixture")
    try:
        versions, facts = find_probe_files(params.probes)
    except FileNotFoundError as error:
        raise UsageError(str(error), option="--probes") from None
    run_info = _run_info(run, "RUN")
    if params.model is not None:
        refuse_another_runs_model(Path(params.model), run_info)
    if versions is not None:  # document Parquet failed only once scored, with a TypeError
        check_versions(versions, params.probes)
    mixture = run_mixture(params.mixture, run_info)
    if facts is not None and _docs_read(params.mixture, run_info) is not None:
        refuse_old_docs_read(run, run_info)
    inputs = probe_inputs(params.run, params.model, params.probes, versions, facts, params.world, mixture)
    check_output(output, params.output, params.run, inputs)
    # before the facts' exposure is counted, which was complained of instead
    if not (model / "config.json").exists():
        unfinished = (
            " (is the run finished? a run directory holds the final model)"
            if (model / "checkpoint").exists()
            else ""
        )
        raise UsageError(
            f"{model}: no model in it (no config.json){unfinished}",
            option="--model" if params.model else "RUN",
        )
    return ProbePlan(params, output, versions, facts, run_info)


def run(plan: ProbePlan, spark: SparkProvider) -> StageResult:
    """Probe the model; write the curves, tables, plots and probe.json into the plan's output."""
    params = plan.params
    world_dir = params.world or (plan.facts.parent.parent if plan.facts is not None else None)
    name = Path(params.run).name
    task = progress.current().task(f"probe {name}", unit="scored")
    try:
        result = run_probes(
            params.model or params.run,
            plan.output,
            versions=plan.versions,
            facts=plan.facts,
            newest_month=plan.run_info.get("newest_month"),
            mixture_dir=params.mixture or plan.run_info.get("mixture"),
            # the documents the run read, where the mixture counted over is the run's own
            docs_read=_docs_read(params.mixture, plan.run_info),
            world_dir=world_dir,
            k_tokens=params.k_tokens,
            batch_size=params.batch_size,
            device=params.device,
            normalisation=params.normalisation,
            length_norm=params.length_norm,
            bucket_base=params.bucket_base,
            progress=progress.probing_callback(task, name),
            warn=lambda message: progress.current().say(f"[yellow]warning:[/] {escape(message)}"),
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    finally:
        task.done()
    cutoff, longtail = result.get("cutoff", {}), result.get("longtail", {})
    summary = {
        "effective_cutoff": cutoff.get("effective_cutoff"),
        "gap_months": cutoff.get("gap_months"),
        "accuracy": longtail.get("accuracy"),
    }
    return StageResult(summary, value=result)


def _run_info(folder: Path, option: str) -> dict[str, Any]:
    """FOLDER/run.json (a chronomix run's record) as a mapping; {} where there is none (a plain model
    folder); UsageError naming it where it does not read as one."""
    path = folder / "run.json"
    if not path.exists():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"{path}: not readable as a run's record ({error})", option=option) from None
    if not isinstance(info, dict):
        raise UsageError(f"{path}: not a run's record (expected a JSON object)", option=option)
    return info


def refuse_another_runs_model(model: Path, run_info: dict[str, Any]) -> None:
    """UsageError where --model is a chronomix run trained on another mixture than RUN's: its exposure
    counts and newest month would be read from RUN's mixture, silently (a plain model folder is RUN's to
    name)."""
    theirs = _run_info(model, "--model")
    own_mixture, their_mixture = run_info.get("mixture"), theirs.get("mixture")
    if not own_mixture or not their_mixture:
        return
    if relation(str(own_mixture), str(their_mixture)) != "is":
        how = f"trained on the mixture {their_mixture!r}, not on RUN's {own_mixture!r}"
    elif differ := [k for k in ("docs_read", "newest_month") if theirs.get(k) != run_info.get(k)]:
        how = f"that read its mixture otherwise than RUN ({', '.join(differ)} differ)"
    else:
        return
    raise UsageError(
        f"--model {str(model)!r} is a run {how}: its facts' exposure and newest month would be RUN's; probe "
        f"it as its own run (chronomix probe {model})",
        option="--model",
    )


def refuse_old_docs_read(run: Path, run_info: dict[str, Any]) -> None:
    """UsageError for a run.json of run format 1, whose `docs_read` counted the rows read ahead (the whole
    mixture where the budget covered it), not the documents the model was given: the facts' exposure counted
    over them put unseen facts in the seen buckets, without a word. run.json names its format from e0079de;
    of the runs before, those that name their mixture by a relative path are format 1 for certain (format 2
    wrote it absolute, from 5dd3c9d), and the others are said to be uncertain."""
    if run_info.get("run_format", 1) >= RUN_FORMAT:
        return
    if not Path(str(run_info.get("mixture", ""))).is_absolute():
        raise UsageError(
            f"{run / 'run.json'} was written by a chronomix older than run format {RUN_FORMAT}: its docs_read "
            "counts the rows read ahead, not the documents trained on, so the facts' exposure cannot be "
            "counted; train the run again",
            option="RUN",
        )
    progress.current().say(
        f"[yellow]{escape(str(run / 'run.json'))} names no run format: trained before 5dd3c9d (2026-12-05), "
        "its docs_read counts the rows read ahead and the facts' exposure is overcounted; trained since, "
        f'it is right (adding "run_format": {RUN_FORMAT} to it says so)[/]'
    )


def _docs_read(mixture: str | None, run_info: dict[str, Any]) -> int | None:
    """run.json's `docs_read` where the exposure is counted over the run's own mixture, else None."""
    own = run_info.get("mixture")
    if own is None or (mixture is not None and relation(mixture, own) != "is"):
        return None
    read = run_info.get("docs_read")
    return read if isinstance(read, int) and not isinstance(read, bool) else None


STAGE = Stage("probe", ProbeParams, check, run, settings=settings)


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
    mixture: Annotated[
        Path | None,
        typer.Option(
            help="The mixture the model was trained on, to count fact frequencies over (default: the one "
            "RUN's run.json names)."
        ),
    ] = None,
    k_tokens: Annotated[
        int | None,
        typer.Option(
            help="Tokens of each version scored (the first K); default: the whole version, as far as the "
            "model's context reaches.",
            min=1,
        ),
    ] = None,
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

    Writes cutoff_curve.csv, cutoff.png, longtail.csv, longtail.png and probe.json; a probe that fails leaves
    the output folder as it was. RUN may be a chronomix run (its newest training month and mixture are read
    from run.json) or any Hugging Face causal LM directory: with dated versions (--probes WORLD/probes/
    temporal.parquet) alone, or with a world's fact probes and the mixture it was trained on (--mixture),
    over which the facts' training documents are counted.
    """
    params = ProbeParams(
        run=str(run),
        probes=str(probes),
        output=None if output is None else str(output),
        model=None if model is None else str(model),
        world=None if world is None else str(world),
        mixture=None if mixture is None else str(mixture),
        k_tokens=k_tokens,
        batch_size=batch_size,
        device=device,
        normalisation=normalisation,
        length_norm=length_norm,
        bucket_base=bucket_base,
        overwrite=overwrite,
    )
    try:
        result = run_command(STAGE, params)
    except UsageError as error:
        message = str(error)
        if error.option and message.startswith(error.option):  # typer's message names the option already
            message = message[len(error.option) :].lstrip(": ")
        raise typer.BadParameter(message, param_hint=error.option) from None
    print_probe(result.value, Path(params.output) if params.output else run / "probe")


def print_probe(result: dict[str, Any], output: Path, console: Console | None = None) -> None:
    """Rich tables of the cutoff and of accuracy per frequency bucket."""
    console = console or Console()
    if "cutoff" in result:
        cutoff = result["cutoff"]
        table = Table(title=f"effective cutoff ({escape(str(result['model']))})")
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
    console.print(f"results in {output}", markup=False)
