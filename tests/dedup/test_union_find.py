"""The NumPy components against the plain union-find reference."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.union_find import UnionFind, component_roots, components


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
    nodes, roots = component_roots(pa.array(["b", "d", "e"]), pa.array(["a", "c", "d"]))
    assert dict(zip(nodes.to_pylist(), roots.to_pylist(), strict=True)) == {
        "a": "a",
        "b": "a",
        "c": "c",
        "d": "c",
        "e": "c",
    }
    nodes, roots = component_roots(pa.array([], pa.string()), pa.array([], pa.string()))
    assert len(nodes) == len(roots) == 0


# Ids whose code-point order (Python's, the reference's) must equal Arrow's and Spark's UTF-8 byte order.
IDS = st.text(alphabet="aZ0é\uffff\U00010000", min_size=1, max_size=3)
KEYS = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.lists(st.tuples(IDS, IDS), max_size=40), st.lists(st.tuples(KEYS, KEYS), max_size=40)))
def test_component_roots_equal_union_find(edges: list[tuple]) -> None:
    uf = UnionFind()
    for a, b in edges:
        uf.union(a, b)
    src = pa.array([a for a, _ in edges], pa.int64() if edges and isinstance(edges[0][0], int) else None)
    dst = pa.array([b for _, b in edges], src.type)
    nodes, roots = component_roots(src, dst)
    assert nodes.to_pylist() == sorted(uf.parent)
    assert roots.to_pylist() == [uf.find(node) for node in nodes.to_pylist()]
