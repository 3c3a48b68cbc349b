import math

import pytest

from mixers.allocation import (
    allocate,
    language_targets,
    temperature_shares,
    time_shares,
    unimax_targets,
    water_fill,
    whole_tokens,
)
from mixers.spec import LanguageStrategy, TimeStrategy, parse_spec


def test_unimax_worked_example():
    # Chung et al. 2023, Algorithm 1: languages visited from smallest; each gets
    # min(remaining budget / remaining languages, max_epochs x size).
    sizes = {"yo": 10, "sw": 50, "de": 400, "en": 1000}
    targets = unimax_targets(sizes, budget=1000, max_epochs=4)
    # yo: min(1000/4 = 250, 40) = 40; sw: min(960/3 = 320, 200) = 200; de: min(760/2 = 380, 1600) = 380;
    # en: min(380/1, 4000) = 380.
    assert targets == {"yo": 40, "sw": 200, "de": 380, "en": 380}
    assert sum(targets.values()) == 1000


def test_unimax_with_budget_above_all_epochs_gives_each_language_its_cap():
    assert unimax_targets({"a": 10, "b": 20}, budget=1000, max_epochs=2) == {"a": 20, "b": 40}


def test_text_without_a_language_keeps_its_natural_share_and_is_never_repeated():
    unimax = LanguageStrategy(strategy="unimax", max_epochs=4)
    sizes = {"en": 1000, "de": 400, "und": 100}
    # und: 1000 x 100/1500 of the budget; en and de share the rest as UniMax does
    assert language_targets(sizes, 1000, unimax) == pytest.approx(
        {"und": 200 / 3, "de": 1400 / 3, "en": 1400 / 3}
    )
    # a budget of 4 epochs repeats the languages, never und (before: 400 tokens, 4 copies, as a small language)
    assert language_targets(sizes, 6000, unimax) == pytest.approx({"und": 100, "de": 1600, "en": 4000})
    uniform = LanguageStrategy(strategy="temperature", alpha=0.0)
    assert language_targets(sizes, 1500, uniform) == pytest.approx({"und": 100, "de": 700, "en": 700})
    # weights that name it decide it
    weights = LanguageStrategy(strategy="weights", weights={"en": 0.5, "und": 0.5})
    assert language_targets(sizes, 1000, weights) == pytest.approx({"en": 500, "de": 0, "und": 500})
    assert language_targets({"und": 100}, 1000, unimax) == {"und": 100}


def test_no_cell_of_text_without_a_language_is_repeated():
    # a uniform time split and a global redistribution gave the small und bucket 4 copies (40 of its 10)
    cells = {("en", "2024-01"): (10, 300), ("en", "2024-02"): (10, 300), ("und", "2024-01"): (5, 100)}
    cells[("und", "2024-02")] = (1, 10)
    spec = parse_spec(
        {
            "name": "u",
            "budget_tokens": 1000,
            "max_repeats": 4,
            "redistribute": "global",
            "time": {"strategy": "uniform", "granularity": "month"},
        }
    )
    plans = {(c.lang, c.bucket): c for c in allocate(cells, spec).cells}
    assert plans[("und", "2024-01")].target <= 100 and plans[("und", "2024-02")].target <= 10
    assert sum(c.target for c in plans.values()) == 1000  # the rest goes to English


def test_temperature_is_n_to_the_alpha_exactly():
    sizes = {"en": 1_000_000, "de": 100_000, "yo": 1_000}
    shares = temperature_shares(sizes, 0.3)
    z = sum(n**0.3 for n in sizes.values())
    for lang, n in sizes.items():
        assert shares[lang] == pytest.approx(n**0.3 / z, rel=1e-12)
    assert temperature_shares(sizes, 1.0)["en"] == pytest.approx(1_000_000 / 1_101_000)
    assert temperature_shares(sizes, 0.0) == pytest.approx({k: 1 / 3 for k in sizes})


def test_language_weights_include_languages_without_data():
    targets = language_targets({"en": 100}, 1000, LanguageStrategy("weights", weights={"en": 0.8, "yo": 0.2}))
    assert targets == {"en": 800, "yo": 200}


def test_time_shares_uniform_keeps_unknowns_natural_share():
    shares = time_shares({"2020": 10, "2021": 30, "unknown": 10}, TimeStrategy("uniform"))
    assert shares == pytest.approx({"2020": 0.4, "2021": 0.4, "unknown": 0.2})
    dropped = time_shares({"2020": 10, "2021": 30, "unknown": 10}, TimeStrategy("uniform", unknown="drop"))
    assert dropped == pytest.approx({"2020": 0.5, "2021": 0.5})


def test_time_shares_recency_halves_every_half_life():
    shares = time_shares({"2020": 1, "2022": 1, "2024": 1}, TimeStrategy("recency", half_life_days=731))
    # 2022-01-01 is 730 days before 2024-01-01, 2020-01-01 is 1461 days before (2020 is a leap year).
    w = {"2024": 1.0, "2022": 0.5 ** (730 / 731), "2020": 0.5 ** (1461 / 731)}
    z = sum(w.values())
    assert shares == pytest.approx({b: v / z for b, v in w.items()})


def test_time_shares_natural_and_weights():
    assert time_shares({"2020": 1, "2021": 3}, TimeStrategy("natural")) == pytest.approx(
        {"2020": 0.25, "2021": 0.75}
    )
    weights = TimeStrategy("weights", weights={"2021": 0.9, "2023": 0.1})
    assert time_shares({"2020": 5, "2021": 5}, weights) == pytest.approx(
        {"2020": 0.0, "2021": 0.9, "2023": 0.1}
    )


def test_water_fill_caps_and_redistributes_in_proportion():
    targets = {("a", "1"): 50.0, ("a", "2"): 30.0, ("a", "3"): 20.0}
    caps = {("a", "1"): 20.0, ("a", "2"): 100.0, ("a", "3"): 100.0}
    filled, left = water_fill(targets, caps)
    assert left == 0
    assert filled == pytest.approx({("a", "1"): 20.0, ("a", "2"): 48.0, ("a", "3"): 32.0})
    filled, left = water_fill(targets, {c: 10.0 for c in targets})
    assert left == pytest.approx(70.0)


def test_allocate_marks_short_cells_and_keeps_the_budget_within_language():
    spec = parse_spec(
        {
            "budget_tokens": 1000,
            "max_repeats": 2,
            "language": {"strategy": "natural"},
            "time": {"strategy": "uniform"},
        }
    )
    cells = {("en", "2020"): (10, 100), ("en", "2021"): (90, 700), ("de", "2021"): (20, 200)}
    allocation = allocate(cells, spec)
    by = allocation.by_cell()
    # en gets 1000 * 800/1000 = 800, uniform over 2 buckets: 400 each; 2020 is capped at 2 x 100 = 200 and
    # its 200 move to 2021. de gets 200 (its own tokens, one epoch).
    assert by[("en", "2020")].target == 200 and by[("en", "2020")].short
    assert by[("en", "2021")].target == 600 and not by[("en", "2021")].short
    assert by[("de", "2021")].target == 200
    assert sum(c.target for c in allocation.cells) == 1000
    assert math.isclose(by[("en", "2020")].rate, 2.0) and by[("en", "2020")].base_repeats == 2


def test_allocate_without_redistribution_reports_the_shortfall():
    spec = parse_spec(
        {
            "budget_tokens": 1000,
            "max_repeats": 1,
            "redistribute": "none",
            "language": {"strategy": "weights", "weights": {"en": 0.5, "yo": 0.5}},
        }
    )
    allocation = allocate({("en", "2020"): (5, 800)}, spec)
    by = allocation.by_cell()
    assert by[("yo", "unknown")].short and by[("yo", "unknown")].target == 0
    assert by[("en", "2020")].target == 500
    assert allocation.unplaced == pytest.approx(500)


def test_unplaced_is_what_no_cell_takes_whatever_the_reason():
    """UniMax placing 300 of 1,000 tokens, an input with no cells, a zero-share stratum (given 1 token) and
    an unknown-date weight (whose budget vanished) all reported no unplaced tokens, or planned too many."""
    unimax = parse_spec(
        {"budget_tokens": 1000, "max_repeats": 10, "language": {"strategy": "unimax", "max_epochs": 2}}
    )
    placed = allocate({("en", "2020"): (10, 100), ("de", "2020"): (10, 50)}, unimax)
    assert sum(c.target for c in placed.cells) == 300 and placed.unplaced == pytest.approx(700)
    nothing = allocate({}, parse_spec({"budget_tokens": 100}))
    assert nothing.cells == () and nothing.unplaced == 100
    strata = parse_spec(
        {"budget_tokens": 100, "max_repeats": 4, "strata": {"column": "k", "shares": {"a": 1.0, "b": 0.0}}}
    )
    split = allocate({("a|en", "2020"): (1, 100), ("b|en", "2020"): (1, 100)}, strata)
    assert {c.lang: c.target for c in split.cells} == {"a|en": 100, "b|en": 0} and split.unplaced == 0
    direct = TimeStrategy("weights", weights={"2020": 0.5, "unknown": 0.5})
    shares = time_shares({"2020": 100.0, "unknown": 100.0}, direct)
    assert shares == {"2020": 0.5, "unknown": 0.5}  # the unknown bucket keeps its natural share


def test_whole_token_targets_never_plan_more_than_the_budget():
    """Each cell's target was rounded on its own: three equal cells of a 2,000-token budget planned 667 each,
    2,001 in all. Largest remainders keep the total, each within a token of its share, and caps hold."""
    cells = {("en", year): (10, 10_000) for year in ("2019", "2020", "2021")}
    plan = allocate(cells, parse_spec({"budget_tokens": 2000, "time": {"strategy": "uniform"}}))
    assert sorted(c.target for c in plan.cells) == [666, 667, 667]
    assert sum(c.target for c in plan.cells) == 2000
    strata = parse_spec({"budget_tokens": 100, "strata": {"column": "k", "shares": {"a": 0.5, "b": 0.5}}})
    split = allocate({(f"{s}|en", str(y)): (5, 1000) for s in "ab" for y in (2019, 2020, 2021)}, strata)
    assert sum(c.target for c in split.cells) == 100
    assert all(abs(c.target - c.wanted) < 1 for c in split.cells)
    # A cell capped at 1.5 tokens (max_repeats 1.5 x 1 token) takes at most one whole token.
    assert whole_tokens({("en", "a"): 1.5, ("en", "b"): 0.5}, {("en", "a"): 1.5, ("en", "b"): 1.0}) == {
        ("en", "a"): 1,
        ("en", "b"): 1,
    }
