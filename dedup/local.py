"""The whole dedup in one process over an Arrow table: the reference the Spark job is tested against, and a
fast path for evaluations on small data.

A cluster grows by connected components over the graph of distinct texts whose edges are: captures of one URL
(trusted: a resource's text may drift arbitrarily far; but a text one site serves under many URLs, a soft-404,
joins none of them: dedup.lsh.url_star_rows), and band-bucket candidates whose estimated Jaccard similarity
reaches the threshold (verified; a higher one where a template-heavy host serves both texts, or where a
text of another host carries its template: dedup.verify, dedup.site_templates, dedup.template_carriers).
Documents with the same normalised text are one node.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.kernel import BAND_KEYS, HOST_KEY, SKETCH, URL_KEY, DedupConfig, dedup_kernel
from dedup.lsh import band_candidates, star_edges, url_star_rows
from dedup.minhash import check_same_scheme
from dedup.site_templates import template_hosts
from dedup.template_carriers import text_pair_thresholds
from dedup.union_find import components
from dedup.verify import (
    keep_hosts,
    row_similarity,
    shared_host_keys,
    sketch_matrix,
    text_host_sets,
)
from dedup.versions import ANCHOR, TEXT_HASH, dense_rank, rank_versions


@dataclass(frozen=True)
class TextGraph:
    """Distinct texts (sorted int64 hashes) and the edges between them, as indices into `texts`."""

    texts: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    repeated: np.ndarray  # bool per text: two or more documents carry it
    candidates: int  # band-bucket pairs compared
    verified: int  # of which reached the threshold
    url_edges: int = 0  # star edges of URL buckets
    template_hosts: int = 0  # hosts of candidate texts found template-heavy (dedup.site_templates)
    template_carriers: int = 0  # texts off such a host that carry its template (dedup.template_carriers)


def check_scheme(table: pa.Table, config: DedupConfig) -> None:
    """Refuse sketches and band keys made under other signature settings than `config`'s (their columns
    carry the settings as metadata; dedup.kernel.kernel_fields)."""
    for name in (SKETCH, BAND_KEYS):
        if name in table.schema.names and table.schema.field(name).metadata:
            theirs = {k.decode(): v.decode() for k, v in table.schema.field(name).metadata.items()}
            check_same_scheme(config.signature.metadata, theirs, name)


def _band_matrix(bands: pa.ListArray, rows: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(int64[k, width] band keys, the positions in `rows` they belong to) of the documents `rows` that have
    band keys (documents without shingles have none)."""
    offsets = bands.offsets.to_numpy().astype(np.int64)
    lengths = np.diff(offsets)
    have = np.flatnonzero(lengths[rows] == width)
    values = bands.values.to_numpy()[offsets[0] : offsets[-1]]
    if np.all((lengths == 0) | (lengths == width)):  # the kernel's lists: all keys or none
        matrix = values.reshape(-1, width)
        return matrix[(np.cumsum(lengths > 0) - 1)[rows[have]]], have
    starts = offsets[rows[have]] - offsets[0]
    return values[starts[:, None] + np.arange(width)], have


def url_rows(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(URL key, host key, text hash, marker) of the rows of `table` (kernel columns) that have a host key; a
    marker row has no URL key (an index row of a hub text: dedup.index.mark_hubs)."""
    host = table.column(HOST_KEY).combine_chunks()
    has_host = host.is_valid().to_numpy(zero_copy_only=False)
    url = table.column(URL_KEY).combine_chunks()
    marker = url.is_null().to_numpy(zero_copy_only=False)[has_host]
    hashes = table.column(TEXT_HASH).to_numpy().astype(np.int64)[has_host]
    return (
        pc.fill_null(url, 0).to_numpy()[has_host],
        pc.fill_null(host, 0).to_numpy()[has_host],
        hashes,
        marker,
    )


def text_graph(table: pa.Table, config: DedupConfig) -> TextGraph:
    """The verified text graph of a kernel-annotated table (see the module doc)."""
    check_scheme(table, config)
    hashes = table.column(TEXT_HASH).to_numpy().astype(np.int64)
    texts, first_doc, counts = np.unique(hashes, return_index=True, return_counts=True)
    bands = table.column(BAND_KEYS).combine_chunks()
    keys, have = _band_matrix(bands, first_doc, config.bands_rows[0])
    src, dst = band_candidates(keys, texts[have], config.lsh.anchors, engine=config.signature.engine)
    s_idx, d_idx = np.searchsorted(texts, src), np.searchsorted(texts, dst)
    sketch = sketch_matrix(table.column(SKETCH).combine_chunks(), config.signature.num_perm)
    similarity = row_similarity(sketch, first_doc[s_idx], first_doc[d_idx])
    keys, hosts, nodes, marker = url_rows(table)
    # the host sets of the texts of candidate pairs only
    candidate = np.zeros(len(texts), dtype=bool)
    candidate[s_idx], candidate[d_idx] = True, True
    text_of_row = np.searchsorted(texts, nodes)
    of_candidate = candidate[text_of_row]
    host_sets = text_host_sets(len(texts), text_of_row[of_candidate], hosts[of_candidate])
    lsh = config.lsh
    heavy = np.zeros(0, dtype=np.int64)
    required: float | np.ndarray = lsh.threshold
    carriers = 0
    if lsh.same_host_threshold > lsh.threshold:
        # the hosts that pairs share, each measured on all its texts
        among = shared_host_keys(host_sets, s_idx, d_idx)
        heavy = template_hosts(hosts, text_of_row, sketch, first_doc, lsh.threshold, among)
        if len(heavy):
            with_heavy = keep_hosts(host_sets, heavy)
            required, carriers = text_pair_thresholds(
                s_idx, d_idx, similarity, with_heavy, lsh.threshold, lsh.same_host_threshold
            )
    verified = similarity >= required
    u_src, u_dst = star_edges(*url_star_rows(keys, hosts, nodes, marker))
    return TextGraph(
        texts=texts,
        src=np.concatenate([s_idx[verified], np.searchsorted(texts, u_src)]),
        dst=np.concatenate([d_idx[verified], np.searchsorted(texts, u_dst)]),
        repeated=counts > 1,
        candidates=len(src),
        verified=int(verified.sum()),
        url_edges=len(u_src),
        template_hosts=len(heavy),
        template_carriers=carriers,
    )


def cluster_members(table: pa.Table, config: DedupConfig) -> tuple[np.ndarray, pa.Array, TextGraph]:
    """(rows, cluster_id, graph): the rows of `table` (annotated by the kernel) that share a cluster with
    another document, ascending, and their cluster_id: the smallest cluster id that index rows of the
    connected component of their text were given (the column ANCHOR, where `table` has it), else the
    smallest document id of the component. Every other document is a singleton, its own cluster."""
    graph = text_graph(table, config)
    labels = components(graph.src, graph.dst, len(graph.texts))
    hashes = table.column(TEXT_HASH).to_numpy().astype(np.int64)
    label_of_doc = labels[np.searchsorted(graph.texts, hashes)]
    rows = np.flatnonzero(np.bincount(label_of_doc, minlength=len(graph.texts))[label_of_doc] > 1)
    names = table.column("id").combine_chunks().cast(pa.string()).take(pa.array(rows))
    anchored = np.zeros(len(rows), bool)
    if ANCHOR in table.schema.names:
        anchors = table.column(ANCHOR).combine_chunks().take(pa.array(rows))
        anchored = pc.is_valid(anchors).to_numpy(zero_copy_only=False)
        names = pc.coalesce(anchors.cast(pa.string()), names)
    label = label_of_doc[rows]
    rank = dense_rank(names)
    key = rank + np.where(anchored, 0, len(rank))  # an index row's cluster id before any document's id
    smallest = np.full(len(graph.texts), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, label, key)
    row_of_key = np.empty(2 * len(rank), dtype=np.int64)
    row_of_key[key] = np.arange(len(rank))
    return rows, names.take(pa.array(row_of_key[smallest[label]])), graph


def cluster_table(table: pa.Table, config: DedupConfig) -> pa.Table:
    """`table` (annotated by the kernel) with cluster_id: the smallest id of its connected component."""
    rows, cluster_ids, _ = cluster_members(table, config)
    ids = table.column("id").combine_chunks()
    index = np.arange(table.num_rows, dtype=np.int64)
    index[rows] = table.num_rows + np.arange(len(rows))
    cluster_id = pa.concat_arrays([ids.cast(pa.string()), cluster_ids.cast(pa.string())]).take(
        pa.array(index)
    )
    if "cluster_id" in table.schema.names:
        table = table.drop_columns(["cluster_id"])
    return table.append_column("cluster_id", cluster_id)


def dedup_table(table: pa.Table, config: DedupConfig = DedupConfig(), keep: str = "newest") -> pa.Table:
    """Every row of `table` with cluster_id and the version columns, plus `_keep` (the keeper policy's
    choice) and the kernel's helper columns. ValueError where the ids are not unique (check_unique_ids)."""
    check_unique_ids(table)
    kernel = dedup_kernel(config)
    batches = table.to_batches(max_chunksize=2000) or [pa.RecordBatch.from_pylist([], schema=table.schema)]
    annotated = pa.Table.from_batches([kernel(b) for b in batches])
    return rank_versions(cluster_table(annotated, config), keep)


def check_unique_ids(table: pa.Table) -> None:
    """ValueError unless every row of `table` has an id (not null, not empty) that no other row has: a
    cluster is named by its smallest id and the documents are kept or dropped by id, so two rows under one
    id would be one document. The Spark job gives such rows ids of their own first (jobs.dedup)."""
    if "id" not in table.schema.names:
        raise ValueError("dedup: the table has no id column")
    ids = table.column("id").cast(pa.string())
    missing = ids.null_count + (pc.sum(pc.equal(ids, "")).as_py() or 0)
    if missing:
        raise ValueError(f"dedup: rows without an id (null or empty): {missing}")
    counts = pc.value_counts(ids)
    shared = pc.filter(counts.field("values"), pc.greater(counts.field("counts"), 1)).to_pylist()
    if shared:
        more = f" and {len(shared) - 3} more" if len(shared) > 3 else ""
        named = ", ".join(repr(i) for i in shared[:3])
        raise ValueError(f"dedup: ids shared by two or more rows: {named}{more}")
