"""Rows that share an id across input files: every row is kept, the later ones by content hash renamed
`{id}~2`, ... (jobs.dedup_spark.rename_duplicate_ids). Dropping them lost half of a sharded dataset that
numbers each shard from 0, and counted exact copies as `duplicate_id` rejects instead of exact duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import functions as F

from corpus.reader_base import DUPLICATE_ID_RENAMED
from corpus.schema import conform
from dedup.versions import NOT_KEPT
from jobs import dedup_spark as dspark
from jobs.dedup import DedupJob, run_dedup
from tests.dedup.helpers import version_documents
from world.entities import invented_words

ADDED = datetime(2025, 1, 1, tzinfo=UTC)


def distinct_texts(n: int, seed: int) -> list[str]:
    """`n` texts of 80 words drawn from 3000 invented ones: no two are near-duplicates."""
    rng = np.random.default_rng(seed)
    words = invented_words(rng, 3000)
    return [" ".join(rng.choice(words, 80)) for _ in range(n)]


def write_shard(path: Path, ids: list[str], texts: list[str]) -> None:
    rows = [{"id": i, "text": t, "source": "train", "added": ADDED} for i, t in zip(ids, texts, strict=True)]
    table = pa.Table.from_pylist(rows)
    pq.write_table(pa.Table.from_batches([conform(b) for b in table.to_batches()]), path)


def test_rename_keeps_every_row_skips_given_ids_and_ignores_read_order(spark) -> None:
    rows = [("a", "one"), ("a", "two"), ("a", "three"), ("a~2", "given"), ("b", "bee"), ("c", "sea")]
    mappings = []
    for order, parts in ((rows, 1), (rows[::-1], 3)):
        df = spark.createDataFrame(order, "id string, text string").repartition(parts)
        renamed, n = dspark.rename_duplicate_ids(df)
        got = {r["id"]: r["text"] for r in renamed.collect()}
        assert n == 2 and renamed.count() == len(got) == len(rows)
        # the input's own a~2 keeps its id and text; the copies of `a` take the next free suffixes
        assert set(got) == {"a", "a~3", "a~4", "a~2", "b", "c"} and got["a~2"] == "given"
        assert sorted(got[i] for i in ("a", "a~3", "a~4")) == ["one", "three", "two"]
        mappings.append(got)
    assert mappings[0] == mappings[1]  # which row keeps `a` depends on the rows, not the order read
    unique = spark.createDataFrame([("x", "1"), ("y", "2")], "id string, text string")
    assert dspark.rename_duplicate_ids(unique) == (unique, 0)


def test_the_rename_does_not_depend_on_when_the_rows_were_ingested(spark) -> None:
    """`added` (the time ingest ran) was hashed with the content: re-ingesting a dataset whose shards reuse
    ids gave 98 of 200 documents other ids on every run, and the mixture another draw."""
    rows = [("a", f"text {i}") for i in range(12)]
    mappings = []
    for added in ("2024-01-01 00:00:00", "2025-06-30 12:34:56"):
        df = spark.createDataFrame(rows, "id string, text string").withColumn(
            "added", F.to_timestamp(F.lit(added))
        )
        renamed, n = dspark.rename_duplicate_ids(df)
        assert n == 11
        mappings.append({r["id"]: r["text"] for r in renamed.collect()})
    assert mappings[0] == mappings[1]


def test_null_ids_are_not_one_shared_id(spark) -> None:
    """Ten rows with a null id were grouped as one shared id: nine counted as renamed, all ten left null
    (`{null}~n` is null). A null id is shared with nobody: the rows pass unchanged and are not counted."""
    rows = [(None, f"text {i}") for i in range(10)] + [("a", "one"), ("a", "two")]
    df = spark.createDataFrame(rows, "id string, text string")
    renamed, n = dspark.rename_duplicate_ids(df)
    got = sorted(((r["id"] or ""), r["text"]) for r in renamed.collect())
    assert n == 1
    assert [t for i, t in got if i == ""] == sorted(f"text {i}" for i in range(10))
    assert sorted(i for i, _ in got if i) == ["a", "a~2"]
    only_nulls = spark.createDataFrame(rows[:10], "id string, text string")
    assert dspark.rename_duplicate_ids(only_nulls)[1] == 0


def test_two_shards_numbered_from_zero_keep_all_their_documents(spark, tmp_path: Path) -> None:
    """A HuggingFace-style dataset, each shard with ids 0..29: dedup kept 30 of its 60 distinct documents."""
    folder = tmp_path / "in"
    folder.mkdir()
    texts = distinct_texts(60, seed=1)
    ids = [str(i) for i in range(30)]
    write_shard(folder / "train-00000-of-00002.parquet", ids, texts[:30])
    write_shard(folder / "train-00001-of-00002.parquet", ids, texts[30:])
    stats = run_dedup(spark, [str(folder)], str(tmp_path / "out"), DedupJob())
    assert (stats.docs_in, stats.docs_out, stats.dropped) == (60, 60, {})
    assert stats.counters[DUPLICATE_ID_RENAMED] == 30 and stats.counters["exact_duplicates"] == 0
    written = pq.read_table(tmp_path / "out", columns=["id", "text", "cluster_size"]).to_pylist()
    assert sorted(r["id"] for r in written) == sorted(ids + [f"{i}~2" for i in ids])
    assert sorted(r["text"] for r in written) == sorted(texts)
    assert {r["cluster_size"] for r in written} == {1}


def test_an_exact_copy_under_the_same_id_is_an_exact_duplicate(spark, tmp_path: Path) -> None:
    """The same record in two files: one exact-duplicate cluster, the copy not kept as a duplicate (it was a
    `duplicate_id` reject, and the exact-duplicate count missed it)."""
    folder = tmp_path / "in"
    folder.mkdir()
    texts = distinct_texts(20, seed=2)
    ids = [f"doc-{i}" for i in range(20)]
    write_shard(folder / "a.parquet", ids, texts)
    write_shard(folder / "b.parquet", ids[:1], texts[:1])
    stats = run_dedup(spark, [str(folder)], str(tmp_path / "out"), DedupJob(keep="newest"))
    assert (stats.docs_in, stats.docs_out, stats.dropped) == (21, 20, {NOT_KEPT: 1})
    assert stats.counters[DUPLICATE_ID_RENAMED] == 1 and stats.counters["exact_duplicates"] == 1
    written = {r["id"]: r for r in pq.read_table(tmp_path / "out").to_pylist()}
    pair = [written[i] for i in ("doc-0", "doc-0~2") if i in written]
    assert len(written) == 20 and len(pair) == 1 and pair[0]["text"] == texts[0]
    assert pair[0]["cluster_size"] == 2 and not pair[0]["is_exact_dup"]
    clusters = pq.read_table(tmp_path / "out" / "_clusters").to_pylist()
    assert [(c["cluster_id"], c["size"]) for c in clusters] == [("doc-0", 2)]


def test_real_pages_sharing_an_id_are_kept_and_clustered_by_content(
    spark, data_dir: Path, tmp_path: Path
) -> None:
    """A record read twice and a different page under an id the input already has (real Wikipedia
    versions): both are kept under `{id}~2`; the copy is an exact duplicate in its article's cluster, the
    other page (same URL, another text) a version there."""
    documents = version_documents(data_dir, articles=6)
    ids = documents.column("id").to_pylist()
    copy = documents.slice(ids.index(sorted(ids)[0]), 1)
    other = documents.slice(ids.index(sorted(ids)[1]), 1)
    tide = "An unrelated page about tide tables."
    impostor = other.set_column(other.schema.get_field_index("text"), "text", pa.array([tide]))
    folder = tmp_path / "in"
    folder.mkdir()
    pq.write_table(documents, folder / "a.parquet")
    pq.write_table(pa.concat_tables([copy, impostor]), folder / "b.parquet")
    stats = run_dedup(spark, [str(folder)], str(tmp_path / "out"), DedupJob(keep="all"))
    n = documents.num_rows
    assert (stats.docs_in, stats.docs_out, stats.dropped) == (n + 2, n + 2, {}) and stats.balanced
    assert stats.counters[DUPLICATE_ID_RENAMED] == 2
    written = {r["id"]: r for r in pq.read_table(tmp_path / "out").to_pylist()}
    copied, other_id = copy.column("id")[0].as_py(), other.column("id")[0].as_py()
    assert set(written) == {*ids, f"{copied}~2", f"{other_id}~2"}
    twins = [written[copied], written[f"{copied}~2"]]
    assert twins[0]["text"] == twins[1]["text"] and twins[0]["cluster_id"] == twins[1]["cluster_id"]
    assert sorted(t["is_exact_dup"] for t in twins) == [False, True]
    pages = [written[other_id], written[f"{other_id}~2"]]
    assert {p["text"] for p in pages} == {other.column("text")[0].as_py(), tide}
    # the other page is a capture of the same URL: in the article's cluster, as a version, not a copy
    assert pages[0]["cluster_id"] == pages[1]["cluster_id"] and not any(p["is_exact_dup"] for p in pages)


def test_rows_without_an_id_get_their_stable_id_in_either_path(spark, tmp_path: Path) -> None:
    """A null id made dedup's driver path keep it null and its Spark path call the nulls one shared id."""
    from corpus.reader_base import stable_id
    from jobs.dedup_driver import ids_are_unique
    from jobs.langid import MISSING_ID_ASSIGNED

    folder = tmp_path / "in"
    folder.mkdir()
    texts = distinct_texts(6, seed=3)
    ids = [None, "", None, "d3", "d4", "d5"]
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "text": texts,
            "source": ["train"] * 6,
            "added": pa.array([ADDED] * 6, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    from jobs.stage import input_files

    assert not ids_are_unique(input_files([str(folder)]))  # so the Spark path, which assigns them, runs
    stats = run_dedup(spark, [str(folder)], str(tmp_path / "out"), DedupJob())
    assert stats.counters[MISSING_ID_ASSIGNED] == 3 and DUPLICATE_ID_RENAMED not in stats.counters
    written = {
        r["text"]: r["id"] for r in pq.read_table(tmp_path / "out", columns=["id", "text"]).to_pylist()
    }
    assert written == {t: (i or stable_id("train", None, t)) for i, t in zip(ids, texts, strict=True)}
