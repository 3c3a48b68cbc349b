"""The stage kinds a pipeline can run (jobs/pipeline.py): each runner calls the same library and job
functions as the CLI command of that name, writes into `ctx.output`, and returns a small summary dict that
goes into the stage's completion marker and the final table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jobs.pipeline import StageContext
from jobs.stage import UsageError


def _known(ctx: StageContext, allowed: set[str]) -> dict[str, Any]:
    unknown = set(ctx.params) - allowed
    if unknown:
        raise UsageError(
            f"stage {ctx.spec.name!r} ({ctx.spec.kind}): unknown parameter {sorted(unknown)[0]!r} "
            f"(expected {', '.join(sorted(allowed))})"
        )
    return ctx.params


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def run_world(ctx: StageContext) -> dict[str, Any]:
    from jobs.stage import AtomicStageOutput
    from world import WorldConfigError, generate_world, load_config, preset_config

    params = dict(ctx.params)  # preset, seed, config (a world.yaml), and any WorldConfig field to override
    preset, seed, config_path = (
        params.pop("preset", "tiny"),
        params.pop("seed", 0),
        params.pop("config", None),
    )
    try:
        if config_path:
            config = load_config(Path(config_path), preset=preset, seed=seed)
        else:
            config = preset_config(preset, seed=seed, **params)
    except WorldConfigError as error:
        raise UsageError(f"stage {ctx.spec.name!r}: {error}") from None
    with AtomicStageOutput(str(ctx.output), overwrite=True) as tmp:
        summary = generate_world(config, tmp.path)
    return {"documents": summary.documents, "tokens": summary.tokens, "dumps": len(summary.dumps)}


def run_ingest(ctx: StageContext) -> dict[str, Any]:
    from corpus.readers import ReadOptions
    from jobs.ingest import IngestConfig
    from jobs.ingest import run_ingest as ingest
    from jobs.options import parse_added

    params = _known(ctx, {"inputs", "added", "keep_html", "mediawiki_monthly", "format", "batch_size"})
    options = ReadOptions(
        batch_size=int(params.get("batch_size", 1000)),
        keep_html=bool(params.get("keep_html", False)),
        mediawiki_monthly=bool(params.get("mediawiki_monthly", False)),
        added=parse_added(params.get("added")),
    )
    stats = ingest(
        ctx.spark(),
        _as_list(params["inputs"]),
        str(ctx.output),
        IngestConfig(read=options, fmt=params.get("format", "parquet")),
        overwrite=True,
    )
    return {"docs_in": stats.docs_in, "docs_out": stats.docs_out, "dropped": dict(stats.dropped)}


def _stats_summary(stats: Any) -> dict[str, Any]:
    return {"docs_in": stats.docs_in, "docs_out": stats.docs_out, "dropped": dict(stats.dropped)}


def run_date(ctx: StageContext) -> dict[str, Any]:
    from jobs.date import DateConfig
    from jobs.date import run_date as date

    params = _known(ctx, {"input", "reference"})
    stats = date(
        ctx.spark(),
        _as_list(params["input"]),
        str(ctx.output),
        DateConfig(reference=params.get("reference")),
        overwrite=True,
    )
    return {
        **_stats_summary(stats),
        "sources": {k: v for k, v in stats.counters.items() if k.startswith("source")},
    }


def run_dedup(ctx: StageContext) -> dict[str, Any]:
    from jobs.dedup import DedupJob
    from jobs.dedup import run_dedup as dedup

    params = _known(ctx, {"input", "keep", "index"})
    job = DedupJob(keep=params.get("keep", "newest"), index=params.get("index"))
    stats = dedup(ctx.spark(), _as_list(params["input"]), str(ctx.output), job, overwrite=True)
    return _stats_summary(stats)


def run_langid(ctx: StageContext) -> dict[str, Any]:
    from jobs.langid import langid_config
    from jobs.langid import run_langid as langid
    from mixers.langid import LangIdConfig

    params = _known(ctx, {"input", "lid_model"})
    defaults = LangIdConfig()
    config = langid_config(params.get("lid_model"), defaults.threshold, True, defaults.prefix_chars)
    stats = langid(ctx.spark(), _as_list(params["input"]), str(ctx.output), config, overwrite=True)
    return _stats_summary(stats)


def run_mix(ctx: StageContext) -> dict[str, Any]:
    from jobs.langid import langid_config
    from jobs.mix import run_mix as mix
    from mixers.langid import LangIdConfig
    from mixers.spec import load_spec

    params = _known(ctx, {"input", "spec"})
    defaults = LangIdConfig()
    lid = langid_config(None, defaults.threshold, True, defaults.prefix_chars)
    result = mix(
        ctx.spark(),
        _as_list(params["input"]),
        load_spec(params["spec"]),
        str(ctx.output),
        lid,
        overwrite=True,
    )
    return _stats_summary(result.stats)


def run_audit(ctx: StageContext) -> dict[str, Any]:
    from jobs.audit import AuditConfig
    from jobs.audit import run_audit as audit

    params = _known(ctx, {"input", "reference", "run", "sample", "title"})
    config = AuditConfig(
        reference=params.get("reference"),
        run=params.get("run"),
        sample=float(params.get("sample", 1.0)),
        title=params.get("title"),
    )
    summary = audit(
        ctx.spark(), _as_list(params["input"]), str(ctx.output), config, overwrite=True, print_table=False
    )
    return {"report": str(ctx.output / "report.html"), **summary.get("headline", {})}


def run_experiment(ctx: StageContext) -> dict[str, Any]:
    from jobs.experiment import grid_from_dict
    from jobs.experiment import run_experiment as experiment

    grid = grid_from_dict(dict(ctx.params), ctx.pipeline.path.parent)
    ctx.output.mkdir(parents=True, exist_ok=True)
    rows = experiment(ctx.spark, grid, ctx.output)
    return {"runs": len(rows), "table": str(ctx.output / "experiments.md"), "rows": rows}


RUNNERS = {
    "experiment": run_experiment,
    "world": run_world,
    "ingest": run_ingest,
    "date": run_date,
    "dedup": run_dedup,
    "langid": run_langid,
    "mix": run_mix,
    "audit": run_audit,
}


def print_final_results(pipeline: Any, outcomes: list[Any], console: Any) -> None:
    """After a pipeline: where the report is, and the effective-cutoff / long-tail table if one was made."""
    from jobs.experiment import results_table

    for outcome in outcomes:
        if outcome.kind == "experiment" and outcome.summary.get("rows"):
            console.print(results_table(outcome.summary["rows"]))
            console.print(f"experiment tables: {pipeline.stage_dir(outcome.name) / 'experiments.md'}")
    for outcome in outcomes:
        if outcome.kind == "audit":
            console.print(f"audit report: {pipeline.stage_dir(outcome.name) / 'report.html'}")
