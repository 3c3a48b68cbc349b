"""The single-process dedup (the Spark job's reference) on pages that share a template: candidate pairs are
verified, so distinct pages stay apart while the versions and a scraped copy of one page form one cluster."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from dedup.evaluate import pair_scores
from dedup.kernel import BAND_KEYS, DedupConfig, dedup_kernel
from dedup.local import dedup_table, text_graph
from dedup.lsh import LshConfig, candidate_pairs
from dedup.union_find import components
from dedup.versions import TEXT_HASH
from tests.dedup.helpers import template_pages


def _annotated(table: pa.Table, config: DedupConfig) -> pa.Table:
    kernel = dedup_kernel(config)
    return pa.Table.from_batches([kernel(b) for b in table.to_batches(max_chunksize=500)])


def test_template_pages_stay_apart_and_one_page_keeps_its_versions() -> None:
    pages = template_pages()
    out = dedup_table(pages, DedupConfig(), keep="all").to_pydict()
    resources = out["resource"]
    scores = pair_scores(resources, out["cluster_id"])
    assert (scores.precision, scores.recall, scores.true_pairs) == (1.0, 1.0, 6)
    row = dict(zip(out["id"], range(len(resources)), strict=True))
    flagged = {i for i, stale in zip(out["id"], out["is_stale"], strict=True) if stale}
    # Versions 0 and 1 of page 0 and the scraper's copy of version 0 are stale; nothing else is.
    assert flagged == {"page000/0", "page000/1", "mirror/0"}
    assert out["staleness_days"][row["mirror/0"]] == out["staleness_days"][row["page000/0"]] == 360
    assert out["version_rank"][row["page000/2"]] == 0 and out["cluster_size"][row["page000/2"]] == 4


def test_the_same_without_urls_links_the_copy_by_text_alone() -> None:
    out = dedup_table(template_pages(), DedupConfig(lsh=LshConfig(url_key=False)), keep="newest")
    scores = pair_scores(out.column("resource").to_pylist(), out.column("cluster_id").to_pylist())
    assert scores.precision == 1.0 and scores.recall == 1.0
    kept = [
        i for i, k in zip(out.column("id").to_pylist(), out.column("_keep").to_pylist(), strict=True) if k
    ]
    assert len(kept) == 60 and "page000/2" in kept  # one document per page, page 0's newest version


def test_unverified_candidates_would_chain_the_template_pages() -> None:
    # The control: the same banding without verification (the behaviour before it) merges distinct pages.
    # The template's shingles are shared by every page, so whether its pairs share a band at the default
    # 32 x 4 depends on the seed; wider bands (42 x 3) make them candidates for any seed.
    config = DedupConfig(lsh=LshConfig(url_key=False, bands=42, rows=3))
    annotated = _annotated(template_pages(), config)
    graph = text_graph(annotated, config)
    assert graph.candidates >= graph.verified + 20  # template pairs share bands, then fail verification
    hashes = annotated.column(TEXT_HASH).to_numpy()
    bands = annotated.column(BAND_KEYS).combine_chunks()
    src, dst = candidate_pairs(bands.flatten().to_numpy(), np.repeat(hashes, np.diff(bands.offsets)), 8)
    labels = components(
        np.searchsorted(graph.texts, src), np.searchsorted(graph.texts, dst), len(graph.texts)
    )
    unverified = labels[np.searchsorted(graph.texts, hashes)]
    scores = pair_scores(annotated.column("resource").to_pylist(), unverified.tolist())
    assert scores.precision < 0.5


def test_documents_without_shingles_join_no_resources() -> None:
    # "", None and symbols-only text all normalise to nothing and share one text hash; before, a URL edge
    # through that hash joined a.com/x, b.org/y and c.net/z into one cluster and marked their pages stale.
    table = pa.table(
        {
            "id": ["a1", "a2", "b1", "b2", "c1", "c2"],
            "url": ["http://a.com/x"] * 2 + ["http://b.org/y"] * 2 + ["http://c.net/z"] * 2,
            "text": [
                "alpha beta gamma delta epsilon zeta eta theta",
                "",
                None,
                "totally different words here on this other page",
                "😀😀 !!!",
                "a third page about tide tables and harbour times",
            ],
        }
    )
    out = dedup_table(table, keep="all").sort_by("id").to_pylist()
    cluster = {row["id"]: row["cluster_id"] for row in out}
    for real in ("a1", "b2", "c2"):  # each page with words is its own resource
        assert [d for d, c in cluster.items() if c == cluster[real]] == [real]
    assert not any(row["is_stale"] for row in out)


def _captures(*rows: tuple[str, str, str, int]) -> pa.Table:
    """Documents from (id, url, text, day of January 2024 it was crawled)."""
    return pa.Table.from_pylist(
        [
            {"id": i, "url": u, "text": t, "crawl_date": datetime(2024, 1, d, tzinfo=UTC)}
            for i, u, t, d in rows
        ]
    )


def test_a_soft_404_served_by_many_urls_joins_none_of_their_resources() -> None:
    # Three pages of one site that each end as the site's "page not found" text. Before, the URL stars joined
    # all three through it and keep-newest dropped two pages' real text as stale.
    missing = "Sorry, the page you are looking for could not be found on this site."
    pages = {
        "x": "a guide to tide tables and harbour times for small boats",
        "y": "the history of the lighthouse keepers on the northern islands",
        "z": "recipes for bread baked in a wood fired oven with rye flour",
    }
    rows = []
    for n, (path, text) in enumerate(pages.items()):
        url = f"https://site.org/{path}"
        rows += [(f"{path}1", url, text, 1 + n), (f"{path}2", url, missing, 10 + n)]
    out = dedup_table(_captures(*rows), keep="newest").to_pylist()
    cluster = {row["id"]: row["cluster_id"] for row in out}
    # Each page alone; the not-found copies are one cluster of exact duplicates, of which one is kept.
    assert cluster == {"x1": "x1", "y1": "y1", "z1": "z1", "x2": "x2", "y2": "x2", "z2": "x2"}
    assert {row["id"] for row in out if row["_keep"]} == {"x1", "y1", "z1", "z2"}
    assert not any(row["is_stale"] for row in out)


V1 = "the tide table for the harbour in january lists two high tides a day"
V2 = "opening hours of the harbour office change to nine until five from march"
V3 = "a new ferry timetable for the islands starts in the first week of june"


@pytest.mark.parametrize(
    "mirrors",
    [
        # A stale mirror's exact copy (or a moved page): the text under two URLs.
        [("m1", "https://mirror.net/p/1", V1, 5), ("m2", "https://mirror.net/p/1", V2, 9)],
        # A version copied by two mirrors: three hosts, one URL each.
        [
            ("m1", "https://mirror.net/copy/tides", V1, 5),
            ("m2", "https://mirror.net/copy/tides", V2, 9),
            ("n1", "https://other-mirror.com/tides", V1, 6),
            ("n2", "https://other-mirror.com/tides", V3, 12),
        ],
    ],
    ids=["two-urls", "three-hosts"],
)
def test_a_copy_on_other_urls_still_bridges_them(mirrors: list[tuple[str, str, str, int]]) -> None:
    # Every mirror's later capture of another version joins the original's cluster through the shared copy.
    table = _captures(("o1", "https://harbour.org/tides", V1, 1), *mirrors)
    assert {row["cluster_id"] for row in dedup_table(table, keep="all").to_pylist()} == {"m1"}
