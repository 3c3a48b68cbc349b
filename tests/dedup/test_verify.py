"""Sketches verify candidate pairs: their estimate equals the full signature's agreement (datasketch's
`jaccard`) up to the 2^-16 chance of equal low bits, and the kernel keeps only pairs that reach the threshold."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash

from dedup.minhash import SignatureConfig, batch_signatures
from dedup.shingles import shingle_hash, shingles
from dedup.verify import (
    estimated_similarity,
    keep_hosts,
    shared_host_keys,
    sketches,
    text_host_sets,
    verify_batch,
)

WORDS = [f"w{i}" for i in range(400)]


def _texts(rng: np.random.Generator, n: int, edits: float) -> list[str]:
    """n texts: a base text of 150 words, then copies with a share `edits` of their words replaced."""
    base = rng.choice(WORDS, 150)
    out = [" ".join(base)]
    for _ in range(n - 1):
        copy = base.copy()
        where = rng.random(len(copy)) < edits
        copy[where] = rng.choice(WORDS, int(where.sum()))
        out.append(" ".join(copy))
    return out


def test_sketch_estimate_equals_datasketch_jaccard() -> None:
    texts = _texts(np.random.default_rng(0), 40, 0.15)
    sigs = batch_signatures(pa.array(texts), SignatureConfig(num_perm=128, scheme="datasketch")).signatures
    sk = sketches(sigs)
    left, right = np.arange(1, 40), np.zeros(39, np.int64)
    got = estimated_similarity(sk.take(pa.array(left)), sk.take(pa.array(right)), 128)
    reference = []
    for i in left:
        a, b = (MinHash(num_perm=128, scheme="legacy", hashfunc=shingle_hash) for _ in range(2))
        for gram in shingles(texts[0].split(), 5):
            a.update(gram)
        for gram in shingles(texts[int(i)].split(), 5):
            b.update(gram)
        reference.append(a.jaccard(b))
    # Chance agreements of the low 8 bits (1/256 per value, corrected on average) move a pair by a few
    # agreements in 128 at most.
    assert np.max(np.abs(got - np.array(reference))) <= 3 / 128 + 1e-9
    assert abs(np.mean(got - np.array(reference))) < 0.01
    assert 0.2 < got.mean() < 0.6  # the edits put these pairs around the threshold, where it matters


def test_sketch_estimate_equals_the_default_schemes_agreement() -> None:
    texts = _texts(np.random.default_rng(0), 40, 0.15)
    sigs = batch_signatures(pa.array(texts), SignatureConfig(num_perm=128)).signatures
    sk = sketches(sigs)
    left, right = np.arange(1, 40), np.zeros(39, np.int64)
    got = estimated_similarity(sk.take(pa.array(left)), sk.take(pa.array(right)), 128)
    full = (sigs[left] == sigs[right]).mean(axis=1)
    assert np.max(np.abs(got - full)) <= 3 / 128 + 1e-9
    assert abs(np.mean(got - full)) < 0.01


def test_identical_and_unrelated_texts() -> None:
    rng = np.random.default_rng(1)
    texts = [*_texts(rng, 2, 0.0), " ".join(rng.choice([f"z{i}" for i in range(400)], 150))]
    sk = sketches(batch_signatures(pa.array(texts), SignatureConfig()).signatures)
    sim = estimated_similarity(sk.take(pa.array([0, 0])), sk.take(pa.array([1, 2])), 128)
    assert sim[0] == 1.0 and sim[1] < 0.05


def test_verify_batch_keeps_pairs_at_or_above_the_threshold() -> None:
    texts = _texts(np.random.default_rng(2), 30, 0.12)
    sk = sketches(batch_signatures(pa.array(texts), SignatureConfig()).signatures)
    src, dst = np.arange(1, 30), np.zeros(29, np.int64)
    batch = pa.RecordBatch.from_arrays(
        [pa.array(src), pa.array(dst), sk.take(pa.array(src)), sk.take(pa.array(dst))],
        names=["src", "dst", "src_sketch", "dst_sketch"],
    )
    sim = estimated_similarity(batch.column("src_sketch"), batch.column("dst_sketch"), 128)
    kept = verify_batch(batch, 128, 0.5)
    assert kept.column("src").to_pylist() == src[sim >= 0.5].tolist()
    assert 0 < kept.num_rows < 29 and min(kept.column("similarity").to_pylist()) >= 0.5


def test_malformed_sketches_are_refused() -> None:
    with pytest.raises(ValueError, match="128 values"):
        estimated_similarity(pa.array([b"\x00" * 10]), pa.array([b"\x00" * 10]), 128)
    with pytest.raises(ValueError, match="null"):
        estimated_similarity(pa.array([None], pa.binary()), pa.array([b"\x00" * 128]), 128)


def test_host_sets_hold_each_texts_distinct_hosts_smallest_first() -> None:
    text_of_row = np.array([0, 0, 1, 1, 1, 3, 0, 2, 2, 2])
    hosts = np.array([5, 5, 7, -2, 7, -1, 9, 30, 10, 20])
    assert text_host_sets(5, text_of_row, hosts).to_pylist() == [[5, 9], [-2, 7], [10, 20, 30], [-1], []]
    assert text_host_sets(5, text_of_row, hosts, cap=2).to_pylist() == [[5, 9], [-2, 7], [10, 20], [-1], []]
    assert text_host_sets(2, np.zeros(0, np.int64), np.zeros(0, np.int64)).to_pylist() == [[], []]


def test_shared_host_keys_are_the_hosts_some_pair_meets_at() -> None:
    sets = pa.array([[1, 4], [4], [2], [], None, [1, 9]], pa.list_(pa.int64()))
    left, right = np.array([0, 0, 1, 2, 3, 4, 5, 3]), np.array([1, 2, 5, 2, 3, 0, 0, 0])
    assert shared_host_keys(sets, left, right).tolist() == [1, 2, 4]
    assert shared_host_keys(pa.chunked_array([sets[:2], sets[2:]]), left, right).tolist() == [1, 2, 4]
    assert shared_host_keys(sets.slice(1), left[:3], right[:3] - 1).tolist() == [4]
    assert shared_host_keys(sets, left[:0], right[:0]).tolist() == []


def test_keep_hosts_leaves_only_the_hosts_asked_for() -> None:
    sets = pa.array([[1, 4], [4], [2], [], None, [1, 9]], pa.list_(pa.int64()))
    assert keep_hosts(sets, np.array([1, 2])).to_pylist() == [[1], [], [2], [], [], [1]]
    assert keep_hosts(sets.slice(3), np.array([9])).to_pylist() == [[], [], [9]]
    assert keep_hosts(pa.chunked_array([sets]), np.zeros(0, np.int64)).to_pylist() == [[]] * 6
