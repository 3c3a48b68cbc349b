"""Staff numbers: the world's law written as probabilities, and distractors drawn from it given both
neighbouring counts, against simulated timelines."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from world.entities import (
    RELATION_BY_NAME,
    _initial_value,
    _next_value,
    staff_initial_probability,
    staff_transition_probability,
)
from world.probes import _staff_distractors

EMPLOYEES = RELATION_BY_NAME["employees"]


@pytest.mark.parametrize("current", [20, 30, 800, 1230])
def test_transition_probability_is_the_samplers_law(current: int) -> None:
    rng = np.random.default_rng(current)
    draws = Counter(int(_next_value(rng, EMPLOYEES, str(current), "x", {})) for _ in range(20_000))
    support = range(20, int(current * 1.3) + 20, 10)
    assert sum(staff_transition_probability(current, v) for v in support) == pytest.approx(1.0)
    for value in support:
        expected = staff_transition_probability(current, value)
        assert draws[value] / 20_000 == pytest.approx(expected, abs=0.012), value


def test_initial_probability_is_the_samplers_law() -> None:
    rng = np.random.default_rng(0)
    draws = Counter(int(_initial_value(rng, EMPLOYEES, "x", {})) for _ in range(50_000))
    assert sum(staff_initial_probability(v) for v in range(20, 400_000, 10)) == pytest.approx(1.0, abs=1e-6)
    for value in (20, 100, 500, 800, 2000):
        assert draws[value] / 50_000 == pytest.approx(staff_initial_probability(value), abs=0.0015), value


def test_distractors_leave_no_model_free_rule_above_chance() -> None:
    # Timelines drawn as the world draws them; for the middle value, candidates from _staff_distractors.
    # Rules that know a neighbour pick the answer at chance. One that knows the law and both neighbours and
    # picks the likeliest candidate gains a point or two (the module's comment says why).
    rng = np.random.default_rng(7)
    hits: Counter[str] = Counter()
    chance = probes = 0.0
    for _ in range(3000):
        earlier = int(_initial_value(rng, EMPLOYEES, "x", {}))
        answer = int(_next_value(rng, EMPLOYEES, str(earlier), "x", {}))
        later = int(_next_value(rng, EMPLOYEES, str(answer), "x", {}))
        held = {str(earlier), str(answer), str(later)}
        distractors = [int(v) for v in _staff_distractors(rng, str(earlier), str(later), held, 4)]
        if not distractors:
            continue
        assert not held & {str(v) for v in distractors} and len(set(distractors)) == len(distractors)
        candidates = [answer, *distractors]
        rng.shuffle(candidates)  # ties would otherwise go to whichever candidate is listed first
        weight = {
            v: staff_transition_probability(earlier, v) * staff_transition_probability(v, later)
            for v in candidates
        }
        hits["nearest later"] += min(candidates, key=lambda v: abs(v - later)) == answer
        hits["nearest earlier"] += min(candidates, key=lambda v: abs(v - earlier)) == answer
        hits["likeliest"] += max(candidates, key=weight.__getitem__) == answer
        chance += 1 / len(candidates)
        probes += 1
    assert probes > 2800
    for rule in ("nearest later", "nearest earlier"):  # chance is ~0.21; three standard errors are ~0.022
        assert abs(hits[rule] / probes - chance / probes) < 0.025, (
            rule,
            hits[rule] / probes,
            chance / probes,
        )
    assert -0.025 < hits["likeliest"] / probes - chance / probes < 0.04
