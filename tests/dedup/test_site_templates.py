"""Template-heavy hosts are measured from a sample of each host's texts: a site whose pages are mostly its
template is one, a site whose pages share a light template is not (bench/dedup_truth.py measures the
generated worlds' hosts, mirrors included, through the whole job)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dedup.kernel import HOST_KEY, SKETCH, DedupConfig, dedup_kernel
from dedup.site_templates import (
    MIN_SITE_TEXTS,
    TEMPLATE_SAMPLE,
    is_template_heavy,
    template_hosts,
    template_similarity,
)
from dedup.verify import row_similarity, sketch_matrix
from dedup.versions import TEXT_HASH
from tests.dedup.helpers import template_pages


def _site_rows(pages: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(host key, text index, sketches, sketch row of each text) of the rows of `pages`."""
    annotated = dedup_kernel(DedupConfig())(pages.combine_chunks().to_batches()[0])
    hashes = annotated.column(TEXT_HASH).to_numpy()
    texts, first = np.unique(hashes, return_index=True)
    sketches = sketch_matrix(annotated.column(SKETCH), 128)
    return annotated.column(HOST_KEY).to_numpy(), np.searchsorted(texts, hashes), sketches, first


def test_template_similarity_is_the_median_over_all_pairs() -> None:
    rng = np.random.default_rng(0)
    sketches = rng.integers(0, 256, (6, 128), dtype=np.uint8)
    sketches[1:4, :100] = sketches[0, :100]  # four rows alike, two unrelated
    left, right = np.triu_indices(6, 1)
    assert template_similarity(sketches) == np.median(row_similarity(sketches, left, right))
    assert is_template_heavy(0.25, 0.5) and not is_template_heavy(0.249, 0.5)


def test_a_template_heavy_site_is_found_and_a_light_one_is_not() -> None:
    heavy, light = template_pages(template_words=400, site="heavy"), template_pages(site="light")
    hosts, texts, sketches, rows = _site_rows(pa.concat_tables([heavy, light]))
    found = template_hosts(hosts, texts, sketches, rows, 0.5)
    heavy_host = hosts[0]
    assert found.tolist() == [heavy_host]
    # only the hosts asked for are measured
    assert template_hosts(hosts, texts, sketches, rows, 0.5, among=np.array([hosts[-1]])).tolist() == []
    # MIN_SITE_TEXTS distinct texts are evidence enough; one fewer is none
    for n, expected in ((MIN_SITE_TEXTS, [heavy_host]), (MIN_SITE_TEXTS - 1, [])):
        few = np.isin(texts, np.unique(texts[hosts == heavy_host])[:n]) | (hosts != heavy_host)
        assert template_hosts(hosts[few], texts[few], sketches, rows, 0.5).tolist() == expected


def test_the_sample_is_the_smallest_text_hashes_of_the_host() -> None:
    # a heavy site whose smallest texts are swapped for unrelated ones measures as those texts do
    heavy = template_pages(template_words=400, site="heavy")
    hosts, texts, sketches, rows = _site_rows(heavy)
    sample = np.unique(texts)[:TEMPLATE_SAMPLE]
    expected = template_similarity(sketches[rows[sample]])
    assert is_template_heavy(expected, 0.5)
    unrelated = np.random.default_rng(1).integers(0, 256, sketches.shape, dtype=np.uint8)
    mixed = sketches.copy()
    mixed[rows[sample[: TEMPLATE_SAMPLE // 2 + 1]]] = unrelated[rows[sample[: TEMPLATE_SAMPLE // 2 + 1]]]
    assert template_hosts(hosts, texts, mixed, rows, 0.5).tolist() == []
