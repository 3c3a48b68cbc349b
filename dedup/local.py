"""The whole dedup in one process over an Arrow table: the reference the Spark job is tested against, and a
fast path for evaluations on small data.

A cluster grows by connected components over the graph of distinct texts whose edges are: captures of one URL
(trusted: a resource's text may drift arbitrarily far), and band-bucket candidates whose estimated Jaccard
similarity reaches the threshold (verified). Documents with the same normalised text are one node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.kernel import BAND_KEYS, SKETCH, URL_KEY, DedupConfig, dedup_kernel
from dedup.lsh import candidate_pairs, star_edges
from dedup.union_find import components
from dedup.verify import estimated_similarity
from dedup.versions import TEXT_HASH, rank_versions


@dataclass(frozen=True)
class TextGraph:
    """Distinct texts (sorted int64 hashes) and the edges between them, as indices into `texts`."""

    texts: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    repeated: np.ndarray  # bool per text: two or more documents carry it
    candidates: int  # band-bucket pairs compared
    verified: int  # of which reached the threshold


def text_graph(table: pa.Table, config: DedupConfig) -> TextGraph:
    """The verified text graph of a kernel-annotated table (see the module doc)."""
    hashes = table.column(TEXT_HASH).to_numpy().astype(np.int64)
    texts, first_doc, counts = np.unique(hashes, return_index=True, return_counts=True)
    bands = table.column(BAND_KEYS).combine_chunks()
    per_doc = np.diff(bands.offsets.to_numpy())
    src, dst = candidate_pairs(bands.flatten().to_numpy(), np.repeat(hashes, per_doc), config.lsh.anchors)
    sketch = table.column(SKETCH).combine_chunks()
    s_idx, d_idx = np.searchsorted(texts, src), np.searchsorted(texts, dst)
    similarity = estimated_similarity(
        sketch.take(pa.array(first_doc[s_idx])),
        sketch.take(pa.array(first_doc[d_idx])),
        config.signature.num_perm,
    )
    verified = similarity >= config.lsh.threshold
    url = table.column(URL_KEY).combine_chunks()
    has_url = url.is_valid().to_numpy(zero_copy_only=False)
    u_src, u_dst = star_edges(pc.fill_null(url, 0).to_numpy()[has_url], hashes[has_url])
    return TextGraph(
        texts=texts,
        src=np.concatenate([s_idx[verified], np.searchsorted(texts, u_src)]),
        dst=np.concatenate([d_idx[verified], np.searchsorted(texts, u_dst)]),
        repeated=counts > 1,
        candidates=len(src),
        verified=int(verified.sum()),
    )


def cluster_table(table: pa.Table, config: DedupConfig) -> pa.Table:
    """`table` (annotated by the kernel) with cluster_id: the smallest id of its connected component."""
    graph = text_graph(table, config)
    labels = components(graph.src, graph.dst, len(graph.texts))
    hashes = table.column(TEXT_HASH).to_numpy().astype(np.int64)
    label_of_doc = labels[np.searchsorted(graph.texts, hashes)]
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    order = np.lexsort((ids, label_of_doc))  # the smallest id of each component comes first
    first = np.r_[True, label_of_doc[order][1:] != label_of_doc[order][:-1]]
    smallest = ids[order][np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    cluster_id = np.empty(len(ids), dtype=object)
    cluster_id[order] = smallest
    if "cluster_id" in table.schema.names:
        table = table.drop_columns(["cluster_id"])
    return table.append_column("cluster_id", pa.array(cluster_id.tolist(), pa.string()))


def dedup_table(table: pa.Table, config: DedupConfig = DedupConfig(), keep: str = "newest") -> pa.Table:
    """Every row of `table` with cluster_id and the version columns, plus `_keep` (the keeper policy's
    choice) and the kernel's helper columns."""
    kernel = dedup_kernel(config)
    batches = [kernel(b) for b in table.to_batches(max_chunksize=2000)]
    annotated = pa.Table.from_batches(batches) if batches else kernel(table.to_batches()[0])
    return rank_versions(cluster_table(annotated, config), keep)
