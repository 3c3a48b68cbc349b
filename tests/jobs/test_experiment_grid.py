"""The experiment grid: seed axes, replicates, worlds built by the grid, one-line errors; and the audit's
prediction of a mixture's cutoff (trainers/predict.py) on rows whose versions are known."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.contract import UsageError
from jobs.experiment import check, grid_from_dict, load_grid, replicates
from jobs.experiment_runs import (
    RUNS_FILE,
    forget_unreadable_probe,
    pending,
    probe_readable,
    probed_since_mixture,
    read_runs,
)
from jobs.runner import MARKER, StageSpec, read_marker, run_stages
from trainers.predict import predict_mixture_cutoff

ROOT = Path(__file__).resolve().parents[2]
MIXTURES = {"raw": str(ROOT / "pipelines" / "mixtures" / "raw.yaml")}


def test_seed_axes_pair_or_cross() -> None:
    base = {"input": "/in", "probes": "/p", "mixtures": MIXTURES}
    paired = grid_from_dict({**base, "mixture_seeds": [1, 2], "init_seeds": [5, 6]}, ROOT, output="/o")
    assert [(r.mixture_seed, r.init_seed) for r in replicates(paired)] == [(1, 5), (2, 6)]
    assert replicates(paired)[0].key("raw") == "raw-m1-i5"
    crossed = grid_from_dict(
        {**base, "mixture_seeds": [1, 2], "init_seeds": [5, 6, 7], "replicates": "crossed"}, ROOT, output="/o"
    )
    assert len(replicates(crossed)) == 6
    legacy = grid_from_dict({**base, "seeds": [0, 3]}, ROOT, output="/o")  # one seed drives both
    assert [r.key("raw") for r in replicates(legacy)] == ["raw-s0", "raw-s3"]
    with pytest.raises(UsageError, match="paired seeds need axes of one length"):
        replicates(grid_from_dict({**base, "mixture_seeds": [1, 2], "init_seeds": [5]}, ROOT, output="/o"))


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"worlds": {"a": {}}, "input": "/in", "mixtures": MIXTURES}, "either 'worlds'"),
        ({"mixtures": MIXTURES}, "'input': required when no 'worlds'"),
        ({"input": "/in", "probes": "/p", "mixtures": MIXTURES, "replicates": "some"}, "'replicates'"),
        ({"input": "/in", "probes": "/p", "mixtures": MIXTURES, "init_seeds": [-1]}, "'init_seeds'"),
        ({"worlds": ["a"], "mixtures": MIXTURES}, "'worlds': expected a mapping"),
    ],
)
def test_bad_grids_name_the_field(grid: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        grid_from_dict(grid, ROOT, output="/o")


def test_worlds_are_built_once_per_world_seed_and_every_mixture_reads_its_own(tmp_path: Path) -> None:
    grid = grid_from_dict(
        {
            "worlds": {"stale0": {"stale_share": 0.0}, "stale6": {"stale_share": 0.6}},
            "world_seeds": [0, 1],
            "seeds": [7, 8],
            "mixtures": {**MIXTURES, "keep_newest": str(ROOT / "pipelines/mixtures/keep_newest.yaml")},
        },
        ROOT,
        output=str(tmp_path),
    )
    plan = check(grid)
    names = [s.name for s in plan.stages]
    assert sum(n.startswith("world ") for n in names) == 4  # 2 worlds x 2 world seeds
    assert names[:4] == ["world stale0-w0", "ingest stale0-w0", "date stale0-w0", "dedup stale0-w0"]
    assert len(plan.runs) == 2 * 2 * 2  # worlds x paired replicates x mixtures
    assert "stale6-w1/keep_newest-s8" in plan.runs
    world_stage = next(s for s in plan.stages if s.name == "world stale6-w1")
    assert world_stage.params.seed == 1 and world_stage.params.overrides == {"stale_share": 0.6}
    dating = next(s for s in plan.stages if s.name == "date stale6-w1")
    assert dating.params.reference.endswith("stale6-w1/world/probes/reference.parquet")
    mix = next(s for s in plan.stages if s.name == "mix stale6-w1/raw-s8")
    assert mix.needs == ["dedup stale6-w1"] and mix.params.seed == 8
    assert plan.meta["stale6-w1/raw-s8"]["probes"].endswith("stale6-w1/world/probes")


def test_predicted_cutoff_of_a_mixture_of_known_versions(tmp_path: Path) -> None:
    # Twelve resources, one version a month for 2020-01..2020-06 (each month's text differs); the mixture
    # holds the 2020-04 version of every resource, with token counts.
    words = [f"w{i}" for i in range(4000)]
    reference, mixture = [], []
    for r in range(12):
        base = words[r * 300 : r * 300 + 60]
        for m in range(6):
            text = " ".join([f"res{r}", *base[: 40 + 3 * m], f"month{m}", *base[40 + 3 * m :]])
            reference.append(
                {"resource": f"r{r}", "month": f"2020-{m + 1:02d}", "text": text,
                 "created": datetime(2020, m + 1, 1, tzinfo=UTC)}
            )  # fmt: skip
            if m == 3:
                mixture += [{"id": f"r{r}-{k}", "text": text, "n_tokens": 62} for k in range(3)]
    pq.write_table(pa.Table.from_pylist(reference), tmp_path / "reference.parquet")
    (tmp_path / "mix").mkdir()
    pq.write_table(pa.Table.from_pylist(mixture), tmp_path / "mix" / "part-00000.parquet")
    figures = predict_mixture_cutoff(tmp_path / "mix", tmp_path / "reference.parquet", n_boot=200)
    assert figures["documents_matched"] == 36 and figures["resources_found"] == 12
    predicted = figures["predicted_cutoff"]
    assert predicted["month"] == "2020-04" and predicted["interval"] == ["2020-04", "2020-04"]


@pytest.mark.parametrize(
    ("name", "runs", "worlds"),
    [
        ("dose_response.yaml", 60, 25),  # 5 world seeds; history_only raw, stale_40 all 5 mixtures, others 2
        ("dose_response_raw.yaml", 15, 15),
        ("dose_response_dedup.yaml", 20, 10),
        ("dose_response_shares.yaml", 45, 25),
        ("dose_response_controls.yaml", 20, 5),  # stale_40: raw and its three controls
    ],
)
def test_shipped_grids_plan_their_runs(name: str, runs: int, worlds: int, tmp_path: Path) -> None:
    plan = check(load_grid(ROOT / "pipelines" / name, output=tmp_path))
    assert len(plan.runs) == runs
    assert sum(s.name.startswith("world ") for s in plan.stages) == worlds
    # The cells of the small grids are the full grid's runs, so either reuses the other's.
    if name != "dose_response.yaml":
        full = check(load_grid(ROOT / "pipelines" / "dose_response.yaml", output=tmp_path))
        assert set(plan.runs) <= set(full.runs)
        for key in plan.runs:
            assert plan.meta[key]["mixture"] == full.meta[key]["mixture"]


def test_a_grids_worlds_carry_their_stale_share_and_other_settings_for_the_dose_response(
    tmp_path: Path,
) -> None:
    """The summary's dose-response takes as one family the worlds whose settings differ only in their stale
    share: the stale worlds of dose_response.yaml, not its history-only control."""
    plan = check(load_grid(ROOT / "pipelines" / "dose_response.yaml", output=tmp_path))
    share = {key.split("-w")[0]: meta["stale_share"] for key, meta in plan.meta.items()}
    assert share == {"history_only": 0.0, "stale_00": 0.0, "stale_20": 0.2, "stale_40": 0.4, "stale_60": 0.6}
    settings = {key.split("-w")[0]: meta["world_settings"] for key, meta in plan.meta.items()}
    assert json.loads(settings["stale_20"]) == {"preset": "tiny"}
    assert len({settings[w] for w in ("stale_00", "stale_20", "stale_40", "stale_60")}) == 1
    assert json.loads(settings["history_only"]) == {"preset": "tiny", "recrawl_unchanged": False}
    # a world that names no share has its preset's
    grid = grid_from_dict(
        {"worlds": {"default": {}}, "mixtures": MIXTURES}, ROOT, output=str(tmp_path / "default")
    )
    assert {m["stale_share"] for m in check(grid).meta.values()} == {0.4}


def test_a_world_setting_out_of_range_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    grid = grid_from_dict(
        {"worlds": {"bad": {"stale_share": 1.5}}, "mixtures": MIXTURES}, ROOT, output=str(tmp_path / "o")
    )
    with pytest.raises(UsageError, match="world 'bad': world config field 'stale_share': must be in"):
        check(grid)
    assert not (tmp_path / "o").exists()


def test_the_long_tail_control_changes_only_the_initialisation(tmp_path: Path) -> None:
    """pipelines/longtail_init_control.yaml trains the long-tail grid's fifth replicate again with three
    other initialisation seeds: the same world and probes, a mixture of the same seed (the same rows)."""
    grid = check(load_grid(ROOT / "pipelines" / "longtail.yaml", output=tmp_path))
    control = check(load_grid(ROOT / "pipelines" / "longtail_init_control.yaml", output=tmp_path))
    fifth = grid.meta["default-w4/raw-s4"]
    assert sorted(control.runs) == [f"default-w4/raw-m4-i{i}" for i in (5, 6, 7)]
    for meta in control.meta.values():
        same = ("mixture", "world", "world_seed", "mixture_seed", "probes")
        assert {k: meta[k] for k in same} == {k: fifth[k] for k in same}
        assert meta["init_seed"] != fifth["init_seed"]
    world_stages = {
        s.name for s in control.stages if s.name.split()[0] in ("world", "ingest", "date", "dedup")
    }
    assert world_stages == {f"{step} default-w4" for step in ("world", "ingest", "date", "dedup")}


def test_a_bad_grid_input_or_setting_is_refused_before_the_output_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """The grid's input was first read by its mix stages, and the probe settings by its probe stages, after
    the output folder was made: now each is exit 2 with one line, and no output folder."""
    import yaml

    from jobs.cli import main

    documents = tmp_path / "docs"
    documents.mkdir()
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents / "part-0.parquet")
    versions = tmp_path / "versions.parquet"  # the probes: dated versions of one resource
    pq.write_table(pa.table({"resource": ["r"], "month": ["2020-01"], "text": ["a page"]}), versions)
    keep_newest = str(ROOT / "pipelines" / "mixtures" / "keep_newest.yaml")
    base = {"input": str(documents), "probes": str(versions), "mixtures": MIXTURES}
    cases = [
        ({**base, "input": str(tmp_path / "nowhere")}, "grid field 'input': input"),
        ({**base, "mixtures": {"keep_newest": keep_newest}}, "grid field 'input': filters.drop_stale"),
        ({**base, "probe": {"device": "tpu"}}, "grid stage 'probe raw-s0': --device 'tpu'"),
        ({**base, "probe": {"length_norm": "words"}}, "grid stage 'probe raw-s0': --length-norm 'words'"),
    ]
    grid, out = tmp_path / "grid.yaml", tmp_path / "out"
    for data, expected in cases:
        grid.write_text(yaml.safe_dump(data))
        with pytest.raises(SystemExit) as done:
            main(["experiment", str(grid), "-o", str(out)])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2 and expected in err and "\n" not in err, err
        assert not out.exists()
    grid.write_text(yaml.safe_dump(base))
    assert list(check(load_grid(grid, output=out)).runs) == ["raw-s0"]  # a good grid passes the check,
    assert not out.exists()  # which makes nothing either


def _probed_grid(tmp_path: Path) -> tuple[Path, Path]:
    """A grid of two runs (raw-s0, raw-s1) on a tiny input, and its output with both mixtures built (markers)
    and both runs trained and probed (run.json, probe.json, the probe marker newer than the mixture's)."""
    import yaml

    documents = tmp_path / "docs"
    documents.mkdir()
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents / "part-0.parquet")
    versions = tmp_path / "versions.parquet"  # the probes: dated versions of one resource
    pq.write_table(pa.table({"resource": ["r"], "month": ["2020-01"], "text": ["a page"]}), versions)
    grid, out = tmp_path / "grid.yaml", tmp_path / "out"
    grid.write_text(
        yaml.safe_dump(
            {"input": str(documents), "probes": str(versions), "mixtures": MIXTURES, "seeds": [0, 1]}
            | {"predict": False}
        )
    )
    for seed, cutoff in ((0, "2020-03"), (1, "2020-04")):
        key = f"raw-s{seed}"
        mixture, probe = out / "mixtures" / key, out / "runs" / key / "probe"
        mixture.mkdir(parents=True)
        probe.mkdir(parents=True)
        (mixture / MARKER).write_text(json.dumps({"fingerprint": key}))
        info = {"mixture": str(mixture), "config": {"seed": seed}, "tokens_seen": 1000}
        (probe.parent / "run.json").write_text(json.dumps(info))
        (probe / "probe.json").write_text(
            json.dumps({"cutoff": {"effective_cutoff": cutoff, "gap_months": 2}})
        )
        (probe / MARKER).write_text(json.dumps({"fingerprint": "probed", "summary": {}}))
        later = (mixture / MARKER).stat().st_mtime + 60
        os.utime(probe / MARKER, (later, later))
    return grid, out


def _stages_skipped(specs: list[StageSpec], *args: object, **kwargs: object) -> list[object]:
    """In place of jobs.runner.run_stages: every stage complete (no Spark, no training)."""
    return []


def test_mixtures_only_says_how_many_runs_are_left_to_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_spark: None
) -> None:
    """It printed "2 runs to train" with one of the two already probed; now the runs train-runs would train
    (by name) and how many are finished, or the report's command when none is left."""
    from jobs.cli import main

    grid, out = _probed_grid(tmp_path)
    monkeypatch.setattr("jobs.experiment.run_stages", _stages_skipped)
    (out / "runs" / "raw-s1" / "probe" / MARKER).unlink()  # raw-s1 not probed
    main(["experiment", str(grid), "-o", str(out), "--mixtures-only"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"1 of 2 runs to train (1 finished): {out / RUNS_FILE}"
    assert printed[1] == "to train: raw-s1"
    assert printed[2].endswith(f"(the finished runs are skipped): chronomix train-runs {out}")
    assert pending(read_runs(out), None) == (["raw-s1"], [])  # what that command trains

    (out / "runs" / "raw-s0" / "probe" / "probe.json").write_text('{"cutoff": {"eff')  # cut short
    main(["experiment", str(grid), "-o", str(out), "--mixtures-only"])
    assert capsys.readouterr().out.splitlines()[:2] == [
        f"2 of 2 runs to train (0 finished): {out / RUNS_FILE}",
        "to train: raw-s0, raw-s1",
    ]
    for key in ("raw-s0", "raw-s1"):
        _probed_grid_probe(out, key)
    main(["experiment", str(grid), "-o", str(out), "--mixtures-only"])
    assert capsys.readouterr().out.splitlines() == [
        f"0 of 2 runs to train (2 finished): {out / RUNS_FILE}",
        f"report them: chronomix experiment {grid} -o {out} --finished-only",
    ]


def _probed_grid_probe(out: Path, key: str, cutoff: str = "2020-05") -> None:
    probe = out / "runs" / key / "probe"
    (probe / "probe.json").write_text(json.dumps({"cutoff": {"effective_cutoff": cutoff}}))
    (probe / MARKER).write_text(json.dumps({"fingerprint": "probed", "summary": {}}))
    later = (out / "mixtures" / key / MARKER).stat().st_mtime + 60
    os.utime(probe / MARKER, (later, later))


def test_an_unreadable_probe_json_is_no_finished_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, no_spark: None
) -> None:
    """A probe.json cut short counted as finished: every stage was skipped and the report aborted on a bare
    JSONDecodeError naming no file. Now --finished-only leaves that run out, by name, and a full run probes
    it again (its marker no longer says complete)."""
    from jobs.cli import main

    grid, out = _probed_grid(tmp_path)
    broken = out / "runs" / "raw-s0" / "probe" / "probe.json"
    broken.write_text(broken.read_text()[:20])
    main(["experiment", str(grid), "-o", str(out), "--finished-only"])
    rows = json.loads((out / "experiments.json").read_text())
    assert [(row["run"], row["effective_cutoff"]) for row in rows] == [("raw-s1", "2020-04")]
    assert "1 runs left out, probe.json unreadable" in capsys.readouterr().err
    assert "raw-s0" not in (out / "experiments.md").read_text()

    def probe_again(specs: list[StageSpec], *args: object, **kwargs: object) -> list[object]:
        """The runner's rule for the probe stages: one whose marker's fingerprint differs runs again."""
        for spec in specs:
            if spec.kind == "probe" and (read_marker(spec.output) or {}).get("fingerprint") != "probed":
                _probed_grid_probe(out, spec.name.split(" ", 1)[1], cutoff="2020-06")
        return []

    monkeypatch.setattr("jobs.experiment.run_stages", probe_again)
    main(["experiment", str(grid), "-o", str(out)])
    rows = json.loads((out / "experiments.json").read_text())
    assert [(row["run"], row["effective_cutoff"]) for row in rows] == [
        ("raw-s0", "2020-06"),
        ("raw-s1", "2020-04"),
    ]


def test_the_runner_probes_again_a_probe_whose_json_is_unreadable(tmp_path: Path) -> None:
    """The marker of a probe whose probe.json cannot be read is rewritten so that the runner reruns the stage
    (it skipped it as complete); one that can be read is left alone."""
    from jobs.contract import Stage, StageParams, StageResult

    @dataclass(frozen=True)
    class Params(StageParams):
        output: str
        overwrite: bool = False

    written: list[str] = []

    def run(params: Params, spark: object) -> StageResult:
        Path(params.output).mkdir(parents=True, exist_ok=True)
        Path(params.output, "probe.json").write_text(json.dumps({"n": len(written)}))
        written.append(params.output)
        return StageResult({})

    probe = tmp_path / "probe"
    spec = StageSpec("probe a", Stage("probe", Params, lambda params: params, run), Params(str(probe)))
    assert [o.status for o in run_stages([spec], _no_spark)] == ["ran"]
    assert not forget_unreadable_probe(probe) and probe_readable(probe)
    (probe / "probe.json").write_text('{"n": ')
    assert not probe_readable(probe)
    assert not probed_since_mixture(probe, tmp_path / "no-mixture")
    assert forget_unreadable_probe(probe)
    assert [o.status for o in run_stages([spec], _no_spark)] == ["ran"]
    assert json.loads((probe / "probe.json").read_text()) == {"n": 1}
    assert probed_since_mixture(probe, tmp_path / "no-mixture")
    assert [o.status for o in run_stages([spec], _no_spark)] == ["skipped"]


def _no_spark() -> object:
    raise AssertionError("no stage here asks for Spark")
