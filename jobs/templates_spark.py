"""Dedup's template rules on Spark: which hosts are template-heavy (dedup.site_templates) and which texts
off such a host carry its template (dedup.template_carriers), each step the kernel that dedup.local runs in
one process, so both paths decide alike."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from dedup.kernel import SKETCH
from dedup.site_templates import MIN_SITE_TEXTS, TEMPLATE_SAMPLE, is_template_heavy, template_similarity
from dedup.template_carriers import best_partners, carried_rows, carrier_thresholds
from dedup.verify import (
    estimated_similarity,
    keep_hosts,
    one_chunk,
    owned_lists,
    shared_host_keys,
    sketch_matrix,
)
from jobs.spark import checkpointed

BROADCAST_MAX_ROWS = 500_000  # sampled texts' ids or carriers' rows broadcast to a join (~40-140 B each)


def template_hosts(host_pairs: DataFrame, sketches: DataFrame, num_perm: int, threshold: float) -> np.ndarray:
    """The template-heavy hosts (sorted int64; dedup.site_templates decides) among the hosts that candidate
    pairs share (`host_pairs`: src_hosts, dst_hosts), each measured on a sample of all its texts in
    `sketches` (id, sketch, host): the TEMPLATE_SAMPLE smallest text hashes of a host with at least
    MIN_SITE_TEXTS of them. The sample is found on (host, text) rows, and only its texts' sketches move."""

    def shared(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            n = batch.num_rows
            sets = pa.concat_arrays([one_chunk(batch.column(c)) for c in ("src_hosts", "dst_hosts")])
            hosts = shared_host_keys(sets, np.arange(n), np.arange(n, 2 * n))
            yield pa.RecordBatch.from_arrays([pa.array(hosts, pa.int64())], names=["host"])

    hosts = host_pairs.mapInArrow(shared, "host long").distinct()
    site = sketches.select("host", "id").join(hosts, "host").distinct()
    by_host = Window.partitionBy("host")
    sample = (
        site.withColumn("_k", F.row_number().over(by_host.orderBy("id")))
        .withColumn("_n", F.count(F.lit(1)).over(by_host))
        .filter((F.col("_k") <= TEMPLATE_SAMPLE) & (F.col("_n") >= MIN_SITE_TEXTS))
        .select("host", "id")
        .transform(checkpointed)
    )
    ids = sample.select("id").distinct()
    if ids.count() <= BROADCAST_MAX_ROWS:
        ids = F.broadcast(ids)
    sample_sketches = sketches.select("id", SKETCH).join(ids, "id", "left_semi").dropDuplicates(["id"])
    samples = sample.join(sample_sketches, "id").groupBy("host").agg(F.collect_list(SKETCH).alias("sample"))

    def measure(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            column = batch.column("sample")
            heavy = [
                host
                for host, i in zip(batch.column("host").to_pylist(), range(batch.num_rows), strict=True)
                if is_template_heavy(
                    template_similarity(sketch_matrix(column[i].values, num_perm)), threshold
                )
            ]
            yield pa.RecordBatch.from_arrays([pa.array(heavy, pa.int64())], names=["host"])

    found = samples.mapInArrow(measure, "host long").toArrow().column("host").to_numpy()
    return np.sort(found.astype(np.int64))


def carrier_edges(
    joined: DataFrame, heavy: np.ndarray, num_perm: int, threshold: float, same_host_threshold: float
) -> tuple[DataFrame, int]:
    """(edges (src, dst, similarity), carrier texts found): the candidate pairs of `joined` (src, dst,
    src_sketch, dst_sketch, src_hosts, dst_hosts) that reach their threshold when the sorted int64 hosts
    `heavy` are template-heavy: dedup.template_carriers' rule, in three steps. The pairs at the plain
    threshold are kept with the heavy hosts serving each text; each carrier's best partner per host is
    picked after one group-by over the few rows of pairs that a heavy host serves one text of; the pairs
    then meet their two texts' carried hosts in a join and are decided."""
    hosts = joined.sparkSession.sparkContext.broadcast(heavy)
    passing = joined.mapInArrow(
        lambda batches: (_passing_pairs(b, num_perm, threshold, hosts.value) for b in batches),
        "src long, dst long, similarity double, src_heavy array<long>, dst_heavy array<long>",
    ).transform(checkpointed)
    rows = passing.mapInArrow(
        lambda batches: (_carried(b) for b in batches),
        "carrier long, host long, similarity double, partner long",
    )
    # one shuffle brings a carrier's rows together; dedup.template_carriers.best_partners picks, as on the driver
    found = F.collect_list(F.struct("host", "similarity", "partner")).alias("found")
    per_text = (
        rows.groupBy("carrier")
        .agg(found)
        .mapInArrow(
            lambda batches: (_best(b) for b in batches), "id long, carried array<long>, best array<long>"
        )
        .transform(checkpointed)
    )
    n_carriers = per_text.count()
    if n_carriers <= BROADCAST_MAX_ROWS:
        per_text = F.broadcast(per_text)
    side = {
        end: per_text.select(
            F.col("id").alias(end),
            F.col("carried").alias(f"{end}_carried"),
            F.col("best").alias(f"{end}_best"),
        )
        for end in ("src", "dst")
    }
    met = passing.join(side["src"], "src", "left").join(side["dst"], "dst", "left")
    edges = met.mapInArrow(
        lambda batches: (_decided(b, threshold, same_host_threshold) for b in batches),
        "src long, dst long, similarity double",
    )
    return edges, n_carriers


def _passing_pairs(
    batch: pa.RecordBatch, num_perm: int, threshold: float, heavy: np.ndarray
) -> pa.RecordBatch:
    """The pairs of a (src, dst, src_sketch, dst_sketch, src_hosts, dst_hosts) batch at the plain
    threshold, as (src, dst, similarity, src_heavy, dst_heavy): the hosts in `heavy` serving each text."""
    n = batch.num_rows
    similarity = estimated_similarity(batch.column("src_sketch"), batch.column("dst_sketch"), num_perm)
    keep = pa.array(similarity >= threshold)
    sets = keep_hosts(
        pa.concat_arrays([one_chunk(batch.column(c)) for c in ("src_hosts", "dst_hosts")]), heavy
    )
    columns = [batch.column("src"), batch.column("dst"), pa.array(similarity), sets[:n], sets[n:]]
    return pa.RecordBatch.from_arrays(
        [pc.filter(c, keep) for c in columns], names=["src", "dst", "similarity", "src_heavy", "dst_heavy"]
    )


def _carried(batch: pa.RecordBatch) -> pa.RecordBatch:
    """dedup.template_carriers.carried_rows of a batch of `_passing_pairs`."""
    carrier, host, similarity, partner = carried_rows(
        *(batch.column(c).to_numpy() for c in ("src", "dst", "similarity")),
        batch.column("src_heavy"),
        batch.column("dst_heavy"),
    )
    return pa.RecordBatch.from_arrays(
        [pa.array(carrier), pa.array(host), pa.array(similarity), pa.array(partner)],
        names=["carrier", "host", "similarity", "partner"],
    )


def _best(batch: pa.RecordBatch) -> pa.RecordBatch:
    """(id, carried, best) of a batch of (carrier, found: list<struct<host, similarity, partner>>), one row
    per carrier: dedup.template_carriers.best_partners over its rows."""
    found = one_chunk(batch.column("found"))
    lengths = pc.list_value_length(found).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(found)
    carrier, host, partner = best_partners(
        np.repeat(batch.column("carrier").to_numpy(), lengths),
        *(flat.field(name).to_numpy(zero_copy_only=False) for name in ("host", "similarity", "partner")),
    )
    ids, owner = np.unique(carrier, return_inverse=True)  # best_partners sorted them by carrier
    return pa.RecordBatch.from_arrays(
        [pa.array(ids), owned_lists(len(ids), owner, host), owned_lists(len(ids), owner, partner)],
        names=["id", "carried", "best"],
    )


def _decided(batch: pa.RecordBatch, threshold: float, same_host_threshold: float) -> pa.RecordBatch:
    """The pairs of a batch of `_passing_pairs` met with both texts' carried hosts and best partners
    (src_carried, src_best, dst_carried, dst_best) that reach dedup.template_carriers.carrier_thresholds."""
    src, dst = batch.column("src").to_numpy(), batch.column("dst").to_numpy()
    similarity = batch.column("similarity").to_numpy()
    required = carrier_thresholds(
        src,
        dst,
        (batch.column("src_heavy"), batch.column("dst_heavy")),
        (batch.column("src_carried"), batch.column("dst_carried")),
        (batch.column("src_best"), batch.column("dst_best")),
        threshold,
        same_host_threshold,
    )
    keep = similarity >= required
    return pa.RecordBatch.from_arrays(
        [pa.array(src[keep]), pa.array(dst[keep]), pa.array(similarity[keep])],
        names=["src", "dst", "similarity"],
    )
