"""Version ranking in Spark Window form against the Arrow reference (dedup.versions): every keep policy, on
real version chains and on clusters made of ties and missing dates, and the keep=newest job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.schema import TIMESTAMP
from dedup.kernel import DedupConfig
from dedup.local import dedup_table
from dedup.versions import KEEP_POLICIES, rank_versions
from jobs import dedup_spark as dspark
from jobs.dedup import DedupJob, run_dedup
from tests.dedup.helpers import version_documents

RANKED = ["cluster_size", "version_rank", "is_exact_dup", "is_stale", "staleness_days", "_keep"]
NARROW = ["id", "_text_hash", "_length", "_version_date", "_seen_date", "_dump_date", "_from_index", "dump"]


@pytest.fixture(scope="module")
def versions_parquet(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("versions")
    pq.write_table(version_documents(data_dir), folder / "docs.parquet")
    return folder


def window_rank(spark, narrow: pa.Table, policy: str) -> pa.Table:
    """dspark.rank_versions of `narrow` (NARROW columns and cluster_id), sorted by id."""
    frame = dspark.narrow_frame(spark.createDataFrame(narrow.select(NARROW)))
    frame = frame.join(spark.createDataFrame(narrow.select(["id", "cluster_id"])), "id")
    return dspark.rank_versions(frame, policy).toArrow().sort_by("id")


def assert_same_ranking(got: pa.Table, expected: pa.Table) -> None:
    assert got.column("id").to_pylist() == expected.column("id").to_pylist()
    for column in RANKED:
        assert got.column(column).to_pylist() == expected.column(column).to_pylist(), column


@pytest.mark.parametrize("policy", KEEP_POLICIES)
def test_window_ranking_equals_reference(spark, data_dir: Path, policy: str) -> None:
    reference = dedup_table(version_documents(data_dir, articles=25), DedupConfig(), policy)
    reference = reference.append_column("_from_index", pa.array([False] * reference.num_rows))
    narrow = reference.select(["cluster_id", *NARROW[:-1]])
    narrow = narrow.append_column("dump", pa.nulls(reference.num_rows, pa.string()))
    assert_same_ranking(window_rank(spark, narrow, policy), reference.sort_by("id"))


# (id, cluster, text, version day, seen day, dump day, length, from the index): days of January 2024,
# None for a missing date. Each cluster is decided by a tie-break or by where missing dates sort.
HAND_ROWS = [
    ("tie/b", "tie", 1, 2, 2, 2, 50, False),  # all alike but id and text: the id decides
    ("tie/a", "tie", 2, 2, 2, 2, 50, False),
    ("tie/c", "tie", 1, 2, 2, 2, 50, False),  # an exact copy of tie/b
    ("gap/1", "gap", 1, None, None, None, 90, False),  # undated, and the longest
    ("gap/2", "gap", 2, 1, 1, None, 50, False),
    ("gap/3", "gap", 3, 3, None, 1, 50, False),
    ("gap/4", "gap", 3, 3, 2, None, 50, False),  # copies gap/3's text
    ("seen/1", "seen", 1, 2, None, None, 10, False),  # one version date; crawl dates missing, early, late
    ("seen/2", "seen", 2, 2, 1, 1, 10, False),
    ("seen/3", "seen", 3, 2, 3, None, 10, False),
    ("dump/a", "dump", 1, 2, 2, 2, 10, False),  # one version and crawl date: the dump date decides
    ("dump/b", "dump", 2, 2, 2, 1, 10, False),
    ("dump/c", "dump", 3, 2, 2, None, 10, False),
    ("dump/d", "dump", 2, 2, 2, 3, 10, False),  # copies dump/b's text
    ("index/a", "index", 1, 1, 1, 1, 10, True),  # an indexed copy of index/b's text
    ("index/b", "index", 1, 3, 3, 3, 10, False),
    ("index/c", "index", 2, 2, 2, 2, 10, False),
    ("first/a", "first", 1, None, 2, 2, 10, False),  # crawled alike; one version date missing
    ("first/b", "first", 2, 1, 2, 2, 10, False),
]


def tie_table(seed: int = 7, clusters: int = 12) -> pa.Table:
    """HAND_ROWS, then random clusters drawing their dates (missing a quarter of the time), lengths and texts
    from few values, so that most orders are settled by a late key."""
    rng = np.random.default_rng(seed)
    rows = list(HAND_ROWS)
    days = [None, 1, 2, 3]
    for c in range(clusters):
        size = int(rng.integers(2, 9))
        for k in rng.permutation(size):
            when = [days[int(i)] for i in rng.integers(0, 4, 3)]
            text, length = int(rng.integers(1, 4)), int(rng.choice([10, 20]))
            rows.append((f"r{c:02d}/{k}", f"r{c:02d}", text, *when, length, bool(rng.random() < 0.1)))

    def dates(i: int) -> pa.Array:
        return pa.array(
            [None if r[i] is None else datetime(2024, 1, r[i], tzinfo=UTC) for r in rows], TIMESTAMP
        )

    return pa.table(
        {
            "id": [r[0] for r in rows],
            "cluster_id": [r[1] for r in rows],
            "_text_hash": pa.array([r[2] for r in rows], pa.int64()),
            "_version_date": dates(3),
            "_seen_date": dates(4),
            "_dump_date": dates(5),
            "_length": pa.array([r[6] for r in rows], pa.int64()),
            "_from_index": pa.array([r[7] for r in rows], pa.bool_()),
            "dump": pa.nulls(len(rows), pa.string()),
        }
    )


# newest: the newest version first, then dates; oldest and first-seen: the earliest dates. A missing date
# never wins a tie (seen/2 over seen/1, dump/b over dump/c, first/b over first/a: those dates are known).
@pytest.mark.parametrize(
    ("policy", "kept"),
    [
        ("newest", ["dump/d", "first/b", "gap/4", "seen/3", "tie/b"]),
        ("oldest", ["dump/b", "first/b", "gap/2", "seen/2", "tie/a"]),
        ("first-seen", ["dump/a", "first/b", "gap/2", "seen/2", "tie/a"]),
        ("longest", ["dump/d", "first/b", "gap/1", "index/c", "seen/3", "tie/a"]),
        ("all", [r[0] for r in sorted(HAND_ROWS) if not r[7]]),
    ],
)
def test_the_reference_keepers_of_the_hand_made_clusters(policy: str, kept: list[str]) -> None:
    ranked = rank_versions(tie_table(clusters=0), policy).sort_by("id").to_pydict()
    assert [i for i, k in zip(ranked["id"], ranked["_keep"], strict=True) if k] == kept


@pytest.mark.parametrize("policy", KEEP_POLICIES)
def test_both_paths_keep_the_same_documents_through_ties_and_missing_dates(spark, policy: str) -> None:
    table = tie_table()
    assert_same_ranking(window_rank(spark, table, policy), rank_versions(table, policy).sort_by("id"))


def test_window_ranking_keeps_no_stale_version_where_the_index_holds_the_newest(spark) -> None:
    """The index holds text 1 (dated 2020); this run has text 2 (2021) and a copy of text 1 (2022): newest
    keeps nothing (it kept text 2, stale), in the Window form as in the reference."""
    when = [datetime(y, 1, 1, tzinfo=UTC) for y in (2020, 2021, 2022)]
    narrow = pa.table(
        {
            "id": ["x", "y", "z"],
            "cluster_id": ["x", "x", "x"],
            "_text_hash": pa.array([1, 2, 1], pa.int64()),
            "_length": pa.array([100] * 3, pa.int64()),
            "_version_date": pa.array(when, TIMESTAMP),
            "_seen_date": pa.array(when, TIMESTAMP),
            "_dump_date": pa.nulls(3, TIMESTAMP),
            "_from_index": [True, False, False],
            "dump": pa.nulls(3, pa.string()),
        }
    )
    got = window_rank(spark, narrow, "newest")
    assert got.column("_keep").to_pylist() == [False, False, False]
    assert got.column("is_stale").to_pylist() == [False, True, False]
    assert rank_versions(narrow, "newest").column("_keep").to_pylist() == [False, False, False]


def test_keep_newest_job(spark, versions_parquet: Path, tmp_path: Path) -> None:
    stats = run_dedup(spark, [str(versions_parquet)], str(tmp_path / "out"), DedupJob(keep="newest"))
    out = pq.read_table(tmp_path / "out")
    assert out.num_rows == 100 and stats.docs_in == 572 and stats.dropped["dedup_not_kept"] == 472
    assert stats.balanced and json.loads((tmp_path / "out" / "_stats.json").read_text())["docs_out"] == 100
    assert not any(out.column("is_stale").to_pylist())
    for doc_id, size in zip(
        out.column("id").to_pylist(), out.column("cluster_size").to_pylist(), strict=True
    ):
        assert int(doc_id.rsplit("/", 1)[1]) == size - 1  # the newest version of every article
    summary = pq.read_table(tmp_path / "out" / "_clusters")
    assert summary.num_rows == 100 and sum(summary.column("size").to_pylist()) == 572
    assert set(summary.column("versions").to_pylist()) <= set(range(1, 10))
