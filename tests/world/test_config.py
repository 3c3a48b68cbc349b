"""World config (presets, YAML overrides, one-line errors naming the field) and the `world` CLI command."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
import yaml
from typer.testing import CliRunner

from jobs.world import world
from world import PRESETS, WorldConfigError, load_config, preset_config
from world.config import SIZE_CEILINGS, month_index
from world.dumps import dump_name, stale_age_pmf


def test_presets_grow_and_default_dumps_end_at_the_span_end() -> None:
    tiny, small, large = (preset_config(name) for name in ("tiny", "small", "large"))
    assert tiny.entities < small.entities < large.entities
    assert tiny.dump_months()[0] == "2016-06" and tiny.dump_months()[-1] == "2023-12"
    assert len(tiny.dump_months()) == 16 and len(large.dump_months()) == 48
    assert set(PRESETS) == {"tiny", "small", "large"}


def test_dump_names_are_year_and_iso_week_of_the_crawl_windows_last_day() -> None:
    # The window is [10th, 24th): its last day, the 23rd, is in ISO week 21 in both years.
    assert dump_name(month_index("2019-05")) == "CC-MAIN-2019-21"
    assert dump_name(month_index("2024-05")) == "CC-MAIN-2024-21"
    # Dating bounds a crawl by the end of the named week: every crawl time of the window must be before it.
    from dating.signals import dump_window_end
    from world.dumps import crawl_window

    for month in ("2016-01", "2019-05", "2020-12", "2023-12"):
        _, end = crawl_window(month_index(month))
        assert end <= dump_window_end(dump_name(month_index(month)))


def test_yaml_overrides_preset_fields_and_seed(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "preset": "small",
                "entities": 1200,
                "stale_share": 0.3,
                "seed": 5,
                "dumps": ["2018-03", "2020-03"],
                "languages": {"en": 0.7, "de": 0.3},
            }
        )
    )
    config = load_config(path)
    assert (config.preset, config.entities, config.stale_share, config.seed) == ("small", 1200, 0.3, 5)
    assert config.mention_pages == PRESETS["small"]["mention_pages"]
    assert config.dump_months() == ["2018-03", "2020-03"]
    assert load_config(path, seed=9).seed == 9
    # The resolved config written beside a world loads back to the same config.
    again = tmp_path / "again.yaml"
    again.write_text(config.to_yaml())
    assert load_config(again) == config


def test_a_negative_seed_in_a_config_file_names_its_field(tmp_path: Path) -> None:
    """`seed: -3` in a world.yaml failed in numpy as "ValueError: expected non-negative integer" (exit 1)."""
    path = tmp_path / "world.yaml"
    path.write_text("seed: -3\n")
    with pytest.raises(WorldConfigError, match="'seed': must be >= 0, got -3"):
        load_config(path)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"entitys": 3}, "entitys"),
        ({"entities": "many"}, "entities"),
        ({"entities": 0}, "entities"),
        # passed, then hung the generator (a fact's other entity, or another value, never found)
        ({"entities": 2, "probe_resources": 1, "reference_resources": 1}, "entities"),
        ({"people": 1}, "people"),
        ({"cities": 1}, "cities"),
        ({"products": 1}, "products"),
        ({"stale_share": 1.0}, "stale_share"),
        ({"crawl_share": -0.1}, "crawl_share"),
        ({"stale_age_distribution": "poisson"}, "stale_age_distribution"),
        ({"dumps": ["2015-06"]}, "dumps"),
        ({"dumps": ["2019-13"]}, "dumps"),
        ({"languages": {"xx": 1.0}}, "languages"),
        ({"filler_words": [10, 5]}, "filler_words"),
        ({"end": "2015-01"}, "end"),
        ({"probe_resources": 10_000}, "probe_resources"),
        ({"preset": "huge"}, "preset"),
    ],
)
def test_bad_values_raise_one_line_naming_the_field(
    tmp_path: Path, values: dict[str, object], field: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(WorldConfigError, match=f"'{field}'") as info:
        load_config(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("values", "field", "got"),
    [  # allocated until the process aborted, or ran on past a gigabyte: refused before anything is made
        ({"resource_hosts": 1_000_000_000}, "resource_hosts", "1,000,000,000"),
        ({"filler_words": [2_000_000_000, 2_000_000_000]}, "filler_words", "2,000,000,000"),
        ({"entities": 10**12}, "entities", "1,000,000,000,000"),
        ({"max_fact_probes": 10**7}, "max_fact_probes", "10,000,000"),
    ],
)
def test_sizes_past_their_ceiling_are_refused_naming_the_field(
    tmp_path: Path, values: dict[str, object], field: str, got: str
) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(values))
    with pytest.raises(WorldConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(
        f"world config field {field!r}: at most {SIZE_CEILINGS[field]:,}, got {got} "
    )
    preset_config("large", **{field: SIZE_CEILINGS[field] if field != "filler_words" else (1, 100_000)})


def test_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(WorldConfigError, match="expected a mapping"):
        load_config(path)


def test_stale_age_pmf_is_the_truncated_distribution() -> None:
    config = preset_config("tiny", stale_age_mean_months=4.0, stale_age_max_months=10)
    pmf = stale_age_pmf(config, 3, 20)  # ages 3..10
    p = 0.25
    raw = [p * (1 - p) ** (a - 1) for a in range(3, 11)]
    assert pmf.tolist() == pytest.approx([r / sum(raw) for r in raw])
    assert stale_age_pmf(config, 11, 20).size == 0
    uniform = stale_age_pmf(preset_config("tiny", stale_age_distribution="uniform"), 5, 8)
    assert uniform.tolist() == pytest.approx([0.25] * 4)


def test_cli_writes_the_world_and_refuses_an_existing_output(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(world)
    config = tmp_path / "world.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "entities": 12,
                "dumps": ["2020-06", "2022-06"],
                "mention_pages": 5,
                "filler_pages": 3,
                "probe_resources": 2,
                "reference_resources": 2,
                "people": 10,
                "cities": 5,
                "products": 5,
            }
        )
    )
    output = tmp_path / "w"
    runner = CliRunner()
    result = runner.invoke(app, ["--output", str(output), "--config", str(config), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "CC-MAIN-2020-26" in result.output and "stale share" in result.output
    assert yaml.safe_load((output / "world.yaml").read_text())["seed"] == 3
    assert pq.read_table(output / "probes" / "temporal.parquet").num_rows == 2 * 96
    assert sorted(p.name for p in (output / "dumps").iterdir()) == ["CC-MAIN-2020-26", "CC-MAIN-2022-25"]
    again = runner.invoke(app, ["--output", str(output), "--config", str(config)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    # Without --seed the file's own seed stands: --seed's default 0 replaced it, and the world.yaml a world
    # writes did not regenerate that world.
    written = tmp_path / "w" / "world.yaml"
    regenerated = runner.invoke(app, ["--output", str(tmp_path / "w2"), "--config", str(written)])
    assert regenerated.exit_code == 0, regenerated.output
    assert yaml.safe_load((tmp_path / "w2" / "world.yaml").read_text())["seed"] == 3
    assert (
        runner.invoke(app, ["--output", str(output), "--config", str(config), "--overwrite"]).exit_code == 0
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("stale_share: 2\n")
    refused = runner.invoke(app, ["--output", str(tmp_path / "x"), "--config", str(bad)])
    assert refused.exit_code == 2 and "stale_share" in refused.output and not (tmp_path / "x").exists()
