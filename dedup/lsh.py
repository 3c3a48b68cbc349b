"""LSH banding and resource keys: which documents land in a common bucket.

A document contributes one bucket key per band (a hash of the band's signature values), one for its
normalised URL when it has one (all captures of one URL are versions of one resource, however far their text
drifted), and one for its exact normalised text when it has no shingles at all (empty documents are exact
duplicates of each other and nothing else). Documents sharing a key are joined by star edges to the bucket's
smallest id, so a bucket of k documents costs k - 1 edges, never k^2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.shingles import token_hashes

# Salts that keep URL and exact-text keys apart from band keys (which hash the band index 0..bands-1).
URL_SALT = np.uint64(0x5EED_0F_0E_0A11_0001)
EMPTY_TEXT_SALT = np.uint64(0x5EED_0F_0E_0A11_0002)
_URL_PARTS = re.compile(
    r"^\s*<?\s*(?:[a-zA-Z][a-zA-Z0-9+.\-]*://)?(?:[^@/?#]*@)?(?:www\d*\.)?(?P<host>[^/?#:>]*)(?::\d+)?(?P<rest>[^#>]*)"
)


@lru_cache(maxsize=64)
def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) minimising false positives + false negatives at Jaccard `threshold` (datasketch's
    choice, equal weights)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold {threshold}: must be between 0 and 1 (exclusive)")
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of Jaccard `similarity` share at least one band."""
    return 1.0 - (1.0 - similarity**rows) ** bands


@dataclass(frozen=True)
class LshConfig:
    """Banding of the signatures: from a Jaccard `threshold`, or `bands` x `rows` given outright."""

    threshold: float = 0.5
    bands: int | None = None
    rows: int | None = None
    url_key: bool = True

    def resolve(self, num_perm: int) -> tuple[int, int]:
        """(bands, rows) for signatures of `num_perm` values; raises ValueError naming the bad field."""
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


def empty_text_keys(text_hashes: np.ndarray) -> np.ndarray:
    """Bucket keys (int64) of documents without shingles: their exact-text hashes, salted."""
    return (np.asarray(text_hashes, np.int64).view(np.uint64) ^ EMPTY_TEXT_SALT).view(np.int64)


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
