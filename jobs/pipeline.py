"""`chronomix run PIPELINE.yaml`: a declarative pipeline of stages, each stage's output feeding the next,
resumable per stage.

A pipeline file names an output folder, the Spark master, and a list of stages:

```yaml
output: out/demo
spark: {master: "local[2]", conf: ["spark.sql.shuffle.partitions=4"]}
stages:
  - {name: world, kind: world, preset: tiny, seed: 0}
  - {name: ingest, kind: ingest, inputs: ["${world}/dumps"], added: "2024-01-01T00:00:00Z"}
  - {name: dated, kind: date, input: "${ingest}", reference: "${world}/probes/temporal.parquet"}
```

A stage's keys are the fields of its kind's parameters dataclass (jobs/registry.py names the job module of
each kind), the same settings its CLI command takes. Each stage writes to `<output>/<name>`. `${name}` in a
value is that earlier stage's output folder; other relative paths in stages are relative to the pipeline
file, while a relative `output` is relative to the current folder, as `--output` is (`make demo` runs
pipelines/demo.yaml into ./out/demo; `chronomix run --output` overrides it). Stages
run through jobs/runner.py, which skips a stage already complete with the same parameters and inputs (its
`_complete.json` fingerprint) and reruns one whose inputs or parameters changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpus.config_yaml import load_config_yaml
from jobs.contract import UsageError
from jobs.fs import names_a_uri
from jobs.locks import holding
from jobs.options import spark_options
from jobs.output_folders import refuse_foreign_data, refuse_overlap
from jobs.registry import stage
from jobs.runner import StageOutcome, StageSpec, run_stages

_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")
# Parameters that hold paths (relative ones are relative to the pipeline file).
_PATH_KEYS = {
    "input",
    "inputs",
    "reference",
    "spec",
    "specs",
    "mixtures",
    "mixture",
    "config",
    "probes",
    "grid",
    "tokenizer",
    "run",
    "model",
    "world",
    "work",
    "table",
    "lid_model",
}


# Path keys that name what a stage writes, not what it reads.
_WRITTEN_KEYS = {"work"}


@dataclass
class Pipeline:
    path: Path
    output: Path
    master: str
    conf: list[str]
    stages: list[StageSpec]
    # stage name -> (key, path) of the paths its file gives literally (no `${stage}`), resolved: its inputs
    # that no earlier stage writes, checked before the first stage runs (refuse_missing_inputs)
    literal: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def stage_dir(self, name: str) -> Path:
        return self.output / name


def load_pipeline(
    path: Path, output: str | Path | None = None, master: str | None = None, conf: list[str] | None = None
) -> Pipeline:
    """Parse and check a pipeline file, each stage's keys against its kind's parameters; raises UsageError
    naming the bad field. `conf` (key=value) comes after the file's spark.conf: a key in both takes it."""
    if path.is_dir():
        raise UsageError(f"pipeline {str(path)!r} is a folder; give the pipeline's YAML file")
    if not path.is_file():
        raise UsageError(f"pipeline {str(path)!r}: no such file")
    try:
        data = load_config_yaml(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(f"pipeline {str(path)!r}: not valid UTF-8 YAML: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"pipeline {str(path)!r}: expected a mapping with 'stages'")
    unknown = set(data) - {"output", "spark", "stages", "description"}
    if unknown:
        raise UsageError(f"pipeline field {sorted(unknown)[0]!r}: unknown (expected output, spark, stages)")
    if isinstance(data.get("output"), str) and not data["output"].strip():
        raise UsageError("pipeline field 'output': an empty path")
    if not isinstance(data.get("output") or "", str):
        raise UsageError(f"pipeline field 'output': expected a path, got {data['output']!r}")
    given = str(output) if output else str(data.get("output") or "out/" + path.stem)
    if names_a_uri(given):
        raise UsageError(
            f"pipeline output {given!r}: a pipeline writes into a local or mounted folder (its stage "
            "folders, markers and models are files there); run the Spark stages one by one for remote "
            "outputs (chronomix ingest ... -o s3a://...)",
            option="--output",
        )
    out = Path(given) if Path(given).is_absolute() else (Path.cwd() / given)
    spark = data.get("spark") or {}
    if not isinstance(spark, dict):
        raise UsageError("pipeline field 'spark': expected a mapping with master and conf")
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise UsageError("pipeline field 'stages': expected a non-empty list")
    stages: list[StageSpec] = []
    literal: dict[str, list[tuple[str, str]]] = {}
    for index, raw in enumerate(raw_stages):
        _refuse_blank_paths(raw, f"stages[{index}]")
        stages.append(_stage_spec(raw, f"stages[{index}]", path.parent, out, {s.name for s in stages}))
        literal[stages[-1].name] = literal_paths(raw, path.parent)
    _check_output(out, given if output else None, [p for paths in literal.values() for p in paths])
    # Each value is checked where it was given: the file's, then the command line's on top of them.
    file_master, file_conf = str(spark.get("master", "local[*]")), _conf(spark.get("conf"))
    try:
        spark_options(file_master if master is None else "local[*]", file_conf)
    except UsageError as error:
        raise UsageError(f"pipeline field 'spark': {error}") from None
    options = spark_options(master or file_master, [*file_conf, *(conf or [])])

    return Pipeline(
        path=path, output=out, master=options.master, conf=list(options.conf), stages=stages, literal=literal
    )


def _refuse_blank_paths(raw: Any, where: str) -> None:
    """UsageError for a path key given as a blank string: resolved against the pipeline's folder, `reference:
    ""` read that folder as the reference (the command line refuses an empty path the same way)."""
    for key, value in raw.items() if isinstance(raw, dict) else ():
        values = list(value.values()) if isinstance(value, dict) else value
        items = values if isinstance(values, list) else [values]
        if key in _PATH_KEYS and any(isinstance(item, str) and not item.strip() for item in items):
            raise UsageError(f"pipeline field '{where}.{key}': an empty path")


def literal_paths(raw: dict[str, Any], base: Path) -> list[tuple[str, str]]:
    """(key, path) of every local path a stage's mapping gives without `${stage}`, resolved against `base`
    (a mapping's values only under `mixtures`, name -> spec: other mappings are settings)."""
    found: list[tuple[str, str]] = []
    for key, value in raw.items():
        if key not in _PATH_KEYS or key in _WRITTEN_KEYS:
            continue
        values = list(value.values()) if isinstance(value, dict) and key == "mixtures" else value
        for item in values if isinstance(values, list) else [values]:
            if isinstance(item, str) and item and not _REFERENCE.search(item) and "://" not in item:
                found.append((key, str(item if Path(item).is_absolute() else (base / item).resolve())))
    return found


def _check_output(out: Path, given: str | None, inputs: list[tuple[str, str]]) -> None:
    """UsageError where the pipeline's output folder is or lies inside a path a stage reads, or already holds
    chronomix data (a stage's documents, a world): its stage folders would be written beside that data, and
    a later read of the folder (`mix dd`) would take them for more documents."""
    flag = "--output" if given is not None else "pipeline field 'output'"
    shown = given if given is not None else str(out)
    refuse_overlap(shown, [(f"the stage input ({key})", path) for key, path in inputs], flag, _INSIDE)
    refuse_foreign_data(shown, "pipeline", flag=flag)


_INSIDE = frozenset({"is", "lies inside"})


def refuse_missing_inputs(pipeline: Pipeline, start: str | None = None, until: str | None = None) -> None:
    """UsageError naming the first stage (of those from `start` to `until`) with a literal input path that
    is not there and that no earlier stage writes (it lies outside the pipeline's output): found before the
    first stage runs, not after the stages before it ran. Globs are left to the stage's own check."""
    names = [spec.name for spec in pipeline.stages]
    first = names.index(start) if start in names else 0
    last = names.index(until) if until in names else len(names) - 1
    for spec in pipeline.stages[first : last + 1]:
        for key, path in pipeline.literal.get(spec.name, []):
            written = Path(os.path.realpath(path)).is_relative_to(os.path.realpath(pipeline.output))
            if written or any(ch in path for ch in "*?[") or os.path.exists(path):
                continue
            raise UsageError(f"stage {spec.name!r} ({spec.kind}): {key} {path!r}: no such file or folder")


def _conf(value: Any) -> list[str]:
    """The pipeline's `spark.conf`: a list of "key=value" strings, or a mapping of keys to values."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [f"{key}={item}" for key, item in value.items()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise UsageError(f"pipeline field 'spark.conf': expected a list of key=value or a mapping, got {value!r}")


STAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _stage_spec(raw: Any, where: str, base: Path, output: Path, earlier: set[str]) -> StageSpec:
    """One stage of the file: its kind's Stage and its parameters, `${stage}` references substituted."""
    if not isinstance(raw, dict) or "kind" not in raw:
        raise UsageError(f"pipeline field '{where}': expected a mapping with 'kind'")
    raw = dict(raw)
    kind = raw.pop("kind")
    if not isinstance(kind, str):
        raise UsageError(f"pipeline field '{where}.kind': expected a stage kind's name, got {kind!r}")
    name = str(raw.pop("name", kind))
    if not STAGE_NAME.fullmatch(name):  # the name is a folder of the output: "..", "a/b" or "" would not be
        raise UsageError(
            f"pipeline field '{where}.name': {name!r} is no stage name (letters, digits, '_', '-' and '.', "
            "starting with a letter or digit)"
        )
    try:
        kind_stage = stage(kind)
    except UsageError as error:
        raise UsageError(f"pipeline field '{where}.kind': {error}") from None
    if name in earlier:
        raise UsageError(f"pipeline field '{where}.name': duplicate stage name {name!r}")
    needs = sorted(set(_references(raw)))
    for need in needs:
        if need not in earlier:
            raise UsageError(f"pipeline field '{where}': ${{{need}}} names no earlier stage")
    values = substitute(_resolve_paths(raw, base), output)
    params = kind_stage.params.from_mapping(
        values, f"stage {name!r} ({kind})", output=str(output / name), overwrite=True
    )
    if kind_stage.settings is not None:  # every stage's settings, before any stage runs
        try:
            kind_stage.settings(params)
        except UsageError as error:
            # a file an earlier stage writes (a spec under the pipeline's output) exists only once it ran
            if not (needs and str(output) in str(error)):
                raise UsageError(f"stage {name!r} ({kind}): {error}") from None
    return StageSpec(name=name, stage=kind_stage, params=params, needs=needs)


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _resolve_paths(params: dict[str, Any], base: Path) -> dict[str, Any]:
    def resolve(value: Any) -> Any:
        if isinstance(value, str) and not _REFERENCE.search(value) and "://" not in value:
            candidate = Path(value)
            return str(candidate if candidate.is_absolute() else (base / candidate).resolve())
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    return {k: (resolve(v) if k in _PATH_KEYS else v) for k, v in params.items()}


def substitute(value: Any, output: Path) -> Any:
    """Replace `${stage}` with that stage's output folder under `output`, recursively."""
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(output / m.group(1)), value)
    if isinstance(value, list):
        return [substitute(v, output) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, output) for k, v in value.items()}
    return value


def run_pipeline(
    pipeline: Pipeline,
    start: str | None = None,
    until: str | None = None,
    on_stage: Callable[[str, str], None] | None = None,
) -> list[StageOutcome]:
    """Run the pipeline's stages (jobs/runner.py: complete stages are skipped) in one lazily started Spark
    session; `start` reruns that stage and every later one, `until` stops after that stage."""
    from jobs.spark import LazySession, SparkOptions

    # the whole folder for the whole run: a second run of it stops before it redoes (or replaces) any stage
    with (
        holding([str(pipeline.output)]),
        LazySession(SparkOptions(pipeline.master, tuple(pipeline.conf))) as spark,
    ):
        return run_stages(pipeline.stages, spark, start=start, until=until, on_stage=on_stage)
