"""Banding, URL resource keys and star edges."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dedup.lsh import LshConfig, candidate_probability, normalize_urls, optimal_bands, star_edges, url_keys


def test_optimal_bands_follow_the_threshold() -> None:
    assert optimal_bands(0.8, 128) == (9, 13)
    assert optimal_bands(0.5, 128) == (25, 5)
    # The S-curve is steep around the threshold: likely above it, unlikely well below it.
    assert candidate_probability(0.7, 25, 5) > 0.98 and candidate_probability(0.1, 25, 5) < 0.001


def test_lsh_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="threshold"):
        LshConfig(threshold=1.5).resolve(128)
    with pytest.raises(ValueError, match="bands and rows"):
        LshConfig(bands=4).resolve(128)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        LshConfig(bands=20, rows=10).resolve(128)
    assert LshConfig(bands=16, rows=8).resolve(128) == (16, 8)


def test_url_normalisation() -> None:
    urls = [
        "https://www.Example.com:443/a/b/?x=1#frag",
        "http://example.com/a/b/?x=1",
        "<http://EXAMPLE.com/>",
        "https://example.com",
        "https://example.com/A",
        None,
        "",
        "https://en.wikipedia.org/wiki/Hash",
    ]
    keys = normalize_urls(pa.array(urls, pa.string())).to_pylist()
    assert keys[0] == keys[1]  # scheme, www, port, fragment ignored
    assert keys[2] == keys[3] == "example.com"
    assert keys[4] == "example.com/A"  # paths are case-sensitive
    assert keys[5] is None and keys[6] is None
    hashed = url_keys(pa.array(urls, pa.string()))
    assert hashed[0] == hashed[1] and hashed[4] != hashed[3] and not hashed[5].is_valid


def test_star_edges_point_at_the_smallest_node() -> None:
    keys = np.array([7, 7, 7, 9, 9, 11], dtype=np.int64)
    nodes = np.array([5, 2, 8, 8, 3, 4], dtype=np.int64)
    src, dst = star_edges(keys, nodes)
    assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == [(5, 2), (8, 2), (8, 3)]


def test_a_bucket_of_100k_identical_documents_is_linear() -> None:
    n = 100_000
    keys = np.zeros(n, dtype=np.int64)  # every document in one bucket (boilerplate)
    src, dst = star_edges(keys, np.arange(n, dtype=np.int64)[::-1].copy())
    assert len(src) == n - 1 and set(dst.tolist()) == {0}
