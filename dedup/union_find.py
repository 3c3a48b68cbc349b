"""Connected components of an edge list in one process.

`UnionFind` is the plain reference (path halving, the smaller root wins so a component's root is its
smallest member). `components` does the same for integer nodes with NumPy (min-label propagation with pointer
jumping, a few vectorised passes instead of a Python loop per edge); `components_of_ids` maps string ids to
integers in sorted order so the smallest integer is the smallest id. Tests check all three agree, and that
Spark's large-star/small-star gives the same components.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np


class UnionFind:
    """Disjoint sets over hashable, ordered items; `find` returns the smallest member of the item's set."""

    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, item: Hashable) -> Hashable:
        parent = self.parent
        if item not in parent:
            parent[item] = item
            return item
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving
            item = parent[item]
        return item

    def union(self, a: Hashable, b: Hashable) -> Hashable:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        low, high = (ra, rb) if ra < rb else (rb, ra)  # type: ignore[operator]
        self.parent[high] = low
        return low

    def roots(self, items: Iterable[Hashable] | None = None) -> dict[Hashable, Hashable]:
        """item -> smallest member of its set, for `items` (default: every item seen)."""
        return {item: self.find(item) for item in (list(self.parent) if items is None else items)}


def components(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Label of each node 0..n-1: the smallest node of its component (int64[n])."""
    labels = np.arange(n, dtype=np.int64)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    if len(src) == 0:
        return labels
    while True:
        low = np.minimum(labels[src], labels[dst])
        before = labels.copy()
        np.minimum.at(labels, labels[src], low)
        np.minimum.at(labels, labels[dst], low)
        np.minimum.at(labels, src, low)
        np.minimum.at(labels, dst, low)
        while True:  # pointer jumping: every node to its label's label until stable
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def components_of_ids(src: Sequence[str], dst: Sequence[str]) -> dict[str, str]:
    """id -> smallest id of its component, for every id on an edge."""
    if len(src) == 0:
        return {}
    ids, inverse = np.unique(
        np.concatenate([np.asarray(src, dtype=object), np.asarray(dst, dtype=object)]), return_inverse=True
    )
    n_edges = len(src)
    labels = components(inverse[:n_edges], inverse[n_edges:], len(ids))
    return dict(zip(ids.tolist(), ids[labels].tolist(), strict=True))
