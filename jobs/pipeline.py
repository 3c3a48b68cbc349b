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

Each stage writes to `<output>/<name>`. `${name}` in a value is that earlier stage's output folder; other
relative paths are relative to the pipeline file. A finished stage leaves `_complete.json` in its output with
a fingerprint of its kind, its parameters and its inputs (the fingerprints of the stages it reads, and the
size and modification time of the files it reads). A rerun skips a stage whose marker matches and reruns one
whose inputs or parameters changed (and so, in turn, every stage after it that reads it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobs.stage import UsageError

MARKER = "_complete.json"
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")


@dataclass
class StageSpec:
    name: str
    kind: str
    params: dict[str, Any]
    needs: list[str] = field(default_factory=list)  # earlier stages whose outputs this one reads


@dataclass
class Pipeline:
    path: Path
    output: Path
    master: str
    conf: list[str]
    stages: list[StageSpec]

    def stage_dir(self, name: str) -> Path:
        return self.output / name


@dataclass
class StageContext:
    """What a stage runner gets: its resolved parameters, its output folder, and a lazily started Spark."""

    pipeline: Pipeline
    spec: StageSpec
    params: dict[str, Any]
    output: Path
    spark: Callable[[], Any]


StageRunner = Callable[[StageContext], dict[str, Any]]


def load_pipeline(path: Path, output: Path | None = None, master: str | None = None) -> Pipeline:
    """Parse and check a pipeline file; raises UsageError naming the bad field."""
    if not path.is_file():
        raise UsageError(f"pipeline {str(path)!r}: no such file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise UsageError(f"pipeline {str(path)!r}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise UsageError(f"pipeline {str(path)!r}: expected a mapping with 'stages'")
    unknown = set(data) - {"output", "spark", "stages", "description"}
    if unknown:
        raise UsageError(f"pipeline field {sorted(unknown)[0]!r}: unknown (expected output, spark, stages)")
    base = path.parent
    out = output or Path(data.get("output") or "out/" + path.stem)
    out = out if out.is_absolute() else (Path.cwd() / out)
    spark = data.get("spark") or {}
    if not isinstance(spark, dict):
        raise UsageError("pipeline field 'spark': expected a mapping with master and conf")
    raw_stages = data.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise UsageError("pipeline field 'stages': expected a non-empty list")
    from jobs.stages import RUNNERS

    stages: list[StageSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_stages):
        where = f"stages[{index}]"
        if not isinstance(raw, dict) or "kind" not in raw:
            raise UsageError(f"pipeline field '{where}': expected a mapping with 'kind'")
        raw = dict(raw)
        kind = raw.pop("kind")
        name = str(raw.pop("name", kind))
        if kind not in RUNNERS:
            raise UsageError(
                f"pipeline field '{where}.kind': unknown stage kind {kind!r} "
                f"(expected one of {', '.join(sorted(RUNNERS))})"
            )
        if name in seen:
            raise UsageError(f"pipeline field '{where}.name': duplicate stage name {name!r}")
        needs = sorted(set(_references(raw)))
        for need in needs:
            if need not in seen:
                raise UsageError(f"pipeline field '{where}': ${{{need}}} names no earlier stage")
        params = _resolve_paths(raw, base)
        stages.append(StageSpec(name=name, kind=kind, params=params, needs=needs))
        seen.add(name)
    return Pipeline(
        path=path,
        output=out,
        master=master or str(spark.get("master", "local[*]")),
        conf=[str(c) for c in spark.get("conf", [])],
        stages=stages,
    )


def _references(value: Any) -> list[str]:
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


# Parameters that hold paths (relative ones are relative to the pipeline file).
_PATH_KEYS = {
    "input",
    "inputs",
    "reference",
    "spec",
    "specs",
    "mixtures",
    "config",
    "probes",
    "grid",
    "tokenizer",
    "run",
    "world",
}


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


def substitute(value: Any, pipeline: Pipeline) -> Any:
    """Replace `${stage}` with that stage's output folder, recursively."""
    if isinstance(value, str):
        return _REFERENCE.sub(lambda m: str(pipeline.stage_dir(m.group(1))), value)
    if isinstance(value, list):
        return [substitute(v, pipeline) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, pipeline) for k, v in value.items()}
    return value


def fingerprint(spec: StageSpec, params: dict[str, Any], upstream: dict[str, str]) -> str:
    """A hash of what determines a stage's output: kind, parameters, upstream fingerprints, input files."""
    files: list[tuple[str, int, int]] = []
    for value in _strings(params):
        path = Path(value)
        if path.is_absolute() and path.exists() and not any(str(path).startswith(str(u)) for u in upstream):
            for file in sorted([path] if path.is_file() else path.rglob("*")):
                if file.is_file():
                    stat = file.stat()
                    files.append((str(file), stat.st_size, stat.st_mtime_ns))
    payload = json.dumps(
        {"kind": spec.kind, "params": params, "upstream": upstream, "files": files},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def read_marker(folder: Path) -> dict[str, Any] | None:
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        return json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return None


@dataclass
class StageOutcome:
    name: str
    kind: str
    status: str  # ran | skipped
    seconds: float
    summary: dict[str, Any]


def run_pipeline(
    pipeline: Pipeline,
    start: str | None = None,
    until: str | None = None,
    on_stage: Callable[[str, str], None] | None = None,
) -> list[StageOutcome]:
    """Run the stages in order up to and including `until`, skipping those already complete with the same
    fingerprint. `start` reruns that stage and every later one; the stages before it must be complete."""
    from jobs.stages import RUNNERS

    names = [s.name for s in pipeline.stages]
    for flag, value in (("--from", start), ("--until", until)):
        if value is not None and value not in names:
            raise UsageError(f"{flag} {value!r}: no such stage (stages: {', '.join(names)})")
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    pipeline.output.mkdir(parents=True, exist_ok=True)
    spark_holder: dict[str, Any] = {}

    def spark() -> Any:
        if "session" not in spark_holder:
            from jobs.spark import SparkOptions, session_for_job

            spark_holder["session"], spark_holder["owned"] = session_for_job(
                SparkOptions(pipeline.master, tuple(pipeline.conf))
            )
        return spark_holder["session"]

    fingerprints: dict[str, str] = {}
    outcomes: list[StageOutcome] = []
    try:
        for index, spec in enumerate(pipeline.stages):
            output = pipeline.stage_dir(spec.name)
            params = substitute(spec.params, pipeline)
            upstream = {str(pipeline.stage_dir(n)): fingerprints.get(n, "") for n in spec.needs}
            if index < first:
                marker = read_marker(output)
                if marker is None:
                    raise UsageError(f"--from {start!r}: earlier stage {spec.name!r} has not completed")
                fingerprints[spec.name] = marker["fingerprint"]
                continue
            if index > last:
                break
            expected = fingerprint(spec, params, upstream)
            marker = read_marker(output)
            forced = start is not None  # --from reruns that stage and every later one
            if not forced and marker is not None and marker.get("fingerprint") == expected:
                fingerprints[spec.name] = expected
                outcomes.append(StageOutcome(spec.name, spec.kind, "skipped", 0.0, marker.get("summary", {})))
                if on_stage:
                    on_stage(spec.name, "skipped")
                continue
            if on_stage:
                on_stage(spec.name, "running")
            started = time.perf_counter()
            context = StageContext(pipeline, spec, params, output, spark)
            summary = RUNNERS[spec.kind](context)
            seconds = time.perf_counter() - started
            fingerprints[spec.name] = expected
            _write_marker(output, expected, summary, seconds)
            outcomes.append(StageOutcome(spec.name, spec.kind, "ran", seconds, summary))
            if on_stage:
                on_stage(spec.name, "done")
    finally:
        if spark_holder.get("owned"):
            spark_holder["session"].stop()
    return outcomes


def _write_marker(output: Path, fingerprint_value: str, summary: dict[str, Any], seconds: float) -> None:
    output.mkdir(parents=True, exist_ok=True)
    tmp = output / f".{MARKER}.tmp-{os.getpid()}"
    tmp.write_text(
        json.dumps(
            {"fingerprint": fingerprint_value, "seconds": round(seconds, 2), "summary": summary},
            indent=2,
            sort_keys=True,
            default=str,
        )
        + "\n"
    )
    tmp.replace(output / MARKER)
