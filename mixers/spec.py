"""Mixture specs: YAML -> validated dataclasses. Every error is one line naming the field (`language.alpha`).

```yaml
name: time_uniform
seed: 1234
budget_tokens: 2M            # int, or with a K/M/B suffix
tokenizer: null              # a `tokenizers` JSON file; null = words (a Han or kana character one)
max_repeats: 4               # copies of one document at most
redistribute: language       # none | language | global: where a capped cell's shortfall goes
filters:
  drop_stale: true           # needs the `is_stale` column (dedup)
  drop_exact_dup: true       # needs `is_exact_dup`
  min_lang_score: 0.5         # langid's score; a dataset's own labels (no score) pass
  languages: [en, de]        # keep only these (all when absent)
  min_tokens: 5
strata:                      # optional: fixed token shares of the values of a document column (e.g. a
  column: kind               # page type), so mixtures compared with each other hold the same composition;
  shares: {resource: 0.4, news: 0.4, filler: 0.2}   # other values are dropped (counted)
language:
  strategy: unimax           # natural | temperature (alpha) | unimax (max_epochs) | weights (weights)
  max_epochs: 4
time:
  strategy: uniform          # natural | uniform | recency (half_life_days) | weights (weights)
  granularity: year          # month | quarter | year
  unknown: keep              # keep (the unknown bucket keeps its natural share) | drop
```
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from corpus.config_yaml import DuplicateKeyError, load_config_yaml
from mixers.buckets import GRANULARITIES
from mixers.langcodes import given_code

LANGUAGE_STRATEGIES = ("natural", "temperature", "unimax", "weights")
TIME_STRATEGIES = ("natural", "uniform", "recency", "weights")
REDISTRIBUTE = ("none", "language", "global")
WEIGHT_TOLERANCE = 1e-6
_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}


class SpecError(ValueError):
    """A bad mixture spec; the message is one line that names the field."""


@dataclass(frozen=True)
class Filters:
    drop_stale: bool = False
    drop_exact_dup: bool = False
    min_lang_score: float | None = None
    languages: tuple[str, ...] | None = None
    min_tokens: int | None = None

    def required_columns(self) -> dict[str, str]:
        """{spec field: input column it needs} for the filters that are switched on."""
        needs = {}
        if self.drop_stale:
            needs["filters.drop_stale"] = "is_stale"
        if self.drop_exact_dup:
            needs["filters.drop_exact_dup"] = "is_exact_dup"
        return needs


@dataclass(frozen=True)
class LanguageStrategy:
    strategy: str = "natural"
    alpha: float | None = None  # temperature: p ∝ n^alpha
    max_epochs: float | None = None  # unimax
    weights: dict[str, float] | None = None


@dataclass(frozen=True)
class TimeStrategy:
    strategy: str = "natural"
    granularity: str = "year"
    unknown: str = "keep"
    half_life_days: float | None = None  # recency
    weights: dict[str, float] | None = None


@dataclass(frozen=True)
class Strata:
    """Token shares of the values of `column`: each stratum gets its share of the budget, spread over its
    (language, time) cells by the language and time strategies."""

    column: str
    shares: dict[str, float]


@dataclass(frozen=True)
class MixSpec:
    """A mixture: which documents, how many tokens, and how they are spread over (language, time) cells."""

    budget_tokens: int
    name: str = "mixture"
    seed: int = 0
    tokenizer: str | None = None
    max_repeats: int = 1
    redistribute: str = "language"
    filters: Filters = field(default_factory=Filters)
    language: LanguageStrategy = field(default_factory=LanguageStrategy)
    time: TimeStrategy = field(default_factory=TimeStrategy)
    strata: Strata | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["filters"]["languages"] is not None:
            data["filters"]["languages"] = list(data["filters"]["languages"])
        return data


def load_spec(path: str | Path) -> MixSpec:
    """Read and validate a YAML spec file (a key given twice in one mapping is refused, naming it)."""
    if not str(path).strip():  # Path("") is the current folder: "cannot read it (Is a directory)"
        raise SpecError(f"spec {str(path)!r}: an empty path")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"spec {str(path)!r}: cannot read it ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise SpecError(
            f"spec {str(path)!r}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    try:
        data = load_config_yaml(text)
    except DuplicateKeyError as error:
        raise SpecError(f"spec {str(path)!r}: {error}") from None
    except yaml.YAMLError as error:
        raise SpecError(f"spec {str(path)!r}: not valid YAML ({' '.join(str(error).split())})") from None
    return parse_spec(data if data is not None else {})


def parse_spec(data: Any) -> MixSpec:
    """Validate a spec given as a dict (as read from YAML)."""
    top = _mapping(data, "spec")
    _no_unknown(
        top,
        "",
        {
            "name",
            "seed",
            "budget_tokens",
            "tokenizer",
            "max_repeats",
            "redistribute",
            "filters",
            "language",
            "time",
            "strata",
        },
    )
    if "budget_tokens" not in top:
        raise SpecError("budget_tokens: required (the mixture's size in tokens, e.g. 10M)")
    budget = parse_count(top["budget_tokens"], "budget_tokens")
    if budget <= 0:
        raise SpecError(f"budget_tokens: {top['budget_tokens']!r} must be positive")
    seed = top.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError(f"seed: {seed!r} must be a non-negative integer")
    max_repeats = top.get("max_repeats", 1)
    if not isinstance(max_repeats, int) or isinstance(max_repeats, bool) or max_repeats < 1:
        raise SpecError(f"max_repeats: {max_repeats!r} must be an integer >= 1")
    redistribute = top.get("redistribute", "language")
    if redistribute not in REDISTRIBUTE:
        raise SpecError(f"redistribute: {redistribute!r} is not one of {', '.join(REDISTRIBUTE)}")
    tokenizer = top.get("tokenizer")
    if tokenizer is not None and not isinstance(tokenizer, str):
        raise SpecError(f"tokenizer: {tokenizer!r} must be a path to a tokenizers JSON file")
    name = top.get("name", "mixture")
    if not isinstance(name, str) or not name:
        raise SpecError(f"name: {name!r} must be a non-empty string")
    return MixSpec(
        budget_tokens=budget,
        name=name,
        seed=seed,
        tokenizer=tokenizer,
        max_repeats=max_repeats,
        redistribute=redistribute,
        filters=_filters(top.get("filters", {})),
        language=_language(top.get("language", {})),
        time=_time(top.get("time", {})),
        strata=_strata(top["strata"]) if top.get("strata") is not None else None,
    )


STRATUM_SEPARATOR = "|"  # cells of a stratified mixture are (stratum|language, time bucket)


def _strata(data: Any) -> Strata:
    block = _mapping(data, "strata")
    _no_unknown(block, "strata.", {"column", "shares"})
    column = block.get("column")
    if not isinstance(column, str) or not column:
        raise SpecError(f"strata.column: {column!r} must be a column name")
    shares = _weights(block.get("shares"), "strata.shares")
    if any(STRATUM_SEPARATOR in value for value in shares):
        raise SpecError(f"strata.shares: values may not contain {STRATUM_SEPARATOR!r}")
    return Strata(column=column, shares=shares)


def parse_count(value: Any, where: str) -> int:
    """A count of tokens: an integer, or a string with a K/M/B/T suffix (`2.5M`). Decimal arithmetic, since
    float's gave 2009 for `2.01K`; a value that is no whole number of tokens (`1.0005K`, `2.5`) is refused
    rather than cut."""
    if isinstance(value, bool):
        raise SpecError(f"{where}: {value!r} is not a number")
    if isinstance(value, int):
        return value
    number: Decimal | None = None
    if isinstance(value, float) and math.isfinite(value):
        number = Decimal(repr(value))  # the shortest repr is the number as YAML wrote it (8200000000.0)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([KMBT]?)\s*", value.upper())
        if match:
            number = Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    if number is None:
        raise SpecError(f"{where}: {value!r} is not a number (use e.g. 1000000 or 1M)")
    if number != number.to_integral_value():
        raise SpecError(f"{where}: {value!r} is {number.normalize():f} tokens, not a whole number")
    return int(number)


def _filters(data: Any) -> Filters:
    block = _mapping(data, "filters")
    _no_unknown(
        block, "filters.", {"drop_stale", "drop_exact_dup", "min_lang_score", "languages", "min_tokens"}
    )
    for key in ("drop_stale", "drop_exact_dup"):
        if key in block and not isinstance(block[key], bool):
            raise SpecError(f"filters.{key}: {block[key]!r} must be true or false")
    min_score = block.get("min_lang_score")
    if min_score is not None:
        min_score = _number(min_score, "filters.min_lang_score")
        if not 0.0 <= min_score <= 1.0:
            raise SpecError(f"filters.min_lang_score: {min_score!r} must be within [0, 1]")
    languages = block.get("languages")
    if languages is not None:
        if (
            not isinstance(languages, list)
            or not languages
            or not all(isinstance(x, str) and x for x in languages)
        ):
            raise SpecError(f"filters.languages: {languages!r} must be a non-empty list of language codes")
        languages = tuple(_language_codes(languages, "filters.languages"))
    min_tokens = block.get("min_tokens")
    if min_tokens is not None and (
        not isinstance(min_tokens, int) or isinstance(min_tokens, bool) or min_tokens < 0
    ):
        raise SpecError(f"filters.min_tokens: {min_tokens!r} must be a non-negative integer")
    return Filters(
        drop_stale=block.get("drop_stale", False),
        drop_exact_dup=block.get("drop_exact_dup", False),
        min_lang_score=min_score,
        languages=languages,
        min_tokens=min_tokens,
    )


def _language(data: Any) -> LanguageStrategy:
    block = _mapping(data, "language")
    _no_unknown(block, "language.", {"strategy", "alpha", "max_epochs", "weights"})
    strategy = block.get("strategy", "natural")
    if strategy not in LANGUAGE_STRATEGIES:
        raise SpecError(f"language.strategy: {strategy!r} is not one of {', '.join(LANGUAGE_STRATEGIES)}")
    alpha = max_epochs = weights = None
    if strategy == "temperature":
        if "alpha" not in block:
            raise SpecError("language.alpha: required by strategy temperature (p ∝ n^alpha, e.g. 0.3)")
        alpha = _number(block["alpha"], "language.alpha")
        if alpha < 0:
            raise SpecError(f"language.alpha: {alpha!r} must be >= 0")
    elif strategy == "unimax":
        if "max_epochs" not in block:
            raise SpecError("language.max_epochs: required by strategy unimax (e.g. 4)")
        max_epochs = _number(block["max_epochs"], "language.max_epochs")
        if max_epochs <= 0:
            raise SpecError(f"language.max_epochs: {max_epochs!r} must be positive")
    elif strategy == "weights":
        given = _weights(block.get("weights"), "language.weights")
        weights = dict(zip(_language_codes(list(given), "language.weights"), given.values(), strict=True))
    _only_for(
        block, "language", strategy, {"alpha": "temperature", "max_epochs": "unimax", "weights": "weights"}
    )
    return LanguageStrategy(strategy=strategy, alpha=alpha, max_epochs=max_epochs, weights=weights)


def _time(data: Any) -> TimeStrategy:
    block = _mapping(data, "time")
    _no_unknown(block, "time.", {"strategy", "granularity", "unknown", "half_life_days", "weights"})
    strategy = block.get("strategy", "natural")
    if strategy not in TIME_STRATEGIES:
        raise SpecError(f"time.strategy: {strategy!r} is not one of {', '.join(TIME_STRATEGIES)}")
    granularity = block.get("granularity", "year")
    if granularity not in GRANULARITIES:
        raise SpecError(f"time.granularity: {granularity!r} is not one of {', '.join(GRANULARITIES)}")
    unknown = block.get("unknown", "keep")
    if unknown not in ("keep", "drop"):
        raise SpecError(f"time.unknown: {unknown!r} is not one of keep, drop")
    half_life = weights = None
    if strategy == "recency":
        if "half_life_days" not in block:
            raise SpecError("time.half_life_days: required by strategy recency (e.g. 365)")
        half_life = _number(block["half_life_days"], "time.half_life_days")
        if half_life <= 0:
            raise SpecError(f"time.half_life_days: {half_life!r} must be positive")
    elif strategy == "weights":
        weights = _weights(block.get("weights"), "time.weights")
        for key in weights:
            if not _BUCKET_NAME[granularity].fullmatch(key):
                raise SpecError(
                    f"time.weights.{key}: not a {granularity} bucket ({_BUCKET_EXAMPLE[granularity]}); the unknown-date "
                    "bucket keeps its natural share (time.unknown)"
                )
    _only_for(block, "time", strategy, {"half_life_days": "recency", "weights": "weights"})
    return TimeStrategy(
        strategy=strategy, granularity=granularity, unknown=unknown, half_life_days=half_life, weights=weights
    )


def _language_codes(given: list[str], where: str) -> list[str]:
    """The spec's language codes as the record's (mixers.langcodes.given_code, which mix applies to the
    data's `lang`): `EN` and `eng` are `en`. Compared as given, `[EN]` selected none of the data's `en`. A
    code that names no language is refused, and so are two spellings of one language (`en`, `EN`): in a
    list the second would be idle, in weights they would be one language's two weights."""
    codes: list[str] = []
    spelled: dict[str, str] = {}
    for value in given:
        code = given_code(value)
        if code is None:
            raise SpecError(
                f"{where}: {value!r} names no language (an ISO 639-1 or 639-3 code, e.g. en, yue)"
            )
        if code in spelled:
            raise SpecError(f"{where}: {spelled[code]!r} and {value!r} both name {code!r}; give it once")
        spelled[code] = value
        codes.append(code)
    return codes


# A time bucket's name at each granularity (mixers.buckets.bucket_name)
_BUCKET_NAME = {
    "month": re.compile(r"\d{4}-(0[1-9]|1[0-2])"),
    "quarter": re.compile(r"\d{4}-Q[1-4]"),
    "year": re.compile(r"\d{4}"),
}
_BUCKET_EXAMPLE = {"month": "e.g. 2020-03", "quarter": "e.g. 2020-Q1", "year": "e.g. 2020"}


def _only_for(block: dict[str, Any], name: str, strategy: str, owners: dict[str, str]) -> None:
    """SpecError for a field of another strategy than the one chosen: it would be ignored without a word."""
    for key, owner in owners.items():
        if key in block and owner != strategy:
            raise SpecError(f"{name}.{key}: a setting of strategy {owner}, not of {strategy}")


def _weights(data: Any, where: str) -> dict[str, float]:
    if not isinstance(data, dict) or not data:
        raise SpecError(f"{where}: required, a mapping of name to weight (summing to 1)")
    weights = {}
    for key, value in data.items():
        if not isinstance(key, str | int) or isinstance(key, bool):
            # YAML 1.1 reads `no`, `yes`, `on`, `off` as booleans: `no: 0.5` (Norwegian) became "False"
            raise SpecError(
                f"{where}: key {key!r} is not a name; quote it (unquoted, YAML reads no, yes, on, off as booleans)"
            )
        number = _number(value, f"{where}.{key}")
        if number < 0:
            raise SpecError(f"{where}.{key}: {value!r} must be >= 0")
        if str(key) in weights:  # 2020 and '2020': YAML's number and string, one name here
            raise SpecError(f"{where}: {key!r} is given twice (once quoted, once not)")
        weights[str(key)] = number
    total = sum(weights.values())
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise SpecError(f"{where}: weights sum to {total:.6g}, not 1")
    return weights


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{where}: {value!r} is not a finite number")
    return float(value)


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(data).__name__}")
    return data


def _no_unknown(block: dict[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in block:
        if key not in allowed:
            raise SpecError(f"{prefix}{key}: unknown field (expected one of {', '.join(sorted(allowed))})")
