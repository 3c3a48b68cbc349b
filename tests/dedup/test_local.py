"""The single-process dedup (the Spark job's reference) on pages that share a template: candidate pairs are
verified, so distinct pages stay apart while the versions and a scraped copy of one page form one cluster; on a
site made mostly of its template (made here, and real shop pages), pages of one host need the same-host
threshold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dedup.evaluate import pair_scores
from dedup.kernel import BAND_KEYS, SKETCH, DedupConfig, dedup_kernel
from dedup.local import dedup_table, text_graph
from dedup.lsh import LshConfig, candidate_pairs
from dedup.union_find import components
from dedup.verify import row_similarity, sketch_matrix
from dedup.versions import TEXT_HASH
from tests.dedup.helpers import template_pages
from tests.shared_data import shared_data


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
    # nor are they one another's exact duplicates: an empty text, a null one and a symbol-only one differ
    # (they were one cluster, and on a real corpus every empty or symbol-only page was in it)
    assert len({cluster["a2"], cluster["b1"], cluster["c1"]}) == 3
    assert not any(row["is_exact_dup"] for row in out)
    again = dedup_table(pa.table({"id": ["e1", "e2", "e3"], "text": ["", "  ", None]}), keep="all")
    assert again.column("cluster_id").to_pylist() == ["e1", "e1", "e3"]  # the same written text, less spaces


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


def _first_version_similarities(pages: pa.Table) -> np.ndarray:
    """Estimated Jaccard similarity of every pair of distinct pages (their first captures)."""
    annotated = _annotated(pages, DedupConfig())
    ids = annotated.column("id").to_pylist()
    rows = np.array([i for i, name in enumerate(ids) if name.endswith("/0") and "mirror" not in name])
    left, right = np.triu_indices(len(rows), 1)
    sketch = sketch_matrix(annotated.column(SKETCH), DedupConfig().signature.num_perm)
    return row_similarity(sketch, rows[left], rows[right])


def test_a_site_made_mostly_of_its_template_keeps_its_pages_apart() -> None:
    # 400 template words around 90-160 of each page's own: the site's distinct pages pair at Jaccard ~0.5-0.75,
    # past the plain threshold, so only the same-host threshold keeps them apart.
    pages = template_pages(template_words=400, site="heavy")
    similarity = _first_version_similarities(pages)
    assert np.median(similarity) > 0.55 and similarity.max() < 0.85
    out = dedup_table(pages, DedupConfig(), keep="all").to_pydict()
    scores = pair_scores(out["resource"], out["cluster_id"])
    assert (scores.precision, scores.recall, scores.true_pairs) == (1.0, 1.0, 6)
    flagged = {i for i, stale in zip(out["id"], out["is_stale"], strict=True) if stale}
    assert flagged == {"heavy/page000/0", "heavy/page000/1", "heavy/mirror/0"}
    # The control, one threshold for every pair: the whole site is one cluster, 62 of its 63 documents stale.
    plain = dedup_table(pages, DedupConfig(lsh=LshConfig(same_host_threshold=0.5)), keep="all").to_pydict()
    assert len(set(plain["cluster_id"])) == 1 and sum(plain["is_stale"]) == 62


def test_a_near_copy_under_another_path_of_its_site_still_joins() -> None:
    pages = template_pages(pages=10, template_words=400, site="heavy")
    page = pages.filter(pc.equal(pages.column("id"), "heavy/page003/0"))
    words = page.column("text")[0].as_py().split(" ")
    words[len(words) // 2] = "changed"  # a near-copy: another category path to the page, a counter moved
    variant = page.set_column(0, "id", pa.array(["heavy/print/3"]))
    variant = variant.set_column(1, "text", pa.array([" ".join(words)]))
    variant = variant.set_column(
        variant.schema.get_field_index("url"), "url", pa.array(["https://heavy.example/p/3"])
    )
    out = dedup_table(pa.concat_tables([pages, variant]), DedupConfig(), keep="all").to_pydict()
    cluster = dict(zip(out["id"], out["cluster_id"], strict=True))
    assert cluster["heavy/print/3"] == cluster["heavy/page003/0"]
    assert sum(c == cluster["heavy/page003/0"] for c in out["cluster_id"]) == 2


def test_real_shop_pages_of_one_site_stay_apart() -> None:
    # ClueWeb09's Japanese shop pages (../shared/data): 29 products of one shop, mostly its template (pairs at a
    # median Jaccard of ~0.55). At the plain threshold they were one cluster; now only near-copies join: one
    # product under two category paths, and colour variants with the same description.
    path = shared_data() / "warc" / "resiliparse_clueweb09-ja-quirk.warc.gz"
    pages = pa.Table.from_batches(list(read_documents(str(path), ReadOptions(), RejectLog())))
    assert pages.num_rows == 29 and len({u.split("/")[2] for u in pages.column("url").to_pylist()}) == 1
    out = dedup_table(pages, DedupConfig(), keep="all")
    sizes = Counter(out.column("cluster_id").to_pylist())
    assert max(sizes.values()) <= 2 and len(sizes) >= 26
    plain = dedup_table(pages, DedupConfig(lsh=LshConfig(same_host_threshold=0.5)), keep="all")
    assert len(set(plain.column("cluster_id").to_pylist())) == 1


def test_copies_of_one_page_on_a_site_of_distinct_pages_still_join() -> None:
    # A site of distinct articles (a light template) whose home page is crawled under five paths with a
    # rotating line: the copies pair at ~0.8-0.9 and are the site's only near-duplicates. The site is
    # measured on all its texts, so it is not template-heavy, and the copies join at the plain threshold.
    pages = template_pages(pages=30, site="news")
    home = pages.filter(pc.equal(pages.column("id"), "news/page003/0"))
    words = home.column("text")[0].as_py().split(" ")
    variants = []
    for k in range(5):
        edited = list(words)
        edited[40 + 3 * k : 43 + 3 * k] = [f"ticker{k}", f"line{k}", f"item{k}"]
        variant = home.set_column(0, "id", pa.array([f"news/home/{k}"]))
        variant = variant.set_column(1, "text", pa.array([" ".join(edited)]))
        url = variant.schema.get_field_index("url")
        variants.append(variant.set_column(url, "url", pa.array([f"https://news.example/home/{k}"])))
    table = pa.concat_tables([pages, *variants])
    out = dedup_table(table, DedupConfig(), keep="all").to_pydict()
    cluster = dict(zip(out["id"], out["cluster_id"], strict=True))
    assert len({cluster[f"news/home/{k}"] for k in range(5)} | {cluster["news/page003/0"]}) == 1
    assert text_graph(_annotated(table, DedupConfig()), DedupConfig()).template_hosts == 0
