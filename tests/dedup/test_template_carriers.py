"""Texts that carry a template-heavy host's template from elsewhere: which texts carry which host, their best
partner there, and the threshold every pair must then reach; then the whole dedup (dedup.local) on wrapped
copies of a made-up template-heavy site and of the real shop pages."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dedup.evaluate import pair_scores
from dedup.kernel import SKETCH, DedupConfig, dedup_kernel
from dedup.local import dedup_table, text_graph
from dedup.lsh import LshConfig
from dedup.template_carriers import (
    best_partners,
    carried_rows,
    carried_sets,
    carrier_thresholds,
    text_pair_thresholds,
)
from dedup.verify import row_similarity, sketch_matrix
from tests.dedup.helpers import template_pages, wrapped_copies
from tests.shared_data import shared_data

LISTS = pa.list_(pa.int64())


def _none(n: int) -> pa.Array:
    return pa.array([[]] * n, LISTS)


def test_two_texts_that_a_heavy_host_serves_need_the_same_host_threshold() -> None:
    sets = pa.array([[1, 4], [4], [2], [], None, [1, 9]], LISTS)
    left, right = np.array([0, 0, 1, 2, 3, 4, 5, 3]), np.array([1, 2, 5, 2, 3, 0, 0, 0])
    served = (sets.take(pa.array(left)), sets.take(pa.array(right)))
    empty = (_none(8), _none(8))
    required = carrier_thresholds(left, right, served, empty, empty, 0.5, 0.9)
    assert required.tolist() == [0.9, 0.5, 0.5, 0.9, 0.5, 0.5, 0.9, 0.5]
    # never below the plain threshold
    assert carrier_thresholds(left, right, served, empty, empty, 0.7, 0.6).tolist() == [0.7] * 8
    chunked = tuple(pa.chunked_array([s[:3], s[3:]]) for s in served)
    assert carrier_thresholds(left, right, chunked, empty, empty, 0.5, 0.9).tolist() == required.tolist()
    assert (
        carrier_thresholds(
            left[:0], right[:0], (_none(0),) * 2, (_none(0),) * 2, (_none(0),) * 2, 0.5, 0.9
        ).size
        == 0
    )


def test_a_host_that_serves_one_text_of_a_pair_is_carried_by_the_other() -> None:
    src, dst = np.array([10, 11, 12, 13]), np.array([20, 21, 22, 23])
    similarity = np.array([0.6, 0.7, 0.8, 0.9])
    src_hosts = pa.array([[5], [5, 6], [], None], LISTS)
    dst_hosts = pa.array([[5], [6], [7], [8, 9]], LISTS)
    carrier, host, pair_similarity, partner = carried_rows(src, dst, similarity, src_hosts, dst_hosts)
    rows = sorted(
        zip(carrier.tolist(), host.tolist(), pair_similarity.tolist(), partner.tolist(), strict=True)
    )
    # pair 0 shares host 5 (no carrier); pair 1 shares 6, and 21 carries 5; 12 carries 7; 13 carries 8 and 9
    assert rows == [(12, 7, 0.8, 22), (13, 8, 0.9, 23), (13, 9, 0.9, 23), (21, 5, 0.7, 11)]


def test_a_carriers_best_partner_is_its_most_similar_text_the_smaller_on_a_tie() -> None:
    carrier = np.array([3, 3, 3, 3, 1, 1])
    host = np.array([7, 7, 7, 8, 7, 7])
    similarity = np.array([0.6, 0.9, 0.9, 0.55, 0.7, 0.8])
    partner = np.array([40, 42, 41, 50, 60, 61])
    assert [a.tolist() for a in best_partners(carrier, host, similarity, partner)] == [
        [1, 3, 3],
        [7, 7, 8],
        [61, 41, 50],
    ]
    hosts, best = carried_sets(5, np.array([1, 3, 3]), np.array([7, 7, 8]), np.array([61, 41, 50]))
    assert hosts.to_pylist() == [[], [7], [], [7, 8], []]
    assert best.to_pylist() == [[], [61], [], [41, 50], []]


def test_a_carrier_keeps_the_plain_threshold_with_its_best_partner_only() -> None:
    # Texts 0-2 are served by heavy host 7, text 8 by heavy host 9. Text 5 carries 7 (best partner 1); text 6
    # carries 7 (best 2) and 9 (best 8). Pairs: (5, 1) a best match, (5, 0) not one, (5, 6) two carriers of 7,
    # (1, 2) both served, (6, 8) and (8, 6) 6's best match at 9 (they do not meet at 7), (3, 4) no heavy host.
    src = np.array([5, 5, 5, 1, 6, 8, 3])
    dst = np.array([1, 0, 6, 2, 8, 6, 4])
    served_of = {0: [7], 1: [7], 2: [7], 8: [9]}
    carried_of = {5: ([7], [1]), 6: ([7, 9], [2, 8])}

    def side(ends: np.ndarray) -> tuple[pa.Array, pa.Array, pa.Array]:
        return (
            pa.array([served_of.get(t, []) for t in ends], LISTS),
            pa.array([carried_of.get(t, ([], []))[0] for t in ends], LISTS),
            pa.array([carried_of.get(t, ([], []))[1] for t in ends], LISTS),
        )

    (s_served, s_carried, s_best), (d_served, d_carried, d_best) = side(src), side(dst)
    required = carrier_thresholds(
        src, dst, (s_served, d_served), (s_carried, d_carried), (s_best, d_best), 0.5, 0.9
    )
    assert required.tolist() == [0.5, 0.9, 0.9, 0.9, 0.5, 0.5, 0.5]


def test_no_carrier_where_no_pair_touches_a_heavy_host() -> None:
    none = pa.array([[], None], LISTS)
    assert [
        len(a) for a in carried_rows(np.array([1, 3]), np.array([0, 2]), np.array([0.6, 0.7]), none, none)
    ] == [0] * 4
    empty = pa.array([], LISTS)
    assert [len(a) for a in carried_rows(np.zeros(0, int), np.zeros(0, int), np.zeros(0), empty, empty)] == [
        0
    ] * 4
    # a heavy host whose texts reach the plain threshold with no other text: no carrier, the rule as before
    heavy_sets = pa.array([[7], [7], [], []], LISTS)
    src, dst, similarity = np.array([1, 3, 2]), np.array([0, 2, 0]), np.array([0.6, 0.7, 0.4])
    required, carriers = text_pair_thresholds(src, dst, similarity, heavy_sets, 0.5, 0.9)
    assert required.tolist() == [0.9, 0.5, 0.5] and carriers == 0


def test_the_whole_rule_on_text_indexes() -> None:
    # texts 0-3 served by heavy host 7; text 4 a wrapped copy of text 1 (0.85 to it, 0.6 to the others);
    # text 5 a wrapped copy of text 2 (0.8 to it, 0.6 to the others, 0.65 to text 4); text 6 unrelated
    heavy_sets = pa.array([[7], [7], [7], [7], [], [], []], LISTS)
    pairs = {
        (1, 0): 0.6, (2, 1): 0.6, (4, 1): 0.85, (4, 0): 0.6, (4, 2): 0.6, (4, 3): 0.6,
        (5, 2): 0.8, (5, 1): 0.6, (5, 4): 0.65, (6, 5): 0.7, (6, 0): 0.3,
    }  # fmt: skip
    src, dst = (np.array([p[i] for p in pairs]) for i in (0, 1))
    similarity = np.array(list(pairs.values()))
    required, carriers = text_pair_thresholds(src, dst, similarity, heavy_sets, 0.5, 0.9)
    joined = {p for p, s, r in zip(pairs, similarity, required, strict=True) if s >= r}
    # each copy joins its own page; an unrelated text that resembles a copy keeps the plain threshold
    assert joined == {(4, 1), (5, 2), (6, 5)}
    assert carriers == 2
    assert required[list(pairs).index((6, 0))] == 0.5  # below the threshold: the plain one, unexamined


def _similarities_to(table: pa.Table, doc_id: str, others: list[str]) -> np.ndarray:
    config = DedupConfig()
    annotated = dedup_kernel(config)(table.combine_chunks().to_batches()[0])
    ids = annotated.column("id").to_pylist()
    sketch = sketch_matrix(annotated.column(SKETCH), config.signature.num_perm)
    rows = np.array([ids.index(o) for o in others])
    return row_similarity(sketch, np.full(len(rows), ids.index(doc_id)), rows)


def test_wrapped_copies_of_a_template_heavy_sites_pages_join_their_own_page_only() -> None:
    pages = template_pages(template_words=400, site="heavy")
    originals = [f"heavy/page{p:03d}/0" for p in range(1, 4)]
    copies = wrapped_copies(pages, originals, "cache.example")  # three copies: too few to measure the cache
    table = pa.concat_tables([pages, copies])
    # each copy reaches the plain threshold with most of the site's pages, through the template alone
    others = [f"heavy/page{p:03d}/0" for p in range(4, 40)]
    assert np.median(_similarities_to(table, "cache.example/heavy/page001/0", others)) > 0.5
    out = dedup_table(table, DedupConfig(), keep="all").to_pydict()
    scores = pair_scores(out["resource"], out["cluster_id"])
    assert (scores.precision, scores.recall, scores.true_pairs) == (1.0, 1.0, 6 + 3)
    cluster = dict(zip(out["id"], out["cluster_id"], strict=True))
    assert all(cluster[f"cache.example/{o}"] == cluster[o] for o in originals)
    graph = text_graph(
        pa.Table.from_batches([dedup_kernel(DedupConfig())(table.combine_chunks().to_batches()[0])]),
        DedupConfig(),
    )
    assert (graph.template_hosts, graph.template_carriers) == (1, 3)


def test_a_wrapped_mirror_of_a_whole_template_heavy_site_keeps_its_pages_apart() -> None:
    pages = template_pages(pages=30, template_words=400, site="heavy")
    originals = [f"heavy/page{p:03d}/0" for p in range(30)]
    table = pa.concat_tables([pages, wrapped_copies(pages, originals, "mirror.example")])
    out = dedup_table(table, DedupConfig(), keep="all").to_pydict()
    scores = pair_scores(out["resource"], out["cluster_id"])
    assert (scores.precision, scores.recall) == (1.0, 1.0)
    assert (
        max(Counter(out["cluster_id"]).values()) == 5
    )  # page 0's three versions, the scraper's and the mirror's copy


def test_a_wrapped_mirror_of_the_real_shop_pages_joins_each_copy_to_its_page() -> None:
    # ClueWeb09's shop pages (../shared/data), each also served by a mirror with a banner: before the rule the
    # copies bridged most of them into one cluster (44 of these 58 documents at f43ac32).
    path = shared_data() / "warc" / "resiliparse_clueweb09-ja-quirk.warc.gz"
    pages = pa.Table.from_batches(list(read_documents(str(path), ReadOptions(), RejectLog())))
    ids = pages.column("id").to_pylist()
    table = pa.concat_tables([pages, wrapped_copies(pages, ids, "mirror.example")])
    out = dedup_table(table, DedupConfig(), keep="all").to_pydict()
    cluster = dict(zip(out["id"], out["cluster_id"], strict=True))
    assert all(cluster[f"mirror.example/{i}"] == cluster[i] for i in ids)
    assert max(Counter(out["cluster_id"]).values()) <= 4  # near-copies of one product, with their copies
    plain = dedup_table(table, DedupConfig(lsh=LshConfig(same_host_threshold=0.5)), keep="all")
    assert len(set(plain.column("cluster_id").to_pylist())) == 1
