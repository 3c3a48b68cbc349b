"""A grid split across machines: `chronomix experiment --mixtures-only` builds the worlds and mixtures and
writes runs.json, `chronomix train-runs` trains and probes them where torch is (paths relative to the
experiment, so the folder moves), and `--finished-only` reports them with the audit's predictions. The
mixture budget override of the grid and of `chronomix mix`."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.cli import main
from jobs.contract import UsageError
from jobs.experiment import check, grid_from_dict, load_grid
from jobs.experiment_inputs import check_inputs
from jobs.experiment_runs import (
    RUNS_FILE,
    TRAINED_ELSEWHERE,
    finished_runs,
    parse_relocations,
    pending,
    read_runs,
    settings_changed,
    write_runs,
)
from jobs.mix import MixParams, settings
from jobs.runner import MARKER
from tests.jobs.test_cli import _refused
from tests.jobs.test_pipeline import REDUCED

ROOT = Path(__file__).resolve().parents[2]
MIXTURES = ROOT / "pipelines" / "mixtures"


def _world_grid(output: Path, **extra: object) -> dict:
    return {
        "worlds": {"w": {"stale_share": 0.4}},
        "world_seeds": [0, 1],
        "seeds": [3, 4],
        "mixtures": {"raw": str(MIXTURES / "raw.yaml"), "keep_newest": str(MIXTURES / "keep_newest.yaml")},
        **extra,
    }


def test_the_budget_override_reaches_every_mixture_and_bad_values_name_their_field(tmp_path: Path) -> None:
    grid = grid_from_dict(_world_grid(tmp_path, budget_tokens="2.5M"), ROOT, output=str(tmp_path))
    assert grid.budget_tokens == 2_500_000
    mixes = [s.params for s in check(grid).stages if s.kind == "mix"]
    assert len(mixes) == 4 and {m.budget_tokens for m in mixes} == {2_500_000}
    assert settings(mixes[0]).budget_tokens == 2_500_000  # the spec's own 400K is overridden
    assert settings(MixParams(["x"], str(MIXTURES / "raw.yaml"))).budget_tokens == 400_000
    # a pipeline's mix stage takes the spec file's notation too
    stage = MixParams.from_mapping(
        {"input": "x", "spec": str(MIXTURES / "raw.yaml"), "budget_tokens": "3M"}, "mix"
    )
    assert stage.budget_tokens == settings(stage).budget_tokens == 3_000_000
    assert (
        stage.fingerprint_values() == dataclasses.replace(stage, budget_tokens=3_000_000).fingerprint_values()
    )
    for bad, said in (("lots", "budget_tokens: 'lots'"), (0, "budget_tokens: 0 must be positive")):
        with pytest.raises(UsageError, match=said):
            MixParams.from_mapping({"input": "x", "spec": stage.spec, "budget_tokens": bad}, "mix")
    for bad in ("lots", 0, "-3K"):
        with pytest.raises(UsageError, match="grid field 'budget_tokens'"):
            grid_from_dict(_world_grid(tmp_path, budget_tokens=bad), ROOT, output=str(tmp_path))
    # The command line's options are not grid fields (a grid's `finished_only: true` was silently ignored).
    with pytest.raises(UsageError, match="grid field 'finished_only': unknown"):
        grid_from_dict(_world_grid(tmp_path, finished_only=True), ROOT, output=str(tmp_path))


def test_mix_refuses_a_bad_budget_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    spec = str(MIXTURES / "raw.yaml")
    for bad in ("0", "many"):
        err = _refused(
            ["mix", str(tmp_path), "--spec", spec, "--budget-tokens", bad, "-o", str(tmp_path / "o")], capsys
        )
        assert "--budget-tokens" in err, err
    assert not (tmp_path / "o").exists()


def test_the_runs_file_moves_with_the_experiment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths inside the experiment are written relative to it (also when the output was given relative to
    the working folder) and read back under wherever it now is; a path outside it stays absolute."""
    here = tmp_path / "here"
    monkeypatch.chdir(tmp_path)
    plan = check(grid_from_dict(_world_grid(here), ROOT, output="here"))
    here.mkdir()
    keys = write_runs(Path("here"), plan.stages, plan.meta)
    assert sorted(keys) == sorted(plan.runs) and len(keys) == 4
    written = json.loads((here / RUNS_FILE).read_text())["runs"]["w-w1/raw-s4"]
    assert written["train"]["mixture"] == "mixtures/w-w1/raw-s4"
    assert written["train"]["seed"] == 4 and written["train"]["tokens"] == plan.stages[-2].params.tokens
    assert written["probe"]["probes"] == "worlds/w-w1/world/probes"
    assert written["meta"]["world_seed"] == 1 and written["meta"]["mixture"] == "raw"

    there = tmp_path / "there"
    shutil.move(here, there)
    runs = read_runs(there)
    assert runs["w-w1/raw-s4"]["train"]["mixture"] == str((there / "mixtures/w-w1/raw-s4").resolve())
    assert runs["w-w1/raw-s4"]["probe"]["output"] == str((there / "runs/w-w1/raw-s4/probe").resolve())

    outside, documents = tmp_path / "probes", tmp_path / "docs"
    outside.mkdir()
    documents.mkdir()
    versions = pa.table({"resource": ["r"], "month": ["2020-01"], "text": ["a page"]})
    pq.write_table(versions, outside / "versions.parquet")  # dated versions, as a grid's probes must be
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents / "part-0.parquet")
    plan = check(
        grid_from_dict(
            {
                "input": str(documents),
                "probes": str(outside),
                "mixtures": {"raw": str(MIXTURES / "raw.yaml")},
            },
            ROOT,
            output=str(there),
        )
    )
    write_runs(there, plan.stages, plan.meta)
    assert read_runs(there)["raw-s0"]["probe"]["probes"] == str(outside)


def test_pending_runs_are_those_built_and_not_probed(tmp_path: Path) -> None:
    plan = check(grid_from_dict(_world_grid(tmp_path), ROOT, output=str(tmp_path)))
    tmp_path.mkdir(exist_ok=True)
    write_runs(tmp_path, plan.stages, plan.meta)
    runs = read_runs(tmp_path)
    for key in ("w-w0/raw-s3", "w-w0/keep_newest-s3", "w-w1/raw-s4"):
        mixture = Path(runs[key]["train"]["mixture"])
        mixture.mkdir(parents=True)
        (mixture / MARKER).write_text("{}")
    probe = Path(runs["w-w0/keep_newest-s3"]["probe"]["output"])
    probe.mkdir(parents=True)
    (probe / "probe.json").write_text("{}")
    (probe / MARKER).write_text("{}")
    trained = {
        k: v for k, v in runs["w-w0/keep_newest-s3"]["train"].items() if k not in ("mixture", "output")
    }
    (probe.parent / "run.json").write_text(json.dumps({"config": {**trained, "device": "cuda"}}))
    todo, unbuilt = pending(runs, None)
    assert todo == ["w-w0/raw-s3", "w-w1/raw-s4"]
    assert unbuilt == ["w-w1/keep_newest-s4"]
    assert pending(runs, ["w-w1/raw-s4"]) == (["w-w1/raw-s4"], [])
    # a mixture rebuilt after its run was probed makes the run pending again: by the marker's time here ...
    rebuilt = Path(runs["w-w0/keep_newest-s3"]["train"]["mixture"]) / MARKER
    os.utime(rebuilt, (probe.joinpath(MARKER).stat().st_mtime + 60,) * 2)
    assert pending(runs, ["w-w0/keep_newest-s3"]) == (["w-w0/keep_newest-s3"], [])
    # ... and by the fingerprint a run trained by train-runs recorded, whatever the times of copied files
    rebuilt.write_text(json.dumps({"fingerprint": "f1"}))
    record = probe.parent / TRAINED_ELSEWHERE
    record.write_text(json.dumps({"device": "cuda", "mixture_fingerprint": "f1"}))
    os.utime(rebuilt, (probe.joinpath(MARKER).stat().st_mtime + 60,) * 2)
    assert pending(runs, ["w-w0/keep_newest-s3"]) == ([], [])
    rebuilt.write_text(json.dumps({"fingerprint": "f2"}))
    assert pending(runs, ["w-w0/keep_newest-s3"]) == (["w-w0/keep_newest-s3"], [])
    record.write_text("{not json")  # an unreadable record: the times decide, as without one
    assert pending(runs, ["w-w0/keep_newest-s3"]) == (["w-w0/keep_newest-s3"], [])
    os.utime(rebuilt, (probe.joinpath(MARKER).stat().st_mtime - 60,) * 2)
    assert pending(runs, ["w-w0/keep_newest-s3"]) == ([], [])
    assert pending(runs, ["w-w1/raw-s4", "w-w1/raw-s4"]) == (["w-w1/raw-s4"], [])  # not twice at once
    with pytest.raises(UsageError, match="--only 'w-w9/raw-s0': no such run"):
        pending(runs, ["w-w9/raw-s0"])


def test_train_runs_refuses_a_missing_or_bad_runs_file_and_a_bad_device(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["train-runs", str(tmp_path)], capsys)
    assert "runs.json: no such file" in err and "--mixtures-only" in err, err
    (tmp_path / RUNS_FILE).write_text("{not json")
    assert "not a runs file" in _refused(["train-runs", str(tmp_path)], capsys)
    (tmp_path / RUNS_FILE).write_text(json.dumps({"format": 99, "runs": {}}))
    assert "format 99" in _refused(["train-runs", str(tmp_path)], capsys)
    for broken in ({"a": []}, {"a": {"train": {"output": "x"}}}, {"a": {"train": {}, "probe": {}}}):
        (tmp_path / RUNS_FILE).write_text(json.dumps({"format": 1, "runs": broken}))
        assert "run 'a'" in _refused(["train-runs", str(tmp_path)], capsys)
    # a runs.json naming a folder outside the experiment for what train-runs writes: it deleted that folder
    victim = tmp_path.parent / f"{tmp_path.name}_dataset"
    victim.mkdir()
    (victim / "_complete.json").write_text("{}")
    (victim / "part-0.parquet").write_bytes(b"precious")
    paths = {"mixture": "m", "output": "runs/a/model", "run": "runs/a/model", "probes": "p"}
    for kind, name, value in (
        ("train", "output", f"../{victim.name}"),
        ("probe", "run", str(victim)),
        ("probe", "output", f"runs/../../{victim.name}"),
        ("train", "output", "."),
    ):
        run = {
            "train": {k: paths[k] for k in ("mixture", "output")},
            "probe": {**paths, "output": "runs/a/p"},
        }
        run[kind][name] = value
        (tmp_path / RUNS_FILE).write_text(json.dumps({"format": 1, "runs": {"a": run}}))
        err = _refused(["train-runs", str(tmp_path)], capsys)
        assert f"run 'a': {kind}.{name} " in err and "is not inside the experiment folder" in err, err
    assert (victim / "part-0.parquet").read_bytes() == b"precious"
    (tmp_path / RUNS_FILE).write_text(json.dumps({"format": 1, "runs": {}}))
    assert "--device 'tpu'" in _refused(["train-runs", str(tmp_path), "--device", "tpu"], capsys)
    assert "--workers" in _refused(["train-runs", str(tmp_path), "--workers", "0"], capsys)


def test_train_runs_exits_1_when_a_run_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Its help promises exit 1 when a run failed; click handed typer.Exit(1) back as a value and the
    command exited 0 (a scheduler would take a failed grid for a finished one)."""
    mixture = tmp_path / "mixtures" / "m"
    mixture.mkdir(parents=True)
    (mixture / MARKER).write_text(json.dumps({"fingerprint": "f"}))
    (tmp_path / "probes").mkdir()  # there: the run fails in its training, not in the check of its inputs
    run = {
        "train": {"mixture": "mixtures/m", "output": "runs/a", "preset": "huge"},
        "probe": {"run": "runs/a", "probes": "probes", "output": "runs/a/probe"},
    }
    (tmp_path / RUNS_FILE).write_text(json.dumps({"format": 1, "runs": {"a": run}}))
    with pytest.raises(SystemExit) as done:
        main(["train-runs", str(tmp_path), "--device", "cpu"])
    assert done.value.code == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines[0]["run"] == "a" and lines[0]["ok"] is False and "huge" in lines[0]["error"]
    assert lines[-1]["failed"] == 1


def _outside_world(tmp_path: Path) -> tuple[Path, Path]:
    """An experiment of two runs whose grid names a world outside it (`world: ../w0s`), its mixtures built
    (markers only: a run that started training would fail on them), and that world."""
    world, documents = tmp_path / "w0s", tmp_path / "docs"
    (world / "probes").mkdir(parents=True)
    (world / "truth").mkdir()
    documents.mkdir()
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents / "part-0.parquet")
    # a generated world's fact probes leave n_train_docs to be counted in its truth
    facts = pa.table({"fact_id": ["f0"], "n_train_docs": pa.array([None], pa.int64())})
    pq.write_table(facts, world / "probes" / "facts.parquet")
    pq.write_table(pa.table({"id": ["d0"]}), world / "truth" / "documents.parquet")
    grid = {"input": str(documents), "world": str(world), "seeds": [0, 1]}
    experiment = tmp_path / "exp"
    plan = check(
        grid_from_dict(
            {**grid, "mixtures": {"raw": str(MIXTURES / "raw.yaml")}}, ROOT, output=str(experiment)
        )
    )
    experiment.mkdir()
    write_runs(experiment, plan.stages, plan.meta)
    for key in plan.runs:
        (experiment / "mixtures" / key).mkdir(parents=True)
        (experiment / "mixtures" / key / MARKER).write_text(json.dumps({"fingerprint": key}))
    return experiment, world


def test_train_runs_checks_every_runs_inputs_before_any_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """runs.json names a grid's own world where the mixtures were built: with the world moved, train-runs
    trained the model in full and only then failed on the missing probes. Now every run's mixture, probes
    and world truth are checked first (exit 2, one line naming the path and the fix), and --relocate says
    where the world is now."""
    experiment, world = _outside_world(tmp_path)
    moved, copy = tmp_path / "w0s_moved", tmp_path / "exp_copy"
    shutil.move(world, moved)
    shutil.copytree(experiment, copy)
    err = _refused(["train-runs", str(copy), "--device", "cpu", "--only", "raw-s0"], capsys)
    assert f"run 'raw-s0': probes: no such file or directory: {world}/probes" in err, err
    assert f"--relocate {world}=NEW" in err, err
    err = _refused(["train-runs", str(copy), "--device", "cpu"], capsys)
    assert "run 'raw-s0' and 1 more: probes" in err, err
    assert not (copy / "runs").exists()  # nothing trained

    relocated = read_runs(copy, parse_relocations([f"{world}/={moved}"]))
    assert {run["probe"]["probes"] for run in relocated.values()} == {str(moved / "probes")}
    assert {run["probe"]["world"] for run in relocated.values()} == {str(moved)}
    assert relocated["raw-s1"]["train"]["mixture"] == str((copy / "mixtures" / "raw-s1").resolve())
    check_inputs(relocated, ["raw-s0", "raw-s1"], [], copy)  # all there: no error

    # the probes there but not the truth the long-tail probe counts exposures in
    (moved / "truth" / "documents.parquet").unlink()
    err = _refused(["train-runs", str(copy), "--device", "cpu", "--relocate", f"{world}={moved}"], capsys)
    assert f"{moved}/truth/documents.parquet: no such file" in err, err
    assert f"--relocate {world}={moved} reads it there: copy the world's probes/ and truth/ to {moved}" in err
    # a mixture not built (or not copied) is named before any run trains too
    (copy / "mixtures" / "raw-s1" / MARKER).unlink()
    err = _refused(["train-runs", str(copy), "--device", "cpu", "--relocate", f"{world}={moved}"], capsys)
    assert f"run 'raw-s1': mixture not built: {(copy / 'mixtures' / 'raw-s1').resolve()}" in err, err
    assert not (copy / "runs").exists()
    for bad, said in (
        ("nowhere", "expected OLD=NEW"),
        (f"{world}={tmp_path / 'nope'}", "no such file or directory"),
        (f"/elsewhere={moved}", "names no path at or under /elsewhere"),
    ):
        assert said in _refused(["train-runs", str(copy), "--relocate", bad], capsys)


def test_the_shipped_scale_grid_plans_its_dose_response_and_audit_runs(tmp_path: Path) -> None:
    plan = check(load_grid(ROOT / "pipelines" / "audit_scale.yaml", output=tmp_path))
    assert len(plan.runs) == 45 and sum(s.kind == "world" for s in plan.stages) == 20
    worlds = {s.name.split(" ", 1)[1]: s.params.overrides for s in plan.stages if s.kind == "world"}
    assert all(w["probe_resources"] == 1500 and w["entities"] == 1950 for w in worlds.values())
    assert worlds["history_only-w0"]["recrawl_unchanged"] is False
    assert [worlds[f"{w}-w0"]["stale_share"] for w in ("stale_00", "stale_40", "stale_60")] == [0.0, 0.4, 0.6]
    # the control comes first, so the summary's contrasts are every world minus history alone
    assert next(iter(plan.runs)).startswith("history_only-w0/raw")
    assert sum(key.startswith("stale_40-") for key in plan.runs) == 30
    assert {s.params.budget_tokens for s in plan.stages if s.kind == "mix"} == {3_000_000}


# The reduced demo's world, far smaller than `tiny`: the point here is the hand-over between machines.
SMALL_WORLD = {k: v for k, v in REDUCED["stages"][0].items() if k not in ("name", "kind", "preset", "seed")}


@pytest.mark.slow
def test_a_grid_built_here_trained_elsewhere_and_reported_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spark: object
) -> None:
    import yaml

    grid = tmp_path / "grid.yaml"
    grid.write_text(
        yaml.safe_dump(
            {
                "worlds": {"small": SMALL_WORLD},
                "world_seeds": [0],
                "seeds": [0],
                "mixtures": {
                    "raw": str(MIXTURES / "raw.yaml"),
                    "keep_newest": str(MIXTURES / "keep_newest.yaml"),
                },
                "budget_tokens": "30K",
                "train": {"preset": "tiny", "tokens": 20_000, "seq_len": 64, "batch_size": 8},
                "probe": {"k_tokens": 32, "batch_size": 16},
            }
        )
    )
    here = tmp_path / "here"
    main(["experiment", str(grid), "-o", str(here), "--mixtures-only", "--master", "local[2]"])
    assert f"2 of 2 runs to train (0 finished): {here / RUNS_FILE}" in capsys.readouterr().out
    assert not (here / "runs").exists()  # nothing trained
    mixture = here / "mixtures" / "small-w0" / "raw-s0"
    n_tokens = sum(
        sum(pq.read_table(p).column("n_tokens").to_pylist()) for p in mixture.glob("part-*.parquet")
    )
    assert 29_000 <= n_tokens <= 30_000  # the grid's budget (at or under it by under a document), not 400K

    # What another machine receives: runs.json, the mixtures, and the world's probes and truth (the long-tail
    # probe counts each fact's exposure in it), in a folder of another name.
    there = tmp_path / "gpu" / "experiment"
    shutil.copytree(here / "mixtures", there / "mixtures")
    for part in ("probes", "truth"):
        shutil.copytree(here / "worlds/small-w0/world" / part, there / "worlds/small-w0/world" / part)
    shutil.copy(here / RUNS_FILE, there / RUNS_FILE)
    main(["train-runs", str(there), "--device", "cpu", "--workers", "2", "--probe-batch-size", "32"])
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert sorted(line["run"] for line in lines[:-1]) == ["small-w0/keep_newest-s0", "small-w0/raw-s0"]
    assert all(line["ok"] and line["status"] == ["ran", "ran"] for line in lines[:-1]), lines
    assert lines[-1]["failed"] == 0
    main(["train-runs", str(there)])  # a rerun finds nothing to do
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"] == 0

    # Back here: the report reads the probes trained elsewhere and predicts each cutoff from its mixture.
    shutil.copytree(there / "runs", here / "runs")
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    rows = {row["mixture"]: row for row in json.loads((here / "experiments.json").read_text())}
    assert set(rows) == {"raw", "keep_newest"}
    for line in lines[:-1]:
        row = rows[line["run"].split("/")[1].rsplit("-", 1)[0]]
        probe = json.loads((here / "runs" / line["run"] / "probe" / "probe.json").read_text())
        assert row["effective_cutoff"] == line["cutoff"] == probe["cutoff"]["effective_cutoff"]
        assert row["predicted_cutoff"] is not None and row["world_seed"] == 0
        assert (here / "runs" / line["run"] / "probe" / "prediction.json").is_file()
    assert json.loads((here / "summary.json").read_text())

    # A full run here would see the runs' markers (which name the other machine's paths) as changed and
    # retrain them, deleting them: it refuses instead, and nothing is touched.
    err = _refused(["experiment", str(grid), "-o", str(here), "--master", "local[2]"], capsys)
    assert "trained elsewhere (train-runs)" in err and "--finished-only" in err, err
    assert (here / "runs" / "small-w0" / "raw-s0" / "probe" / "probe.json").is_file()

    # A prediction reads the mixture and the reference, not the model: kept while they are older than it.
    prediction = here / "runs" / "small-w0" / "raw-s0" / "probe" / "prediction.json"
    kept = prediction.stat().st_mtime_ns
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    assert prediction.stat().st_mtime_ns == kept
    (here / "mixtures" / "small-w0" / "raw-s0" / "_manifest.json").touch()
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    assert prediction.stat().st_mtime_ns > kept
    # One made from another mixture, copied in with its times kept (`cp -p`): its fingerprints, not its
    # times, show it is stale, and it is made again.
    made = json.loads(prediction.read_text())
    assert made["made_from"]["mixture"] == json.loads((mixture / MARKER).read_text())["fingerprint"]
    assert made["made_from"]["reference"] is not None
    prediction.write_text(
        json.dumps({**made, "month": "1999-01", "made_from": {**made["made_from"], "mixture": "x"}})
    )
    os.utime(prediction, (prediction.stat().st_mtime + 120,) * 2)
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    assert json.loads(prediction.read_text()) == made

    # Copied files' times say nothing: the run names the fingerprint of the mixture it was trained on.
    os.utime(mixture / MARKER, (prediction.stat().st_mtime + 60,) * 2)
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    assert len(json.loads((here / "experiments.json").read_text())) == 2
    # A mixture rebuilt since (another fingerprint) makes its run stale: left out, and said so.
    marker = json.loads((mixture / MARKER).read_text())
    (mixture / MARKER).write_text(json.dumps({**marker, "fingerprint": "rebuilt"}))
    capsys.readouterr()
    main(["experiment", str(grid), "-o", str(here), "--finished-only", "--master", "local[2]"])
    assert [row["mixture"] for row in json.loads((here / "experiments.json").read_text())] == ["keep_newest"]
    assert "1 runs left out, mixture rebuilt since their probe: small-w0/raw-s0" in capsys.readouterr().err


def test_a_train_runs_worker_takes_sigterm_as_an_interrupt() -> None:
    """A spawned worker had no SIGTERM handler: the group's SIGTERM (timeout, Slurm) killed it before its
    training could save a checkpoint, where `chronomix train` saves one. A real signal, in a process of its
    own as a worker is."""
    import subprocess
    import sys

    code = (
        "import os, signal, time\n"
        "from jobs.cli import raise_on_sigterm\n"
        "raise_on_sigterm()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "except KeyboardInterrupt:\n"
        "    print('saved')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout.strip() == "saved", done.stderr[-2000:]


def test_a_run_made_under_other_grid_settings_is_pending_and_not_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run trained with train.tokens 15000, its grid then changed to 20000: `--mixtures-only` said it was
    finished, train-runs trained nothing and `--finished-only` reported the old run under the new grid."""
    plan = check(grid_from_dict(_world_grid(tmp_path), ROOT, output=str(tmp_path)))
    write_runs(tmp_path, plan.stages, plan.meta)
    runs = read_runs(tmp_path)
    key = "w-w0/raw-s3"
    train, probe = runs[key]["train"], runs[key]["probe"]
    Path(train["mixture"]).mkdir(parents=True)
    (Path(train["mixture"]) / MARKER).write_text("{}")
    run_dir, probe_dir = Path(train["output"]), Path(probe["output"])
    probe_dir.mkdir(parents=True)
    (probe_dir / MARKER).write_text("{}")
    config = {k: v for k, v in train.items() if k not in ("mixture", "output")}

    def made(config: dict, settings: dict | None = None) -> None:
        (run_dir / "run.json").write_text(json.dumps({"config": config}))
        (probe_dir / "probe.json").write_text(json.dumps({"settings": settings} if settings else {}))

    made({**config, "device": "cuda", "log_every": 1})  # where and how it was watched decides nothing
    assert settings_changed(run_dir, train, probe) is None and pending(runs, [key]) == ([], [])
    made({**config, "tokens": train["tokens"] - 5000})
    assert (
        settings_changed(run_dir, train, probe)
        == f"train.tokens {train['tokens'] - 5000}, the grid's {train['tokens']}"
    )
    assert pending(runs, [key]) == ([key], [])
    made(config, {"k_tokens": 16, "normalisation": probe["normalisation"]})
    assert settings_changed(run_dir, train, probe) == "probe.k_tokens 16, the grid's None"
    made({"preset": config["preset"]})  # a setting older runs did not record is not compared
    assert settings_changed(run_dir, train, probe) is None
    (run_dir / "run.json").write_text("{not json")
    assert settings_changed(run_dir, train, probe) == "run.json unreadable"

    made({**config, "seq_len": 2 * config["seq_len"]})
    mixtures = {key: train["mixture"]}
    assert finished_runs({key: run_dir}, mixtures) == {key: run_dir}  # no settings given: not compared
    capsys.readouterr()
    assert finished_runs({key: run_dir}, mixtures, {key: (train, probe)}) == {}
    assert "1 runs left out, made under other settings than the grid's now" in capsys.readouterr().err
