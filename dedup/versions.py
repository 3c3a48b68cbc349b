"""Versions of a resource inside a near-duplicate cluster: ranks, stale flags, exact duplicates, keepers.

Pure functions over Arrow tables holding one or more whole clusters (the single-process reference; the Spark
job computes the same with Window functions in `jobs/dedup_spark.py`, and a test checks they agree).

Dates: a document's version date is `created` when dating set it, else `crawl_date`, else the Monday of its
dump's ISO week (`CC-MAIN-2024-22` -> 2024-05-27). Versions are the distinct normalised texts of a cluster,
ordered newest first by (version date, crawl date, dump date) of their most recent copy; `version_rank` 0 is
the newest. A document is stale when its version (its text) is older than the newest version of its
cluster: when the most recent copy of its text has an earlier version date than the newest document of the
cluster. A copy of the newest version is never stale, however early it was crawled. `staleness_days` is the
difference in whole days. Documents whose text has no dated copy are never stale and rank oldest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus.schema import TIMESTAMP, as_utc_timestamps

NOT_KEPT = "dedup_not_kept"
# The whole value must be a weekly crawl id: a search would read the yearly CC-MAIN-2008-2009 as week 20 of
# 2008. Two-digit weeks only, like dating.signals.dump_window_end, so both agree on which names are dumps.
_DUMP = re.compile(r"CC-MAIN-(\d{4})-(\d{2})")
_NONE = np.iinfo(np.int64).min  # sorts oldest; stands for a missing date
_DAY_US = 86_400_000_000

# Helper columns the dedup kernel adds (dropped before output).
VERSION_DATE, SEEN_DATE, DUMP_DATE, LENGTH, TEXT_HASH, FROM_INDEX = (
    "_version_date",
    "_seen_date",
    "_dump_date",
    "_length",
    "_text_hash",
    "_from_index",
)
# The cluster id an index row was given (dedup.index.INDEX_CLUSTER), carried through a run; null for the
# run's own documents.
ANCHOR = "_index_cluster"
RESULT_COLUMNS = ("cluster_size", "version_rank", "is_exact_dup", "is_stale", "staleness_days")
DATE_COLUMNS = (VERSION_DATE, SEEN_DATE, DUMP_DATE)


@dataclass(frozen=True)
class SortKey:
    """One key of a keep order, over a date column, LENGTH or "id". A missing date sorts last whatever the
    direction: a document whose dates are known is preferred to its copy whose are not."""

    column: str
    descending: bool = False

    @property
    def moves_missing(self) -> bool:
        """Whether missing values need a leading is-missing key: held as the lowest value, they sort last
        only descending."""
        return self.column in DATE_COLUMNS and not self.descending


@dataclass(frozen=True)
class KeepOrder:
    """A policy: keys under which its preferred document sorts first (primary first), whether the newest
    version (version_rank 0) leads them in choosing the keeper, and whether all unindexed documents stay."""

    keys: tuple[SortKey, ...]
    version_first: bool = False
    keep_all: bool = False


_NEWEST = tuple(SortKey(c, descending=True) for c in DATE_COLUMNS)
_BY_ID = SortKey("id")
# The one statement of every policy's order: dedup.versions (NumPy) and jobs.dedup_spark (Window) derive
# theirs from it, so the two paths cannot drift apart.
KEEP_ORDERS: dict[str, KeepOrder] = {
    "newest": KeepOrder((*_NEWEST, _BY_ID), version_first=True),
    "oldest": KeepOrder((*(SortKey(c) for c in DATE_COLUMNS), _BY_ID)),
    "first-seen": KeepOrder((SortKey(SEEN_DATE), SortKey(VERSION_DATE), _BY_ID)),
    "longest": KeepOrder((SortKey(LENGTH, descending=True), *_NEWEST, _BY_ID)),
    "all": KeepOrder((*_NEWEST, _BY_ID), keep_all=True),
}
KEEP_POLICIES = tuple(KEEP_ORDERS)


def keep_order(policy: str) -> KeepOrder:
    """The KeepOrder of `policy`; ValueError names the policies for an unknown one."""
    if policy not in KEEP_ORDERS:
        raise ValueError(f"keep {policy!r}: expected one of {', '.join(KEEP_POLICIES)}")
    return KEEP_ORDERS[policy]


def dump_monday(dump: str | None) -> datetime | None:
    """The Monday (00:00 UTC) of a Common Crawl dump's ISO week, or None if `dump` is not CC-MAIN-YYYY-WW
    (the whole value, with a week that exists in that ISO year)."""
    match = _DUMP.fullmatch(dump or "")
    if not match:
        return None
    year, week = int(match.group(1)), int(match.group(2))
    try:
        day = date.fromisocalendar(year, week, 1)
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def date_columns(batch: pa.RecordBatch | pa.Table) -> dict[str, pa.Array]:
    """_version_date, _seen_date and _dump_date of every row (timestamps, UTC, null when unknown)."""
    n = batch.num_rows
    names = batch.schema.names

    def column(name: str) -> pa.Array:
        if name not in names:
            return pa.nulls(n, TIMESTAMP)
        return as_utc_timestamps(batch.column(name), name)

    if "dump" in names:
        dumps = batch.column("dump")
        dumps = dumps.combine_chunks() if isinstance(dumps, pa.ChunkedArray) else dumps
        encoded = pc.dictionary_encode(dumps.cast(pa.string()))
        mondays = pa.array([dump_monday(d) for d in encoded.dictionary.to_pylist()], TIMESTAMP)
        dump_date = mondays.take(encoded.indices) if len(mondays) else pa.nulls(n, TIMESTAMP)
    else:
        dump_date = pa.nulls(n, TIMESTAMP)
    seen = pc.coalesce(column("crawl_date"), dump_date)
    return {VERSION_DATE: pc.coalesce(column("created"), seen), SEEN_DATE: seen, DUMP_DATE: dump_date}


def _micros(table: pa.Table, name: str) -> np.ndarray:
    values = pc.fill_null(table.column(name).cast(pa.int64()), _NONE)
    return values.to_numpy().astype(np.int64)


def _preference(table: pa.Table, policy: str, id_rank: np.ndarray) -> list[np.ndarray]:
    """Sort keys (np.lexsort order: last is primary) under which the preferred document sorts first."""
    keys: list[np.ndarray] = []  # primary first, reversed for lexsort at the end
    for key in keep_order(policy).keys:
        if key.column == "id":
            values = id_rank
        elif key.column == LENGTH:
            values = table.column(LENGTH).to_numpy().astype(np.int64)
        else:
            values = _micros(table, key.column)
        if key.moves_missing:
            keys.append(values == _NONE)
        keys.append(~values if key.descending else values)  # ~x reverses and maps the sentinel last
    return keys[::-1]


def dense_rank(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """0-based dense rank of each value in ascending order (strings by UTF-8 bytes, i.e. code points)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    return pc.rank(values, sort_keys="ascending", tiebreaker="dense").to_numpy().astype(np.int64) - 1


def rank_versions(table: pa.Table, policy: str = "newest") -> pa.Table:
    """`table` (whole clusters: id, cluster_id, _text_hash, the date helper columns, _length, optionally
    _from_index) with cluster_size, version_rank, is_exact_dup, is_stale, staleness_days and `_keep` added.
    Rows from the index (_from_index) are earlier-kept documents: they win ties of exact text and are never
    kept again."""
    rule = keep_order(policy)
    n = table.num_rows
    if n == 0:  # no document shares a cluster: the result columns, empty
        counts, flags = np.zeros(0, np.int64), np.zeros(0, bool)
        return _with_results(table, counts, counts, flags, flags, counts, flags, flags)
    id_rank = dense_rank(table.column("id"))
    cluster = dense_rank(table.column("cluster_id"))
    texts = table.column(TEXT_HASH).to_numpy().astype(np.int64)
    from_index = (
        table.column(FROM_INDEX).fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
        if FROM_INDEX in table.schema.names
        else np.zeros(n, bool)
    )
    d0, d1, d2 = (_micros(table, c) for c in (VERSION_DATE, SEEN_DATE, DUMP_DATE))
    size = np.bincount(cluster)[cluster]

    # Versions: (cluster, text); a version's date is that of its most recent copy.
    order = np.lexsort((d2, d1, d0, texts, cluster))
    last = np.r_[(cluster[order][1:] != cluster[order][:-1]) | (texts[order][1:] != texts[order][:-1]), True]
    heads = order[last]  # one row per version: its newest copy
    version_of_row = np.empty(n, dtype=np.int64)  # the version (index into heads) of every row
    version_of_row[order] = np.r_[0, np.cumsum(last[:-1])]
    v_order = np.lexsort((texts[heads], ~d2[heads], ~d1[heads], ~d0[heads], cluster[heads]))
    v_cluster = cluster[heads[v_order]]
    v_start = np.r_[True, v_cluster[1:] != v_cluster[:-1]]
    v_rank = np.arange(len(v_order)) - np.maximum.accumulate(np.where(v_start, np.arange(len(v_order)), 0))
    rank_of_version = np.empty(len(heads), dtype=np.int64)
    rank_of_version[v_order] = v_rank
    version_rank = rank_of_version[version_of_row].astype(np.int32)
    text_date = d0[heads][version_of_row]  # the version date of its text's most recent copy

    # Staleness of a document's text against the newest dated text of the cluster: a copy of the newest
    # version is never stale, however early that copy was crawled.
    newest = np.full(cluster.max() + 1, _NONE, dtype=np.int64)
    np.maximum.at(newest, cluster, d0)
    dated = text_date != _NONE
    is_stale = dated & (text_date < newest[cluster])
    staleness = np.where(dated, (newest[cluster] - text_date) // _DAY_US, 0).astype(np.int32)

    # Exact duplicates: within (cluster, text) the earlier-kept (index) copy, then the preferred one, wins.
    prefer = _preference(table, policy, id_rank)
    exact_order = np.lexsort((*prefer, ~from_index, texts, cluster))
    first = np.r_[
        True,
        (cluster[exact_order][1:] != cluster[exact_order][:-1])
        | (texts[exact_order][1:] != texts[exact_order][:-1]),
    ]
    is_exact_dup = np.empty(n, dtype=bool)
    is_exact_dup[exact_order] = ~first

    # Newest keeps a copy of the newest version (rank 0); where the index holds it already, nothing: a later
    # copy of an older text (a stale version) is not kept in its place.
    by_version = [version_rank] if rule.version_first else []
    keeper_order = np.lexsort((*prefer, *by_version, is_exact_dup, cluster))
    keep_first = np.r_[True, cluster[keeper_order][1:] != cluster[keeper_order][:-1]]
    keep = np.empty(n, dtype=bool)
    keep[keeper_order] = keep_first
    keep = ~from_index if rule.keep_all else keep & ~from_index

    return _with_results(table, size, version_rank, is_exact_dup, is_stale, staleness, dated, keep)


def _with_results(
    table: pa.Table,
    size: np.ndarray,
    version_rank: np.ndarray,
    is_exact_dup: np.ndarray,
    is_stale: np.ndarray,
    staleness: np.ndarray,
    dated: np.ndarray,
    keep: np.ndarray,
) -> pa.Table:
    table = table.drop_columns([c for c in (*RESULT_COLUMNS, "_keep") if c in table.schema.names])
    return (
        table.append_column("cluster_size", pa.array(size.astype(np.int64), pa.int64()))
        .append_column("version_rank", pa.array(version_rank.astype(np.int32), pa.int32()))
        .append_column("is_exact_dup", pa.array(is_exact_dup, pa.bool_()))
        .append_column("is_stale", pa.array(is_stale, pa.bool_()))
        .append_column("staleness_days", pa.array(staleness.astype(np.int32), pa.int32(), mask=~dated))
        .append_column("_keep", pa.array(keep, pa.bool_()))
    )


def cluster_summary(ranked: pa.Table, min_size: int = 2) -> pa.Table:
    """One row per cluster of at least `min_size` documents: cluster_id, size, versions, newest_created,
    oldest_created (version dates), dumps (sorted distinct crawl ids) and n_dumps, ordered by cluster_id."""
    dump = ranked.column("dump") if "dump" in ranked.schema.names else pa.nulls(ranked.num_rows, pa.string())
    table = pa.table(
        {
            "cluster_id": ranked.column("cluster_id").cast(pa.string()),
            "text": ranked.column(TEXT_HASH),
            "when": ranked.column(VERSION_DATE).cast(TIMESTAMP),
            "dump": dump.cast(pa.string()),
        }
    )
    grouped = (
        table.group_by("cluster_id")
        .aggregate(
            [
                ("text", "count", pc.CountOptions(mode="all")),
                ("text", "count_distinct"),
                ("when", "max"),
                ("when", "min"),
            ]
        )
        .sort_by("cluster_id")
    )
    # Each cluster's distinct dumps, sorted: the distinct (cluster, dump) pairs in order, cut into lists.
    pairs = (
        table.filter(pc.is_valid(table.column("dump")))
        .group_by(["cluster_id", "dump"])
        .aggregate([])
        .sort_by([("cluster_id", "ascending"), ("dump", "ascending")])
    )
    per_cluster = pairs.group_by("cluster_id").aggregate([("dump", "count")])
    counts = pc.fill_null(
        grouped.select(["cluster_id"])
        .join(per_cluster, "cluster_id")
        .sort_by("cluster_id")
        .column("dump_count"),
        0,
    )
    offsets = np.r_[0, np.cumsum(counts.to_numpy())].astype(np.int32)
    dumps = pa.ListArray.from_arrays(pa.array(offsets), pairs.column("dump").combine_chunks())
    grouped = grouped.append_column("dumps", dumps)
    grouped = grouped.filter(pc.greater_equal(grouped.column("text_count"), min_size))
    dumps = grouped.column("dumps")
    return pa.table(
        {
            "cluster_id": grouped.column("cluster_id"),
            "size": grouped.column("text_count").cast(pa.int64()),
            "versions": grouped.column("text_count_distinct").cast(pa.int64()),
            "newest_created": grouped.column("when_max"),
            "oldest_created": grouped.column("when_min"),
            "dumps": dumps,
            "n_dumps": pc.list_value_length(dumps).cast(pa.int64()),
        }
    )
