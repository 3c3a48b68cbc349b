"""Token targets for each (language, time bucket) cell of a mixture. Sizes and targets are in tokens.

A language strategy splits the budget over languages (natural, temperature p ∝ n^alpha, UniMax, explicit
weights); a time strategy splits each language's target over its time buckets (natural, uniform, recency with
a half-life, explicit weights). A cell cannot get more than `max_repeats` times its tokens; what a capped cell
cannot take is redistributed (within its language, or over all cells) in proportion to the others' targets,
and what cannot be placed anywhere is reported as a shortfall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mixers.buckets import UNKNOWN_BUCKET, bucket_start
from mixers.langcodes import UND
from mixers.spec import STRATUM_SEPARATOR, LanguageStrategy, MixSpec, TimeStrategy

Cell = tuple[str, str]  # (lang, time bucket)


def temperature_shares(sizes: Mapping[str, float], alpha: float) -> dict[str, float]:
    """Shares p_i ∝ n_i^alpha of each language's size n_i (tokens, or any unit: only ratios count) over
    the languages with data (alpha 1 = natural, 0 = uniform); they sum to 1."""
    powered = {k: float(n) ** alpha for k, n in sizes.items() if n > 0}
    total = sum(powered.values())
    return {k: (powered.get(k, 0.0) / total if total else 0.0) for k in sizes}


def unimax_targets(sizes: Mapping[str, float], budget: float, max_epochs: float) -> dict[str, float]:
    """UniMax (Chung et al. 2023): visit languages from smallest to largest; each gets
    min(remaining budget / remaining languages, max_epochs x its size). Returns tokens per language."""
    order = sorted(sizes, key=lambda k: (sizes[k], k))
    remaining = float(budget)
    targets: dict[str, float] = {}
    for i, lang in enumerate(order):
        share = remaining / (len(order) - i)
        targets[lang] = min(share, max_epochs * float(sizes[lang]))
        remaining -= targets[lang]
    return targets


def language_targets(
    sizes: Mapping[str, float], budget: float, strategy: LanguageStrategy
) -> dict[str, float]:
    """Tokens per language. Languages named in explicit weights but absent from the data get a target too
    (their cells are short). UND is no language to balance: like the unknown time bucket it keeps
    its natural share of the budget (at most its own tokens: text without a language is never repeated),
    and the strategy splits the rest over the languages; explicit weights that name it decide it instead."""
    if UND not in sizes or (strategy.weights is not None and UND in strategy.weights):
        return _language_targets(sizes, budget, strategy)
    total = sum(sizes.values())
    kept = min(budget * sizes[UND] / total, float(sizes[UND])) if total else 0.0
    languages = {k: n for k, n in sizes.items() if k != UND}
    return {**_language_targets(languages, budget - kept, strategy), UND: kept}


def _language_targets(
    sizes: Mapping[str, float], budget: float, strategy: LanguageStrategy
) -> dict[str, float]:
    if not sizes:
        return {}
    if strategy.strategy == "unimax":
        assert strategy.max_epochs is not None
        return unimax_targets(sizes, budget, strategy.max_epochs)
    if strategy.strategy == "weights":
        assert strategy.weights is not None
        langs = sorted(set(sizes) | set(strategy.weights))
        return {k: budget * strategy.weights.get(k, 0.0) for k in langs}
    alpha = 1.0 if strategy.strategy == "natural" else strategy.alpha
    assert alpha is not None
    return {k: budget * p for k, p in temperature_shares(sizes, alpha).items()}


def time_shares(buckets: Mapping[str, float], strategy: TimeStrategy) -> dict[str, float]:
    """Share of one language's target per time bucket. The `unknown` bucket keeps its natural share (with
    `unknown: keep`); the strategy spreads the rest over the dated buckets."""
    sizes = {b: float(n) for b, n in buckets.items() if strategy.unknown == "keep" or b != UNKNOWN_BUCKET}
    total = sum(sizes.values())
    if strategy.strategy == "natural":
        return {b: (n / total if total else 0.0) for b, n in sizes.items()}
    unknown_share = sizes.get(UNKNOWN_BUCKET, 0.0) / total if total else 0.0
    dated = sorted(b for b, n in sizes.items() if b != UNKNOWN_BUCKET and n > 0)
    if strategy.strategy == "uniform":
        raw = {b: 1.0 for b in dated}
    elif strategy.strategy == "recency":
        assert strategy.half_life_days is not None
        newest = max((bucket_start(b) for b in dated), default=None)
        raw = {}
        for b in dated:
            start = bucket_start(b)
            assert start is not None and newest is not None
            raw[b] = 0.5 ** ((newest - start).days / strategy.half_life_days)
    else:
        assert strategy.weights is not None
        named = set(strategy.weights) - {UNKNOWN_BUCKET}  # the unknown bucket keeps its natural share
        raw = {b: strategy.weights.get(b, 0.0) for b in sorted(set(dated) | named)}
    raw_total = sum(raw.values())
    shares = {b: 0.0 for b in sizes}
    for b, w in raw.items():
        shares[b] = (1.0 - unknown_share) * w / raw_total if raw_total else 0.0
    if UNKNOWN_BUCKET in sizes:
        shares[UNKNOWN_BUCKET] = unknown_share if raw_total else 1.0 if sizes[UNKNOWN_BUCKET] else 0.0
    return shares


def water_fill(targets: Mapping[Cell, float], caps: Mapping[Cell, float]) -> tuple[dict[Cell, float], float]:
    """Cap every target at its cell's cap and hand the excess to uncapped cells in proportion to their
    targets, until nothing is over its cap. Returns (targets, tokens that fit nowhere)."""
    result = {c: float(t) for c, t in targets.items()}
    full: set[Cell] = set()
    while True:
        excess = 0.0
        for c in sorted(result):
            if result[c] > caps[c]:
                excess += result[c] - caps[c]
                result[c] = float(caps[c])
                full.add(c)
        if excess <= 1e-9:
            return result, 0.0
        receivers = [c for c in sorted(result) if c not in full and targets[c] > 0 and result[c] < caps[c]]
        weight = sum(targets[c] for c in receivers)
        if not receivers or weight <= 0:
            return result, excess
        for c in receivers:
            result[c] += excess * targets[c] / weight


def whole_tokens(targets: Mapping[Cell, float], caps: Mapping[Cell, float]) -> dict[Cell, int]:
    """Targets in whole tokens that sum to the float targets' sum rounded down, each within one token of its
    own (largest remainders first, ties by cell) and never over its cap. Each rounded on its own, a mixture of
    many cells planned up to half a token a cell more than its budget."""
    floors = {c: math.floor(t + 1e-9) for c, t in targets.items()}
    left = math.floor(sum(targets.values()) + 1e-6) - sum(floors.values())
    remainders = sorted(
        (c for c in targets if floors[c] + 1 <= caps[c] + 1e-9), key=lambda c: (floors[c] - targets[c], c)
    )
    for c in remainders[: max(0, left)]:
        floors[c] += 1
    return floors


@dataclass(frozen=True)
class CellPlan:
    """One cell's numbers: tokens and documents available after filters, tokens asked for by the strategies
    (`wanted`), tokens planned after caps and redistribution (`target`)."""

    lang: str
    bucket: str
    docs: int
    tokens: int
    wanted: float
    target: int
    short: bool  # wanted more than max_repeats x its tokens

    @property
    def rate(self) -> float:
        """Copies per token of this cell: target / available (0 when nothing is available)."""
        return self.target / self.tokens if self.tokens else 0.0

    @property
    def base_repeats(self) -> int:
        """Copies every document of the cell gets; one more goes to a fraction of them."""
        return int(self.rate)


@dataclass(frozen=True)
class Allocation:
    cells: tuple[CellPlan, ...]
    budget: int
    unplaced: float  # tokens of the budget no cell could take

    def by_cell(self) -> dict[Cell, CellPlan]:
        return {(c.lang, c.bucket): c for c in self.cells}


def allocate(cells: Mapping[Cell, tuple[int, int]], spec: MixSpec) -> Allocation:
    """Targets for each cell from {(lang, bucket): (docs, tokens)} available after the spec's filters. With
    `spec.strata`, cells are (stratum|lang, bucket): each stratum gets its share of the budget, which its
    cells split by the language and time strategies as a mixture of its own would."""
    if spec.strata is None:
        return _allocate(cells, spec)
    plans: list[CellPlan] = []
    unplaced = 0.0
    shares = spec.strata.shares
    asked = {(stratum, ""): spec.budget_tokens * share for stratum, share in shares.items()}
    budgets = whole_tokens(asked, dict.fromkeys(asked, math.inf))
    for stratum, share in sorted(shares.items()):
        prefix = f"{stratum}{STRATUM_SEPARATOR}"
        own = {(lang[len(prefix) :], b): n for (lang, b), n in cells.items() if lang.startswith(prefix)}
        part = _allocate(own, replace(spec, budget_tokens=budgets[(stratum, "")]))
        plans += [replace(c, lang=prefix + c.lang) for c in part.cells]
        unplaced += part.unplaced if own else spec.budget_tokens * share
    return Allocation(cells=tuple(plans), budget=spec.budget_tokens, unplaced=unplaced)


def _allocate(cells: Mapping[Cell, tuple[int, int]], spec: MixSpec) -> Allocation:
    """Targets for each cell from {(lang, bucket): (docs, tokens)}, one budget over all cells."""
    if spec.time.unknown == "drop":  # undated documents are not drawn: they size no language and take nothing
        cells = {cell: n for cell, n in cells.items() if cell[1] != UNKNOWN_BUCKET}
    lang_sizes: dict[str, float] = {}
    for (lang, _), (_, tokens) in cells.items():
        lang_sizes[lang] = lang_sizes.get(lang, 0.0) + tokens
    per_lang = language_targets(lang_sizes, spec.budget_tokens, spec.language)
    wanted: dict[Cell, float] = {}
    for lang, lang_target in per_lang.items():
        buckets = {b: float(tokens) for (lg, b), (_, tokens) in cells.items() if lg == lang}
        if not buckets:  # a language the weights ask for but the data lacks
            wanted[(lang, UNKNOWN_BUCKET)] = lang_target
            continue
        for bucket, share in time_shares(buckets, spec.time).items():
            wanted[(lang, bucket)] = lang_target * share
    for cell in cells:
        wanted.setdefault(cell, 0.0)
    available = {c: cells.get(c, (0, 0)) for c in wanted}
    # text without a language is never repeated, whatever the time strategy or redistribution give its cells
    caps = {c: float((1 if c[0] == UND else spec.max_repeats) * available[c][1]) for c in wanted}
    targets = dict(wanted)
    unplaced = 0.0
    if spec.redistribute in ("language", "global"):
        unplaced = 0.0
        for lang in sorted({c[0] for c in wanted}):
            part = [c for c in wanted if c[0] == lang]
            filled, left = water_fill({c: wanted[c] for c in part}, {c: caps[c] for c in part})
            targets.update(filled)
            unplaced += left
        if spec.redistribute == "global" and unplaced > 0:
            # The language pass already filled each language; spread what is left over every cell with room.
            headroom_targets = {
                c: (targets[c] + unplaced * wanted[c] / sum(wanted.values())) for c in targets
            }
            targets, unplaced = water_fill(headroom_targets, caps)
    else:
        targets = {c: min(wanted[c], caps[c]) for c in wanted}
        unplaced = sum(wanted[c] - targets[c] for c in wanted)
    whole = whole_tokens(targets, caps)
    plans = tuple(
        CellPlan(
            lang=c[0],
            bucket=c[1],
            docs=available[c][0],
            tokens=available[c][1],
            wanted=wanted[c],
            target=whole[c],
            short=wanted[c] > caps[c] + 1e-6,
        )
        for c in sorted(wanted)
    )
    # what no cell takes, whatever the reason: caps, a strategy that places less (UniMax), no cells at all
    unplaced = max(0.0, spec.budget_tokens - sum(targets.values()))
    return Allocation(cells=plans, budget=spec.budget_tokens, unplaced=unplaced)
