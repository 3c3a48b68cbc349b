"""The audit's reference figures: which dated versions of each resource a dataset holds, the token-weighted
histogram of their months, and the predicted effective cutoff (analysis/predict.py). The Spark side
(`jobs/audit_spark.py`) aggregates the documents the dating stage's matcher tied to reference versions into
the small tables these functions take."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from analysis.months import months_between
from analysis.predict import predict_cutoff, predict_from_scores


def version_spans(versions: Sequence[tuple[str, str, str | None]]) -> dict[str, dict[str, str]] | None:
    """Per resource, each reference month -> the first month of the text in effect then (the month the
    dating matcher dates a copy of that text to), from (resource, month, text key) rows; None when the
    reference has no texts."""
    if not versions or any(text_key is None for _, _, text_key in versions):
        return None
    first: dict[tuple[str, str | None], str] = {}
    for resource, month, text_key in versions:
        key = (resource, text_key)
        first[key] = min(first.get(key, month), month)
    spans: dict[str, dict[str, str]] = {}
    for resource, month, text_key in versions:
        spans.setdefault(resource, {})[month] = first[(resource, text_key)]
    return spans


def _latest_span_starts(spans: Mapping[str, str]) -> dict[str, str]:
    """Per text (named by its first month, as `version_spans` gives it), the first month of the last run of
    consecutive reference months it is in effect: A, B, A gives A the third month."""
    starts: dict[str, str] = {}
    previous = None
    for month in sorted(spans):
        if spans[month] != previous:
            starts[spans[month]] = month
        previous = spans[month]
    return starts


def most_held_month(histogram: Sequence[tuple[str, float]]) -> str | None:
    """The version month ('YYYY-MM') of which a resource's data holds the most tokens (the earliest on a
    tie), or None when it holds no tokens."""
    tokens: dict[str, float] = {}
    for month, t in histogram:
        if t and 0 < t < math.inf:
            tokens[month] = tokens.get(month, 0.0) + float(t)
    return min(tokens, key=lambda m: (-tokens[m], m)) if tokens else None


def reference_figures(
    reference: str,
    per_version: Mapping[tuple[str, str], tuple[int, int]],
    available: Mapping[str, Sequence[str]],
    spans: Mapping[str, Mapping[str, str]] | None,
    statistic: str = "curve",
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """summary.json's `reference` section: versions held per resource, the version-month histogram and the
    predicted cutoff, from (resource, version month) -> (documents, tokens) of the matched documents and
    each resource's available version months. `statistic="curve"` falls back to the median where the
    reference has no texts (no spans)."""
    if spans is None and statistic == "curve":
        statistic = "median"
    histograms: dict[str, list[tuple[str, float]]] = {}
    for (resource, month), (_docs, tokens) in per_version.items():
        histograms.setdefault(resource, []).append((month, tokens))
    prediction = predict_cutoff(
        histograms, statistic=statistic, n_boot=n_boot, level=level, seed=seed, spans=spans
    )
    resources = []
    for resource in sorted(histograms, key=lambda r: (-sum(t for _, t in histograms[r]), r)):
        held = sorted(m for m, _ in histograms[resource])
        # Versions, not months: a monthly reference repeats a text month after month, and a held version is
        # dated to its first month (the matcher's date), so the newest one starts where its text first shows.
        own = (spans or {}).get(resource)
        months = sorted(set(own.values())) if own else sorted(available.get(resource, []))
        # A text in effect again after an edit was reverted is current: it is behind by the time since its
        # own latest span began, not since the first one.
        starts = _latest_span_starts(own) if own else {m: m for m in months}
        newest = starts[own[max(own)]] if own else (months[-1] if months else None)
        resources.append(
            {
                "resource": resource,
                "documents": sum(per_version[(resource, m)][0] for m in held),
                "tokens": sum(per_version[(resource, m)][1] for m in held),
                "versions_available": len(months),
                "newest_available": newest,
                "versions_held": held,
                "newest_held": held[-1],
                "months_behind": (
                    months_between(max(starts.get(m, m) for m in held), newest) if newest else None
                ),
                # the predictor's own month for this resource (the cutoff is aggregated from these)
                "predicted_month": prediction.per_resource.get(resource),
                "most_held_month": most_held_month(histograms[resource]),
            }
        )
    histogram: dict[str, list[int]] = {}
    for (_, month), (docs, tokens) in per_version.items():
        cell = histogram.setdefault(month, [0, 0])
        cell[0] += docs
        cell[1] += tokens
    return {
        "reference": reference,
        "resources_in_reference": len(available),
        "resources_found": len(histograms),
        "documents_matched": sum(d for d, _ in per_version.values()),
        "version_months": [
            {"month": m, "documents": histogram[m][0], "tokens": histogram[m][1]} for m in sorted(histogram)
        ],
        "resources": resources,
        "predicted_cutoff": prediction.to_dict(),
    }


def with_ngram_prediction(
    figures: dict[str, Any],
    scores: Mapping[str, Mapping[str, float]],
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """`figures` (reference_figures', predicted by token shares) with the n-gram predictor's cutoff from
    `scores` (resource -> month -> fit, lower is better; dating.reference_ngrams) as `predicted_cutoff`, the
    token-share one kept as `token_share_cutoff`, and each resource's `predicted_month` its best fit. The
    audit and the experiment both take their prediction from here, so the grid validates what the audit
    reports. Where no document matched a reference resource, no cutoff is predicted: the n-grams it shares
    with the reference are of unrelated text (the fit is kept aside, with a note)."""
    prediction = predict_from_scores(scores, n_boot=n_boot, level=level, seed=seed)
    out = {
        **figures,
        "token_share_cutoff": figures["predicted_cutoff"],
        "predicted_cutoff": prediction.to_dict(),
    }
    out["resources"] = [
        {**row, "predicted_month": prediction.per_resource.get(row["resource"])}
        for row in figures["resources"]
    ]
    fitted = out["predicted_cutoff"]
    if figures["resources_found"] == 0 and fitted.get("month"):
        out["predicted_cutoff"] = {
            **fitted,
            "month": None,
            "interval": None,
            "unmatched_fit": {"month": fitted["month"], "interval": fitted["interval"]},
            "note": "no document of the input matched a reference resource; the fit of its n-grams to the "
            "reference's versions is of unrelated text, so no cutoff is predicted",
        }
    return out
