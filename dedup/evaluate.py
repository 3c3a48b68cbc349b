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


@dataclass(frozen=True)
class FlagScores:
    """Precision and recall of a boolean flag (e.g. is_stale) against true flags."""

    precision: float
    recall: float
    flagged: int
    true: int
    true_positives: int


def flag_scores(truth: Sequence[bool], predicted: Sequence[bool]) -> FlagScores:
    """Precision/recall of `predicted` flags against `truth` (same order); 1.0 where nothing is flagged."""
    if len(truth) != len(predicted):
        raise ValueError(f"truth has {len(truth)} flags, predicted {len(predicted)}")
    hits = sum(1 for t, p in zip(truth, predicted, strict=True) if t and p)
    flagged, true = sum(map(bool, predicted)), sum(map(bool, truth))
    return FlagScores(
        precision=hits / flagged if flagged else 1.0,
        recall=hits / true if true else 1.0,
        flagged=flagged,
        true=true,
        true_positives=hits,
    )


def truly_stale(resources: Sequence[str], version_order: Sequence[str], texts: Sequence[int]) -> list[bool]:
    """True for each document whose resource holds a *newer, different* version in the corpus: another
    document of the same resource with a different text and a later `version_order` (any sortable key, such
    as the YYYY-MM month the text was written)."""
    newest: dict[str, list[tuple[str, int]]] = {}
    for resource, order, text in zip(resources, version_order, texts, strict=True):
        newest.setdefault(resource, []).append((order, text))
    stale = []
    for resource, order, text in zip(resources, version_order, texts, strict=True):
        stale.append(any(o > order and t != text for o, t in newest[resource]))
    return stale


def largest_cluster_mix(resources: Sequence[str], predicted: Sequence[str]) -> tuple[int, int, int]:
    """(documents in the largest predicted cluster, resources it mixes, clusters that mix resources)."""
    members: dict[str, set[str]] = {}
    sizes: Counter = Counter(predicted)
    for resource, cluster in zip(resources, predicted, strict=True):
        members.setdefault(cluster, set()).add(resource)
    if not sizes:
        return 0, 0, 0
    largest = max(sizes, key=lambda c: (sizes[c], c))
    return sizes[largest], len(members[largest]), sum(1 for m in members.values() if len(m) > 1)


def exact_jaccard_labels(shingle_sets: Sequence[frozenset[int]], threshold: float) -> list[int]:
    """Cluster labels (smallest member index) of connected components over every pair whose exact shingle
    Jaccard similarity reaches `threshold`: the ceiling a MinHash dedup at that threshold can approach. All
    pairs are compared, so this is for evaluation sets of a few thousand documents."""
    n = len(shingle_sets)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        a = shingle_sets[i]
        for j in range(i + 1, n):
            b = shingle_sets[j]
            union = len(a | b)
            if (len(a & b) / union if union else 1.0) >= threshold:
                ri, rj = find(i), find(j)
                parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(n)]
