"""`chronomix train-runs EXPERIMENT`: train and probe the runs of an experiment grid whose worlds and mixtures
were built by `chronomix experiment GRID -o EXPERIMENT --mixtures-only`, which writes EXPERIMENT/runs.json.

This command needs torch but not Spark, so a grid's data stages run where Spark is and its models where the
GPU is. Several runs share one GPU at a time (`--workers`): a ~1M-parameter model leaves a large GPU mostly
idle, waiting on Python. Copy EXPERIMENT/runs back (the probe folders and run.json are what the report reads)
and report with `chronomix experiment GRID -o EXPERIMENT --finished-only`, which also predicts every run's
cutoff from its mixture with the audit's predictor.

runs.json holds, per run key, the train and probe stages' parameters, with the paths inside EXPERIMENT
written relative to it, so that the folder can move between machines. A path outside it (a grid's own
`world:` or `probes:`) is written as it was where the mixtures were built; `--relocate OLD=NEW` reads it
where it is on this machine. Every run's inputs are checked before the first one trains
(jobs/experiment_inputs.py).
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

from jobs.cli import raise_on_sigterm
from jobs.contract import UsageError
from jobs.experiment_inputs import check_inputs
from jobs.registry import stage
from jobs.runner import MARKER, REMOVED_REBUILDS, StageSpec, read_marker, run_stages, write_marker
from trainers.checkpoint import RESUMABLE_FIELDS
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
# The folders train-runs writes (and replaces): write_runs always puts them inside the experiment, and one
# outside it is refused: a runs.json naming ../dataset had train-runs delete that folder and train into it.
WRITTEN_PATHS = (("train", "output"), ("probe", "run"), ("probe", "output"))
# What a probe marker is rewritten to when its probe.json cannot be read: no stage's fingerprint (a hash)
# equals it, so the runner probes the run again instead of skipping it as complete.
UNREADABLE_PROBE = "probe.json unreadable: probe again"


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


def read_runs(experiment: Path, relocate: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The runs of EXPERIMENT/runs.json with their paths made absolute under EXPERIMENT, and those under a
    folder OLD of `relocate` (OLD -> NEW, see parse_relocations) read under NEW; UsageError when the file is
    missing, unreadable or of another format, or when an OLD names none of its paths."""
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
        for kind, name in WRITTEN_PATHS:
            value = run[kind].get(name)
            if value is not None and _under(os.path.normpath(str(value)), str(root)) in (None, ""):
                raise UsageError(
                    f"{path}: run {key!r}: {kind}.{name} {value!r} is not inside the experiment folder "
                    f"{root} (train-runs writes and replaces it; chronomix writes it inside)"
                )
    return _relocated(runs, relocate or {}, path)


def parse_relocations(values: Sequence[str] | None) -> dict[str, str]:
    """`--relocate OLD=NEW` values as OLD -> NEW: OLD as runs.json names it (a path on the machine that wrote
    it), NEW an existing folder or file here; UsageError naming the bad value."""
    out: dict[str, str] = {}
    for value in values or []:
        old, sep, new = value.partition("=")
        if not sep or not old or not new:
            raise UsageError(f"--relocate {value!r}: expected OLD=NEW", option="--relocate")
        if not Path(new).exists():
            raise UsageError(f"--relocate {value!r}: {new}: no such file or directory", option="--relocate")
        out[os.path.normpath(old)] = os.path.abspath(new)
    return out


def _relocated(
    runs: dict[str, dict[str, Any]], relocate: Mapping[str, str], path: Path
) -> dict[str, dict[str, Any]]:
    """`runs` with every path at or under an OLD of `relocate` moved under its NEW (the longest OLD first, so
    that a folder relocated inside another relocated one wins)."""
    used: set[str] = set()
    for run in runs.values():
        for kind, names in PATH_FIELDS.items():
            for name in names:
                value = run[kind].get(name)
                if not isinstance(value, str) or not value or "://" in value:
                    continue
                for old in sorted(relocate, key=len, reverse=True):
                    rest = _under(os.path.normpath(value), old)
                    if rest is not None:
                        run[kind][name] = os.path.join(relocate[old], rest) if rest else relocate[old]
                        used.add(old)
                        break
    if unused := sorted(set(relocate) - used):
        raise UsageError(
            f"--relocate {unused[0]}=...: {path} names no path at or under {unused[0]}", option="--relocate"
        )
    return runs


def _under(value: str, folder: str) -> str | None:
    """`value`'s path below `folder` ('' for the folder itself), None when it is not there."""
    if value == folder:
        return ""
    prefix = folder.rstrip(os.sep) + os.sep
    return value[len(prefix) :] if value.startswith(prefix) else None


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
    must be no older than the mixture's (experiments are local folders: a remote path is not compared). A
    probe.json that cannot be read is no probe: the report could not read it either."""
    if read_marker(str(probe_dir)) is None or not probe_readable(probe_dir):
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


# Train settings that decide nothing of the model a run holds (where it ran, how it was watched, its paths).
_TRAIN_NOT_DECIDING = RESUMABLE_FIELDS | {"mixture", "output", "overwrite", "resume"}
# Probe settings that decide its figures (probe.json's `settings`, written since they were recorded).
_PROBE_DECIDING = ("k_tokens", "normalisation", "length_norm", "bucket_base")


def settings_changed(run_dir: str | Path, train: Mapping[str, Any], probe: Mapping[str, Any]) -> str | None:
    """What differs between a run as trained and probed (RUN/run.json's config, RUN/probe/probe.json's
    settings) and the grid's train and probe parameters now, in words; None where nothing does. A grid
    changed since (its tokens, seq_len, k_tokens...) must not be reported with runs made under the old one.
    An unreadable run.json differs; a setting a run's files do not record (older runs) is not compared."""
    try:
        config = json.loads((Path(run_dir) / "run.json").read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return "run.json unreadable"
    if not isinstance(config, dict):
        return "run.json holds no config"
    for name, value in sorted(train.items()):
        if name not in _TRAIN_NOT_DECIDING and name in config and config[name] != value:
            return f"train.{name} {config[name]!r}, the grid's {value!r}"
    try:
        recorded = json.loads((Path(run_dir) / "probe" / "probe.json").read_text()).get("settings") or {}
    except (OSError, ValueError, AttributeError):
        recorded = {}
    for name in _PROBE_DECIDING:
        if (
            isinstance(recorded, dict)
            and name in recorded
            and name in probe
            and recorded[name] != probe[name]
        ):
            return f"probe.{name} {recorded[name]!r}, the grid's {probe[name]!r}"
    return None


def probe_readable(probe_dir: str | Path) -> bool:
    """Whether PROBE/probe.json is there and holds a JSON object (a remote folder is taken as it is)."""
    if "://" in str(probe_dir):
        return True
    try:
        return isinstance(json.loads((Path(probe_dir) / "probe.json").read_text(encoding="utf-8")), dict)
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def forget_unreadable_probe(probe_dir: str | Path) -> bool:
    """Mark a probe whose marker says complete but whose probe.json cannot be read as changed, so that the
    next run of its stage probes again (and replaces the folder) rather than skipping it; True if it was.
    The marker is rewritten, not removed: the runner refuses to replace an output without one."""
    marker = read_marker(str(probe_dir))
    if marker is None or probe_readable(probe_dir):
        return False
    summary = marker.get("summary") if isinstance(marker.get("summary"), dict) else {}
    write_marker(str(probe_dir), UNREADABLE_PROBE, summary, float(marker.get("seconds") or 0.0))
    return True


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


def finished_runs(
    run_dirs: Mapping[str, Path],
    mixture_dirs: Mapping[str, str],
    settings: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]] | None = None,
) -> dict[str, Path]:
    """The runs whose probe is complete and made from their mixture as it is now (probed_since_mixture),
    and, where `settings` gives a run's (train, probe) parameters, trained and probed with them
    (settings_changed); names on stderr those left out because their probe.json cannot be read, their
    mixture was rebuilt since, or the grid's settings changed."""
    probed = {k: d for k, d in run_dirs.items() if probed_since_mixture(d / "probe", mixture_dirs[k])}
    changed = {
        k: why
        for k, d in probed.items()
        if settings is not None and k in settings and (why := settings_changed(d, *settings[k])) is not None
    }
    if changed:
        print(
            f"{len(changed)} runs left out, made under other settings than the grid's now (a run without "
            f"--finished-only, or train-runs, makes them again): "
            + ", ".join(f"{k} ({why})" for k, why in sorted(changed.items())),
            file=sys.stderr,
        )
    done = {k: d for k, d in probed.items() if k not in changed}
    left = sorted(k for k, d in run_dirs.items() if k not in probed and read_marker(str(d / "probe")))
    if unreadable := [k for k in left if not probe_readable(run_dirs[k] / "probe")]:
        print(
            f"{len(unreadable)} runs left out, probe.json unreadable (a run without --finished-only or "
            f"train-runs probes them again): {', '.join(unreadable)}",
            file=sys.stderr,
        )
    if stale := [k for k in left if k not in unreadable]:
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
    raise_on_sigterm()
    import torch

    torch.set_num_threads(threads)
    started = time.perf_counter()
    mixture = read_marker(run["train"]["mixture"]) or {}  # what this run is trained on, read before it is
    try:
        outcomes = run_stages(run_specs(key, run, overrides), _no_spark, rebuild=REMOVED_REBUILDS)
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
    not complete, or was made under other settings than runs.json's (settings_changed)."""
    only = list(dict.fromkeys(only)) if only else None  # a key given twice would run twice, at once
    unknown = sorted(set(only or []) - set(runs))
    if unknown:
        raise UsageError(f"--only {unknown[0]!r}: no such run (runs: {', '.join(sorted(runs))})")
    todo, unbuilt = [], []
    for key in only or sorted(runs):
        train, probe = runs[key]["train"], runs[key]["probe"]
        if probed_since_mixture(probe["output"], train["mixture"]) and not settings_changed(
            train["output"], train, probe
        ):
            continue
        (todo if read_marker(runs[key]["train"]["mixture"]) is not None else unbuilt).append(key)
    return todo, unbuilt


def hand_over(
    experiment: Path, stages: Sequence[StageSpec], meta: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Write EXPERIMENT/runs.json (write_runs) and say what `train-runs EXPERIMENT` would do now: the runs it
    would train (`pending`: mixture built, not probed since) and how many are finished or not built."""
    write_runs(experiment, stages, meta)
    runs = read_runs(experiment)
    todo, unbuilt = pending(runs, None)
    finished = len(runs) - len(todo) - len(unbuilt)
    return {
        "runs": len(runs),
        "pending": todo,
        "unbuilt": unbuilt,
        "finished": finished,
        "runs_file": str(Path(experiment) / RUNS_FILE),
    }


def hand_over_lines(summary: Mapping[str, Any], grid: Path, experiment: Path) -> list[str]:
    """What `experiment --mixtures-only` prints of hand_over's `summary`: the runs left to train, by name,
    and the command that trains them (train-runs skips the finished ones), or the one that reports them."""
    todo, unbuilt = list(summary["pending"]), len(summary["unbuilt"])
    lines = [
        f"{len(todo)} of {summary['runs']} runs to train ({summary['finished']} finished"
        f"{f', {unbuilt} with no mixture built' if unbuilt else ''}): {summary['runs_file']}"
    ]
    if todo:
        shown = ", ".join(todo[:10]) + (f" and {len(todo) - 10} more" if len(todo) > 10 else "")
        lines += [
            f"to train: {shown}",
            f"train and probe them (the finished runs are skipped): chronomix train-runs {experiment}",
        ]
    else:
        lines.append(f"report them: chronomix experiment {grid} -o {experiment} --finished-only")
    return lines


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
    relocate: Annotated[
        list[str] | None,
        typer.Option(
            help="OLD=NEW: a folder outside EXPERIMENT (the grid's world) that runs.json names at OLD, where "
            "the mixtures were built, is at NEW here (repeatable)."
        ),
    ] = None,
) -> None:
    """Train and probe every run of EXPERIMENT/runs.json whose probe is not complete, `workers` at a time,
    each with the grid's own training settings and seeds (only the device and the probe's batch size
    change). Every run's mixture, probes and world are checked first: a missing one exits 2 before any
    training. Prints one JSON line per run as it finishes; exits 1 if any run failed, after the others
    finished."""
    relocations = parse_relocations(relocate)
    runs = read_runs(experiment, relocations)
    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as error:
        raise UsageError(f"--device {device!r}: {error}", option="--device") from None
    overrides: dict[str, dict[str, Any]] = {"train": {"device": device}, "probe": {"device": device}}
    if probe_batch_size is not None:
        overrides["probe"]["batch_size"] = probe_batch_size
    todo, unbuilt = pending(runs, only)
    check_inputs(runs, todo, unbuilt, experiment, relocations)
    for key in todo:
        forget_unreadable_probe(runs[key]["probe"]["output"])  # else its complete marker skips the probe
    threads = max(1, (os.cpu_count() or 1) // workers)
    failed = 0
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
