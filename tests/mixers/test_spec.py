from pathlib import Path

import pytest

from mixers.spec import MixSpec, SpecError, load_spec, parse_count, parse_spec

MIXTURES = Path(__file__).parents[2] / "pipelines" / "mixtures"


def base(**changes):
    spec = {"budget_tokens": 1000, "language": {"strategy": "natural"}, "time": {"strategy": "natural"}}
    spec.update(changes)
    return spec


@pytest.mark.parametrize("name", ["raw", "keep_newest", "time_uniform", "recency_temperature"])
def test_example_specs_load(name):
    spec = load_spec(MIXTURES / f"{name}.yaml")
    assert isinstance(spec, MixSpec)
    assert spec.name == name
    assert spec.budget_tokens == 400_000


def test_keep_newest_drops_stale_and_exact_dups_raw_keeps_them():
    assert load_spec(MIXTURES / "keep_newest.yaml").filters.required_columns() == {
        "filters.drop_stale": "is_stale",
        "filters.drop_exact_dup": "is_exact_dup",
    }
    assert load_spec(MIXTURES / "raw.yaml").filters.required_columns() == {}


def test_time_uniform_spec_values():
    spec = load_spec(MIXTURES / "time_uniform.yaml")
    assert (spec.language.strategy, spec.language.max_epochs) == ("unimax", 4.0)
    assert (spec.time.strategy, spec.time.granularity, spec.time.unknown) == ("uniform", "year", "keep")


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("10K", 10_000), ("2.5M", 2_500_000), ("1b", 1_000_000_000), (3.0, 3)]
)
def test_parse_count(value, expected):
    assert parse_count(value, "budget_tokens") == expected


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (base(language={"strategy": "zipf"}), "language.strategy"),
        (base(time={"strategy": "newest"}), "time.strategy"),
        (base(budget_tokens=-5), "budget_tokens"),
        (base(budget_tokens="lots"), "budget_tokens"),
        ({"language": {"strategy": "natural"}}, "budget_tokens"),
        (base(language={"strategy": "weights", "weights": {"en": 0.5, "de": 0.4}}), "language.weights"),
        (base(time={"strategy": "weights", "weights": {"2020": 0.7, "2021": 0.7}}), "time.weights"),
        (base(language={"strategy": "weights", "weights": {"en": 1.5, "de": -0.5}}), "language.weights.de"),
        (base(language={"strategy": "temperature"}), "language.alpha"),
        (base(language={"strategy": "unimax", "max_epochs": 0}), "language.max_epochs"),
        (base(time={"strategy": "recency"}), "time.half_life_days"),
        (base(time={"granularity": "week"}), "time.granularity"),
        (base(filters={"min_lang_score": 2}), "filters.min_lang_score"),
        (base(filters={"drop_stale": "yes"}), "filters.drop_stale"),
        (base(filters={"drop_old": True}), "filters.drop_old"),
        (base(max_repeats=0), "max_repeats"),
        (base(redistribute="everywhere"), "redistribute"),
        (base(colour="blue"), "colour"),
        # accepted before, and then ignored or allocated to cells that cannot exist
        (
            base(time={"strategy": "weights", "granularity": "quarter", "weights": {"2020-13": 1.0}}),
            "time.weights.2020-13",
        ),
        (
            base(time={"strategy": "weights", "granularity": "month", "weights": {"2020": 1.0}}),
            "time.weights.2020",
        ),
        (
            base(time={"strategy": "weights", "weights": {"2020": 0.5, "unknown": 0.5}}),
            "time.weights.unknown",
        ),
        (base(language={"alpha": 0.3}), "language.alpha"),
        (base(time={"half_life_days": 30}), "time.half_life_days"),
        (base(language={"strategy": "weights", "weights": {"en": 0.5, False: 0.5}}), "language.weights"),
        (base(strata={"column": "k", "shares": {True: 0.8, False: 0.2}}), "strata.shares"),
    ],
)
def test_bad_specs_name_the_field_in_one_line(spec, field):
    with pytest.raises(SpecError) as error:
        parse_spec(spec)
    message = str(error.value)
    assert message.startswith(f"{field}:") or f" {field}" in message or message.startswith(field)
    assert "\n" not in message


def test_weights_that_sum_to_one_are_accepted():
    spec = parse_spec(base(language={"strategy": "weights", "weights": {"en": 0.7, "yo": 0.2, "bs": 0.1}}))
    assert spec.language.weights == {"en": 0.7, "yo": 0.2, "bs": 0.1}


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("budget_tokens: [1,\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)


def test_yaml_s_unquoted_no_is_refused_with_how_to_quote_it(tmp_path):
    """`weights: {en: 0.5, no: 0.5}` loaded as {'en': 0.5, 'False': 0.5}: Norwegian became the string False."""
    path = tmp_path / "spec.yaml"
    path.write_text("budget_tokens: 100\nlanguage: {strategy: weights, weights: {en: 0.5, no: 0.5}}\n")
    with pytest.raises(SpecError, match="key False is not a name; quote it"):
        load_spec(path)
    path.write_text("budget_tokens: 100\nlanguage: {strategy: weights, weights: {en: 0.5, 'no': 0.5}}\n")
    assert load_spec(path).language.weights == {"en": 0.5, "no": 0.5}
