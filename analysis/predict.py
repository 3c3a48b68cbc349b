"""The predicted effective cutoff of a model trained on a dataset, from the dataset alone (the audit's
predictor). The Spark side (`jobs/audit_spark.py`) aggregates the documents matched to dated reference
versions into small tables (tokens per resource and version month); everything here works on those tables,
so it is unit-tested without Spark.

Predicted effective cutoff (the model). The effective cutoff of a trained model is measured by the probe
(`trainers/probes.py`, Cheng et al. 2024) as the month whose version of each resource the model fits best,
aggregated over resources by a trimmed mean. A model fits best what it saw most, so from the data alone:

1. for each resource found in the data, the token-weighted histogram of the version months the data holds
   (a document matched to the version of month m adds its tokens to m);
2. per resource, one month: the token-weighted median of that histogram (`statistic="median"`, the default:
   robust to a few copies of a very old or very new version), or its mode (`"mode"`, the month with the most
   tokens), or its token-weighted mean (`"mean"`);
3. over resources, the trimmed mean of those month indices with 2.5% cut from each tail
   (`analysis.cutoff.trimmed_mean`, the probe's), rounded to the nearest month: the predicted cutoff;
4. the interval: a percentile bootstrap over resources (resample resources with replacement, recompute 3),
   `level` (default 0.9) central, with a fixed seed, so it is reproducible.

The model ignores what the probe also sees (how similar adjacent versions are, how long each version is),
so it predicts where the data's mass lies, not the exact argmin; the report shows the measured value beside
it when a run is given.

`statistic="curve"` (the default when the reference has texts) mirrors the probe itself instead of
summarising each resource by one month. The probe scores every month m of a resource by how well the model
fits the text in effect at m; from the data alone, a model fits a text in proportion to the share of the
resource's tokens the data holds of it. So per resource and month, fit(m) = tokens of the version in effect at
m / the resource's tokens (a version spans the months its text stays the same; the data's tokens sit at the
span's first month, where the dating matcher puts them); then, as the probe does with NLL: -fit z-scored per
resource over its months (constant resources dropped), the 2.5% trimmed mean over resources per month, and the
argmin month (the earliest on a tie): the probe's own curve, `analysis.cutoff.CurveMethod`, applied to these
scores. The bootstrap resamples resources as above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.cutoff import TRIM, CurveMethod, bootstrap_cutoffs, trimmed_mean
from analysis.months import month_index, month_name

STATISTICS = ("curve", "median", "mode", "mean")  # on version histograms; "ngram" takes version scores


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The smallest value whose cumulative weight reaches half the total (the lower weighted median)."""
    if len(values) != len(weights):
        raise ValueError(f"weighted_median: {len(values)} values, {len(weights)} weights")
    order = np.argsort(np.asarray(values, dtype=np.float64), kind="stable")
    v = np.asarray(values, dtype=np.float64)[order]
    w = np.asarray(weights, dtype=np.float64)[order]
    if len(v) == 0 or w.sum() <= 0:
        return math.nan
    cumulative = np.cumsum(w)
    # half of the cumulative sum's own total, less its rounding: a weight that reaches half exactly (0.7 +
    # 1 of 3.4) may sum to a hair under w.sum() / 2 in another order
    half = cumulative[-1] / 2.0 * (1 - 1e-12)
    return float(v[int(np.searchsorted(cumulative, half))])


def resource_month(months: Sequence[int], tokens: Sequence[float], statistic: str = "median") -> float:
    """One month index for a resource from its token-weighted version-month histogram (see the module doc)."""
    if statistic == "median":
        return weighted_median(months, tokens)
    if statistic == "mode":
        # the earliest month among those with the most tokens (a month given twice counts its rows
        # together): deterministic on ties
        totals: dict[int, float] = {}
        for month, weight in zip(months, tokens, strict=True):
            totals[month] = totals.get(month, 0.0) + weight
        best = max((weight, -month) for month, weight in totals.items())
        return float(-best[1])
    if statistic == "mean":
        w = np.asarray(tokens, dtype=np.float64)
        return float(np.average(np.asarray(months, dtype=np.float64), weights=w)) if w.sum() > 0 else math.nan
    raise ValueError(f"statistic {statistic!r}: expected one of {', '.join(STATISTICS)}")


# ------------------------------------------------------------------------------------------------ cutoff
@dataclass
class CutoffPrediction:
    """The predicted effective cutoff ('YYYY-MM'), its bootstrap interval, and the per-resource months."""

    month: str | None
    interval: tuple[str, str] | None
    level: float
    statistic: str
    resources: int
    per_resource: dict[str, str] = field(default_factory=dict)
    n_boot: int = 0
    trim: float = TRIM

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "interval": list(self.interval) if self.interval else None,
            "level": self.level,
            "statistic": self.statistic,
            "aggregate": f"trimmed mean over resources ({self.trim:.1%} each tail)",
            "resources": self.resources,
            "bootstrap_samples": self.n_boot,
        }


def predict_cutoff(
    histograms: Mapping[str, Sequence[tuple[str, float]]],
    statistic: str = "median",
    trim: float = TRIM,
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
    spans: Mapping[str, Mapping[str, str]] | None = None,
) -> CutoffPrediction:
    """Predict the effective cutoff from per-resource token-weighted version-month histograms
    (`{resource: [(month 'YYYY-MM', tokens), ...]}`); see the module doc for the model. Resources with no
    tokens are ignored. Returns a prediction with month None when no resource has tokens. `statistic="curve"`
    needs `spans`: per resource, every reference month -> the first month of the text in effect then."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic {statistic!r}: expected one of {', '.join(STATISTICS)}")
    if not 0 < level < 1:
        raise ValueError(f"level {level!r}: expected a probability in (0, 1)")
    if statistic == "curve":
        if spans is None:
            raise ValueError("statistic 'curve': needs the reference versions' spans (a reference with text)")
        return _predict_from_curve(histograms, spans, trim, n_boot, level, seed)
    per_resource: dict[str, float] = {}
    for resource in sorted(histograms):
        rows = [(month_index(m), float(t)) for m, t in histograms[resource] if t and 0 < t < math.inf]
        if rows:
            months, tokens = zip(*rows, strict=True)
            per_resource[resource] = resource_month(months, tokens, statistic)
    if not per_resource:
        return CutoffPrediction(None, None, level, statistic, 0, {}, 0, trim)
    values = np.asarray(list(per_resource.values()), dtype=np.float64)
    point = _nearest(trimmed_mean(values, trim))
    rng = np.random.default_rng(seed)
    boots = np.array(
        [trimmed_mean(values[rng.integers(0, len(values), len(values))], trim) for _ in range(n_boot)]
    )
    interval = None
    if n_boot > 0:
        low, high = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
        interval = (month_name(_nearest(low)), month_name(_nearest(high)))
    return CutoffPrediction(
        month=month_name(point),
        interval=interval,
        level=level,
        statistic=statistic,
        resources=len(per_resource),
        per_resource={r: month_name(_nearest(v)) for r, v in per_resource.items()},
        n_boot=n_boot,
        trim=trim,
    )


def fit_matrix(
    histograms: Mapping[str, Sequence[tuple[str, float]]],
    spans: Mapping[str, Mapping[str, str]],
    method: CurveMethod = CurveMethod(),
) -> tuple[list[str], list[int], np.ndarray]:
    """(resources, month indices, scores[resource, month]): -fit z-scored per resource over its months (see
    the module doc; normalised by `method`, as the probe normalises NLL), NaN where a resource has no version
    that month. Resources without tokens or spans, and those `method` drops (one month, the same fit in every
    month), are left out."""
    months = sorted({month_index(m) for r in histograms for m in spans.get(r, {})})
    fits: dict[str, dict[str, float]] = {}
    for resource in sorted(histograms):
        span = spans.get(resource, {})
        # tokens per version, by the month index of its span's start: a month is read as its spelling says
        # (ValueError for one that is no YYYY-MM), and a month inside a span counts for that span's version
        tokens: dict[int, float] = {}
        for month, t in histograms[resource]:
            start = month_index(span.get(month, month))
            if t and 0 < t < math.inf:
                tokens[start] = tokens.get(start, 0.0) + float(t)
        total = sum(tokens.values())
        if total <= 0 or not span:
            continue
        fits[resource] = {
            month: -tokens.get(month_index(start), 0.0) / total for month, start in span.items()
        }
    kept, rows = _normalised_rows(fits, months, method)
    return kept, months, np.array(rows).reshape(len(rows), len(months))


def _normalised_rows(
    scores: Mapping[str, Mapping[str, float]], months: Sequence[int], method: CurveMethod
) -> tuple[list[str], list[np.ndarray]]:
    """(resources, rows): each resource's scores on the `months` axis (NaN where it has none), normalised by
    `method` over the months it has; resources `method` drops are left out."""
    column = {m: j for j, m in enumerate(months)}
    kept, rows = [], []
    for resource in sorted(scores):
        row = np.full(len(months), np.nan)
        for month, value in scores[resource].items():
            row[column[month_index(month)]] = value
        present = np.isfinite(row)  # an infinite score (a version no n-gram of the data covers) says nothing
        row[~present] = np.nan
        normalised = method.normalise(row[present])
        if isinstance(normalised, str):
            continue
        row[present] = normalised
        kept.append(resource)
        rows.append(row)
    return kept, rows


def curve_argmin(scores: np.ndarray, trim: float = TRIM) -> tuple[int, np.ndarray]:
    """Column of the minimum (earliest on a tie) of the probe's curve over `scores[resource, month]`, and the
    curve itself (+inf in a month without scores)."""
    method = CurveMethod(trim=trim)
    curve = method.curve(scores)
    best = method.argmin(curve)
    if best is None:
        raise ValueError("curve_argmin: the scores have no month columns")
    return best, curve


def _predict_from_curve(
    histograms: Mapping[str, Sequence[tuple[str, float]]],
    spans: Mapping[str, Mapping[str, str]],
    trim: float,
    n_boot: int,
    level: float,
    seed: int,
) -> CutoffPrediction:
    resources, months, scores = fit_matrix(histograms, spans, CurveMethod(trim=trim))
    if not resources:
        return CutoffPrediction(None, None, level, "curve", 0, {}, 0, trim)
    best, _ = curve_argmin(scores, trim)
    boots = [
        months[int(column)] for column in bootstrap_cutoffs(scores, CurveMethod(trim=trim), n_boot, seed)
    ]
    interval = None
    if n_boot > 0:
        low, high = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2], method="nearest")
        interval = (month_name(int(low)), month_name(int(high)))
    per_resource = {}
    for resource in resources:  # the month of the version the data holds most of (as `mode`)
        rows = [(month_index(m), float(t)) for m, t in histograms[resource] if t and 0 < t < math.inf]
        per_resource[resource] = month_name(int(resource_month(*zip(*rows, strict=True), "mode")))
    return CutoffPrediction(
        month=month_name(months[best]),
        interval=interval,
        level=level,
        statistic="curve",
        resources=len(resources),
        per_resource=per_resource,
        n_boot=n_boot,
        trim=trim,
    )


def _nearest(months: float) -> int:
    """Round half up (Python's round() rounds half to even, which would make 0.5 months flip by parity)."""
    return math.floor(months + 0.5)


def predict_from_scores(
    scores: Mapping[str, Mapping[str, float]],
    trim: float = TRIM,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    statistic: str = "ngram",
) -> CutoffPrediction:
    """The probe's own curve (`analysis.cutoff.CurveMethod`) over per-resource, per-month scores computed from
    the data alone (lower = fits better; e.g. dating.reference_ngrams' n-gram surprisal of each version): the
    argmin month, and a percentile-bootstrap interval over resources."""
    if not 0 < level < 1:
        raise ValueError(f"level {level!r}: expected a probability in (0, 1)")
    months = sorted({month_index(m) for per in scores.values() for m in per})
    method = CurveMethod(trim=trim)
    kept, rows = _normalised_rows(scores, months, method)
    if not kept:
        return CutoffPrediction(None, None, level, statistic, 0, {}, 0, trim)
    matrix = np.array(rows)
    best, _ = curve_argmin(matrix, trim)
    interval = None
    if n_boot > 0:
        samples = bootstrap_cutoffs(matrix, method, n_boot, seed)
        low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2], method="nearest")
        interval = (month_name(months[int(low)]), month_name(months[int(high)]))
    return CutoffPrediction(
        month=month_name(months[best]),
        interval=interval,
        level=level,
        statistic=statistic,
        resources=len(kept),
        per_resource={
            r: month_name(months[int(np.nanargmin(row))]) for r, row in zip(kept, rows, strict=True)
        },
        n_boot=n_boot,
        trim=trim,
    )
