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

import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.shingles import HAVE_NUMBA, token_hashes, use_numba

# A salt that keeps URL keys apart from band keys (which hash the band index 0..bands-1).
URL_SALT = np.uint64(0x5EED_0F_0E_0A11_0001)
HOST_SALT = np.uint64(0x5EED_0F_0E_0A11_0002)
DEFAULT_ANCHORS = 8
# Hosts are case-insensitive, so `www.` is dropped in any case (WWW.Example.com is example.com); RE2 (Arrow)
# and Python's re both read the scoped (?i:...) flag.
# A scheme-less URL ("example.com/a", as some datasets write them) is read too. A key needs a web host
# (_WEB_HOST), with a scheme or not: "N/A", "https://N/A", "http://localhost/", "mailto:a@b.com" name no
# web resource, and as keys they joined unrelated documents.
_URL_PARTS = re.compile(
    r"^\s*<?\s*(?:[a-zA-Z][a-zA-Z0-9+.\-]*://(?:[^@/?#]*@)?)?(?i:www\d*\.)?(?P<host>[^/?#:>\s]*)"
    r"(?::\d+)?(?P<rest>[^#>]*)"
)
_HOST = re.compile(r"^[^\s\"'<>\\^`{|}]+$")  # no whitespace or character a URL's host cannot hold
# A web host: no "@" (an e-mail address without a scheme), and a last label of two letters or more, or
# punycode (not "N.A." or "e.g."), or an IPv4 address.
_WEB_HOST = r"^[^@]+\.(\pL{2,}|xn--[a-z0-9-]+)$|^[0-9]{1,3}(\.[0-9]{1,3}){3}$"  # RE2 (Arrow): \pL is a letter


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
    similarity a candidate pair must reach to become an edge (`threshold`, always; `same_host_threshold`
    where a template-heavy host serves both texts or a text carries its template from another host,
    dedup.site_templates and dedup.template_carriers), and the texts of a band bucket every member is
    compared with (`anchors`)."""

    threshold: float = 0.5
    bands: int | None = None
    rows: int | None = None
    url_key: bool = True
    anchors: int = DEFAULT_ANCHORS
    same_host_threshold: float = 0.9

    def resolve(self, num_perm: int) -> tuple[int, int]:
        """(bands, rows) for signatures of `num_perm` values; raises ValueError naming the bad field."""
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold {self.threshold}: must be between 0 and 1 (exclusive)")
        if not 0.0 < self.same_host_threshold <= 1.0:
            raise ValueError(f"same_host_threshold {self.same_host_threshold}: must be above 0 and at most 1")
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


def _url_parts(urls: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(host lower-cased without `www.`, userinfo, port and a trailing dot; path and query without trailing
    slashes or whitespace or the fragment; valid: the URL is not null and has a web host, _WEB_HOST) of each
    URL."""
    if isinstance(urls, pa.ChunkedArray):
        urls = urls.combine_chunks()
    parts = pc.extract_regex(pc.fill_null(urls.cast(pa.string()), ""), _URL_PARTS.pattern)
    # example.com. is example.com
    host = pc.utf8_rtrim(pc.utf8_lower(pc.struct_field(parts, "host")), characters=".")
    rest = pc.replace_substring_regex(pc.struct_field(parts, "rest"), r"[/\s]+$", "")
    host_like = pc.and_(
        pc.match_substring_regex(host, _HOST.pattern), pc.match_substring_regex(host, _WEB_HOST)
    )
    valid = pc.and_(pc.is_valid(urls), pc.fill_null(host_like, False))
    return host, rest, valid


def normalize_urls(urls: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Resource keys of URLs: host lower-cased without `www.`, userinfo and port, then path and query as they
    are (paths are case-sensitive), without the fragment or a trailing slash; http and https are one
    resource. Null URLs, host-less ones and strings that name no web resource ("N/A", "mailto:a@b.com", a
    scheme-less host without a dot) give null."""
    host, rest, valid = _url_parts(urls)
    return pc.if_else(valid, pc.binary_join_element_wise(host, rest, ""), pa.scalar(None, pa.string()))


def _hashed(keys: pa.Array, salt: np.uint64, engine: str) -> pa.Array:
    hashes = token_hashes(pc.fill_null(keys, ""), engine) ^ salt
    return pa.array(hashes.view(np.int64), pa.int64(), mask=pc.is_null(keys).to_numpy(zero_copy_only=False))


def url_keys(urls: pa.Array | pa.ChunkedArray, engine: str = "auto") -> pa.Array:
    """int64 bucket key of each URL's resource key (null where there is none); `engine` (auto | numba |
    numpy) hashes the keys, the same bits either way."""
    return _hashed(normalize_urls(urls), URL_SALT, engine)


def host_keys(urls: pa.Array | pa.ChunkedArray, engine: str = "auto") -> pa.Array:
    """int64 key of each URL's host, as normalize_urls writes it (null where there is none)."""
    host, _, valid = _url_parts(urls)
    return _hashed(pc.if_else(valid, host, pa.scalar(None, pa.string())), HOST_SALT, engine)


URL_HUB_KEYS = 3  # a text that one host serves under this many URL keys or more is that site's boilerplate
# A text this many hosts serve or more is no version of any one resource but the web's boilerplate: a parked
# domain's page, a consent wall (2,000 parked hosts, each with its own homepage, made one cluster of 4,000,
# and keep-newest dropped 999 of 1,000 current homepages). A stale mirror's copy or a syndicated article sits
# on far fewer (11 hosts at most in the tiny world, whose mirrors are the most copied).
URL_HUB_HOSTS = 50


def hub_rows(keys: np.ndarray, hosts: np.ndarray, nodes: np.ndarray, marker: np.ndarray) -> np.ndarray:
    """bool per row: its text is a hub on its host, i.e. that host serves it under URL_HUB_KEYS URL keys or
    more (rows with `marker` False), or URL_HUB_HOSTS hosts or more serve it, or a marker row says so (`marker`
    True: an index row of a text that was a hub when it was indexed, whose other captures the index no longer
    holds; its key is not counted)."""
    if len(keys) == 0:
        return np.zeros(0, bool)
    order = np.lexsort((keys, marker, hosts, nodes))  # per (text, host): the keys ascending, markers last
    k, h, n, m = keys[order], hosts[order], nodes[order], marker[order]
    start = np.r_[True, (n[1:] != n[:-1]) | (h[1:] != h[:-1])]
    first_of_key = ~m & (start | np.r_[True, k[1:] != k[:-1]])
    starts = np.flatnonzero(start)
    hub = (np.add.reduceat(first_of_key, starts) >= URL_HUB_KEYS) | np.logical_or.reduceat(m, starts)
    text_starts = np.flatnonzero(np.r_[True, n[starts][1:] != n[starts][:-1]])  # groups of one text
    hosts = np.diff(np.r_[text_starts, len(starts)])
    hub |= np.repeat(hosts >= URL_HUB_HOSTS, hosts)
    out = np.empty(len(keys), bool)
    out[order] = np.repeat(hub, np.diff(np.r_[starts, len(keys)]))
    return out


def url_star_rows(
    keys: np.ndarray, hosts: np.ndarray, nodes: np.ndarray, marker: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, node) rows whose URL stars join texts: every (URL key, text) row (`hosts[i]`: the
    host key of row i), except marker rows and those of a text that is a hub on its host (hub_rows).

    A hub is the site's boilerplate (a soft-404, a login or cookie wall), not a version of any one of those
    pages; through their stars it would join every one of their resources into one cluster, and keep-newest
    would then drop all their pages but one. It still joins its exact copies and, when verified, its LSH
    neighbours. A text that fewer than URL_HUB_HOSTS other hosts serve (a stale mirror's copy, a syndicated
    article) still bridges their URLs, and so does one under two keys of a host (a moved page)."""
    marker = np.zeros(len(keys), bool) if marker is None else marker
    star = ~marker & ~hub_rows(keys, hosts, nodes, marker)
    k, n = keys[star], nodes[star]
    order = np.lexsort((k, n))
    k, n = k[order], n[order]
    distinct = np.r_[True, (n[1:] != n[:-1]) | (k[1:] != k[:-1])] if len(k) else np.zeros(0, bool)
    return k[distinct], n[distinct]


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
    return unique_pairs(src, dst)


_SCREEN_BITS = 22  # a 4 MB screen of the repeated keys' low bits (_repeated_key_rows)


def _repeated_key_rows(keys: np.ndarray) -> np.ndarray:
    """Positions of the rows of `keys` whose key occurs twice or more, ascending. One sort of the keys finds
    the repeated ones (nearly every band bucket holds one text); a bitmap of their low bits screens the rows,
    and only the few that pass are looked up, so the cost is one sort, not a search per row."""
    if len(keys) < 2:
        return np.zeros(0, np.int64)
    sorted_keys = np.sort(keys)
    repeated = np.unique(sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]])
    if len(repeated) == 0:
        return np.zeros(0, np.int64)
    mask = np.int64((1 << _SCREEN_BITS) - 1)
    screen = np.zeros(1 << _SCREEN_BITS, bool)
    screen[repeated & mask] = True
    maybe = np.flatnonzero(screen[keys & mask])
    at = np.minimum(np.searchsorted(repeated, keys[maybe]), len(repeated) - 1)
    return maybe[repeated[at] == keys[maybe]]


def unique_pairs(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (src, dst) pairs sorted by src then dst (np.unique(axis=0) without its slow row view)."""
    order = np.lexsort((dst, src))
    src, dst = src[order], dst[order]
    fresh = np.r_[True, (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])] if len(src) else np.zeros(0, bool)
    return src[fresh], dst[fresh]


def _shared_bucket_rows(keys: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, node) rows of buckets holding two or more distinct nodes, sorted by (key, node)."""
    rows = _repeated_key_rows(keys)
    k, n = unique_pairs(keys[rows], nodes[rows])
    start = np.r_[True, k[1:] != k[:-1]] if len(k) else np.zeros(0, bool)
    size = np.diff(np.r_[np.flatnonzero(start), len(k)])
    shared = np.repeat(size > 1, size)
    return k[shared], n[shared]


def candidate_pairs(keys: np.ndarray, nodes: np.ndarray, anchors: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (src, dst), src > dst, of band bucket rows (`keys[i]`, `nodes[i]`): every node of a
    bucket paired with each of the bucket's `anchors` smallest nodes below it. All pairs of a bucket of up to
    anchors + 1 nodes; k x anchors pairs beyond. Repeated rows count once; the result is sorted and unique."""
    keys, nodes = np.asarray(keys, np.int64), np.asarray(nodes, np.int64)
    k, n = _shared_bucket_rows(keys, nodes)
    if len(k) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    size = np.diff(np.r_[start, len(k)])
    bucket_start = np.repeat(start, size)
    position = np.arange(len(k)) - bucket_start
    src_parts, dst_parts = [], []
    for rank in range(anchors):
        member = position > rank
        src_parts.append(n[member])
        dst_parts.append(n[bucket_start[member] + rank])
    return unique_pairs(np.concatenate(src_parts), np.concatenate(dst_parts))


# Band bucket rows cross the shuffle packed: one binary value per (input batch, part) holding that part's
# (key, node) int64 pairs, instead of one shuffled row per band of every text. A row per band costs the
# shuffle and the JVM-Python transfer tens of bytes and a per-row step each; packed, they move as memcpy.
BUCKET_ROWS_SCHEMA = pa.schema([pa.field("part", pa.int32()), pa.field("rows", pa.binary())])


def pack_bucket_rows(band_keys: pa.ListArray, nodes: pa.Array, parts: int) -> pa.RecordBatch:
    """The (key, node) rows of a batch (`band_keys[i]` are node `nodes[i]`'s keys) as BUCKET_ROWS_SCHEMA:
    one row per part that holds any, part = key mod `parts`, so every row of a bucket lands in one part."""
    if isinstance(band_keys, pa.ChunkedArray):
        band_keys = band_keys.combine_chunks()
    counts = pc.fill_null(pc.list_value_length(band_keys), 0).to_numpy()
    keys = band_keys.flatten().to_numpy()
    node_values = np.repeat(np.asarray(nodes.to_numpy(zero_copy_only=False), np.int64), counts)
    part = (keys.view(np.uint64) % np.uint64(parts)).astype(np.int32)
    order = np.argsort(part, kind="stable")
    pairs = np.stack([keys[order], node_values[order]], axis=1)
    present, starts = np.unique(part[order], return_index=True)
    offsets = np.r_[starts, len(order)].astype(np.int32) * 16  # 16 bytes a (key, node) row
    rows = pa.BinaryArray.from_buffers(
        pa.binary(), len(present), [None, pa.py_buffer(offsets), pa.py_buffer(pairs.tobytes())]
    )
    return pa.RecordBatch.from_arrays([pa.array(present, pa.int32()), rows], schema=BUCKET_ROWS_SCHEMA)


def unpack_bucket_rows(packed: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(keys, nodes) of the packed `rows` values of BUCKET_ROWS_SCHEMA batches (pack_bucket_rows)."""
    chunks = packed.chunks if isinstance(packed, pa.ChunkedArray) else [packed]
    parts = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        _, offset_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offset_buffer, np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
        parts.append(np.frombuffer(data_buffer, np.int64)[offsets[0] // 8 : offsets[-1] // 8])
    pairs = np.concatenate(parts).reshape(-1, 2) if parts else np.zeros((0, 2), np.int64)
    return pairs[:, 0], pairs[:, 1]


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


MAX_CODED_NODES = 3_037_000_499  # isqrt(2^63 - 1): src_rank * n + dst_rank fits an int64


def band_candidates(
    keys: np.ndarray, nodes: np.ndarray, anchors: int, threads: int | None = None, engine: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """`candidate_pairs` of a band-key matrix, one band at a time: `keys` int64[texts, bands] and `nodes`
    int64[texts] (distinct: one row per text). With numba (`engine` auto or numba, as the signatures'
    engine) a band's keys go through a hash table once
    (`_band_pair_codes_nb`; bench/band_candidates.py times it against the sort); without it only a band's values are
    sorted, to find its keys that repeat, and only the rows of those buckets are ranked. Either way the cost
    is per band, not a sort of all (key, node) rows. Bands run on `threads` threads (default: the usable
    cores; the numba kernel and NumPy's sorts release the GIL). Returns sorted, unique pairs (src, dst),
    src > dst, as candidate_pairs does (tests/dedup/test_lsh.py holds candidate_pairs as the reference)."""
    numba_path = use_numba(engine)
    keys, nodes = np.asarray(keys, np.int64), np.asarray(nodes, np.int64)
    if keys.ndim != 2 or len(keys) != len(nodes):
        raise ValueError("keys must be int64[texts, bands] with one row per node")
    by_band = np.ascontiguousarray(keys.T)  # each band's keys contiguous for its sort
    # Pairs are found between the nodes' ranks, so a pair is one int64 code (src_rank * n + dst_rank) and the
    # bands' pairs merge with one sort of codes instead of a two-key lexsort of (src, dst).
    n = len(nodes)
    if n > MAX_CODED_NODES:
        raise ValueError(f"band_candidates: {n} nodes; pair codes hold at most {MAX_CODED_NODES}")
    order = np.argsort(nodes, kind="stable")
    by_rank = nodes[order]
    if n > 1 and np.any(by_rank[1:] == by_rank[:-1]):
        raise ValueError("band_candidates: nodes must be distinct (one row per text)")
    ranks = np.empty(n, np.int64)
    ranks[order] = np.arange(n, dtype=np.int64)

    def one_band(band: int) -> np.ndarray:
        column = by_band[band]
        if numba_path:
            return _band_pair_codes_nb(column, ranks, anchors)
        rows = _repeated_key_rows(column)
        src, dst = candidate_pairs(column[rows], ranks[rows], anchors)
        return src * n + dst

    with ThreadPoolExecutor(max(1, threads or usable_cores())) as pool:
        found = list(pool.map(one_band, range(keys.shape[1])))
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return by_rank[codes // n], by_rank[codes % n]


if HAVE_NUMBA:
    import numba

    @numba.njit(cache=True, nogil=True)
    def _band_pair_codes_nb(column, ranks, anchors):
        """`candidate_pairs` of one band as pair codes src_rank * n + dst_rank, unsorted: the band's keys
        (`column[i]`, node rank `ranks[i]`, each node once) go into an open-addressing table keyed by their
        low bits (they are hashes; a slot holds its key and the bucket's last row side by side, so an insert
        touches one cache line), each row linked to the bucket's previous one. A bucket is listed when its
        second row arrives; only listed buckets are walked, ranked and paired with their `anchors` smallest
        nodes. One pass over the keys, no sorts of them."""
        m = len(column)
        n = np.int64(len(ranks))
        size = 1
        while size < 2 * m:
            size <<= 1
        mask = np.int64(size - 1)
        slots = np.full(2 * size, -1, np.int64)  # [key, last row] per slot; row -1: empty
        previous = np.full(m, -1, np.int64)
        shared = np.empty(m // 2 + 1, np.int64)  # slots of buckets with two rows or more
        n_shared = 0
        for i in range(m):
            key = column[i]
            h = key & mask
            while slots[2 * h + 1] != -1 and slots[2 * h] != key:
                h = (h + 1) & mask
            last = slots[2 * h + 1]
            if last != -1 and previous[last] == -1:
                shared[n_shared] = h
                n_shared += 1
            previous[i] = last
            slots[2 * h] = key
            slots[2 * h + 1] = i
        members = np.empty(m, np.int64)
        sizes = np.empty(n_shared, np.int64)
        total = 0
        for b in range(n_shared):
            k = 0
            row = slots[2 * shared[b] + 1]
            while row != -1:
                k += 1
                row = previous[row]
            sizes[b] = k
            for p in range(1, k):
                total += min(p, anchors)
        out = np.empty(total, np.int64)
        at = 0
        for b in range(n_shared):
            k = sizes[b]
            row = slots[2 * shared[b] + 1]
            for j in range(k):  # insertion sort as the rows arrive: buckets hold a few nodes
                value = ranks[row]
                row = previous[row]
                q = j
                while q > 0 and members[q - 1] > value:
                    members[q] = members[q - 1]
                    q -= 1
                members[q] = value
                if k > 64 and j == 0:  # a giant bucket (boilerplate): fill, then sort once
                    for jj in range(1, k):
                        members[jj] = ranks[row]
                        row = previous[row]
                    members[:k].sort()
                    break
            for p in range(1, k):
                for a in range(min(p, anchors)):
                    out[at] = members[p] * n + members[a]
                    at += 1
        return out
