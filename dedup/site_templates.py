"""Template-heavy hosts: sites whose pages are alike through their template alone.

A shop or a forum whose extracted text is mostly its navigation, sidebars and footer makes its distinct pages
near-duplicates by shingle Jaccard: the 29 ClueWeb09 pages of one shop in ../shared/data pair at a median
estimated similarity of 0.55 (`bench/dedup_same_host.py`), past dedup's threshold of 0.5, and were one
cluster. Between two texts that such a host serves, dedup asks for the same-host threshold
(dedup.template_carriers.carrier_thresholds, which also covers wrapped copies of its pages elsewhere); a
page's versions share its URL and are joined by it.

Which hosts are template-heavy is measured, not assumed: a host's *template similarity* is the median
estimated similarity over all pairs of a sample of its distinct texts (the TEMPLATE_SAMPLE smallest text
hashes: a deterministic, content-blind sample), and a host is template-heavy where that reaches half the
threshold. The sample is drawn from all of the host's texts, not only those with near-duplicates: a site of
distinct articles whose home page is crawled under several paths is not template-heavy, and those copies join.
Only the hosts that some candidate pair's two texts share are measured (bench/dedup_truth.py: none of the
generated worlds' hosts is template-heavy, their mirrors included). A host with fewer than MIN_SITE_TEXTS
distinct texts gives no evidence and is never template-heavy. Both dedup paths call these functions on the
same texts, so they decide alike.
"""

from __future__ import annotations

import numpy as np

from dedup.lsh import unique_pairs
from dedup.verify import row_similarity

TEMPLATE_SAMPLE = 16  # texts of a host compared pairwise (120 pairs)
MIN_SITE_TEXTS = 4  # distinct texts a host needs before its template is measured


def template_similarity(sketches: np.ndarray) -> float:
    """Median estimated Jaccard similarity over all pairs of the uint8[k, num_perm] sketch rows of a host's
    sampled texts (k >= 2)."""
    left, right = np.triu_indices(len(sketches), 1)
    return float(np.median(row_similarity(sketches, left, right)))


def is_template_heavy(similarity: float, threshold: float) -> bool:
    """Whether a host's template similarity marks it template-heavy at the dedup `threshold`."""
    return similarity >= threshold / 2


def template_hosts(
    hosts: np.ndarray,
    text_of_row: np.ndarray,
    sketches: np.ndarray,
    sketch_row_of_text: np.ndarray,
    threshold: float,
    among: np.ndarray | None = None,
) -> np.ndarray:
    """The template-heavy hosts (sorted int64 host keys) of rows with host key `hosts[i]` and text
    `text_of_row[i]` (every row with a host: a host is measured on all its texts; ascending text index is
    ascending text hash), a text's sketch being the row `sketch_row_of_text[text]` of `sketches`
    (uint8[rows, num_perm]). Only the hosts in `among` are measured, when it is given."""
    if among is not None:
        keep = np.isin(hosts, among)
        hosts, text_of_row = hosts[keep], text_of_row[keep]
    host, text = unique_pairs(hosts, text_of_row)
    if not len(host):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, host[1:] != host[:-1]])
    ends = np.r_[starts[1:], len(host)]
    heavy = [
        host[start]
        for start, end in zip(starts, ends, strict=True)
        if end - start >= MIN_SITE_TEXTS
        and is_template_heavy(
            template_similarity(
                sketches[sketch_row_of_text[text[start : min(end, start + TEMPLATE_SAMPLE)]]]
            ),
            threshold,
        )
    ]
    return np.array(heavy, dtype=np.int64)
