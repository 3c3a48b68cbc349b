"""The synthetic world's configuration: one frozen dataclass, three presets, and YAML overrides.

Every knob that shapes the world is a field here, so `world.yaml` (the resolved config written beside the
output) is enough to regenerate it byte for byte. Bad values raise `WorldConfigError` with one line that
names the field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from analysis.months import month_index as _month_index
from analysis.months import month_name
from corpus.config_yaml import load_config_yaml
from world.templates import LANGUAGES

STALE_AGE_DISTRIBUTIONS = ("geometric", "uniform")
MAX_ZIPF_EXPONENT = 20.0  # far past natural popularity (about 1); rank 15,000 ** -20 is still a float


# Ceilings of the counts a config sets (the upper end of a range): each at least 20 times the 'large'
# preset's, and low enough that a typo cannot ask for more memory than a machine has.
_MANY = 1_000_000
SIZE_CEILINGS: dict[str, int] = {
    **dict.fromkeys(("entities", "people", "cities", "products", "mention_pages", "filler_pages"), _MANY),
    **dict.fromkeys(("resource_hosts", "mirror_hosts", "news_hosts", "filler_hosts"), _MANY),
    **dict.fromkeys(("probe_resources", "reference_resources", "max_fact_probes", "records_per_file"), _MANY),
    "filler_words": 100_000,
    "mention_entities": 1_000,
    "mention_facts": 1_000,
    "distractors": 1_000,
    "stale_age_max_months": 1_200,
    "dump_every_months": 1_200,
}


class WorldConfigError(ValueError):
    """A world config value is invalid; the message names the field."""


def month_index(month: str, field_name: str = "month") -> int:
    """`analysis.months.month_index` of a config value, with a WorldConfigError naming the field."""
    try:
        return _month_index(month)
    except ValueError:
        raise WorldConfigError(
            f"world config field {field_name!r}: {month!r} is not a YYYY-MM month"
        ) from None


@dataclass(frozen=True)
class WorldConfig:
    """Everything that determines a world. Months are `YYYY-MM`; shares are fractions in [0, 1]."""

    seed: int = 0
    preset: str = "tiny"
    start: str = "2016-01"  # first month of the span (facts start valid here)
    end: str = "2023-12"  # last month of the span (inclusive)
    # Dump months; empty means one dump every `dump_every_months`, ending at `end`.
    dumps: tuple[str, ...] = ()
    dump_every_months: int = 6
    entities: int = 260  # organisations, each with one resource page
    zipf_exponent: float = 1.1  # popularity of entity at rank k is proportional to k ** -exponent
    languages: Mapping[str, float] = field(
        default_factory=lambda: {"en": 0.55, "de": 0.2, "fr": 0.12, "es": 0.08, "it": 0.03, "nl": 0.02}
    )
    people: int = 80  # pool of person names (leaders, founders): keep small for a tiny LM's vocabulary
    cities: int = 40
    products: int = 40
    change_rate_scale: float = 1.0  # multiplies every relation's monthly probability of a change
    crawl_share: float = 0.8  # chance a resource's own page is crawled in a dump
    # False: a resource's own page is written only when its version changed since its last crawl, so every
    # version is crawled once, in its own time (the history-only control of the dose-response grid).
    recrawl_unchanged: bool = True
    # Share of a dump's resource pages that are mirrors of an older version (on other hosts and URLs).
    stale_share: float = 0.4
    stale_age_distribution: str = "geometric"  # geometric | uniform, over whole months >= 1
    stale_age_mean_months: float = 12.0  # geometric: mean age; uniform: ignored
    stale_age_max_months: int = 48  # both: ages above this are redrawn
    mirror_popularity_mix: float = 0.5  # mirrored resource: this share by popularity, the rest uniformly
    # Share of the resource pages a dump does not crawl that answer at their own URL with their host's one
    # "page not found" text instead (a soft-404). 0 in every preset; bench/dedup_truth.py --soft-404 sets it.
    soft_404_share: float = 0.0
    mention_pages: int = 80  # news pages per dump that state facts of popular entities
    mention_entities: tuple[int, int] = (1, 3)  # entities per news page (inclusive range)
    mention_facts: tuple[int, int] = (1, 3)  # facts stated per entity on a news page (inclusive)
    filler_pages: int = 50  # unrelated pages per dump
    filler_recrawl_share: float = 0.25  # of those, unchanged re-crawls of earlier dumps' filler pages
    filler_words: tuple[int, int] = (400, 1000)  # words per new filler page (inclusive range)
    resource_hosts: int = 6
    mirror_hosts: int = 12
    news_hosts: int = 8
    filler_hosts: int = 20
    # Host profiles: share of hosts that send Last-Modified; of those, share whose Last-Modified is a
    # site-rebuild time shared by the host; share with HTML date metadata; share with dated URLs.
    last_modified_share: float = 0.6
    rebuild_share: float = 0.3
    # Of the hosts that send Last-Modified and are not rebuilt, the share that re-render each page on their
    # own schedule (MediaWiki's page_touched: a template edit or a purge rewrites the file, not the content),
    # so a page's Last-Modified falls between its content's time and the crawl. 0 in every preset, so the
    # presets' worlds are unchanged; bench/dating_world.py sets it.
    rerender_share: float = 0.0
    html_meta_share: float = 0.5
    dated_url_share: float = 0.5
    probe_resources: int = 200  # resources with temporal probes (every month's version), scored by the probe
    # Resources whose monthly versions are the dating reference (probes/reference.parquet): disjoint from the
    # probed ones, so the resources a model is scored on are dated as the rest of the corpus is.
    reference_resources: int = 40
    distractors: int = 4
    max_fact_probes: int = 5000  # 0 = one probe per fact; else a seeded sample of this many
    records_per_file: int = 5000  # response records per WARC file

    # --- derived -------------------------------------------------------------------------------------
    @property
    def start_index(self) -> int:
        return month_index(self.start, "start")

    @property
    def end_index(self) -> int:
        return month_index(self.end, "end")

    @property
    def n_months(self) -> int:
        return self.end_index - self.start_index + 1

    def dump_months(self) -> list[str]:
        """The dump months in order (explicit `dumps`, else every `dump_every_months` back from `end`)."""
        if self.dumps:
            return list(self.dumps)
        months = list(range(self.end_index, self.start_index, -self.dump_every_months))
        return [month_name(m) for m in sorted(months)]

    # --- checks --------------------------------------------------------------------------------------
    def validate(self) -> WorldConfig:
        """Raise WorldConfigError naming the first bad field; returns self."""
        self._check_finite()
        if self.end_index <= self.start_index:
            raise WorldConfigError(f"world config field 'end': {self.end} is not after start {self.start}")
        if self.seed < 0:  # numpy's generators refuse it, deep in the generator, with no field named
            raise WorldConfigError(f"world config field 'seed': must be >= 0, got {self.seed}")
        for name in (
            "entities",
            "people",
            "cities",
            "products",
            "dump_every_months",
            "resource_hosts",
            "mirror_hosts",
            "news_hosts",
            "filler_hosts",
            "records_per_file",
            "stale_age_max_months",
        ):
            _positive(self, name)
        # Facts draw another entity, and values other than the current one, from these pools: with fewer the
        # draws never end (entities=2 hung the generator).
        for name, least in (("entities", 3), ("people", 2), ("cities", 2), ("products", 2)):
            if getattr(self, name) < least:
                raise WorldConfigError(
                    f"world config field {name!r}: must be >= {least}, got {getattr(self, name)}"
                )
        for name in (
            "mention_pages",
            "filler_pages",
            "probe_resources",
            "reference_resources",
            "max_fact_probes",
        ):
            if getattr(self, name) < 0:
                raise WorldConfigError(
                    f"world config field {name!r}: must be >= 0, got {getattr(self, name)}"
                )
        if self.distractors < 1:  # with none every fact probe is a sure answer: no long-tail measurement
            raise WorldConfigError(f"world config field 'distractors': must be >= 1, got {self.distractors}")
        for name in (
            "crawl_share",
            "mirror_popularity_mix",
            "soft_404_share",
            "filler_recrawl_share",
            "last_modified_share",
            "rebuild_share",
            "rerender_share",
            "html_meta_share",
            "dated_url_share",
        ):
            _share(self, name)
        if not 0 <= self.stale_share < 1:
            raise WorldConfigError(
                f"world config field 'stale_share': must be in [0, 1), got {self.stale_share}"
            )
        # Above MAX_ZIPF_EXPONENT the popularity of a low rank underflows to 0 (k ** -1e300), and sampling
        # entities by it failed inside numpy.
        if not 0 <= self.zipf_exponent <= MAX_ZIPF_EXPONENT or self.change_rate_scale <= 0:
            bad = "zipf_exponent" if not 0 <= self.zipf_exponent <= MAX_ZIPF_EXPONENT else "change_rate_scale"
            expected = f"[0, {MAX_ZIPF_EXPONENT:g}]" if bad == "zipf_exponent" else "> 0"
            raise WorldConfigError(
                f"world config field {bad!r}: out of range ({getattr(self, bad)}; expected {expected})"
            )
        if self.stale_age_distribution not in STALE_AGE_DISTRIBUTIONS:
            raise WorldConfigError(
                f"world config field 'stale_age_distribution': {self.stale_age_distribution!r} is not one of "
                f"{', '.join(STALE_AGE_DISTRIBUTIONS)}"
            )
        if self.stale_age_distribution == "geometric" and self.stale_age_mean_months < 1:
            raise WorldConfigError("world config field 'stale_age_mean_months': must be >= 1")
        for name in ("mention_entities", "mention_facts", "filler_words"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise WorldConfigError(
                    f"world config field {name!r}: need 1 <= low <= high, got {[low, high]}"
                )
        if not self.languages or any(share <= 0 for share in self.languages.values()):
            raise WorldConfigError(
                "world config field 'languages': need at least one language with share > 0"
            )
        unknown = sorted(set(self.languages) - set(LANGUAGES))
        if unknown:
            raise WorldConfigError(
                f"world config field 'languages': no templates for {unknown}; known: {sorted(LANGUAGES)}"
            )
        self._check_sizes()
        self._check_dumps_and_resources()
        return self

    def _check_sizes(self) -> None:
        """WorldConfigError naming the first count past its ceiling: `resource_hosts: 1000000000` allocated
        until the process aborted, and `filler_words: [2e9, 2e9]` ran on past a gigabyte."""
        for name, most in SIZE_CEILINGS.items():
            value = getattr(self, name)
            value = value[1] if isinstance(value, tuple) else value
            if value > most:
                raise WorldConfigError(
                    f"world config field {name!r}: at most {most:,}, got {value:,} (the 'large' preset, about "
                    "a million documents, stays far below)"
                )

    def _check_dumps_and_resources(self) -> None:
        """The dump months (inside the span, increasing) and the probed and reference resources (disjoint,
        so at most `entities` together)."""
        months = [month_index(m, "dumps") for m in self.dump_months()]
        if not months or months != sorted(set(months)):
            raise WorldConfigError(
                "world config field 'dumps': need at least one month, increasing, no repeats"
            )
        if months[0] <= self.start_index or months[-1] > self.end_index:
            raise WorldConfigError(
                f"world config field 'dumps': months must lie in ({self.start}, {self.end}], got "
                f"{self.dump_months()[0]}..{self.dump_months()[-1]}"
            )
        if self.probe_resources + self.reference_resources > self.entities:
            raise WorldConfigError(
                f"world config field 'probe_resources': {self.probe_resources} + reference_resources "
                f"{self.reference_resources} > entities {self.entities} (the two sets are disjoint)"
            )

    def _check_finite(self) -> None:
        """WorldConfigError naming the first float field (or language share) that is NaN or infinite: the
        range checks let NaN through (every comparison with it is false), and the generator then failed on
        it deep inside numpy."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise WorldConfigError(f"world config field {f.name!r}: must be a finite number, got {value}")
        for code, share in self.languages.items():
            if not math.isfinite(share):
                raise WorldConfigError(
                    f"world config field 'languages': share of {code!r} must be a finite number, got {share}"
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-ready values (tuples as lists), every field, in declaration order."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        out["dumps"] = self.dump_months()
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


PRESETS: dict[str, dict[str, Any]] = {
    # A few thousand documents, ~1-2M words: a ~1M-parameter LM learns it in a few CPU minutes.
    "tiny": {},
    # Tens of thousands of documents: a ~20M-parameter model on a CPU in an hour or a GPU in minutes.
    "small": {
        "dump_every_months": 4,
        "entities": 1000,
        "people": 300,
        "cities": 120,
        "products": 150,
        "crawl_share": 0.7,
        "mention_pages": 600,
        "filler_pages": 400,
        "resource_hosts": 20,
        "mirror_hosts": 40,
        "news_hosts": 30,
        "filler_hosts": 80,
        "probe_resources": 770,
        "reference_resources": 150,
        "max_fact_probes": 20000,
    },
    # About a million documents, for a GPU.
    "large": {
        "dump_every_months": 2,
        "entities": 15000,
        "people": 2000,
        "cities": 500,
        "products": 800,
        "crawl_share": 0.6,
        "mention_pages": 5000,
        "filler_pages": 4000,
        "resource_hosts": 100,
        "mirror_hosts": 200,
        "news_hosts": 120,
        "filler_hosts": 400,
        "probe_resources": 3000,
        "reference_resources": 1000,
        "max_fact_probes": 50000,
        "records_per_file": 10000,
    },
}


def preset_config(name: str, seed: int = 0, **overrides: Any) -> WorldConfig:
    """The named preset (`tiny`, `small`, `large`) with `seed` and any field overrides, validated."""
    if name not in PRESETS:
        raise WorldConfigError(f"world config field 'preset': {name!r} is not one of {', '.join(PRESETS)}")
    return config_from_mapping({**PRESETS[name], **overrides, "preset": name, "seed": seed})


def config_from_mapping(values: Mapping[str, Any]) -> WorldConfig:
    """A validated WorldConfig from plain values (e.g. parsed YAML); unknown or mistyped fields raise."""
    fields = {f.name: f for f in dataclasses.fields(WorldConfig)}
    defaults = WorldConfig()
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name not in fields:
            raise WorldConfigError(f"world config field {name!r}: unknown field")
        kwargs[name] = _coerce(name, value, getattr(defaults, name))
    return WorldConfig(**kwargs).validate()


def read_config_fields(path: str | Path) -> dict[str, Any]:
    """The fields a world.yaml sets, as written (`preset` among them where it names one); WorldConfigError
    when the file cannot be read or is not a mapping."""
    try:
        loaded = load_config_yaml(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        # one line, but with the position and the cause, which YAML puts on later lines
        where = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        raise WorldConfigError(f"world config {path}: cannot read: {where}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise WorldConfigError(
            f"world config {path}: expected a mapping of fields, got {type(loaded).__name__}"
        )
    return dict(loaded)


def load_config(path: str | Path | None = None, preset: str = "tiny", seed: int | None = None) -> WorldConfig:
    """The preset named in the YAML file (else `preset`), overridden by the file's fields, then by `seed`.

    The file is a mapping of WorldConfig fields, e.g. `{preset: small, entities: 500, stale_share: 0.3}`.
    """
    values = read_config_fields(path) if path is not None else {}
    name = values.pop("preset", preset)
    if seed is not None:
        values["seed"] = seed
    seed_value = values.pop("seed", 0)
    return preset_config(str(name), seed=_coerce("seed", seed_value, 0), **values)


def _coerce(name: str, value: Any, default: Any) -> Any:
    """`value` in the type of the field's default, or WorldConfigError naming the field."""
    bad = WorldConfigError(f"world config field {name!r}: expected {type(default).__name__}, got {value!r}")
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise bad
        if name == "dumps":
            return tuple(str(v) for v in value)
        if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise WorldConfigError(
                f"world config field {name!r}: expected [low, high] integers, got {value!r}"
            )
        return tuple(value)
    if isinstance(default, Mapping):
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in value.items()
        ):
            raise WorldConfigError(
                f"world config field {name!r}: expected a mapping of code -> share, got {value!r}"
            )
        return {k: float(v) for k, v in value.items()}
    raise bad


def _positive(config: WorldConfig, name: str) -> None:
    if getattr(config, name) < 1:
        raise WorldConfigError(f"world config field {name!r}: must be >= 1, got {getattr(config, name)}")


def _share(config: WorldConfig, name: str) -> None:
    if not 0 <= getattr(config, name) <= 1:
        raise WorldConfigError(f"world config field {name!r}: must be in [0, 1], got {getattr(config, name)}")
