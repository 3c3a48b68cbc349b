"""Version ranks, stale flags, exact duplicates and keeper policies (pure Arrow reference)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from corpus.schema import TIMESTAMP
from dedup.versions import TEXT_HASH, VERSION_DATE, cluster_summary, date_columns, dump_monday, rank_versions


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def test_dump_monday() -> None:
    assert dump_monday("CC-MAIN-2024-22") == day(2024, 5, 27)
    assert dump_monday("CC-MAIN-2020-53") == day(2020, 12, 28)
    assert dump_monday("CC-MAIN-2021-53") is None  # 2021 has no ISO week 53
    assert dump_monday("not a dump") is None and dump_monday(None) is None


def test_dump_monday_reads_only_a_whole_weekly_crawl_id() -> None:
    assert dump_monday("CC-MAIN-2024-01") == day(2024, 1, 1)
    # the yearly crawls are no ISO week: CC-MAIN-2008-2009 is not week 20 of 2008
    assert dump_monday("CC-MAIN-2008-2009") is None and dump_monday("CC-MAIN-2012") is None
    assert dump_monday("CC-MAIN-2024-22-x") is None and dump_monday("cc/CC-MAIN-2024-22") is None
    assert dump_monday("CC-MAIN-2024-00") is None and dump_monday("CC-MAIN-2024-54") is None
    dumps = pa.table({"dump": ["CC-MAIN-2008-2009", "CC-MAIN-2024-22"]})
    assert date_columns(dumps)["_dump_date"].to_pylist() == [None, day(2024, 5, 27)]


def test_date_fallbacks() -> None:
    batch = pa.table(
        {
            "created": pa.array([day(2020, 1, 1), None, None, None], TIMESTAMP),
            "crawl_date": pa.array([day(2024, 1, 1), day(2023, 6, 1), None, None], TIMESTAMP),
            "dump": pa.array(["CC-MAIN-2024-22"] * 3 + [None]),
        }
    )
    cols = date_columns(batch)
    assert cols["_version_date"].to_pylist() == [day(2020, 1, 1), day(2023, 6, 1), day(2024, 5, 27), None]
    assert cols["_seen_date"].to_pylist() == [day(2024, 1, 1), day(2023, 6, 1), day(2024, 5, 27), None]


def cluster(rows: list[tuple], from_index: list[bool] | None = None) -> pa.Table:
    """rows: (id, cluster_id, text_hash, version date, length)."""
    data = {
        "id": [r[0] for r in rows],
        "cluster_id": [r[1] for r in rows],
        "_text_hash": pa.array([r[2] for r in rows], pa.int64()),
        "_version_date": pa.array([r[3] for r in rows], TIMESTAMP),
        "_seen_date": pa.array([r[3] for r in rows], TIMESTAMP),
        "_dump_date": pa.array([None] * len(rows), TIMESTAMP),
        "_length": pa.array([r[4] for r in rows], pa.int64()),
        "dump": ["CC-MAIN-2024-22", "CC-MAIN-2024-22", "CC-MAIN-2023-06", None, None][: len(rows)],
    }
    if from_index is not None:
        data["_from_index"] = from_index
    return pa.table(data)


ROWS = [
    ("a", "a", 1, day(2019, 1, 1), 100),  # oldest version
    ("b", "a", 2, day(2021, 1, 1), 300),  # middle version, longest
    ("c", "a", 3, day(2023, 1, 1), 200),  # newest version
    ("d", "a", 3, day(2023, 1, 1), 200),  # exact copy of c
    ("e", "e", 4, None, 50),  # singleton, undated
]


def test_ranks_stale_and_exact() -> None:
    out = rank_versions(cluster(ROWS)).to_pydict()
    assert out["cluster_size"] == [4, 4, 4, 4, 1]
    assert out["version_rank"] == [2, 1, 0, 0, 0]
    assert out["is_stale"] == [True, True, False, False, False]
    assert out["staleness_days"] == [1461, 730, 0, 0, None]
    assert out["is_exact_dup"] == [False, False, False, True, False]
    assert out["_keep"] == [False, False, True, False, True]


@pytest.mark.parametrize(
    ("policy", "kept"),
    [
        ("newest", ["c", "e"]),
        ("oldest", ["a", "e"]),
        ("first-seen", ["a", "e"]),
        ("longest", ["b", "e"]),
        ("all", ["a", "b", "c", "d", "e"]),
    ],
)
def test_keeper_policies(policy: str, kept: list[str]) -> None:
    out = rank_versions(cluster(ROWS), policy).to_pydict()
    assert [i for i, k in zip(out["id"], out["_keep"], strict=True) if k] == kept


def test_index_rows_win_exact_ties_and_are_never_kept() -> None:
    rows = [
        ("a", "a", 3, day(2023, 1, 1), 200),
        ("b", "a", 3, day(2024, 1, 1), 200),
        ("c", "a", 1, day(2020, 1, 1), 90),
    ]
    out = rank_versions(cluster(rows, from_index=[True, False, False])).to_pydict()
    assert out["is_exact_dup"] == [False, True, False]  # b copies the indexed a
    assert out["_keep"] == [False, False, False]  # the resource's newest version is already kept
    assert out["is_stale"] == [False, False, True]  # a copies the newest version (b): not stale


def test_a_later_copy_of_the_indexed_newest_text_keeps_no_stale_version() -> None:
    """The index holds text 1 from 2020; this run has an older text 2 crawled in 2021 and a copy of text 1
    crawled in 2022. Newest kept text 2 (the newest row apart from the copy), a stale version, and dropped
    the copy: the index row competed with its own old date, not its text's newest copy."""
    rows = [
        ("x", "x", 1, day(2020, 1, 1), 100),
        ("y", "x", 2, day(2021, 1, 1), 100),
        ("z", "x", 1, day(2022, 1, 1), 100),
    ]
    out = rank_versions(cluster(rows, from_index=[True, False, False])).to_pydict()
    assert out["version_rank"] == [0, 1, 0] and out["is_stale"] == [False, True, False]
    assert out["is_exact_dup"] == [False, False, True]
    assert out["_keep"] == [False, False, False]  # the index already holds the newest version
    # without the index row, the copy of the newest version is kept
    alone = rank_versions(cluster(rows[1:], from_index=[False, False])).to_pydict()
    assert alone["_keep"] == [False, True]


def test_unknown_policy() -> None:
    with pytest.raises(ValueError, match="keep 'best'"):
        rank_versions(cluster(ROWS), "best")


def test_cluster_summary() -> None:
    summary = cluster_summary(rank_versions(cluster(ROWS))).to_pylist()
    assert summary == [
        {
            "cluster_id": "a",
            "size": 4,
            "versions": 3,
            "newest_created": day(2023, 1, 1),
            "oldest_created": day(2019, 1, 1),
            "dumps": ["CC-MAIN-2023-06", "CC-MAIN-2024-22"],
            "n_dumps": 2,
        }
    ]


def test_no_clustered_documents_rank_and_summarise_to_empty_tables() -> None:
    empty = cluster(ROWS).slice(0, 0)  # a corpus where no two documents share a cluster
    ranked = rank_versions(empty, "all")
    assert ranked.num_rows == 0 and ranked.schema.field("version_rank").type == pa.int32()
    assert {"cluster_size", "is_exact_dup", "is_stale", "staleness_days", "_keep"} <= set(ranked.schema.names)
    summary = cluster_summary(ranked)
    assert summary.num_rows == 0 and summary.schema.field("dumps").type == pa.list_(pa.string())


def test_cluster_summary_equals_a_plain_python_count() -> None:
    rng = np.random.default_rng(4)
    n = 400
    dumps = ["CC-MAIN-2024-22", "CC-MAIN-2019-04", "CC-MAIN-2021-10", None]
    when = [day(2015 + int(y), 1, 1) if y < 8 else None for y in rng.integers(0, 10, n)]
    ranked = pa.table(
        {
            "cluster_id": [f"c{int(c)}" for c in rng.integers(0, 60, n)],
            TEXT_HASH: rng.integers(0, 30, n),
            VERSION_DATE: pa.array(when, pa.timestamp("us", tz="UTC")),
            "dump": [dumps[int(i)] for i in rng.integers(0, 4, n)],
        }
    )
    expected: dict[str, dict] = {}
    for row in ranked.to_pylist():
        entry = expected.setdefault(
            row["cluster_id"], {"size": 0, "texts": set(), "dates": [], "dumps": set()}
        )
        entry["size"] += 1
        entry["texts"].add(row[TEXT_HASH])
        entry["dates"] += [row[VERSION_DATE]] if row[VERSION_DATE] else []
        entry["dumps"] |= {row["dump"]} if row["dump"] else set()
    summary = cluster_summary(ranked).to_pylist()
    assert [r["cluster_id"] for r in summary] == sorted(c for c, e in expected.items() if e["size"] >= 2)
    for r in summary:
        e = expected[r["cluster_id"]]
        assert (r["size"], r["versions"], r["n_dumps"]) == (e["size"], len(e["texts"]), len(e["dumps"]))
        assert r["dumps"] == sorted(e["dumps"])
        assert (r["newest_created"], r["oldest_created"]) == (
            max(e["dates"], default=None),
            min(e["dates"], default=None),
        )
