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


def test_parse_count_of_decimals_with_a_suffix_is_exact():
    """int(float(x) * suffix) gave 2009 for 2.01K and 8,199,999,999 for 8.2B (56 of the 2,997 values
    0.01..9.99 with K, M or B were a token short)."""
    assert parse_count("2.01K", "budget_tokens") == 2010
    assert parse_count("8.2B", "budget_tokens") == 8_200_000_000
    assert parse_count(8.2e9, "budget_tokens") == 8_200_000_000
    for hundredths in range(1, 1000):
        for suffix, scale in (("K", 10**3), ("M", 10**6), ("B", 10**9)):
            value = f"{hundredths // 100}.{hundredths % 100:02d}{suffix}"
            assert parse_count(value, "budget_tokens") == hundredths * scale // 100, value


@pytest.mark.parametrize("value", ["1.0005K", "2.5", 2.5, "0.0000001M"])
def test_parse_count_refuses_a_fraction_of_a_token(value):
    """A count that is no whole number of tokens was cut (1.0005K gave 1000): now refused, naming it."""
    with pytest.raises(SpecError, match=r"budget_tokens: .* not a whole number"):
        parse_count(value, "budget_tokens")


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


def test_spec_language_codes_are_normalised_as_the_data_s_are():
    """mix normalises the data's `lang` (EN, en-US, eng, de_DE, ger) but compared the spec's codes as given:
    `languages: [EN]` kept none of 60 English documents, and `[EN, deu]` none of the data's en or de."""
    spec = parse_spec(base(filters={"languages": ["EN", "deu"]}))
    assert spec.filters.languages == ("en", "de")
    weights = {"EN": 0.5, "ger": 0.3, "zh_Hant": 0.1, "yue": 0.1}
    spec = parse_spec(base(language={"strategy": "weights", "weights": weights}))
    assert spec.language.weights == {"en": 0.5, "de": 0.3, "zh": 0.1, "yue": 0.1}
    assert spec.to_dict()["filters"]["languages"] is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (base(filters={"languages": ["en", "xx"]}), "filters.languages: 'xx' names no language"),
        (base(filters={"languages": ["English"]}), "filters.languages: 'English' names no language"),
        (base(filters={"languages": ["EN", "en-US"]}), "filters.languages: 'EN' and 'en-US' both name 'en'"),
        (
            base(language={"strategy": "weights", "weights": {"de": 0.5, "ger": 0.5}}),
            "language.weights: 'de' and 'ger' both name 'de'",
        ),
        (
            base(language={"strategy": "weights", "weights": {"en": 0.5, "1": 0.5}}),
            "language.weights: '1' names no language",
        ),
    ],
)
def test_spec_language_codes_that_name_no_language_or_one_twice_are_refused(spec, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(spec)


def test_a_key_given_twice_is_refused_naming_it_and_its_lines(tmp_path):
    """`seed: 1` ... `seed: 2` in one spec was read as seed 2, the first value dropped without a word."""
    path = tmp_path / "spec.yaml"
    path.write_text("name: s\nseed: 1\nbudget_tokens: 2K\nseed: 2\n")
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert str(raised.value) == f"spec {str(path)!r}: key 'seed' given twice (lines 2 and 4)"
    path.write_text("budget_tokens: 100\nlanguage: {strategy: weights, weights: {en: 0.5, en: 0.5}}\n")
    with pytest.raises(SpecError, match="key 'en' given twice on line 2"):
        load_spec(path)


def test_an_empty_path_is_named_as_one():
    """`load_spec("")` read the current folder: "cannot read it (Is a directory)"."""
    with pytest.raises(SpecError) as raised:
        load_spec("")
    assert str(raised.value) == "spec '': an empty path"
