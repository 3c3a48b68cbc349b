"""Texts that carry a template-heavy host's template from elsewhere: a mirror's or a cache's wrapped copy.

dedup.site_templates keeps a template-heavy site's distinct pages apart by asking the same-host threshold of
two texts that the site serves. A copy of one of its pages that another site wraps in its own markup (a
mirror's banner, a cache's header) is a text of that other site only, yet it resembles every page of the
template-heavy site through the template. At the plain threshold it joined them all: one wrapped copy put 6
of the real shop's pages in one cluster, and a wrapped mirror of all 29 made them one cluster again
(`python bench/dedup_same_host.py`, its mirror rows).

A text *carries* a template-heavy host H when H does not serve it and it reaches the plain threshold with a
text H serves. Two texts *meet* at H when each is served by H or carries it. Texts that meet at a host need
the same-host threshold, with one exception: a carrier's best match among the texts H serves (the highest
estimated similarity, the smaller text id on a tie) keeps the plain threshold. So a wrapped copy joins the
page it copies and no other page of H, and two carriers of H (a mirror's copies of two different pages) are
not joined by the template they share. Texts served by H both are the same-host rule as before.

The cost is a recall loss where a text resembles H's pages for another reason than H's template: a second
text carrying H must reach the same-host threshold with it, so two differently wrapped copies of one page
join through that page (each one's best match), not directly. Nothing here runs where no host is
template-heavy (bench/dedup_truth.py: none of the generated worlds' hosts is).

All functions take host sets as list<int64> arrays (dedup.verify.text_host_sets, then keep_hosts: the
template-heavy hosts serving a text) and text ids as int64 (an index into sorted text hashes on the driver
path, the text hash on Spark's: both order texts alike), so both dedup paths decide alike.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dedup.verify import explode_sets, owned_lists

# The roles a (pair, host) row can have; a text never both serves and carries one host.
SRC_SERVED, DST_SERVED, SRC_CARRIES, DST_CARRIES = 1, 2, 4, 8
_SRC_SIDE, _DST_SIDE = SRC_SERVED | SRC_CARRIES, DST_SERVED | DST_CARRIES


def carried_rows(
    src: np.ndarray,
    dst: np.ndarray,
    similarity: np.ndarray,
    src_hosts: pa.Array | pa.ChunkedArray,
    dst_hosts: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(carrier text, host, similarity, partner text): for each pair `src[i]`, `dst[i]` already at the plain
    threshold, with the template-heavy hosts serving each text (`src_hosts[i]`, `dst_hosts[i]`), every host
    that serves one text and not the other, carried by the other, whose partner is the text it serves."""
    pair_s, host_s = explode_sets(src_hosts)
    pair_d, host_d = explode_sets(dst_hosts)
    pair = np.concatenate([pair_s, pair_d])
    host = np.concatenate([host_s, host_d])
    served_by_src = np.concatenate([np.ones(len(pair_s), bool), np.zeros(len(pair_d), bool)])
    order = np.lexsort((host, pair))
    pair, host, served_by_src = pair[order], host[order], served_by_src[order]
    # a (pair, host) met twice is served by both texts, since neither set repeats a host
    same = (pair[1:] == pair[:-1]) & (host[1:] == host[:-1])
    once = ~(np.r_[same, False] | np.r_[False, same])[: len(pair)]
    pair, host, served_by_src = pair[once], host[once], served_by_src[once]
    carrier = np.where(served_by_src, dst[pair], src[pair]).astype(np.int64)
    partner = np.where(served_by_src, src[pair], dst[pair]).astype(np.int64)
    return carrier, host, similarity[pair].astype(np.float64), partner


def best_partners(
    carrier: np.ndarray, host: np.ndarray, similarity: np.ndarray, partner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(carrier, host, partner) sorted by carrier then host, one row each: the partner of highest
    similarity among a carrier's rows for a host (`carried_rows`), the smallest partner on a tie."""
    order = np.lexsort((partner, -similarity, host, carrier))
    carrier, host, partner = carrier[order], host[order], partner[order]
    first = np.r_[True, (carrier[1:] != carrier[:-1]) | (host[1:] != host[:-1])][: len(carrier)]
    return carrier[first], host[first], partner[first]


def carried_sets(
    n_texts: int, carrier: np.ndarray, host: np.ndarray, partner: np.ndarray
) -> tuple[pa.ListArray, pa.ListArray]:
    """(hosts each of `n_texts` texts carries, ascending; each one's best partner, aligned) from the rows of
    `best_partners`, whose carriers are text indexes 0..n_texts-1."""
    return owned_lists(n_texts, carrier, host), owned_lists(n_texts, carrier, partner)


def carrier_thresholds(
    src: np.ndarray,
    dst: np.ndarray,
    served: tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray],
    carried: tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray],
    best: tuple[pa.Array | pa.ChunkedArray, pa.Array | pa.ChunkedArray],
    threshold: float,
    same_host_threshold: float,
) -> np.ndarray:
    """The similarity (float64) each pair `src[i]`, `dst[i]` must reach (module doc): max(threshold,
    same_host_threshold) where the texts meet at a template-heavy host, save a carrier's best match, else
    `threshold`. `served`, `carried` and `best` are (src side, dst side) per pair: the template-heavy hosts
    serving the text, those it carries, and its best partner for each host carried (aligned with
    `carried`)."""
    rows, hosts, roles, fine = [], [], [], []
    roles_of = (SRC_SERVED, DST_SERVED, SRC_CARRIES, DST_CARRIES)
    for values, role in zip((*served, *carried), roles_of, strict=True):
        row, host = explode_sets(values)
        rows.append(row)
        hosts.append(host)
        roles.append(np.full(len(row), role, dtype=np.int8))
    for values, other in zip(best, (dst, src), strict=True):
        row, partner = explode_sets(values)
        fine.append(partner == other[row])  # this carrier's best match is the pair's other text
    ok = np.concatenate([np.zeros(len(rows[0]) + len(rows[1]), bool), *fine])
    row, host, role = np.concatenate(rows), np.concatenate(hosts), np.concatenate(roles)
    strict = np.zeros(len(src), dtype=bool)
    if len(row):
        order = np.lexsort((host, row))
        row, host, role, ok = row[order], host[order], role[order], ok[order]
        start = np.flatnonzero(np.r_[True, (row[1:] != row[:-1]) | (host[1:] != host[:-1])])
        roles_met = np.bitwise_or.reduceat(role, start)
        excepted = np.logical_or.reduceat(ok, start)
        meet = ((roles_met & _SRC_SIDE) != 0) & ((roles_met & _DST_SIDE) != 0)
        one_carrier = (roles_met == (SRC_SERVED | DST_CARRIES)) | (roles_met == (DST_SERVED | SRC_CARRIES))
        strict_host = meet & ~(one_carrier & excepted)
        strict[row[start][strict_host]] = True
    return np.where(strict, max(threshold, same_host_threshold), threshold)


def text_pair_thresholds(
    src: np.ndarray,
    dst: np.ndarray,
    similarity: np.ndarray,
    heavy_sets: pa.ListArray,
    threshold: float,
    same_host_threshold: float,
) -> tuple[np.ndarray, int]:
    """(the similarity each candidate pair must reach, the number of carrier texts) where pairs are indexes
    `src[i]`, `dst[i]` into `heavy_sets` (the template-heavy hosts serving each text) and `similarity` their
    estimated Jaccard: the whole rule on one machine (dedup.local; jobs.templates_spark runs the same steps
    on Spark). Pairs below `threshold` keep it: they fail whatever the rule says."""
    passing = np.flatnonzero(similarity >= threshold)
    s, d = src[passing], dst[passing]
    s_at, d_at = pa.array(s), pa.array(d)
    served = (heavy_sets.take(s_at), heavy_sets.take(d_at))
    carrier, host, pair_similarity, partner = carried_rows(s, d, similarity[passing], *served)
    carrier, host, partner = best_partners(carrier, host, pair_similarity, partner)
    carried, best = carried_sets(len(heavy_sets), carrier, host, partner)
    required = np.full(len(src), float(threshold))
    required[passing] = carrier_thresholds(
        s,
        d,
        served,
        (carried.take(s_at), carried.take(d_at)),
        (best.take(s_at), best.take(d_at)),
        threshold,
        same_host_threshold,
    )
    return required, len(np.unique(carrier))
