"""Entities, relations and fact timelines: the world's ground truth.

Each entity is a fictional organisation with Zipf popularity (entity 0 is the most popular), one language
for its resource page's whole life, and one timeline per relation: a list of facts, each valid over a run
of months. A resource page's version for a month is a function of the facts valid in that month, so two
months' versions differ when a fact of the entity changed between them; the one exception is a value that
comes back (a staff number that drifts back to an earlier count) in a sentence that names no year, whose page
then reads as an earlier version's, word for word, while the truth keeps it a version of its own, written when
its facts changed (3 texts of 5,591 resource pages in the tiny world of seed 0, 4 in seed 1).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from analysis.months import month_name
from world.config import WorldConfig

# Pronounceable invented words keep the vocabulary small and free of real-world associations.
_ONSETS = (
    "b",
    "br",
    "d",
    "f",
    "g",
    "gr",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "st",
    "t",
    "tr",
    "v",
    "z",
    "h",
    "c",
)
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o", "ai", "ea")
_CODAS = ("", "", "", "n", "r", "l", "s", "x", "m", "th")
_FIRST_NAMES = (
    "Ana",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Luca",
    "Marta",
    "Nils",
    "Olga",
    "Paul",
    "Rosa",
    "Sven",
    "Tara",
    "Victor",
    "Yara",
    "Emil",
    "Lina",
    "Oscar",
    "Nora",
    "Leon",
    "Mila",
    "Theo",
    "Sara",
    "Marco",
)
RATINGS = ("AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB", "BB", "B")


@dataclass(frozen=True)
class Relation:
    """A property of an organisation; `monthly_change` is the chance its value changes in a given month."""

    name: str
    kind: str  # person | city | product | entity | number | rating | year
    monthly_change: float


RELATIONS: tuple[Relation, ...] = (
    Relation("founded", "year", 0.0),
    Relation("founder", "person", 0.0),
    Relation("leader", "person", 1 / 30),
    Relation("headquarters", "city", 1 / 48),
    Relation("employees", "number", 1 / 8),
    Relation("product", "product", 1 / 24),
    Relation("partner", "entity", 1 / 20),
    Relation("rating", "rating", 1 / 18),
)
RELATION_BY_NAME: dict[str, Relation] = {r.name: r for r in RELATIONS}


@dataclass(frozen=True)
class Fact:
    """One value of one relation of one entity, valid over months [valid_from, valid_until).

    Months are indices relative to the span's first month; `valid_until` None means valid at the span's end.
    `day` is the day of the month the change happened (1..5, before any crawl window opens); 0 for facts
    already true when the span starts.
    """

    fact_id: str
    subject: str
    relation: str
    value: str
    valid_from: int
    valid_until: int | None
    day: int


@dataclass
class Entity:
    """An organisation and its resource page. `facts[relation]` is the timeline in time order."""

    index: int  # popularity rank, 0 = most popular
    key: str  # resource key (also the page slug)
    name: str
    lang: str
    created: datetime  # when its resource page was first published (before the span)
    facts: dict[str, list[Fact]]
    relation_order: tuple[str, ...]  # order of the sentences on its page (fixed for its whole life)
    change_months: np.ndarray  # sorted unique months (span-relative) in which some fact changed
    change_days: np.ndarray  # for each change month, the day of its last change (1..5)

    def version_at(self, month: int) -> int:
        """Version number of the page in `month` (0 = as at the span's start; +1 at every change month)."""
        return int(np.searchsorted(self.change_months, month, side="right"))

    def version_start(self, version: int) -> int:
        """The first month (span-relative) of `version`."""
        return 0 if version == 0 else int(self.change_months[version - 1])

    def facts_at(self, month: int) -> list[Fact]:
        """The facts valid in `month`, one per relation, in page order."""
        return [_fact_at(self.facts[relation], month) for relation in self.relation_order]

    def modified_at(self, month: int, start_index: int) -> datetime:
        """When the version of `month` was written: the last change's day; for the version the span starts
        with, the later of the page's creation and the day its newest fact became true (a page created in
        2008 that says "chaired since 2014" was last written in 2014)."""
        version = self.version_at(month)
        if version == 0:
            return max(self.created, *(became_true(f, start_index) for f in self.facts_at(0)))
        day = int(self.change_days[version - 1])
        return month_start(start_index + self.version_start(version)).replace(day=day, hour=9 + day)


@dataclass
class World:
    """The generated knowledge: entities with their timelines and the value pools they draw from."""

    config: WorldConfig
    entities: list[Entity]
    popularity: np.ndarray  # probability of each entity being mentioned, sums to 1
    pools: dict[str, list[str]]  # relation kind -> every value it can take

    def facts(self) -> list[Fact]:
        """Every fact, entity by entity, relation by relation, in time order."""
        return [f for e in self.entities for r in RELATIONS for f in e.facts[r.name]]


def month_start(index: int) -> datetime:
    """Midnight UTC on the first of an absolute month index (see config.month_index)."""
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def build_world(config: WorldConfig) -> World:
    """Draw the entities, their languages, popularity and fact timelines from the config's seed."""
    rng = np.random.Generator(np.random.PCG64([config.seed, 1]))
    words = invented_words(rng, config.entities + config.people + config.cities + config.products)
    entity_names = words[: config.entities]
    surnames = words[config.entities : config.entities + config.people]
    cities = words[config.entities + config.people : config.entities + config.people + config.cities]
    product_stems = words[config.entities + config.people + config.cities :]
    first = rng.integers(0, len(_FIRST_NAMES), size=config.people)
    people = [f"{_FIRST_NAMES[i]} {s}" for i, s in zip(first, surnames, strict=True)]
    products = [f"{stem} {rng.integers(2, 10)}" if rng.random() < 0.5 else stem for stem in product_stems]
    pools: dict[str, list[str]] = {
        "person": people,
        "city": cities,
        "product": products,
        "entity": entity_names,
        "rating": list(RATINGS),
    }
    ranks = np.arange(1, config.entities + 1, dtype=np.float64)
    weights = ranks**-config.zipf_exponent
    popularity = weights / weights.sum()
    codes = list(config.languages)
    shares = np.array([config.languages[c] for c in codes], dtype=np.float64)
    langs = rng.choice(len(codes), size=config.entities, p=shares / shares.sum())
    entities = [
        _build_entity(rng, config, index, entity_names[index], codes[langs[index]], pools)
        for index in range(config.entities)
    ]
    numbers = sorted({f.value for e in entities for f in e.facts["employees"]}, key=int)
    years = sorted({f.value for e in entities for f in e.facts["founded"]}, key=int)
    pools["number"] = numbers
    pools["year"] = years
    return World(config=config, entities=entities, popularity=popularity, pools=pools)


def _build_entity(
    rng: np.random.Generator,
    config: WorldConfig,
    index: int,
    name: str,
    lang: str,
    pools: dict[str, list[str]],
) -> Entity:
    key = name.lower()
    n_months = config.n_months
    created_month = config.start_index - int(rng.integers(1, 12 * 12))
    created = month_start(created_month).replace(day=int(rng.integers(1, 29)), hour=int(rng.integers(0, 24)))
    facts: dict[str, list[Fact]] = {}
    for relation in RELATIONS:
        value = _initial_value(rng, relation, name, pools)
        rate = min(1.0, relation.monthly_change * config.change_rate_scale)
        changes = np.flatnonzero(rng.random(n_months) < rate) if rate > 0 else np.array([], dtype=np.int64)
        changes = changes[changes > 0]  # month 0 is the initial state
        timeline: list[Fact] = []
        starts = [0, *changes.tolist()]
        days = [0, *rng.integers(1, 6, size=len(changes)).tolist()]
        for k, month in enumerate(starts):
            if k > 0:
                value = _next_value(rng, relation, value, name, pools)
            until = starts[k + 1] if k + 1 < len(starts) else None
            timeline.append(
                Fact(f"{key}/{relation.name}/{k}", name, relation.name, value, month, until, days[k])
            )
        facts[relation.name] = timeline
    order = tuple(RELATIONS[i].name for i in rng.permutation(len(RELATIONS)))
    last_day: dict[int, int] = {}
    for timeline in facts.values():
        for fact in timeline[1:]:
            last_day[fact.valid_from] = max(last_day.get(fact.valid_from, 0), fact.day)
    change_months = np.array(sorted(last_day), dtype=np.int64)
    change_days = np.array([last_day[m] for m in sorted(last_day)], dtype=np.int64)
    return Entity(index, key, name, lang, created, facts, order, change_months, change_days)


# Staff numbers: the first is lognormal around 800, each later one the earlier times U(STAFF_DRIFT), all
# rounded to tens and at least STAFF_FLOOR (the two functions below state the same law as probabilities).
STAFF_MEDIAN, STAFF_SIGMA = 800.0, 1.0
STAFF_DRIFT = (0.75, 1.3)
STAFF_FLOOR = 20


def _rounded_interval(value: int) -> tuple[float, float]:
    """The reals that round to `value` (a multiple of ten) and are kept there by the floor."""
    return (0.0, STAFF_FLOOR + 5.0) if value == STAFF_FLOOR else (value - 5.0, value + 5.0)


def staff_initial_probability(value: int) -> float:
    """P(a subject's first staff number is `value`), as `_initial_value` draws it."""
    low, high = _rounded_interval(value)

    def cdf(x: float) -> float:
        return (
            0.0
            if x <= 0
            else 0.5 * (1 + math.erf((math.log(x) - math.log(STAFF_MEDIAN)) / (STAFF_SIGMA * 2**0.5)))
        )

    return max(0.0, cdf(high) - cdf(low))


def staff_transition_probability(current: int, value: int) -> float:
    """P(the staff number after `current` is `value`), as `_next_value` draws it (redrawn until it moves)."""
    if value == current:
        return 0.0
    low, high = STAFF_DRIFT

    def mass(target: int) -> float:
        lo, hi = _rounded_interval(target)
        return max(0.0, min(high, hi / current) - max(low, lo / current)) / (high - low)

    moves = 1.0 - mass(current)
    return mass(value) / moves if moves > 0 else 0.0


def _initial_value(
    rng: np.random.Generator, relation: Relation, name: str, pools: dict[str, list[str]]
) -> str:
    if relation.kind == "year":
        return str(int(rng.integers(1880, 2013)))
    if relation.kind == "number":
        return str(max(STAFF_FLOOR, int(round(rng.lognormal(np.log(STAFF_MEDIAN), STAFF_SIGMA), -1))))
    return _draw_other(rng, pools[relation.kind], exclude=name)


def _next_value(
    rng: np.random.Generator, relation: Relation, current: str, name: str, pools: dict[str, list[str]]
) -> str:
    if relation.kind == "number":
        # Staff numbers drift rather than jump; redraw until the rounded value actually moves.
        while True:
            value = str(max(STAFF_FLOOR, int(round(int(current) * rng.uniform(*STAFF_DRIFT), -1))))
            if value != current:
                return value
    while True:
        value = _draw_other(rng, pools[relation.kind], exclude=name)
        if value != current:
            return value


def draw_value(
    rng: np.random.Generator,
    relation: Relation,
    previous: str | None,
    name: str,
    pools: dict[str, list[str]],
) -> str:
    """A value of `relation` for entity `name` drawn as the world draws its facts: the initial value when
    `previous` is None, else the next one after `previous` (so a probe's distractors are exchangeable with
    its answer given the subject's earlier value; world.probes also conditions staff numbers on the later
    one)."""
    if previous is None:
        return _initial_value(rng, relation, name, pools)
    return _next_value(rng, relation, previous, name, pools)


def _draw_other(rng: np.random.Generator, pool: list[str], exclude: str) -> str:
    while True:
        value = pool[int(rng.integers(0, len(pool)))]
        if value != exclude:
            return value


def _fact_at(timeline: list[Fact], month: int) -> Fact:
    for fact in reversed(timeline):
        if fact.valid_from <= month:
            return fact
    raise ValueError(f"month {month} is before the timeline of {timeline[0].fact_id}")


def invented_words(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct capitalised invented words of 2-3 syllables, in draw order."""
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < n:
        syllables = int(rng.integers(2, 4))
        parts = []
        for _ in range(syllables):
            parts.append(_ONSETS[int(rng.integers(0, len(_ONSETS)))])
            parts.append(_VOWELS[int(rng.integers(0, len(_VOWELS)))])
        parts.append(_CODAS[int(rng.integers(0, len(_CODAS)))])
        word = "".join(parts).capitalize()
        if word not in seen and 4 <= len(word) <= 12:
            seen.add(word)
            words.append(word)
    return words


def since_year(fact: Fact, start_index: int) -> int:
    """The year a fact's value became true, as its sentences say ("... since 2019").

    For values already true when the span starts, a year up to 7 years earlier, fixed by the fact id.
    """
    if fact.valid_from > 0:
        return (start_index + fact.valid_from) // 12
    digest = hashlib.sha1(fact.fact_id.encode("utf-8")).digest()
    return start_index // 12 - digest[0] % 8


def became_true(fact: Fact, start_index: int) -> datetime:
    """When a fact's value became true (UTC). A change: its day of its month, at the hour the page was
    edited. A value already true when the span starts: a day of the year its sentences state (`since_year`;
    a founding's own year), fixed by the fact id, and never after the span's first instant."""
    if fact.valid_from > 0:
        return month_start(start_index + fact.valid_from).replace(day=fact.day, hour=9 + fact.day)
    digest = hashlib.sha1(f"became:{fact.fact_id}".encode()).digest()
    year = (
        int(fact.value) if RELATION_BY_NAME[fact.relation].kind == "year" else since_year(fact, start_index)
    )
    day = month_start(year * 12 + digest[0] % 12).replace(day=1 + digest[1] % 28, hour=digest[2] % 24)
    return min(day, month_start(start_index))


def fact_month_name(fact: Fact, start_index: int) -> tuple[str, str | None]:
    """(`valid_from`, `valid_until`) of a fact as `YYYY-MM` strings."""
    until = None if fact.valid_until is None else month_name(start_index + fact.valid_until)
    return month_name(start_index + fact.valid_from), until
