"""LSH banding and resource keys: which documents are compared, and which are one resource outright.

The nodes of the dedup graph are distinct normalised texts (their 64-bit hashes): exact copies are one node,
so boilerplate repeated a million times costs nothing here. A text contributes one bucket key per band (a
hash of the band's signature values) and its documents' normalised URLs (all captures of one URL are
versions of one resource, however far their text drifted).

- Band buckets give *candidate* pairs, which become edges only once verified (dedup.verify). A bucket of k
  texts is compared against its `anchors` smallest texts, never all k^2 pairs: k x anchors comparisons.
- URL buckets give edges outright: star edges to the bucket's smallest text, k - 1 edges for k texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.shingles import token_hashes

# A salt that keeps URL keys apart from band keys (which hash the band index 0..bands-1).
URL_SALT = np.uint64(0x5EED_0F_0E_0A11_0001)
DEFAULT_ANCHORS = 8
_URL_PARTS = re.compile(
    r"^\s*<?\s*(?:[a-zA-Z][a-zA-Z0-9+.\-]*://)?(?:[^@/?#]*@)?(?:www\d*\.)?(?P<host>[^/?#:>]*)(?::\d+)?(?P<rest>[^#>]*)"
)


# Candidates are verified, so a false positive of the banding costs one sketch comparison while a false
# negative loses an edge for good: the banding weighs false negatives 9:1 (at 0.5 and 128 permutations,
# 32 x 4 instead of the unweighted 25 x 5: P(candidate) at Jaccard 0.5 goes from 0.55 to 0.87).
FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.1, 0.9


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and false negative probability mass around
    Jaccard `threshold` (datasketch's integration, with the weights above)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold {threshold}: must be between 0 and 1 (exclusive)")
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of Jaccard `similarity` share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@dataclass(frozen=True)
class LshConfig:
    """Banding of the signatures (from the Jaccard `threshold`, or `bands` x `rows` given outright), the
    similarity a candidate pair must reach to become an edge (`threshold`, always), and the texts of a band
    bucket every member is compared with (`anchors`)."""

    threshold: float = 0.5
    bands: int | None = None
    rows: int | None = None
    url_key: bool = True
    anchors: int = DEFAULT_ANCHORS

    def resolve(self, num_perm: int) -> tuple[int, int]:
        """(bands, rows) for signatures of `num_perm` values; raises ValueError naming the bad field."""
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold {self.threshold}: must be between 0 and 1 (exclusive)")
        if self.anchors < 1:
            raise ValueError(f"anchors {self.anchors}: must be at least 1")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("bands and rows: give both or neither")
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1:
                raise ValueError(f"bands {self.bands} / rows {self.rows}: must be at least 1")
            if self.bands * self.rows > num_perm:
                raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm {num_perm}")
            return self.bands, self.rows
        return optimal_bands(self.threshold, num_perm)


def normalize_urls(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Resource keys of URLs: host lower-cased without `www.`, userinfo and port, then path and query as they
    are (paths are case-sensitive), without the fragment or a trailing slash; http and https are one
    resource. Null or host-less URLs give null."""
    if isinstance(urls, pa.ChunkedArray):
        urls = urls.combine_chunks()
    parts = pc.extract_regex(pc.fill_null(urls.cast(pa.string()), ""), _URL_PARTS.pattern)
    host = pc.utf8_lower(pc.struct_field(parts, [0]))
    rest = pc.replace_substring_regex(pc.struct_field(parts, [1]), r"/+$", "")
    key = pc.binary_join_element_wise(host, rest, "")
    valid = pc.and_(pc.is_valid(urls), pc.greater(pc.utf8_length(pc.fill_null(host, "")), 0))
    return pc.if_else(valid, key, pa.scalar(None, pa.string()))


def url_keys(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """int64 bucket key of each URL's resource key (null where there is none)."""
    normalized = normalize_urls(urls)
    hashes = token_hashes(pc.fill_null(normalized, ""), "auto") ^ URL_SALT
    return pa.array(
        hashes.view(np.int64), pa.int64(), mask=pc.is_null(normalized).to_numpy(zero_copy_only=False)
    )


def star_edges(keys: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges (node, smallest node of its bucket) for bucket rows (`keys[i]`, `nodes[i]`), nodes as ints
    ordered like the ids they stand for. Linear in the rows after a sort; no self-pairs."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((nodes, keys))
    k, n = keys[order], nodes[order]
    first = np.r_[True, k[1:] != k[:-1]]
    root = n[np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))]
    keep = n != root
    src, dst = n[keep], root[keep]
    pairs = np.unique(np.stack([src, dst], axis=1), axis=0) if len(src) else np.zeros((0, 2), np.int64)
    return pairs[:, 0], pairs[:, 1]


def candidate_pairs(keys: np.ndarray, nodes: np.ndarray, anchors: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (src, dst), src > dst, of band bucket rows (`keys[i]`, `nodes[i]`): every node of a
    bucket paired with each of the bucket's `anchors` smallest nodes below it. All pairs of a bucket of up to
    anchors + 1 nodes; k x anchors pairs beyond. Repeated rows count once; the result is sorted and unique."""
    keys, nodes = np.asarray(keys, np.int64), np.asarray(nodes, np.int64)
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.unique(np.stack([keys, nodes], axis=1), axis=0)  # sorted by (key, node)
    k, n = rows[:, 0], rows[:, 1]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    size = np.diff(np.r_[start, len(k)])
    bucket_start = np.repeat(start, size)
    position = np.arange(len(k)) - bucket_start
    src_parts, dst_parts = [], []
    for rank in range(anchors):
        member = position > rank
        src_parts.append(n[member])
        dst_parts.append(n[bucket_start[member] + rank])
    pairs = np.unique(np.stack([np.concatenate(src_parts), np.concatenate(dst_parts)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def band_candidates(keys: np.ndarray, nodes: np.ndarray, anchors: int) -> tuple[np.ndarray, np.ndarray]:
    """`candidate_pairs` of a band-key matrix, one band at a time: `keys` int64[texts, bands] and `nodes`
    int64[texts] (distinct: one row per text). Only a band's values are sorted, to find its keys that repeat;
    only the rows of those buckets are ranked, so the cost is a sort of keys per band, not a sort of all
    (key, node) rows. Returns sorted, unique pairs (src, dst), src > dst, as candidate_pairs does."""
    keys, nodes = np.asarray(keys, np.int64), np.asarray(nodes, np.int64)
    if keys.ndim != 2 or len(keys) != len(nodes):
        raise ValueError("keys must be int64[texts, bands] with one row per node")
    src_parts, dst_parts = [], []
    for band in range(keys.shape[1]):
        column = keys[:, band]
        sorted_keys = np.sort(column)
        repeated = np.unique(sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]])
        if len(repeated) == 0:
            continue
        at = np.minimum(np.searchsorted(repeated, column), len(repeated) - 1)
        rows = np.flatnonzero(repeated[at] == column)
        src, dst = candidate_pairs(column[rows], nodes[rows], anchors)
        src_parts.append(src)
        dst_parts.append(dst)
    if not src_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(src_parts), np.concatenate(dst_parts)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]
