"""The whole dedup in one process over an Arrow table: the reference the Spark job is tested against, and a
fast path for evaluations on small data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from dedup.kernel import BUCKET_KEYS, DedupConfig, dedup_kernel
from dedup.lsh import star_edges
from dedup.union_find import components
from dedup.versions import rank_versions


def local_edges(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted unique ids, edge sources, edge targets) of the star edges of a kernel-annotated table;
    nodes are indices into the sorted ids."""
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    uniq, node = np.unique(ids, return_inverse=True)
    lists = table.column(BUCKET_KEYS).combine_chunks()
    counts = np.diff(lists.offsets.to_numpy())
    keys = lists.flatten().to_numpy()
    src, dst = star_edges(keys, np.repeat(node.astype(np.int64), counts))
    return uniq, src, dst


def cluster_table(table: pa.Table) -> pa.Table:
    """`table` (annotated by the kernel) with cluster_id: the smallest id of its connected component."""
    uniq, src, dst = local_edges(table)
    labels = components(src, dst, len(uniq))
    _, node = np.unique(np.asarray(table.column("id").to_pylist(), dtype=object), return_inverse=True)
    if "cluster_id" in table.schema.names:
        table = table.drop_columns(["cluster_id"])
    return table.append_column("cluster_id", pa.array(uniq[labels[node]].tolist(), pa.string()))


def dedup_table(table: pa.Table, config: DedupConfig = DedupConfig(), keep: str = "newest") -> pa.Table:
    """Every row of `table` with cluster_id and the version columns, plus `_keep` (the keeper policy's
    choice) and the kernel's helper columns."""
    kernel = dedup_kernel(config)
    batches = [kernel(b) for b in table.to_batches(max_chunksize=2000)]
    annotated = pa.Table.from_batches(batches) if batches else kernel(table.to_batches()[0])
    return rank_versions(cluster_table(annotated), keep)
