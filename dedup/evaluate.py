"""Scores of a clustering against known resources: pairwise precision and recall of "same resource", and the
share of resources whose kept document is their newest version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PairScores:
    """Pairwise scores over all unordered document pairs."""

    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _pairs(counts: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counts.values())


def pair_scores(truth: Sequence[str], predicted: Sequence[str]) -> PairScores:
    """Pairwise precision/recall of `predicted` cluster labels against `truth` labels (same order). Counts
    pairs through label co-occurrence, so it is linear in the documents, not quadratic."""
    if len(truth) != len(predicted):
        raise ValueError(f"truth has {len(truth)} labels, predicted {len(predicted)}")
    both = _pairs(Counter(zip(truth, predicted, strict=True)))
    true_pairs = _pairs(Counter(truth))
    predicted_pairs = _pairs(Counter(predicted))
    return PairScores(
        precision=both / predicted_pairs if predicted_pairs else 1.0,
        recall=both / true_pairs if true_pairs else 1.0,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
    )


def newest_kept_share(resources: Sequence[str], versions: Sequence[int], kept: Sequence[bool]) -> float:
    """Share of resources for which a kept document is that resource's newest version (highest number)."""
    newest: dict[str, int] = {}
    for resource, version in zip(resources, versions, strict=True):
        newest[resource] = max(version, newest.get(resource, version))
    hits = {r for r, v, k in zip(resources, versions, kept, strict=True) if k and v == newest[r]}
    return len(hits) / len(newest) if newest else 1.0
