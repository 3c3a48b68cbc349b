"""The experiment grid: seed axes, replicates, worlds built by the grid, one-line errors; and the audit's
prediction of a mixture's cutoff (trainers/predict.py) on rows whose versions are known."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.contract import UsageError
from jobs.experiment import check, grid_from_dict, load_grid, replicates
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
    keep_newest = str(ROOT / "pipelines" / "mixtures" / "keep_newest.yaml")
    base = {"input": str(documents), "probes": str(documents), "mixtures": MIXTURES}
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
