"""World config values the generator cannot use are refused naming the field: NaN and infinity slipped past
the range checks (every comparison with NaN is false) and failed deep in numpy, and `distractors: 0` made
fact probes without a wrong answer to rank against."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.jobs.cli_helpers import _refused
from world.config import WorldConfigError, config_from_mapping


@pytest.mark.parametrize(
    ("yaml_line", "message"),
    [
        ("zipf_exponent: .nan", "world config field 'zipf_exponent': must be a finite number, got nan"),
        (
            "stale_age_mean_months: .inf",
            "world config field 'stale_age_mean_months': must be a finite number, got inf",
        ),
        (
            "stale_age_mean_months: .nan",
            "world config field 'stale_age_mean_months': must be a finite number, got nan",
        ),
        (
            "change_rate_scale: .inf",
            "world config field 'change_rate_scale': must be a finite number, got inf",
        ),
        ("crawl_share: -.inf", "world config field 'crawl_share': must be a finite number, got -inf"),
        (
            "languages: {en: .inf}",
            "world config field 'languages': share of 'en' must be a finite number, got inf",
        ),
        (
            "languages: {en: .nan}",
            "world config field 'languages': share of 'en' must be a finite number, got nan",
        ),
        ("distractors: 0", "world config field 'distractors': must be >= 1, got 0"),
        (
            "zipf_exponent: 1.0e+300",
            "world config field 'zipf_exponent': out of range (1e+300; expected [0, 20])",
        ),
    ],
)
def test_a_value_the_generator_cannot_use_is_refused_naming_the_field(
    yaml_line: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text(yaml_line + "\n")
    err = _refused(["world", "-o", str(tmp_path / "w"), "-c", str(config)], capsys)
    assert err == f"chronomix: error: Invalid value: {message}"
    assert not (tmp_path / "w").exists()


def test_every_float_field_is_checked() -> None:
    """Each float field of WorldConfig, given NaN, is named (a field added later is covered too)."""
    import dataclasses

    from world.config import WorldConfig

    floats = [
        f.name for f in dataclasses.fields(WorldConfig) if isinstance(getattr(WorldConfig(), f.name), float)
    ]
    assert "zipf_exponent" in floats and len(floats) > 10
    for name in floats:
        with pytest.raises(WorldConfigError, match=f"^world config field '{name}': must be a finite number"):
            config_from_mapping({name: float("nan")})
    assert config_from_mapping({"distractors": 1, "zipf_exponent": 20.0}).distractors == 1
