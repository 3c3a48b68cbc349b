"""The stage contract, the registry and the runner's one resume rule: every kind resolves to a stage whose
parameters its CLI command builds, pipeline mappings are checked against the parameters, and run_stages skips
exactly the stages whose fingerprint still holds (checked with a small stage that copies a file, no Spark)."""

from __future__ import annotations

import dataclasses
import inspect
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.contract import Stage, StageParams, StageResult, UsageError
from jobs.registry import KINDS, stage
from jobs.runner import MARKER, StageSpec, read_marker, run_stages

# CLI arguments that are not stage parameters (where the session runs), and those named differently.
SESSION_OPTIONS = {"master", "conf"}
RENAMED = {("ingest", "fmt"): "format", ("audit", "report"): "output", ("audit", "inputs"): "input"}
RENAMED[("label", "value")] = "values"
RENAMED.update({(kind, "column"): "column_map" for kind in ("ingest", "audit")})
RENAMED.update({(kind, "inputs"): "input" for kind in ("dedup", "langid", "mix")})


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"experiment"}))
def test_every_cli_option_is_a_field_of_the_kinds_parameters(kind: str) -> None:
    import importlib

    kind_stage = stage(kind)
    fields = {f.name for f in dataclasses.fields(kind_stage.params)}
    assert {"output", "overwrite"} <= fields
    command = getattr(importlib.import_module(KINDS[kind]), kind)
    options = set(inspect.signature(command).parameters) - SESSION_OPTIONS
    assert {RENAMED.get((kind, o), o) for o in options} <= fields


# Defaults the CLI gives differently from a pipeline stage, on purpose: the label table and column are
# required on the command line (a stage names them too, or check refuses it); `--value` unset is no mapping;
# `--preset` unset lets a --config file's own `preset:` decide (a stage's world.yaml does the same).
CLI_DEFAULT_DIFFERS = {("label", "table"), ("label", "column"), ("label", "value"), ("world", "preset")}


def _default(value: object) -> object:
    return None if value in ((), [], {}) else value


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"experiment"}))
def test_every_cli_default_is_the_parameters_default(kind: str) -> None:
    """`chronomix KIND` and a pipeline stage of that kind run with the same settings where neither names
    them: a default changed in one place only would make the two disagree silently."""
    import importlib

    fields = {f.name: f for f in dataclasses.fields(stage(kind).params)}
    command = getattr(importlib.import_module(KINDS[kind]), kind)
    checked = 0
    for name, option in inspect.signature(command).parameters.items():
        if name in SESSION_OPTIONS or (kind, name) in CLI_DEFAULT_DIFFERS:
            continue
        field = fields[RENAMED.get((kind, name), name)]
        if field.default is not dataclasses.MISSING:
            expected: object = field.default
        elif field.default_factory is not dataclasses.MISSING:
            expected = field.default_factory()
        else:
            expected = inspect.Parameter.empty  # required in both
        assert _default(option.default) == _default(expected), f"{kind} --{name}"
        checked += 1
    assert checked >= 2


def test_experiment_parameters_are_the_grid_file_s_fields() -> None:
    grid = stage("experiment").params
    assert {f.name for f in dataclasses.fields(grid)} >= {"input", "mixtures", "world", "probes", "seeds"}


def test_unknown_kind_and_bad_mappings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown stage kind 'nonsense'"):
        stage("nonsense")
    date = stage("date").params
    params = date.from_mapping({"input": "/a", "reference": "/r"}, "stage 'd' (date)", output="/o")
    assert params.input == ["/a"] and params.output == "/o" and params.overwrite is False
    with pytest.raises(UsageError, match="stage 'd' \\(date\\): unknown parameter 'refrence'"):
        date.from_mapping({"input": "/a", "refrence": "/r"}, "stage 'd' (date)", output="/o")
    with pytest.raises(UsageError, match="parameter 'input' is required"):
        date.from_mapping({}, "stage 'd' (date)", output="/o")
    with pytest.raises(UsageError, match="unknown parameter 'output'"):  # the runner owns it
        date.from_mapping({"input": "/a", "output": "/x"}, "stage 'd' (date)", output="/o")


# ---------------------------------------------------------------------------------------------- runner
@dataclass(frozen=True)
class CopyParams(StageParams):
    """Copy `source` (a file) into `output`/copy.txt with `suffix` appended."""

    source: str
    output: str
    suffix: str = ""
    overwrite: bool = False


runs: list[tuple[str, bool]] = []  # (output, overwrite) of every run


def _check(params: CopyParams) -> CopyParams:
    if not Path(params.source).is_file():
        raise UsageError(f"source {params.source!r}: no such file")
    return params


def _run(params: CopyParams, spark: object) -> StageResult:
    runs.append((params.output, params.overwrite))
    out = Path(params.output)
    out.mkdir(parents=True, exist_ok=True)
    text = Path(params.source).read_text() + params.suffix
    (out / "copy.txt").write_text(text)
    return StageResult({"chars": len(text)})


COPY = Stage("copy", CopyParams, _check, _run)
RESUMABLE = Stage("copy", CopyParams, _check, _run, resumable=lambda p: (Path(p.output) / "partial").exists())


def _chain(tmp_path: Path, source: Path, suffix: str = "") -> list[StageSpec]:
    first = StageSpec("first", COPY, CopyParams(str(source), str(tmp_path / "first"), suffix))
    second = CopyParams(str(tmp_path / "first" / "copy.txt"), str(tmp_path / "second"), "!")
    return [first, StageSpec("second", COPY, second, needs=["first"])]


def _no_spark() -> object:
    raise AssertionError("no stage here needs Spark")


def test_run_stages_skips_what_is_complete_and_reruns_what_changed(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("abc")
    runs.clear()
    outcomes = run_stages(_chain(tmp_path, source), _no_spark)
    assert [(o.name, o.status, o.summary) for o in outcomes] == [
        ("first", "ran", {"chars": 3}),
        ("second", "ran", {"chars": 4}),
    ]
    assert (tmp_path / "second" / "copy.txt").read_text() == "abc!"
    assert read_marker(str(tmp_path / "first"))["summary"] == {"chars": 3}
    # Nothing changed: both skipped, with the summaries of their markers.
    again = run_stages(_chain(tmp_path, source), _no_spark)
    assert [(o.status, o.summary) for o in again] == [("skipped", {"chars": 3}), ("skipped", {"chars": 4})]
    # A changed parameter reruns that stage and the one reading it.
    assert [o.status for o in run_stages(_chain(tmp_path, source, "x"), _no_spark)] == ["ran", "ran"]
    assert (tmp_path / "second" / "copy.txt").read_text() == "abcx!"
    # A changed input file (size) reruns the stage that names it, and so the one after.
    source.write_text("abcd")
    assert [o.status for o in run_stages(_chain(tmp_path, source, "x"), _no_spark)] == ["ran", "ran"]
    # --until stops; --from reruns from that stage on, given the ones before are complete.
    assert [o.name for o in run_stages(_chain(tmp_path, source, "x"), _no_spark, until="first")] == ["first"]
    forced = run_stages(_chain(tmp_path, source, "x"), _no_spark, start="second")
    assert [(o.name, o.status) for o in forced] == [("second", "ran")]
    with pytest.raises(UsageError, match="--from 'nope'"):
        run_stages(_chain(tmp_path, source), _no_spark, start="nope")
    with pytest.raises(UsageError, match="--until 'first' comes before --from 'second'"):
        run_stages(_chain(tmp_path, source), _no_spark, start="second", until="first")
    (tmp_path / "first" / MARKER).unlink()
    with pytest.raises(UsageError, match="earlier stage 'first' has not completed"):
        run_stages(_chain(tmp_path, source, "x"), _no_spark, start="second")
    # Every run replaced its output (the runner runs a stage with overwrite unless it can resume).
    assert all(overwrite for _, overwrite in runs)


def test_a_resumable_stage_runs_without_overwrite(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("abc")
    (tmp_path / "out" / "partial").mkdir(parents=True)
    runs.clear()
    spec = StageSpec("copy", RESUMABLE, CopyParams(str(source), str(tmp_path / "out")))
    run_stages([spec], _no_spark)
    assert runs == [(str(tmp_path / "out"), False)]


def test_execution_only_parameters_stay_out_of_the_fingerprint() -> None:
    dedup = stage("dedup").params
    base = dedup.from_mapping({"input": "/a"}, "stage 'd' (dedup)", output="/o")
    how = dedup.from_mapping(
        {"input": "/a", "max_local_documents": 0, "max_local_edges": 0}, "stage 'd' (dedup)", output="/o"
    )
    what = dedup.from_mapping({"input": "/a", "threshold": 0.7}, "stage 'd' (dedup)", output="/o")
    assert base.fingerprint_values() == how.fingerprint_values()
    assert base.fingerprint_values() != what.fingerprint_values()
    assert (
        "max_local_documents" not in base.fingerprint_values() and "output" not in base.fingerprint_values()
    )


def test_a_world_stage_that_writes_out_the_default_seed_is_the_same_stage() -> None:
    """`seed: 0` left out of a world stage (stored as None) fingerprinted apart from `seed: 0` written out:
    the world, and every stage after it, ran again for nothing."""
    world = stage("world").params
    where = "stage 'w' (world)"
    written = world.from_mapping({"preset": "tiny", "seed": 0}, where, output="/o")
    omitted = world.from_mapping({"preset": "tiny"}, where, output="/o")
    other = world.from_mapping({"preset": "tiny", "seed": 1}, where, output="/o")
    assert written.fingerprint_values() == omitted.fingerprint_values() != other.fingerprint_values()
    # With a config file, an omitted seed is the file's, not 0: it stays apart from an explicit 0.
    filed = world.from_mapping({"config": "/w.yaml"}, where, output="/o")
    assert filed.fingerprint_values()["seed"] is None and filed.former_fingerprint_values() == []


def test_a_world_stage_finished_when_its_left_out_seed_fingerprinted_as_none_stays_finished(
    tmp_path: Path,
) -> None:
    """The fix above changed the fingerprint of every world stage that leaves its seed out: each finished
    pipeline would have made its world again, and trained and probed again after it."""
    from jobs.runner import StageSpec, fingerprint, write_marker

    world = stage("world")
    output = tmp_path / "world"
    params = world.params.from_mapping({"preset": "tiny"}, "stage 'world' (world)", output=str(output))
    spec = StageSpec("world", world, params)
    before = fingerprint(spec, {}, {}, {**params.fingerprint_values(), "seed": None})
    assert before != fingerprint(spec, {}, {})
    output.mkdir()
    write_marker(str(output), before, {"documents": 1}, 1.0, {})
    (outcome,) = run_stages([spec], _no_spark)
    assert (outcome.status, outcome.summary) == ("skipped", {"documents": 1})
    assert read_marker(str(output))["fingerprint"] == before


def test_a_parameter_added_later_keeps_finished_stages_finished_until_it_is_set() -> None:
    """`column_map` joined the ingest and audit parameters after markers were written: in every fingerprint,
    as `{}`, it made every finished ingest stage rerun, and every stage after it. The fingerprint of an ingest
    with the defaults is pinned here, as the markers of earlier runs hold it."""
    from jobs.runner import StageSpec, fingerprint

    ingest = stage("ingest")
    params = ingest.params.from_mapping({"inputs": ["relative/x.jsonl"]}, "stage 'i' (ingest)", output="/o")
    assert "column_map" not in params.fingerprint_values()
    named = ingest.params.from_mapping(
        {"inputs": ["relative/x.jsonl"], "column_map": {"text": "content"}}, "stage 'i' (ingest)", output="/o"
    )
    assert named.fingerprint_values()["column_map"] == {"text": "content"}
    assert fingerprint(StageSpec("i", ingest, params), {}) == (
        "527e689604b65d6f13a661b4e0ec1be2fcb03179d1d24087c6deacee06e06f5b"  # f3194b7 gives it too
    )
    audit = stage("audit").params.from_mapping({"input": ["relative/x"]}, "stage 'a' (audit)", output="/o")
    assert "column_map" not in audit.fingerprint_values()


def test_pipeline_values_are_checked_against_every_form_of_hint() -> None:
    import typing

    from jobs.contract import type_mismatch

    assert type_mismatch(None, typing.Optional[int]) is None  # noqa: UP045 - the old spelling on purpose
    assert type_mismatch(None, int | None) is None
    assert type_mismatch(None, typing.Any) is None
    assert type_mismatch(None, typing.Literal["a"]) is None
    assert type_mismatch(3, float) is None and type_mismatch(True, int) == "a whole number"
    assert type_mismatch("x", typing.Optional[float]) == "a number"  # noqa: UP045
    assert type_mismatch("/p", Path | None) is None and type_mismatch(None, str) == "a value"


def test_a_folder_no_pipeline_run_finished_is_not_replaced(tmp_path: Path) -> None:
    """A stage's output folder that exists without the runner's marker was replaced silently: a pipeline named
    into a folder of the user's own data deleted it. It is refused; one the runner finished is replaced."""
    source = tmp_path / "source.txt"
    source.write_text("abc")
    own = tmp_path / "first"
    own.mkdir()
    (own / "data.txt").write_text("the user's")
    runs.clear()
    with pytest.raises(UsageError, match=r"its output .*first exists and no run of a pipeline finished it"):
        run_stages(_chain(tmp_path, source), _no_spark)
    assert (own / "data.txt").read_text() == "the user's" and not runs
    (own / "data.txt").unlink()
    own.rmdir()
    assert [o.status for o in run_stages(_chain(tmp_path, source), _no_spark)] == ["ran", "ran"]
    assert [o.status for o in run_stages(_chain(tmp_path, source, "x"), _no_spark)] == ["ran", "ran"]


@dataclass
class GatherParams(StageParams):
    """A stage that reads what a glob or a folder names, as ingest does."""

    source: str
    output: str
    overwrite: bool = False


def _gather(params: GatherParams, spark: object) -> StageResult:
    import glob

    names = glob.glob(params.source) if "*" in params.source else [params.source]
    files = sorted(f for name in names for f in ([name] if os.path.isfile(name) else _walk(name)))
    Path(params.output).mkdir(parents=True, exist_ok=True)
    text = "".join(Path(f).read_text() for f in files)
    (Path(params.output) / "all.txt").write_text(text)
    return StageResult({"chars": len(text)})


def _walk(folder: str) -> list[str]:
    return [os.path.join(root, n) for root, _, names in os.walk(folder, followlinks=True) for n in names]


GATHER = Stage("gather", GatherParams, lambda p: p, _gather)


def test_a_glob_input_and_a_linked_folder_rerun_when_their_files_change(tmp_path: Path) -> None:
    """Both were fingerprinted as nothing: a local glob (no path exists by that name) and the files of a
    folder linked inside an input folder (rglob does not follow links), so changes there were skipped."""
    data, linked = tmp_path / "data", tmp_path / "elsewhere"
    data.mkdir()
    linked.mkdir()
    (data / "a.txt").write_text("a")
    (linked / "b.txt").write_text("b")
    (data / "sub").symlink_to(linked)
    specs = [
        StageSpec("globbed", GATHER, GatherParams(str(data / "*.txt"), str(tmp_path / "g"))),
        StageSpec("folder", GATHER, GatherParams(str(data), str(tmp_path / "f"))),
    ]
    assert [o.summary for o in run_stages(specs, _no_spark)] == [{"chars": 1}, {"chars": 2}]
    assert [o.status for o in run_stages(specs, _no_spark)] == ["skipped", "skipped"]
    (data / "c.txt").write_text("cc")  # a new file the glob matches (and the folder holds)
    assert [o.summary for o in run_stages(specs, _no_spark)] == [{"chars": 3}, {"chars": 4}]
    (linked / "b.txt").write_text("bbb")  # a file in the linked folder grows
    outcomes = run_stages(specs, _no_spark)
    assert [(o.status, o.summary) for o in outcomes] == [("skipped", {"chars": 3}), ("ran", {"chars": 6})]


@dataclass
class AppendParams(StageParams):
    """A stage that reads a shared log, appends its source to it and writes what the log held before, as
    dedup with a cross-dump index reads the index and rewrites it."""

    REWRITTEN_FIELDS = frozenset({"log"})

    source: str
    log: str
    output: str
    overwrite: bool = False


def _append(params: AppendParams, spark: object) -> StageResult:
    log = Path(params.log) / "log.txt"
    before = log.read_text() if log.exists() else ""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(before + Path(params.source).read_text())
    Path(params.output).mkdir(parents=True, exist_ok=True)
    (Path(params.output) / "seen.txt").write_text(before)
    return StageResult({"seen": before})


APPEND = Stage("append", AppendParams, lambda p: p, _append)


def test_stages_that_rewrite_one_place_rerun_only_when_an_earlier_writer_does(tmp_path: Path) -> None:
    """Two dumps deduplicated against one index: the index each rewrites was fingerprinted as its input, so
    both reran on every run, and the first then saw the second's entries (its flags changed on each rerun)."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("A")
    b.write_text("B")
    log = str(tmp_path / "index")

    def specs(source_a: Path = a) -> list[StageSpec]:
        return [
            StageSpec("dump_a", APPEND, AppendParams(str(source_a), log, str(tmp_path / "out_a"))),
            StageSpec("dump_b", APPEND, AppendParams(str(b), log, str(tmp_path / "out_b"))),
        ]

    assert [o.summary for o in run_stages(specs(), _no_spark)] == [{"seen": ""}, {"seen": "A"}]
    for _ in range(2):
        assert [o.status for o in run_stages(specs(), _no_spark)] == ["skipped", "skipped"]
    assert (tmp_path / "out_a" / "seen.txt").read_text() == ""
    # the first writer changes: the second, which read its entries, runs again
    a2 = tmp_path / "a2.txt"
    a2.write_text("A2")
    assert [o.status for o in run_stages(specs(a2), _no_spark)] == ["ran", "ran"]


def test_from_refuses_an_earlier_stage_that_changed_since_it_finished(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("abc")
    run_stages(_chain(tmp_path, source), _no_spark)
    # the first stage's option changed: --from second would build on its old output without a word
    with pytest.raises(UsageError, match="earlier stage 'first' would not be skipped now"):
        run_stages(_chain(tmp_path, source, "x"), _no_spark, start="second")
    assert (tmp_path / "second" / "copy.txt").read_text() == "abc!"


def test_stages_marked_before_globs_and_links_were_fingerprinted_stay_finished(tmp_path: Path) -> None:
    """Markers written when a glob's files and a linked folder's were not fingerprinted still mark their
    stages finished (a new fingerprint would rerun every stage after them)."""
    import json

    from jobs.runner import _former_local_files, _local_files, fingerprint

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    (data / "sub").mkdir()
    (data / "sub" / "up").symlink_to(data)  # a link to an ancestor: each folder is walked once
    assert [f[0] for f in _local_files(str(data))] == [str(data / "a.txt")]
    (data / "sub" / "up").unlink()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.txt").write_text("b")
    (data / "linked").symlink_to(tmp_path / "elsewhere")
    specs = [
        StageSpec("globbed", GATHER, GatherParams(str(data / "*.txt"), str(tmp_path / "g"))),
        StageSpec("folder", GATHER, GatherParams(str(data), str(tmp_path / "f"))),
    ]
    run_stages(specs, _no_spark)
    for spec in specs:  # as the former chronomix wrote them
        marker = Path(spec.output) / MARKER
        written = json.loads(marker.read_text())
        written["fingerprint"] = fingerprint(spec, {}, {}, local_files=_former_local_files)
        assert written["fingerprint"] != fingerprint(spec, {}, {})
        marker.write_text(json.dumps(written))
    assert [o.status for o in run_stages(specs, _no_spark)] == ["skipped", "skipped"]
    # a file the former fingerprint saw (the folder's own) still reruns its stage when it changes; a glob's
    # files it never saw, and such a marker stays blind to them until its stage reruns for another cause
    (data / "a.txt").write_text("aa")
    assert [o.status for o in run_stages(specs, _no_spark)] == ["skipped", "ran"]


def test_an_output_a_killed_run_left_unmarked_is_replaced_and_a_foreign_one_refused(tmp_path: Path) -> None:
    """A pipeline killed between its stage's output moving into place and its marker: the next run refused
    that output as no pipeline's ("move it away"), though the pipeline had written it."""
    source = tmp_path / "source.txt"
    source.write_text("abc")
    spec = StageSpec("first", COPY, CopyParams(str(source), str(tmp_path / "first")))

    def killed(params: CopyParams, spark: object) -> StageResult:
        _run(params, spark)  # its output in place, then the kill, before the runner writes the marker
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stages([StageSpec("first", Stage("copy", CopyParams, _check, killed), spec.params)], _no_spark)
    assert (tmp_path / "first" / "copy.txt").exists() and read_marker(str(tmp_path / "first")) is None
    assert (tmp_path / ".first.started").exists()
    assert [o.status for o in run_stages([spec], _no_spark)] == ["ran"]
    assert read_marker(str(tmp_path / "first")) is not None and not (tmp_path / ".first.started").exists()
    foreign = StageSpec("other", COPY, CopyParams(str(source), str(tmp_path / "other")))
    (tmp_path / "other").mkdir()  # a folder no run of this pipeline began
    with pytest.raises(UsageError, match="no run of a pipeline finished it"):
        run_stages([foreign], _no_spark)
