"""Running stages: one command (`run_command`, the CLI's path) or a list of stages with the one resume rule
(`run_stages`, used by `chronomix run`, `chronomix experiment` and the audit).

The resume rule. A stage that finishes leaves `_complete.json` in its output with a fingerprint of its kind,
its parameters (`StageParams.fingerprint_values`) and its inputs: the fingerprints of the earlier stages it
reads (and, for a place it rewrites, StageParams.REWRITTEN_FIELDS, of the last earlier stage that rewrote
it), the size and modification time of every other file its parameters name (a glob's files, a folder's
with the folders it links to), and the version an HTTP file's server gives (ETag, else date and size; a
server that cannot be asked now keeps the last one). A
later run skips a stage whose marker holds the fingerprint it would have now, and reruns one whose
parameters or inputs changed (and so, in turn, every stage after it that reads it). A stage that reruns
replaces its output, unless the stage says the output holds work it continues (`Stage.resumable`: a
training checkpoint).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import glob
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape

from jobs import progress
from jobs.code_version import code_version
from jobs.contract import SparkProvider, Stage, StageResult, UsageError
from jobs.fs import Location, locate, move
from jobs.http_versions import CHECK_TIMEOUT_S, UNREACHABLE, Versions, server_versions, url_key
from jobs.locks import holding
from jobs.unreadable_inputs import run_leaving_out, stage_scope

MARKER = "_complete.json"
# How `chronomix run` rebuilds a stage that other code finished (run_stages' `rebuild`)
FROM_REBUILDS = "--from {name} rebuilds it and what follows"
# ... and the commands without --from (experiment, train-runs, audit). A stage that `needs` another reruns
# when that one's parameters change, not its files: what was made from the output goes with it.
REMOVED_REBUILDS = "removing {output} and the outputs made from it makes the same command rebuild them"


@dataclass
class StageSpec:
    """One stage to run: its name, its kind's Stage, its parameters (output set) and the earlier stages (by
    name) whose outputs it reads."""

    name: str
    stage: Stage
    params: Any
    needs: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.stage.kind

    @property
    def output(self) -> str:
        """The stage's output folder: a local path or a URI."""
        return str(self.params.output)


@dataclass
class StageOutcome:
    """What became of one stage: ran or skipped, its seconds, its summary and its `_stats.json` (if any)."""

    name: str
    kind: str
    status: str  # ran | skipped
    seconds: float
    summary: dict[str, Any]
    stats: dict[str, Any] | None = None
    other_code: bool = False  # skipped, though other chronomix code finished it (jobs.code_version)


def written_places(params: Any) -> list[str]:
    """The places a stage with `params` writes: its output (where it is set: a probe's defaults to its run's
    folder), any place it reads and rewrites (dedup's cross-dump index, StageParams.REWRITTEN_FIELDS) and
    any other folder it writes (the audit's --work, StageParams.WRITTEN_FIELDS)."""
    places = []
    for name in ("output", *getattr(params, "REWRITTEN_FIELDS", ()), *getattr(params, "WRITTEN_FIELDS", ())):
        value = getattr(params, name, None)
        places.extend(str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v)
    return places


def run_command(stage: Stage, params: Any, spark_options: Any = None) -> StageResult:
    """Run one stage for its CLI command: every check before Spark starts, then the work, in a session of
    its own (started only if the stage asks for one; `spark_options` is a jobs.spark.SparkOptions). The
    places it writes are locked after the checks and before the work (jobs.locks): a second writer of one of
    them stops at once. (Locked before, the lock's file and folders were what the checks then saw: a lock
    file in the input folder that held the output, the report folder made around a --work inside it.)"""
    with stage_scope():  # the inputs its check leaves out are counted by its run
        plan = stage.check(params)
        with holding(written_places(params)):
            if spark_options is None:
                return stage.run(plan, _no_spark)
            from jobs.spark import LazySession

            with LazySession(spark_options) as spark:
                return run_leaving_out(lambda: stage.run(plan, spark))


def _no_spark() -> Any:
    raise RuntimeError("this command runs without Spark")


def run_stages(
    specs: Sequence[StageSpec],
    spark: SparkProvider,
    start: str | None = None,
    until: str | None = None,
    on_stage: Callable[[str, str], None] | None = None,
    rebuild: str = FROM_REBUILDS,
) -> list[StageOutcome]:
    """Run `specs` in order up to and including `until`, skipping those already complete with the same
    fingerprint (the module doc). `start` reruns that stage and every later one; the stages before it must
    be complete. `on_stage(name, status)` hears running, done and skipped. `rebuild` says how the command
    that runs them rebuilds a stage other code finished ({name} and {output} filled in)."""
    names = [s.name for s in specs]
    for flag, value in (("--from", start), ("--until", until)):
        if value is not None and value not in names:
            raise UsageError(f"{flag} {value!r}: no such stage (stages: {', '.join(names)})")
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    if start is not None and until is not None and last < first:
        raise UsageError(f"--until {until!r} comes before --from {start!r}: no stage would run")
    fingerprints: dict[str, str] = {}
    outcomes: list[StageOutcome] = []
    for index, spec in enumerate(specs):
        upstream = _upstream(spec, specs[:index], fingerprints)
        if index > last:
            break
        with holding(written_places(spec.params)):  # before its marker is read: another may be writing it
            marker = read_marker(spec.output)
            if index < first and marker is None:
                raise UsageError(f"--from {start!r}: earlier stage {spec.name!r} has not completed")
            versions = http_versions(spec, upstream, (marker or {}).get("http_versions") or {})
            expected = fingerprint(spec, upstream, versions.compared)
            if marker is not None and (
                _finished_before_http_versions(spec, upstream, marker, versions)
                or _finished_under_former_values(spec, upstream, marker, versions.compared)
            ):
                expected = marker["fingerprint"]
            if index < first:
                if marker is not None and marker.get("fingerprint") != expected:
                    raise UsageError(
                        f"--from {start!r}: earlier stage {spec.name!r} would not be skipped now (its parameters "
                        "or inputs differ from those it finished with, or a listing of them failed now); run it "
                        f"again first (without --from, or --from {spec.name!r})"
                    )
                fingerprints[spec.name] = expected
                continue
            forced = start is not None  # --from reruns that stage and every later one
            stands = spec.stage.still_finished is None or spec.stage.still_finished(spec.params)
            if not forced and marker is not None and marker.get("fingerprint") == expected and stands:
                fingerprints[spec.name] = expected
                summary = marker.get("summary", {})
                outcomes.append(
                    StageOutcome(spec.name, spec.kind, "skipped", 0.0, summary, _stats(spec.output))
                )
                if on_stage:
                    on_stage(spec.name, "skipped")
                _say_http_inputs(spec.name, marker, versions, ran=False)
                outcomes[-1].other_code = _other_code(spec, marker, rebuild)
                continue
            resumable = spec.stage.resumable(spec.params)
            begun = started_file(spec.output)  # an output a killed run left unmarked is ours to replace
            if marker is None and not resumable and locate(spec.output).exists() and not begun.exists():
                raise UsageError(
                    f"stage {spec.name!r}: its output {spec.output} exists and no run of a pipeline finished it "
                    f"(it has no {MARKER}); move it away or choose another --output"
                )
            begun.fs.create_dir(begun.parent.path, recursive=True)
            begun.write_text(f"{os.getpid()}\n")
            if on_stage:
                on_stage(spec.name, "running")
            _say_http_inputs(spec.name, marker, versions, ran=True)
            started = time.perf_counter()
            params = dataclasses.replace(spec.params, overwrite=not resumable)
            with stage_scope():
                plan = spec.stage.check(params)
                result = run_leaving_out(functools.partial(spec.stage.run, plan, spark))
            seconds = time.perf_counter() - started
            read = versions.to_record()  # a file whose server did not answer was not read
            # nor was a file the tasks failed to read: the next run reads it again (a version no server gives)
            unread = result.stats.unread_inputs if result.stats is not None else set()
            read.update((url_key(uri), UNREACHABLE) for uri in unread)
            if read != versions.compared:
                expected = fingerprint(spec, upstream, read)
            fingerprints[spec.name] = expected
            write_marker(spec.output, expected, result.summary, seconds, read, stage_code(spec.stage))
            begun.fs.delete_file(begun.path)
            stats = result.stats.to_dict() if result.stats is not None else None
            outcomes.append(StageOutcome(spec.name, spec.kind, "ran", seconds, result.summary, stats))
            if on_stage:
                on_stage(spec.name, "done")
    return outcomes


def _upstream(
    spec: StageSpec, earlier: Sequence[StageSpec], fingerprints: Mapping[str, str]
) -> dict[str, str]:
    """{place: fingerprint} of what `spec` reads that an earlier stage made: the outputs of the stages it
    names, and each place it rewrites (StageParams.REWRITTEN_FIELDS) by the last earlier stage that rewrote
    it, or "" where none did (the place as the pipeline found it: its content is not fingerprinted)."""
    upstream = {e.output: fingerprints.get(e.name, "") for e in earlier if e.name in spec.needs}
    for place in _rewritten(spec):
        writers = [e.name for e in earlier if place in _rewritten(e)]
        upstream[place] = fingerprints.get(writers[-1], "") if writers else ""
    return upstream


def _rewritten(spec: StageSpec) -> list[str]:
    fields = spec.params.REWRITTEN_FIELDS
    return [str(value) for name in sorted(fields) if (value := getattr(spec.params, name, None))]


def started_file(output: str) -> Location:
    """A hidden file beside a stage's output, there from its start to its marker: a run killed between its
    output's move into place and its marker left an output the next run refused as no pipeline's."""
    folder = locate(output)
    return folder.parent.child(f".{folder.name}.started")


def stage_code(stage: Stage) -> str:
    """The version of the code that writes `stage`'s output (jobs.code_version)."""
    return code_version(stage.params.__module__)


def _other_code(spec: StageSpec, marker: dict[str, Any], rebuild: str = FROM_REBUILDS) -> bool:
    """Whether the finished stage was written by other chronomix code than this run's; if so, says it in one
    line with how to rebuild it (kept: its parameters and inputs are unchanged, and a dump's ingest is not
    redone for an upgrade that may not change it)."""
    recorded, now = marker.get("code"), stage_code(spec.stage)
    if recorded == now or not now:
        return False
    by = (
        f"code {recorded}, this is {now}"
        if recorded
        else f"a chronomix older than code versions; this is {now}"
    )
    progress.current().say(
        f"[yellow]    {escape(spec.name)}: kept as finished, written by other chronomix code ({by}); its "
        f"output may differ from this version's: {escape(rebuild.format(name=spec.name, output=spec.output))}[/]"
    )
    return True


def _say_http_inputs(name: str, marker: dict[str, Any] | None, versions: Versions, ran: bool) -> None:
    """One line where remote inputs moved the decision: files the last run could not read (read now), files
    changed on their server, or servers not answering (a skipped stage takes their files as last read; a
    stage that runs cannot read them)."""
    recorded = (marker or {}).get("http_versions") or {}
    unread = [
        k
        for k, v in recorded.items()
        if v == UNREACHABLE and (k not in versions.compared or k in versions.answered)
    ]
    changed = [
        k
        for k in versions.answered
        if recorded.get(k, UNREACHABLE) not in (versions.compared[k], UNREACHABLE)
    ]
    silent = len(versions.compared) - len(versions.answered)
    say = progress.current().say
    if unread and ran:
        say(f"    {escape(name)}: {len(unread)} input file(s) the last run could not read: reading them now")
    if changed:
        say(f"    {escape(name)}: {len(changed)} HTTP input(s) changed on their server")
    if silent:
        then = "the next run that reaches them reruns it" if ran else "taken as last read"
        say(f"    {escape(name)}: {silent} HTTP input(s) not answering now: {then}")


def _finished_before_http_versions(
    spec: StageSpec, upstream: dict[str, str], marker: dict[str, Any], versions: Versions
) -> bool:
    """Whether `marker` was written before HTTP versions were recorded, by a run with the same parameters and
    local inputs: the stage is finished, and keeps that fingerprint (a new one would rerun every stage after
    it). Its HTTP inputs are compared again once it reruns for another reason."""
    return (
        "http_versions" not in marker
        and bool(versions.compared)
        and marker.get("fingerprint") == fingerprint(spec, upstream, {})
    )


def _finished_under_former_values(
    spec: StageSpec, upstream: dict[str, str], marker: dict[str, Any], http: Mapping[str, str]
) -> bool:
    """Whether the marker was written for these same parameters and files as an earlier chronomix
    fingerprinted them (StageParams.former_fingerprint_values; `_former_local_files`): the stage is
    finished, and keeps that fingerprint (a new one would rerun every stage after it)."""
    former = marker.get("fingerprint") == fingerprint(spec, upstream, http, local_files=_former_local_files)
    return former or any(
        marker.get("fingerprint") == fingerprint(spec, upstream, http, values)
        for values in spec.params.former_fingerprint_values()
    )


def fingerprint(
    spec: StageSpec,
    upstream: dict[str, str],
    http: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    local_files: Callable[[str], list[FileStat]] | None = None,
) -> str:
    """A hash of what determines a stage's output: kind, parameters (`params`, else the stage's
    fingerprint_values), upstream fingerprints, input files (local files as `local_files` lists them, else
    `_local_files`, and object-store files' sizes and times, HTTP files' versions: `http`, else asked now)."""
    params = dict(params if params is not None else spec.params.fingerprint_values())
    files: list[FileStat] = []
    for value in _named_inputs(spec, upstream):
        if "://" in value:  # an object store: its files' sizes and times, as listed there
            files += _remote_files(value)
        elif Path(value).is_absolute():
            files += (local_files or _local_files)(value)
    versions = http_versions(spec, upstream, {}).compared if http is None else http
    state: dict[str, Any] = {"kind": spec.kind, "params": params, "upstream": upstream, "files": files}
    if versions:  # only then: the markers of stages that read no HTTP file stay valid
        state["http"] = versions
    payload = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


FileStat = tuple[str, int, int]  # (path, size, modification time in ns)


def _local_files(value: str) -> list[FileStat]:
    """The files a local path names as a stage reads them (jobs.stage.expand_inputs): a file, a folder
    with the folders it links to (each folder once: a link to an ancestor is no endless walk), or a glob.
    Sorted and named as `_former_local_files` names them, so that a folder without links or globs keeps
    the fingerprint its stage was marked with."""
    is_pattern = any(ch in value for ch in "*?[") and not os.path.exists(value)
    paths: list[Path] = []
    for match in sorted(glob.glob(value, recursive=True)) if is_pattern else [value]:
        if os.path.isfile(match):
            paths.append(Path(match))
            continue
        seen: set[tuple[int, int]] = set()
        for folder, folders, names in os.walk(match, followlinks=True):
            with contextlib.suppress(OSError):
                here = os.stat(folder)
                if (here.st_dev, here.st_ino) in seen:
                    folders.clear()
                    continue
                seen.add((here.st_dev, here.st_ino))
            paths += [Path(folder, name) for name in names]
    found = []
    for path in sorted(set(paths)):
        with contextlib.suppress(OSError):  # gone since it was listed: the stage's check says so
            stat = path.stat()
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found


def _former_local_files(value: str) -> list[FileStat]:
    """The files of a local path as chronomix fingerprinted them before 2026-12-06: a glob as none, and a
    folder without the folders it links to. A marker written so still marks its stage finished; what it
    never saw (a glob's files) goes unseen until the stage reruns for another cause."""
    path = Path(value)
    if not path.exists():
        return []
    return [
        (str(file), file.stat().st_size, file.stat().st_mtime_ns)
        for file in sorted([path] if path.is_file() else path.rglob("*"))
        if file.is_file()
    ]


def _named_inputs(spec: StageSpec, upstream: dict[str, str]) -> list[str]:
    """The paths and URIs the stage's parameters name that are not earlier stages' outputs. A remote place
    (a listing's base) is not an input: what else lies there is not read."""
    params = spec.params.fingerprint_values()
    place = spec.params.PLACE_FIELDS
    read = {k: v for k, v in params.items() if k not in place or "://" not in str(v)}
    return [v for v in _strings(read) if not any(_within(v, u) for u in upstream)]


def _within(value: str, place: str) -> bool:
    """Whether `value` names `place` or a path under it (an index at /data/idx holds no /data/idx2)."""
    return value == place or value.startswith(place.rstrip("/") + "/")


def http_versions(spec: StageSpec, upstream: dict[str, str], recorded: Mapping[str, str]) -> Versions:
    """The versions of the HTTP(S) files the stage names, as their servers give them now, or as `recorded`
    by the last run where a server does not answer (jobs.http_versions)."""
    from jobs.inputs import is_http

    def say_waiting(count: int) -> None:
        progress.current().say(
            f"    {spec.name}: waiting on {count} HTTP input(s) to learn whether they changed "
            f"(at most {CHECK_TIMEOUT_S:.0f} s a server)"
        )

    return server_versions([v for v in _named_inputs(spec, upstream) if is_http(v)], recorded, say_waiting)


def _remote_files(uri: str) -> list[tuple[str, int, int]]:
    """(path, size, modification time in ns) of every file an object-store `uri` (s3://, gs://, hdfs://; a
    file, a folder or a glob) names, so that a stage reading it reruns when a file is added or rewritten
    there; nothing for what cannot be listed now (the stage's own check says why). Nothing for an HTTP(S)
    URL: `http_versions` asks its server."""
    import pyarrow.fs as pafs

    from jobs.inputs import is_http, remote_glob

    if is_http(uri):
        return []
    try:
        matches = remote_glob(uri) if any(ch in uri for ch in "*?[") else [locate(uri)]
        found = []
        for location in matches:
            info = location.fs.get_file_info(location.path)
            if info.type == pafs.FileType.Directory:
                found += location.fs.get_file_info(pafs.FileSelector(location.path, recursive=True))
            else:
                found.append(info)
    except (OSError, UsageError, ValueError):
        return []
    return sorted((f.path, f.size or 0, f.mtime_ns or 0) for f in found if f.type == pafs.FileType.File)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str | Path):
        return [str(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def read_marker(folder: str) -> dict[str, Any] | None:
    """The completion marker of a stage output, None when it has none (or an unreadable one)."""
    marker = locate(folder).child(MARKER)
    try:
        return json.loads(marker.read_text()) if marker.exists() else None
    except (OSError, json.JSONDecodeError):
        return None


def write_marker(
    output: str,
    fingerprint_value: str,
    summary: dict[str, Any],
    seconds: float,
    http_versions: Mapping[str, str] | None = None,
    code: str = "",
) -> None:
    """Write the completion marker by a rename, so a reader sees the old one or the new one, never half.
    `http_versions` (of the HTTP files read) are kept for a later run that cannot reach their servers;
    `code` names the code that wrote the output (jobs.code_version)."""
    folder = locate(output)
    folder.fs.create_dir(folder.path, recursive=True)
    tmp = folder.child(f".{MARKER}.tmp-{os.getpid()}")
    tmp.write_text(
        json.dumps(
            {
                "fingerprint": fingerprint_value,
                "seconds": round(seconds, 2),
                "summary": summary,
                "http_versions": dict(http_versions or {}),
                "code": code,
            },
            indent=2,
            sort_keys=True,
            default=str,
        )
        + "\n"
    )
    move(tmp, folder.child(MARKER))


def _stats(output: str) -> dict[str, Any] | None:
    path = locate(output).child("_stats.json")
    return json.loads(path.read_text()) if path.exists() else None
