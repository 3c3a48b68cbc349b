"""Scores of a clustering against known resources: pairwise precision and recall of "same resource", and the
share of resources whose kept document is their newest version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
    Jaccard similarity reaches `threshold` (two empty sets count as identical): the ceiling a MinHash dedup
    at that threshold can approach. Every pair is compared, as one sparse product of the document x shingle
    incidence matrix with itself, so this is for evaluation sets of a few thousand documents."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(shingle_sets)
    if n == 0:
        return []
    if threshold <= 0:  # every pair reaches it, disjoint ones included
        return [0] * n
    sizes = np.array([len(s) for s in shingle_sets], dtype=np.int64)
    column_of: dict[int, int] = {}  # shingle -> column, whatever the hashes' range
    columns = np.array([column_of.setdefault(h, len(column_of)) for s in shingle_sets for h in s], np.int64)
    rows = np.repeat(np.arange(n), sizes)
    incidence = csr_matrix((np.ones(len(columns), np.int64), (rows, columns)), shape=(n, len(column_of)))
    # [n, n]: the shingles two documents share; pairs that share none are absent.
    shared = (incidence @ incidence.T).tocoo()
    upper = shared.row < shared.col
    i, j, common = shared.row[upper], shared.col[upper], shared.data[upper]
    # Exact integers to float64, one correctly rounded division: the same values as len(a & b) / len(a | b).
    linked = common / (sizes[i] + sizes[j] - common).astype(np.float64) >= threshold
    i, j = i[linked], j[linked]
    empty = np.flatnonzero(sizes == 0)  # empty sets share no shingle, yet are identical: chain them
    if len(empty) > 1 and threshold <= 1.0:
        i, j = np.concatenate([i, empty[:-1]]), np.concatenate([j, empty[1:]])
    graph = csr_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    smallest = np.full(component.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, component, np.arange(n))
    return smallest[component].tolist()
