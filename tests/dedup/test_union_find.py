"""The NumPy components against the plain union-find reference."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.union_find import UnionFind, components, components_of_ids


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80))
def test_components_equal_union_find(edges: list[tuple[int, int]]) -> None:
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    src = np.array([a for a, _ in edges], dtype=np.int64)
    dst = np.array([b for _, b in edges], dtype=np.int64)
    labels = components(src, dst, 41)
    for node in range(41):
        assert labels[node] == uf.find(node)


def test_long_chain_and_ids() -> None:
    n = 50_000
    labels = components(np.arange(1, n), np.arange(0, n - 1), n)  # a path: worst case for propagation
    assert (labels == 0).all()
    mapping = components_of_ids(["b", "d", "e"], ["a", "c", "d"])
    assert mapping == {"a": "a", "b": "a", "c": "c", "d": "c", "e": "c"}
    assert components_of_ids([], []) == {}
