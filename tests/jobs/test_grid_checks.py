"""Output folders and inputs of `experiment` and `run`, the grid's seeds, `package --master` and `train
--seq-len`: each refused with exit 2 and one line before Spark or training starts, nothing written."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from jobs.contract import UsageError
from jobs.experiment import grid_from_dict, replicates
from jobs.experiment_checks import check_probes
from tests.jobs.cli_helpers import _refused

ROOT = Path(__file__).resolve().parents[2]
RAW = str(ROOT / "pipelines" / "mixtures" / "raw.yaml")
OVERLAP = "writing there would mix with or replace an input; choose another folder"


def _data(tmp_path: Path) -> dict[str, Path]:
    """A stage's documents (dd: Parquet and _stats.json), a world (world.yaml, probes/), a run (run.json) and
    a grid over them."""
    documents, world, run = tmp_path / "dd", tmp_path / "w", tmp_path / "run1"
    for folder in (documents, world / "probes", run):
        folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents / "part-0.parquet")
    (documents / "_stats.json").write_text("{}")
    (world / "world.yaml").write_text("seed: 0\n")
    pq.write_table(
        pa.table({"resource": ["r"], "month": ["2020-01"], "text": ["t"]}),
        world / "probes" / "temporal.parquet",
    )
    (run / "run.json").write_text("{}")
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({"input": str(documents), "world": str(world), "mixtures": {"raw": RAW}}))
    return {"dd": documents, "w": world, "run1": run, "grid": grid}


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("w", f"--output 'w' is the grid's world '{{tmp}}/w': {OVERLAP}"),
        ("dd/x", f"--output 'dd/x' lies inside the grid's input '{{tmp}}/dd': {OVERLAP}"),
        (
            "run1",
            "--output 'run1' already holds a training run (run.json), not an earlier experiment output: "
            "writing there would mix with it; choose another folder",
        ),
    ],
)
def test_experiment_refuses_an_output_of_other_data_before_making_anything(
    output: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    no_spark: None,
) -> None:
    """`-o w` (the grid's own world) wrote mixtures/ and runs.json into the world; `-o dd/x` was refused by a
    mix stage only after dd/x was made, and left it behind."""
    paths = _data(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _listing(tmp_path)
    err = _refused(["experiment", str(paths["grid"]), "-o", output, "--mixtures-only"], capsys)
    assert err == f"chronomix: error: {expected.format(tmp=tmp_path)}"
    assert _listing(tmp_path) == before


def test_experiment_keeps_its_own_earlier_output(tmp_path: Path) -> None:
    """An earlier --mixtures-only output (runs.json) is the grid's own: its check passes."""
    from jobs.experiment import check, load_grid

    paths = _data(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.json").write_text("{}")
    assert list(check(load_grid(paths["grid"], output=out)).runs) == ["raw-s0"]


def test_finished_only_needs_a_grid_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_spark: None
) -> None:
    """It printed an empty table and exited 0 for a folder that does not exist."""
    paths = _data(tmp_path)
    monkeypatch.chdir(tmp_path)
    err = _refused(["experiment", str(paths["grid"]), "-o", "nowhere", "--finished-only"], capsys)
    assert err == (
        "chronomix: error: --output 'nowhere': no such grid output (--finished-only reports the runs a grid "
        "wrote there)"
    )
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize(
    ("seeds", "key"),
    [
        ({"seeds": [0, 0]}, "seeds"),
        ({"mixture_seeds": [1, 1], "init_seeds": [2, 2]}, "mixture_seeds"),
        ({"seeds": [3, 0, 3], "replicates": "crossed"}, "seeds"),
    ],
)
def test_repeated_seeds_are_refused(seeds: dict, key: str) -> None:
    """`seeds: [0, 0]` became one run, silently."""
    grid = grid_from_dict(
        {"input": "/in", "probes": "/p", "mixtures": {"raw": RAW}, **seeds}, ROOT, output="/o"
    )
    value = next(v for v in next(iter(seeds.values())) if list(next(iter(seeds.values()))).count(v) > 1)
    with pytest.raises(UsageError) as refused:
        replicates(grid)
    assert str(refused.value) == (
        f"grid field {key!r}: seed {value} is given twice, so two replicates would be one run (give distinct "
        "seeds)"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"train": {"tokens": "lots"}}, "grid field 'train.tokens': expected a whole number, got 'lots'"),
        ({"train": {"lr": "fast"}}, "grid field 'train.lr': expected a number, got 'fast'"),
        ({"train": {"batch_size": 2.5}}, "grid field 'train.batch_size': expected a whole number, got 2.5"),
        ({"train": {"compile": "no"}}, "grid field 'train.compile': expected true or false, got 'no'"),
        ({"train": [1, 2]}, "grid field 'train': expected a mapping of training settings, got [1, 2]"),
        ({"train": {"seed": 1}}, "grid field 'train.seed': unknown training setting"),
        ({"probe": {"k_tokens": "all"}}, "grid field 'probe.k_tokens': expected a whole number, got 'all'"),
        ({"probe": {"trim": 0.1}}, "grid field 'probe.trim': unknown probe setting"),
        ({"predict": "false"}, "grid field 'predict': expected true or false, got 'false'"),
    ],
)
def test_grid_settings_of_the_wrong_type_are_refused_naming_the_field(extra: dict, message: str) -> None:
    """A string where a number belongs failed in training (exit 1, a TypeError); `batch_size: 2.5` did so
    after the mixtures were built; quoted "no" and "false" were taken as true."""
    with pytest.raises(UsageError) as refused:
        grid_from_dict({"input": "/in", "probes": "/p", "mixtures": {"raw": RAW}, **extra}, ROOT, output="/o")
    assert str(refused.value) == message
    fine = {
        "train": {"tokens": 1000, "lr": 3e-4, "compile": False, "vocab_size": None},
        "probe": {"k_tokens": 64},
    }
    # null tokens: 20 tokens per parameter of the preset, as `chronomix train` without --tokens
    null = {"input": "/in", "probes": "/p", "mixtures": {"raw": RAW}, "train": {"tokens": None}}
    assert grid_from_dict(null, ROOT, output="/o").train == {"tokens": None}
    grid = grid_from_dict(
        {"input": "/in", "probes": "/p", "mixtures": {"raw": RAW}, **fine}, ROOT, output="/o"
    )
    assert grid.train["lr"] == 3e-4 and grid.probe == {"k_tokens": 64} and grid.predict is True


def test_repeated_world_seeds_are_refused_where_they_make_one_run() -> None:
    worlds = {"worlds": {"a": {}}, "mixtures": {"raw": RAW}}
    crossed = grid_from_dict({**worlds, "world_seeds": [0, 0], "replicates": "crossed"}, ROOT, output="/o")
    with pytest.raises(UsageError, match=r"^grid field 'world_seeds': seed 0 is given twice"):
        replicates(crossed)
    # paired with distinct mixture seeds, one world seed twice is two runs on one world: allowed
    paired = grid_from_dict({**worlds, "world_seeds": [0, 0], "seeds": [0, 1]}, ROOT, output="/o")
    assert [r.key("raw") for r in replicates(paired)] == ["a-w0/raw-s0", "a-w0/raw-s1"]


def _pipeline(tmp_path: Path, stages: list[dict]) -> Path:
    path = tmp_path / "pipe.yaml"
    path.write_text(yaml.safe_dump({"output": str(tmp_path / "unused"), "stages": stages}))
    return path


def test_run_refuses_an_output_of_other_data_or_inside_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_spark: None
) -> None:
    """`run pipe.yaml -o dd` nested dd/ingest/ inside a dedup output: `mix dd` then counted every document
    twice."""
    paths = _data(tmp_path)
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "t"}\n')
    monkeypatch.chdir(tmp_path)
    pipe = _pipeline(
        tmp_path, [{"name": "ingest", "kind": "ingest", "inputs": [str(tmp_path / "docs.jsonl")]}]
    )
    before = _listing(tmp_path)
    err = _refused(["run", str(pipe), "-o", "dd"], capsys)
    assert err == (
        "chronomix: error: --output 'dd' already holds a stage's documents (_stats.json), not an earlier "
        "pipeline output: writing there would mix with it; choose another folder"
    )
    err = _refused(["run", str(pipe), "-o", "w"], capsys)
    assert "--output 'w' already holds a world (world.yaml)" in err, err
    inside = _pipeline(tmp_path, [{"name": "ingest", "kind": "ingest", "inputs": [str(paths["dd"])]}])
    err = _refused(["run", str(inside), "-o", "dd/sub"], capsys)
    assert (
        err
        == f"chronomix: error: --output 'dd/sub' lies inside the stage input (inputs) '{paths['dd']}': {OVERLAP}"
    )
    assert _listing(tmp_path) == before


def test_run_checks_a_later_stage_literal_input_before_the_first_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """A date stage's missing `reference:` was found after the ingest before it had run (~13 s of Spark).
    A path under the pipeline's output is an earlier stage's to write, and --until leaves later stages out."""
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "t"}\n')
    stages = [
        {"name": "ingest", "kind": "ingest", "inputs": [str(tmp_path / "docs.jsonl")]},
        {"name": "d", "kind": "date", "input": "${ingest}", "reference": str(tmp_path / "nonexist")},
    ]
    pipe = _pipeline(tmp_path, stages)
    err = _refused(["run", str(pipe), "-o", str(tmp_path / "out")], capsys)
    assert (
        err == f"chronomix: error: stage 'd' (date): reference '{tmp_path}/nonexist': no such file or folder"
    )
    assert not (tmp_path / "out").exists()
    from jobs.pipeline import load_pipeline, refuse_missing_inputs

    plan = load_pipeline(pipe, output=str(tmp_path / "out"))
    refuse_missing_inputs(plan, until="ingest")  # the date stage does not run
    stages[1]["reference"] = str(tmp_path / "out" / "ingest" / "later.parquet")
    refuse_missing_inputs(load_pipeline(_pipeline(tmp_path, stages), output=str(tmp_path / "out")))


@pytest.mark.parametrize("master", ["bogus", "spark://"])
def test_package_refuses_a_master_spark_would_refuse(
    master: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`package --master bogus` printed `spark-submit --master bogus ...` and exited 0."""
    err = _refused(["package", "-o", str(tmp_path / "pkg"), "--master", master], capsys)
    assert err == (
        f"chronomix: error: --master {master!r}: expected local[*], local[N], spark://HOST:PORT, yarn or k8s://..."
    )
    assert not (tmp_path / "pkg").exists()


def test_train_refuses_a_context_beyond_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--seq-len 1000000` ran out of memory after 45 s (the kernel killed it without a limit)."""

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr("jobs.train.train_run", no_training)
    (tmp_path / "mixok").mkdir()
    argv = [
        "train",
        str(tmp_path / "mixok"),
        "-o",
        str(tmp_path / "o"),
        "--seq-len",
        "1000000",
        "--tokens",
        "10",
    ]
    err = _refused(argv, capsys)
    assert err == "chronomix: error: Invalid value: seq_len: must be at most 65,536 tokens, got 1,000,000"
    assert not (tmp_path / "o").exists()


def test_a_grid_s_probes_without_dated_versions_are_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_spark: None
) -> None:
    """A grid whose `probes:` was document Parquet failed only at each run's probe stage, after training."""
    paths = _data(tmp_path)
    monkeypatch.chdir(tmp_path)
    grid = tmp_path / "undated.yaml"
    grid.write_text(
        yaml.safe_dump({"input": str(paths["dd"]), "probes": str(paths["dd"]), "mixtures": {"raw": RAW}})
    )
    err = _refused(["experiment", str(grid), "-o", "out"], capsys)
    assert err == (
        f"chronomix: error: grid field 'probes' '{paths['dd']}': not a table of dated versions (needs columns "
        "text, month or created, and resource, url or id; it has id, text)"
    )
    assert not (tmp_path / "out").exists()
    # a table of dated versions passes this check (the world's own), and --finished-only reads none
    check_probes(SimpleNamespace(probes=str(paths["w"]), finished_only=False))
    check_probes(SimpleNamespace(probes=str(paths["dd"]), finished_only=True))
