"""Output folders and path-valued options, in every command: a blank path (typer took `-o ""` for the current
folder, which `--overwrite` wiped), a file given as the output folder (`--overwrite` deleted it), an
object-store URI with no bucket and a folder that cannot be made are refused with exit status 2 and one line
naming the option, before the command does anything (and before Spark starts)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer

from jobs.cli import build_app, refuse_bad_paths, typed_values
from jobs.contract import UsageError
from jobs.fs import AtomicStageOutput, contained_in, locate, placeless, relation
from jobs.runner import run_command
from jobs.stage import expand_inputs, refuse_existing
from jobs.world import STAGE as WORLD
from jobs.world import WorldParams
from tests.jobs.cli_helpers import _refused

# Each command with the options it needs to get as far as its output (the inputs need not exist: the
# paths are checked first), and whether it has --overwrite.
COMMANDS = [
    (["world"], True),
    (["ingest", "docs.jsonl"], True),
    (["date", "docs"], True),
    (["dedup", "docs"], True),
    (["langid", "docs"], True),
    (["label", "docs", "--table", "t", "--column", "c"], True),
    (["mix", "docs", "--spec", "spec.yaml"], True),
    (["train", "mixture"], True),
    (["probe", "run", "--probes", "probes"], True),
    (["audit", "docs"], True),
    (["experiment", "grid.yaml", "--mixtures-only"], False),
    (["run", "pipeline.yaml"], False),
    (["package"], False),
]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current folder holding a file of the user's, which no refused command may touch."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    (folder / "precious.txt").write_text("mine")
    monkeypatch.chdir(folder)
    return folder


def _said(call: Callable[[], object]) -> str:
    """The message of the UsageError `call` raises."""
    with pytest.raises(UsageError) as refused:
        call()
    return str(refused.value)


def _untouched(folder: Path) -> None:
    assert [p.name for p in folder.iterdir()] == ["precious.txt"]
    assert (folder / "precious.txt").read_text() == "mine"


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_a_blank_output_is_refused_in_every_command(
    blank: str, scratch: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`world -o "" --overwrite` wiped the current folder with exit 0, `package -o ""` wrote into it and
    `ingest -o ""` said it "holds the input": every command now refuses a blank output path."""
    for argv, has_overwrite in COMMANDS:
        for given in (["-o", blank, *(["--overwrite"] if has_overwrite else [])], [f"--output={blank}"]):
            err = _refused([*argv, *given], capsys)
            assert err == f"chronomix: error: --output {blank!r}: an empty path", (argv, err)
        _untouched(scratch)
    # audit's report folder goes by --report (-r) and --output (-o): named as typed, -o by its long name
    assert _refused(["audit", "docs", "-r", ""], capsys) == "chronomix: error: --report '': an empty path"
    assert _refused(["audit", "docs", "-o", ""], capsys) == "chronomix: error: --output '': an empty path"
    _untouched(scratch)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["date", "docs", "-o", "out", "--reference"], "--reference"),
        (["dedup", "docs", "-o", "out", "--index"], "--index"),
        (["langid", "docs", "-o", "out", "--lid-model"], "--lid-model"),
        (["mix", "docs", "-o", "out", "--plan", "--lid-model"], "--lid-model"),
        (["mix", "docs", "--plan", "--spec"], "--spec"),
        (["audit", "docs", "-o", "out", "--work"], "--work"),
        (["audit", "docs", "-o", "out", "--reference"], "--reference"),
        (["audit", "docs", "-o", "out", "--tokenizer"], "--tokenizer"),
        (["label", "docs", "-o", "out", "--column", "c", "--table"], "--table"),
        (["ingest", "a.paths", "-o", "out", "--base"], "--base"),
        (["world", "-o", "out", "--config"], "--config"),
        (["world", "-o", "out", "-c"], "--config"),
    ],
)
def test_a_blank_path_option_is_refused_not_taken_as_not_given(
    argv: list[str], flag: str, scratch: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`date --reference ""`, `dedup --index ""`, `langid --lid-model ""` and `audit --work ""` ran with exit 0
    as if the option had not been given."""
    assert _refused([*argv, ""], capsys) == f"chronomix: error: {flag} '': an empty path"
    _untouched(scratch)


def test_a_blank_audit_path_is_refused_in_a_pipeline_too() -> None:
    """The audit's own check (a pipeline's `audit` stage has no command line to scan)."""
    from jobs.audit import AuditParams

    for field, flag in (("work", "--work"), ("reference", "--reference"), ("run", "--run")):
        with pytest.raises(UsageError) as refused:
            AuditParams(input=["docs"], output="out", **{field: " "}).check()
        assert str(refused.value) == f"{flag} ' ': an empty path" and refused.value.option == flag


def test_a_file_given_as_the_output_folder_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`ingest docs.jsonl -o notes.txt --overwrite` replaced the file by a folder, with exit 0; `experiment
    -o plainfile` said "[Errno 17] File exists". Every command refuses a file as its output folder."""
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    overwriting = (
        "chronomix: error: --output 'notes.txt' is a file, not a folder; --overwrite replaces only a folder"
    )
    for argv, has_overwrite in COMMANDS:
        if has_overwrite:
            assert _refused([*argv, "-o", "notes.txt", "--overwrite"], capsys) == overwriting, argv
        err = _refused([*argv, "-o", "notes.txt"], capsys)
        assert err == "chronomix: error: --output 'notes.txt' is a file, not a folder", argv
    assert notes.read_text() == "my notes" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_file_as_output_is_refused_by_the_stage_checks_too(tmp_path: Path) -> None:
    """What the commands share below the command line (a pipeline's stages, the Python API): the stage check,
    the atomic output and the world's check refuse the file, and leave it."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    said = "is a file, not a folder; --overwrite replaces only a folder"
    assert _said(lambda: refuse_existing(str(notes), overwrite=True)) == f"--output '{notes}' {said}"
    assert _said(lambda: AtomicStageOutput(str(notes), overwrite=True)) == f"output '{notes}' {said}"
    assert (
        _said(lambda: run_command(WORLD, WorldParams(output=str(notes), overwrite=True)))
        == f"--output '{notes}' {said}"
    )
    assert _said(lambda: refuse_existing("", overwrite=True)) == "--output '': an empty path"
    assert _said(lambda: AtomicStageOutput(" ", overwrite=True)) == "output ' ': an empty path"
    assert notes.read_text() == "my notes" and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_storage_uri_with_no_bucket_is_refused_before_spark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`ingest s3:///x.warc.gz -o o` failed with exit 1, "ArrowInvalid: Path cannot start with a separator"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "one"}\n')
    for uri in ("s3:///x.warc.gz", "gs:///x.warc.gz", "s3a:///crawl/*.warc.gz"):
        assert _refused(["ingest", uri, "-o", "out"], capsys) == f"chronomix: error: input {uri!r}: no bucket"
    assert _refused(["ingest", "docs.jsonl", "-o", "s3:///x"], capsys) == (
        "chronomix: error: --output 's3:///x': no bucket"
    )
    assert _refused(["ingest", "a.paths", "-o", "out", "--base", "gs:///"], capsys) == (
        "chronomix: error: --base 'gs:///': no bucket"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["docs.jsonl"]
    assert _said(lambda: expand_inputs(["s3n:///k"])) == "input 's3n:///k': no bucket"
    assert _said(lambda: refuse_existing("gcs:///k", overwrite=False)) == "--output 'gcs:///k': no bucket"
    assert _said(lambda: locate("s3:///k")) == "'s3:///k': no bucket"
    # hdfs:///path names the default cluster's file system: a path, not a missing bucket
    assert placeless("hdfs:///data") is None and placeless("s3://b/k") is None


def test_an_output_that_cannot_be_made_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`package -o /proc/nope` said "[Errno 2] ..."; a folder below a file, or where none can be made, is
    named as given, with what stands in the way."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plainfile").write_text("hello")
    for argv in (["package"], ["experiment", "grid.yaml"], ["train", "mixture"]):
        assert _refused([*argv, "-o", "plainfile/sub"], capsys) == (
            f"chronomix: error: --output 'plainfile/sub': {str(tmp_path / 'plainfile')!r} is a file, so no "
            "folder can be made below it"
        )
    if Path("/proc/self").is_dir():  # a Linux /proc: no folder can be made in it
        assert _refused(["package", "-o", "/proc/nope"], capsys) == (
            "chronomix: error: --output '/proc/nope': cannot be made in '/proc' (No such file or directory)"
        )
    assert [p.name for p in tmp_path.iterdir()] == ["plainfile"]


def test_typed_values_reads_values_as_click_does() -> None:
    """The scan reads each option's value as the parser will: `--opt VALUE`, `--opt=VALUE`, `-oVALUE`; a
    flag takes none, and after `--` nothing is an option; the positional arguments come last, in order."""
    audit = typer.main.get_command(build_app(["audit"])).commands["audit"]  # type: ignore[attr-defined]
    argv = ["d", "--overwrite", "-rR", "--work=", "--keep-work", "--sample-seed", "-o", "e", "--", "-o"]
    found = typed_values(audit, argv)
    assert [(typed, value) for _, typed, value in found] == [
        ("-r", "R"),
        ("--work", ""),
        ("--sample-seed", "-o"),
        ("input", "d"),
        ("input", "e"),
        ("input", "-o"),
    ]
    assert _said(lambda: refuse_bad_paths(audit, ["d", "--work="])) == "--work '': an empty path"
    # after `--`, a positional argument: an input, not the option
    assert _said(lambda: refuse_bad_paths(audit, ["d", "--", "--work", ""])) == "input '': an empty path"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["experiment", "", "-o", "out"], "grid '': an empty path"),
        (["run", " "], "pipeline ' ': an empty path"),
        (["train", "", "-o", "out"], "mixture '': an empty path"),
        (["probe", "", "--probes", "p"], "run '': an empty path"),
        (["train-runs", ""], "experiment '': an empty path"),
        (["date", "", "-o", "out"], "input '': an empty path"),
        (["dedup", "docs", "", "-o", "out"], "input '': an empty path"),
        (["langid", "-o", "out", "--", "gs:///x"], "input 'gs:///x': no bucket"),
    ],
)
def test_a_blank_or_bucketless_positional_path_is_refused(
    argv: list[str], said: str, scratch: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`experiment "" -o out` said "grid '.': no such file" (typer took '' for '.'); a positional path is
    checked as an option's is, named as the command's help names it."""
    assert _refused(argv, capsys) == f"chronomix: error: {said}"
    _untouched(scratch)


def test_a_folder_given_for_a_yaml_file_is_named_a_folder(
    scratch: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """`experiment emptydir -o o` and `run emptydir` said "no such file" of a folder that is there."""
    (scratch / "emptydir").mkdir()
    assert _refused(["experiment", "emptydir", "-o", "o"], capsys) == (
        "chronomix: error: grid 'emptydir' is a folder; give the grid's YAML file"
    )
    assert _refused(["run", "emptydir"], capsys) == (
        "chronomix: error: pipeline 'emptydir' is a folder; give the pipeline's YAML file"
    )
    assert sorted(p.name for p in scratch.iterdir()) == ["emptydir", "precious.txt"]
    assert not any((scratch / "emptydir").iterdir())


def test_one_relation_compares_outputs_with_inputs_for_every_command(tmp_path: Path) -> None:
    """jobs.fs.relation is what the Spark stages (contained_in) and probe/experiment/run (refuse_overlap)
    both ask: by real path locally, by bucket and key on object stores, never for an HTTP URL."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(data)
    assert relation(data, tmp_path / "link") == "is"
    assert relation(data / "sub" / ".." / "sub", data) == "lies inside"
    assert relation(data, tmp_path / "link" / "sub") == "holds"
    assert relation(tmp_path / "data2", data) is None  # a shared prefix of names is no folder of it
    assert relation(f"file://{data}/sub", str(data)) == "lies inside"
    assert relation("s3a://bucket/crawl/out/", "s3://bucket/crawl") == "lies inside"
    assert relation("s3://bucket/crawl", "s3://bucket/crawl-2") is None
    assert relation("https://host/a/b", "https://host/a") is None
    # The root folder holds everything; comparing names against "/" + "/" once missed it.
    assert contained_in("/")(str(data)) and not contained_in(str(data))("/")
