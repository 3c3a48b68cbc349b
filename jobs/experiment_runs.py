"""`chronomix train-runs EXPERIMENT`: train and probe the runs of an experiment grid whose worlds and mixtures
were built by `chronomix experiment GRID -o EXPERIMENT --mixtures-only`, which writes EXPERIMENT/runs.json.

This command needs torch but not Spark, so a grid's data stages run where Spark is and its models where the
GPU is. Several runs share one GPU at a time (`--workers`): a ~1M-parameter model leaves a large GPU mostly
idle, waiting on Python. Copy EXPERIMENT/runs back (the probe folders and run.json are what the report reads)
and report with `chronomix experiment GRID -o EXPERIMENT --finished-only`, which also predicts every run's
cutoff from its mixture with the audit's predictor.

runs.json holds, per run key, the train and probe stages' parameters, with the paths inside EXPERIMENT
written relative to it, so that the folder can move between machines.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any

import typer

from jobs.contract import UsageError
from jobs.registry import stage
from jobs.runner import MARKER, StageSpec, read_marker, run_stages
from trainers.predict import predict_mixture_cutoff
from trainers.train import resolve_device

RUNS_FILE = "runs.json"
# Left in a run folder by train-runs: its stage markers' fingerprints hold this machine's paths, so a full
# `chronomix experiment` elsewhere would see them as changed and retrain (deleting them); it refuses instead.
TRAINED_ELSEWHERE = "_trained_by_train_runs.json"
FORMAT_VERSION = 1
# The parameters of each stage that name a path, written relative to the experiment folder when inside it.
PATH_FIELDS = {"train": ("mixture", "output"), "probe": ("run", "probes", "output", "world")}
NEEDED_PATHS = (("train", "mixture"), ("train", "output"), ("probe", "output"), ("probe", "probes"))


def write_runs(output: Path, stages: Sequence[StageSpec], meta: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Write OUTPUT/runs.json from an experiment plan's train and probe stages (named `train KEY` and
    `probe KEY`) and each run's seeds and cell; returns the run keys."""
    root = Path(os.path.abspath(output))
    runs: dict[str, dict[str, Any]] = {}
    for spec in stages:
        if spec.kind not in PATH_FIELDS:
            continue
        key = spec.name.split(" ", 1)[1]
        values = dataclasses.asdict(spec.params)
        for name in PATH_FIELDS[spec.kind]:
            values[name] = _relative(values.get(name), root)
        runs.setdefault(key, {})[spec.kind] = values
    for key, run in runs.items():
        run["meta"] = {k: v for k, v in meta.get(key, {}).items() if k not in ("probes", "mixture_dir")}
    document = {"format": FORMAT_VERSION, "runs": runs}
    (root / RUNS_FILE).write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    return list(runs)


def read_runs(experiment: Path) -> dict[str, dict[str, Any]]:
    """The runs of EXPERIMENT/runs.json with their paths made absolute under EXPERIMENT; UsageError when the
    file is missing, unreadable or of another format."""
    path = Path(experiment) / RUNS_FILE
    if not path.is_file():
        raise UsageError(
            f"{path}: no such file (build the mixtures first: chronomix experiment GRID -o {experiment} "
            "--mixtures-only)"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        runs = document["runs"]
        if document.get("format") != FORMAT_VERSION or not isinstance(runs, dict):
            raise ValueError(f"format {document.get('format')!r}, expected {FORMAT_VERSION}")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{path}: not a runs file: {error}") from None
    root = Path(experiment).resolve()
    for key, run in runs.items():
        if not isinstance(run, dict) or not all(isinstance(run.get(kind), dict) for kind in PATH_FIELDS):
            raise UsageError(f"{path}: run {key!r}: expected its {' and '.join(PATH_FIELDS)} parameters")
        if not all(isinstance(run[kind].get(name), str) for kind, name in NEEDED_PATHS):
            raise UsageError(f"{path}: run {key!r}: needs {', '.join(f'{k}.{n}' for k, n in NEEDED_PATHS)}")
        for kind, names in PATH_FIELDS.items():
            for name in names:
                value = run[kind].get(name)
                if isinstance(value, str) and value and not Path(value).is_absolute() and "://" not in value:
                    run[kind][name] = str(root / value)
    return runs


def _relative(value: Any, root: Path) -> Any:
    """A local path inside `root` relative to it (a path given relative to the working folder too)."""
    if not isinstance(value, str) or not value or "://" in value:
        return value
    path = Path(os.path.abspath(value))  # not resolve(): a symlinked subfolder is still inside the experiment
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def probed_since_mixture(probe_dir: str | Path, mixture_dir: str | Path) -> bool:
    """Whether the run's probe is complete and was made from the mixture there now; a mixture rebuilt after
    the probe makes the run stale (trained and probed again, never reported). A run trained by `train-runs`
    names its mixture's fingerprint, which survives copies between machines; otherwise the probe's marker
    must be no older than the mixture's (experiments are local folders: a remote path is not compared)."""
    if read_marker(str(probe_dir)) is None:
        return False
    mixture = read_marker(str(mixture_dir))
    if mixture is None:
        return True  # the mixture is not here (only the runs were copied): nothing to compare with
    recorded = _recorded_fingerprint(Path(probe_dir).parent / TRAINED_ELSEWHERE)
    if recorded:
        return bool(recorded == mixture.get("fingerprint"))
    if "://" in f"{probe_dir}{mixture_dir}":
        return True
    return (Path(probe_dir) / MARKER).stat().st_mtime >= (Path(mixture_dir) / MARKER).stat().st_mtime


def _recorded_fingerprint(record: Path) -> str | None:
    """The mixture fingerprint a train-runs record names; None without a readable one (times decide then)."""
    try:
        value = json.loads(record.read_text()).get("mixture_fingerprint") if record.is_file() else None
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def predict_run(run_dir: Path, meta: Mapping[str, Any]) -> None:
    """The audit's prediction of a probed run's cutoff from its mixture, into RUN/probe/prediction.json. It
    reads nothing of the model, so it is kept while it names the fingerprints of the mixture and the world
    (the reference) there now and is newer than their files; times alone would keep one copied in with its
    old times from an earlier mixture."""
    target = run_dir / "probe" / "prediction.json"
    reference = Path(str(meta["probes"])) / "temporal.parquet"
    if not (run_dir / "probe" / "probe.json").exists() or not reference.exists():
        return
    made_from = {
        "mixture": (read_marker(str(meta["mixture_dir"])) or {}).get("fingerprint"),
        "reference": (read_marker(str(Path(str(meta["probes"])).parent)) or {}).get("fingerprint"),
    }
    inputs = [reference, *Path(meta["mixture_dir"]).glob("*")]
    if target.exists() and all(target.stat().st_mtime >= p.stat().st_mtime for p in inputs):
        try:
            if json.loads(target.read_text()).get("made_from") == made_from:
                return
        except (OSError, ValueError, AttributeError):
            pass  # unreadable: made again
    figures = predict_mixture_cutoff(meta["mixture_dir"], reference)
    target.write_text(json.dumps({**figures["predicted_cutoff"], "made_from": made_from}, indent=2) + "\n")


def finished_runs(run_dirs: Mapping[str, Path], mixture_dirs: Mapping[str, str]) -> dict[str, Path]:
    """The runs whose probe is complete and made from their mixture as it is now (probed_since_mixture);
    names on stderr those left out because their mixture was rebuilt since."""
    done = {k: d for k, d in run_dirs.items() if probed_since_mixture(d / "probe", mixture_dirs[k])}
    if stale := sorted(k for k, d in run_dirs.items() if k not in done and read_marker(str(d / "probe"))):
        print(
            f"{len(stale)} runs left out, mixture rebuilt since their probe: {', '.join(stale)}",
            file=sys.stderr,
        )
    return done


def trained_elsewhere(run_dirs: Mapping[str, Path]) -> list[str]:
    """The run keys whose folders hold runs trained by `train-runs` (see TRAINED_ELSEWHERE)."""
    return sorted(key for key, folder in run_dirs.items() if (Path(folder) / TRAINED_ELSEWHERE).exists())


def run_specs(
    key: str, run: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]
) -> list[StageSpec]:
    """The train and probe stages of one run, with `overrides` (kind -> field -> value) applied."""
    train, probe = stage("train"), stage("probe")
    train_params = train.params(**{**run["train"], **overrides.get("train", {})})
    probe_params = probe.params(**{**run["probe"], **overrides.get("probe", {})})
    return [
        StageSpec(f"train {key}", train, train_params),
        StageSpec(f"probe {key}", probe, probe_params, needs=[f"train {key}"]),
    ]


def _no_spark() -> Any:
    raise RuntimeError("train-runs runs without Spark")


def _run_one(
    key: str, run: dict[str, Any], overrides: dict[str, dict[str, Any]], threads: int
) -> dict[str, Any]:
    """Train and probe one run in a worker process; a failure is reported, not raised, so that the others
    go on."""
    # Probes score texts of many widths, and without expandable segments each width can pin a block of its
    # own; PyTorch reads this when CUDA starts, which in a worker is after this line.
    os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
    import torch

    torch.set_num_threads(threads)
    started = time.perf_counter()
    mixture = read_marker(run["train"]["mixture"]) or {}  # what this run is trained on, read before it is
    try:
        outcomes = run_stages(run_specs(key, run, overrides), _no_spark)
    except Exception as error:  # one run's failure must not stop the grid
        return {
            "run": key,
            "ok": False,
            "error": f"{type(error).__name__}: {error}",
            "trace": traceback.format_exc(),
        }
    probe = outcomes[-1].summary
    (Path(run["train"]["output"]) / TRAINED_ELSEWHERE).write_text(
        json.dumps(
            {"device": overrides["train"]["device"], "mixture_fingerprint": mixture.get("fingerprint")}
        )
    )
    return {
        "run": key,
        "ok": True,
        "seconds": round(time.perf_counter() - started, 1),
        "status": [o.status for o in outcomes],
        "cutoff": probe.get("effective_cutoff"),
        "gap_months": probe.get("gap_months"),
    }


def pending(runs: Mapping[str, Mapping[str, Any]], only: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """(run keys to run, run keys whose mixture is not built): every run, or those of `only`, whose probe is
    not complete."""
    only = list(dict.fromkeys(only)) if only else None  # a key given twice would run twice, at once
    unknown = sorted(set(only or []) - set(runs))
    if unknown:
        raise UsageError(f"--only {unknown[0]!r}: no such run (runs: {', '.join(sorted(runs))})")
    todo, unbuilt = [], []
    for key in only or sorted(runs):
        if probed_since_mixture(runs[key]["probe"]["output"], runs[key]["train"]["mixture"]):
            continue
        (todo if read_marker(runs[key]["train"]["mixture"]) is not None else unbuilt).append(key)
    return todo, unbuilt


def train_runs(
    experiment: Annotated[
        Path, typer.Argument(help="Experiment folder holding runs.json (experiment --mixtures-only).")
    ],
    device: Annotated[
        str, typer.Option(help="auto, cpu, cuda or cuda:N, for training and probing.")
    ] = "auto",
    workers: Annotated[
        int, typer.Option(help="Runs trained at once (processes sharing the device).", min=1)
    ] = 1,
    probe_batch_size: Annotated[
        int | None, typer.Option(help="Sequences per probe batch (default: the grid's).", min=1)
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run keys to run (repeatable; default: all).")
    ] = None,
) -> None:
    """Train and probe every run of EXPERIMENT/runs.json whose mixture is built and whose probe is not
    complete, `workers` at a time, each with the grid's own training settings and seeds (only the device and
    the probe's batch size change). Prints one JSON line per run as it finishes; exits 1 if any run failed,
    after the others finished."""
    runs = read_runs(experiment)
    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as error:
        raise UsageError(f"--device {device!r}: {error}", option="--device") from None
    overrides: dict[str, dict[str, Any]] = {"train": {"device": device}, "probe": {"device": device}}
    if probe_batch_size is not None:
        overrides["probe"]["batch_size"] = probe_batch_size
    todo, unbuilt = pending(runs, only)
    for key in unbuilt:
        print(json.dumps({"run": key, "ok": False, "error": "mixture not built"}), flush=True)
    threads = max(1, (os.cpu_count() or 1) // workers)
    failed = len(unbuilt)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_run_one, key, runs[key], overrides, threads): key for key in todo}
        for future in as_completed(futures):
            try:
                result = future.result()
            # a worker killed (memory, a CUDA abort) breaks the pool: report it, go on with the others
            except Exception as error:
                result = {"run": futures[future], "ok": False, "error": f"{type(error).__name__}: {error}"}
            failed += not result["ok"]
            print(json.dumps({k: v for k, v in result.items() if k != "trace"}), flush=True)
    print(json.dumps({"runs": len(todo), "failed": failed, "experiment": str(experiment)}), flush=True)
    if failed:
        raise typer.Exit(1)
