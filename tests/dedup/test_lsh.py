"""Banding, URL resource keys, star edges and anchored candidate pairs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from dedup.lsh import (
    LshConfig,
    band_candidates,
    candidate_pairs,
    candidate_probability,
    host_keys,
    hub_rows,
    normalize_urls,
    optimal_bands,
    pack_bucket_rows,
    star_edges,
    unpack_bucket_rows,
    url_keys,
    url_star_rows,
)
from dedup.shingles import HAVE_NUMBA

ENGINES = ["numpy"] + (["numba"] if HAVE_NUMBA else [])  # the NumPy path is the one taken without numba


def test_optimal_bands_follow_the_threshold() -> None:
    # False negatives weigh 9:1 (candidates are verified): more, shorter bands than datasketch's default.
    assert optimal_bands(0.8, 128) == (14, 9)
    assert optimal_bands(0.5, 128) == (32, 4)
    # The S-curve is steep around the threshold: likely at it, unlikely well below it.
    assert candidate_probability(0.5, 32, 4) > 0.85 and candidate_probability(0.1, 32, 4) < 0.005


def test_lsh_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="threshold"):
        LshConfig(threshold=1.5).resolve(128)
    with pytest.raises(ValueError, match="bands and rows"):
        LshConfig(bands=4).resolve(128)
    with pytest.raises(ValueError, match="anchors"):
        LshConfig(anchors=0).resolve(128)
    with pytest.raises(ValueError, match="threshold"):
        LshConfig(threshold=0.0, bands=4, rows=4).resolve(128)  # verification needs it even with bands
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


def test_www_is_ignored_in_any_case_and_the_engines_agree() -> None:
    urls = [
        "http://example.com/a",
        "http://WWW.Example.com/a",
        "https://www.example.com/a",
        "http://Www.example.com/a/",
        "HTTPS://WWW2.EXAMPLE.COM:8080/a#top",
        "http://wwwexample.com/a",  # no dot: part of the host
    ]
    keys = normalize_urls(pa.array(urls, pa.string())).to_pylist()
    assert keys == ["example.com/a"] * 5 + ["wwwexample.com/a"]
    hashed = {engine: url_keys(pa.array(urls, pa.string()), engine).to_pylist() for engine in ENGINES}
    for values in hashed.values():
        assert len(set(values[:5])) == 1 and values[5] != values[0]
        assert values == hashed["numpy"]


def test_star_edges_point_at_the_smallest_node() -> None:
    keys = np.array([7, 7, 7, 9, 9, 11], dtype=np.int64)
    nodes = np.array([5, 2, 8, 8, 3, 4], dtype=np.int64)
    src, dst = star_edges(keys, nodes)
    assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == [(5, 2), (8, 2), (8, 3)]


def _star_rows_by_rule(keys: np.ndarray, hosts: np.ndarray, nodes: np.ndarray) -> set[tuple[int, int]]:
    """url_star_rows' rule, written out with sets."""
    keys_of: dict[tuple[int, int], set[int]] = {}
    for k, h, n in zip(keys.tolist(), hosts.tolist(), nodes.tolist(), strict=True):
        keys_of.setdefault((n, h), set()).add(k)
    return {(k, n) for (n, _), ks in keys_of.items() if len(ks) < 3 for k in ks}


def test_a_text_one_host_serves_under_three_url_keys_joins_no_star() -> None:
    # Text 1: a soft-404 at keys 10, 20, 30 of host 1 (30 twice), and at key 90 of host 2.
    # Text 2: a moved page, keys 10 and 40 of host 1. Text 3: a mirrored copy at keys 50, 60, 70 of three hosts.
    keys = np.array([10, 20, 30, 30, 90, 10, 40, 50, 60, 70, 80, 80], dtype=np.int64)
    hosts = np.array([1, 1, 1, 1, 2, 1, 1, 5, 6, 7, 1, 1], dtype=np.int64)
    nodes = np.array([1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4], dtype=np.int64)
    got = set(zip(*(a.tolist() for a in url_star_rows(keys, hosts, nodes)), strict=True))
    assert got == {(90, 1), (10, 2), (40, 2), (50, 3), (60, 3), (70, 3), (80, 4)}
    rng = np.random.default_rng(0)
    keys = rng.integers(0, 40, 3000)
    hosts, nodes = keys // 8, rng.integers(0, 500, 3000)  # a host holds 8 keys
    got_rows = list(zip(*(a.tolist() for a in url_star_rows(keys, hosts, nodes)), strict=True))
    assert len(got_rows) == len(set(got_rows)) and set(got_rows) == _star_rows_by_rule(keys, hosts, nodes)
    assert 0 < len(got_rows) < len(set(zip(keys.tolist(), nodes.tolist(), strict=True)))
    assert url_star_rows(*(np.zeros(0, np.int64),) * 3)[0].size == 0


def test_a_text_many_hosts_serve_joins_no_star() -> None:
    # Text 1 on URL_HUB_HOSTS hosts, one key each (a parked domain's page); text 2 on one host fewer (a much
    # mirrored version) still bridges its URLs.
    from dedup.lsh import URL_HUB_HOSTS

    many = np.arange(URL_HUB_HOSTS, dtype=np.int64)
    fewer = np.arange(URL_HUB_HOSTS - 1, dtype=np.int64)
    keys = np.r_[many * 10, fewer * 10]
    hosts = np.r_[many, fewer]
    nodes = np.r_[np.full(len(many), 1), np.full(len(fewer), 2)].astype(np.int64)
    hub = hub_rows(keys, hosts, nodes, np.zeros(len(keys), bool))
    assert hub[: len(many)].all() and not hub[len(many) :].any()
    stars = url_star_rows(keys, hosts, nodes)
    assert set(stars[1].tolist()) == {2} and len(stars[0]) == len(fewer)


def test_a_marker_row_makes_its_text_a_hub_on_its_host() -> None:
    # An index row of a text that was a hub (its URL key nulled: a marker) keeps it one on that host, however
    # few of its URLs a later run sees; on other hosts the text still counts its own keys.
    keys = np.array([0, 20, 30, 50], dtype=np.int64)
    hosts = np.array([1, 1, 2, 5], dtype=np.int64)
    nodes = np.array([7, 7, 7, 8], dtype=np.int64)
    marker = np.array([True, False, False, False])
    assert hub_rows(keys, hosts, nodes, marker).tolist() == [True, True, False, False]
    got = set(zip(*(a.tolist() for a in url_star_rows(keys, hosts, nodes, marker)), strict=True))
    assert got == {(30, 7), (50, 8)}
    assert url_star_rows(keys, hosts, nodes)[0].tolist() == [0, 20, 30, 50]  # no marker: no hub


def test_host_keys_follow_the_url_keys_normalisation() -> None:
    urls = [
        "https://WWW.Site.org/a",
        "http://site.org:8080/b?x=1",
        "https://user@site.org/c#f",
        "https://other.net/a",
        None,
        "/no-host",
    ]
    hosts = host_keys(pa.array(urls, pa.string())).to_pylist()
    assert hosts[0] == hosts[1] == hosts[2] != hosts[3] and hosts[4] is None and hosts[5] is None
    assert hosts[0] not in url_keys(pa.array(urls, pa.string())).to_pylist()


def test_a_bucket_of_100k_identical_documents_is_linear() -> None:
    n = 100_000
    keys = np.zeros(n, dtype=np.int64)  # every document in one bucket (boilerplate)
    src, dst = star_edges(keys, np.arange(n, dtype=np.int64)[::-1].copy())
    assert len(src) == n - 1 and set(dst.tolist()) == {0}


def _brute_force_pairs(keys: np.ndarray, nodes: np.ndarray, anchors: int) -> set[tuple[int, int]]:
    """The rule, written out: each node of a bucket with each of the bucket's `anchors` smallest nodes
    below it."""
    pairs = set()
    for key in set(keys.tolist()):
        members = sorted(set(nodes[keys == key].tolist()))
        for j, node in enumerate(members):
            pairs.update((node, members[i]) for i in range(min(j, anchors)))
    return pairs


@pytest.mark.parametrize("anchors", [1, 3, 8])
def test_candidate_pairs_follow_the_anchor_rule(anchors: int) -> None:
    rng = np.random.default_rng(anchors)
    keys = rng.integers(0, 30, 600)
    nodes = rng.integers(-(2**40), 2**40, 600) // 2**30  # repeats within and across buckets
    src, dst = candidate_pairs(keys, nodes, anchors)
    got = list(zip(src.tolist(), dst.tolist(), strict=True))
    assert got == sorted(set(got)) and all(s > d for s, d in got)
    assert set(got) == _brute_force_pairs(keys, nodes, anchors)


def test_small_buckets_give_all_pairs_and_large_ones_stay_linear() -> None:
    src, dst = candidate_pairs(np.zeros(4, np.int64), np.array([9, 3, 7, 3]), anchors=8)
    assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == [(7, 3), (9, 3), (9, 7)]
    n = 100_000  # one bucket of distinct texts (a template shared by a whole site)
    src, dst = candidate_pairs(np.zeros(n, np.int64), np.arange(n, dtype=np.int64)[::-1].copy(), anchors=8)
    assert len(src) == 8 * n - 36 and set(dst.tolist()) == set(range(8))


def test_keys_that_share_their_low_bits_are_told_apart() -> None:
    rng = np.random.default_rng(5)
    # All keys agree in their low 22 bits (the screen's), so every row passes it and must be looked up.
    keys = (rng.integers(-(2**30), 2**30, 3000) << 22) | 12345
    keys[::7] = keys[1::7][: len(keys[::7])]  # and some repeat outright
    nodes = rng.integers(0, 10**9, len(keys))
    src, dst = candidate_pairs(keys, nodes, anchors=3)
    assert set(zip(src.tolist(), dst.tolist(), strict=True)) == _brute_force_pairs(keys, nodes, 3)


@pytest.mark.parametrize("threads", [1, 3])
def test_band_candidates_equal_candidate_pairs_over_every_band(threads: int) -> None:
    rng = np.random.default_rng(threads)
    texts, bands = 400, 6
    keys = rng.integers(0, 60, (texts, bands)) + np.arange(bands) * 1000  # a band's keys are its own
    nodes = rng.permutation(10**6)[:texts].astype(np.int64)
    src, dst = band_candidates(keys, nodes, anchors=4, threads=threads)
    e_src, e_dst = candidate_pairs(keys.reshape(-1), np.repeat(nodes, bands), anchors=4)
    assert np.array_equal(src, e_src) and np.array_equal(dst, e_dst) and len(src) > 0


@pytest.mark.parametrize("engine", ENGINES)
def test_band_candidates_with_hash_keys_colliding_slots_and_a_giant_bucket(engine: str) -> None:
    # Keys as hashes are (negative too), many share their low bits (the table's slots: long probe runs),
    # and 150 texts share one key in band 0 (boilerplate: a bucket past the in-place sort's 64).
    rng = np.random.default_rng(11)
    texts, bands = 3000, 4
    keys = (rng.integers(-(2**40), 2**40, (texts, bands)) << 20) | 777
    keys[rng.choice(texts, 900, replace=False), 1] = keys[rng.choice(texts, 900), 1]  # pairs and triples
    keys[:150, 0] = -5
    nodes = rng.choice(2**62, texts, replace=False).astype(np.int64)  # distinct, unsorted
    src, dst = band_candidates(keys, nodes, anchors=8, threads=2, engine=engine)
    e_src, e_dst = candidate_pairs(keys.reshape(-1), np.repeat(nodes, bands), anchors=8)
    assert np.array_equal(src, e_src) and np.array_equal(dst, e_dst)
    assert len(src) > 150 * 8 - 36 and np.all(src > dst)


def test_packed_bucket_rows_round_trip_and_keep_buckets_whole() -> None:
    rng = np.random.default_rng(9)
    lists = [rng.integers(-(2**62), 2**62, rng.integers(0, 5)).tolist() for _ in range(300)]
    band_keys = pa.array(lists, pa.list_(pa.int64()))
    nodes = pa.array(rng.integers(0, 10**9, 300), pa.int64())
    packed = pack_bucket_rows(band_keys, nodes, parts=7)
    rows = set()
    for part, value in zip(packed.column("part").to_pylist(), packed.column("rows"), strict=True):
        keys, owners = unpack_bucket_rows(pa.array([value.as_py()], pa.binary()))
        assert all(int(k) % 7 == part for k in keys.view(np.uint64))
        rows |= set(zip(keys.tolist(), owners.tolist(), strict=True))
    expected = {(k, n) for ks, n in zip(lists, nodes.to_pylist(), strict=True) for k in ks}
    assert rows == expected
    keys, owners = unpack_bucket_rows(
        pa.chunked_array([packed.column("rows")[:2], packed.column("rows")[2:]])
    )
    assert set(zip(keys.tolist(), owners.tolist(), strict=True)) == expected


def test_band_candidates_refuse_repeated_nodes() -> None:
    with pytest.raises(ValueError, match="distinct"):
        band_candidates(np.array([[7], [7], [7]]), np.array([3, 3, 1]), anchors=2)
