"""The Spark half of dedup: star edges, both component paths, Window ranking, determinism across
partitionings and reruns, the cross-dump index, and a 100k-document boilerplate bucket."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.schema import conform
from dedup.kernel import DedupConfig
from dedup.local import dedup_table, local_edges
from dedup.lsh import LshConfig
from dedup.minhash import SignatureConfig
from dedup.union_find import UnionFind
from jobs import dedup_spark as dspark
from jobs.dedup import DedupJob, run_dedup
from tests.dedup.helpers import version_documents

RESULT = ["id", "cluster_id", "cluster_size", "version_rank", "is_exact_dup", "is_stale", "staleness_days"]


@pytest.fixture(scope="module")
def versions_parquet(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("versions")
    pq.write_table(version_documents(data_dir), folder / "docs.parquet")
    return folder


def read_sorted(folder: Path) -> pa.Table:
    table = pq.read_table(folder)
    return table.sort_by("id")


def test_spark_components_equal_union_find_on_real_edges(spark, data_dir: Path) -> None:
    # Text-only banding at a low threshold gives a graph with many non-trivial components.
    config = DedupConfig(lsh=LshConfig(threshold=0.3, url_key=False))
    annotated = dedup_table(version_documents(data_dir, articles=15), config)
    ids, src, dst = local_edges(annotated)
    edges = spark.createDataFrame(
        pa.table(
            {"src": pa.array(ids[src].tolist(), pa.string()), "dst": pa.array(ids[dst].tolist(), pa.string())}
        )
    )
    uf = UnionFind()
    for a, b in zip(ids[src].tolist(), ids[dst].tolist(), strict=True):
        uf.union(a, b)
    expected = uf.roots()
    for limit, path in ((10**9, "local"), (0, "spark")):
        mapping, report = dspark.connected_components(spark, edges, max_local_edges=limit)
        assert report.path == path and report.edges == len(src) > 30
        got = {r["id"]: r["cluster_id"] for r in mapping.collect()}
        assert got == expected
    assert len(set(expected.values())) > 5


def test_spark_components_on_a_long_chain(spark) -> None:
    ids = [f"doc{i:04d}" for i in range(64)]
    order = np.random.default_rng(1).permutation(64)  # a path visiting ids in random order
    edges = spark.createDataFrame(
        [(ids[a], ids[b]) for a, b in itertools.pairwise(order)], "src string, dst string"
    )
    mapping, report = dspark.connected_components(spark, edges, max_local_edges=0)
    assert {r["cluster_id"] for r in mapping.collect()} == {"doc0000"} and report.rounds >= 2


def test_star_edges_broadcast_and_shuffle_joins_agree(spark, data_dir: Path) -> None:
    from dedup.kernel import KERNEL_FIELDS, dedup_kernel
    from jobs.stage import map_kernel

    config = DedupConfig(lsh=LshConfig(threshold=0.3))
    docs = spark.createDataFrame(version_documents(data_dir, articles=20))
    signed = map_kernel(docs, dedup_kernel(config), KERNEL_FIELDS).select("id", dspark.BUCKET_KEYS)
    buckets = dspark.bucket_rows(signed)
    as_set = lambda df: {(r["src"], r["dst"]) for r in df.collect()}  # noqa: E731
    broadcast = as_set(dspark.star_edges(buckets))
    shuffled = as_set(dspark.star_edges(buckets, broadcast_max_buckets=-1))
    assert broadcast == shuffled
    assert len(broadcast) > 50 and all(src > dst for src, dst in broadcast)


def test_a_bucket_of_100k_identical_documents(spark) -> None:
    n = 100_000
    rows = spark.range(n).selectExpr("format_string('id%06d', id) as id", "array(42L, id) as _bucket_keys")
    edges = dspark.star_edges(dspark.bucket_rows(rows))
    assert edges.count() == n - 1  # one star, not n^2/2 pairs
    assert edges.selectExpr("min(dst)", "max(dst)").first() == ("id000000", "id000000")


def test_job_matches_local_reference_and_is_deterministic(
    spark, versions_parquet: Path, data_dir: Path, tmp_path: Path
) -> None:
    outputs = []
    # "e" and "f" key the bucket shuffle with 4-bit node keys: ids collide, and the job must notice (in the
    # driver's naming and in Spark's) and fall back to string ids with the same result.
    for name, partitions, limit, bits in (
        ("a", 2, 10**9, 64),
        ("c", 7, 0, 64),
        ("d", 2, 10**9, 64),
        ("e", 7, 10**9, 4),
        ("f", 2, 0, 4),
    ):
        source = tmp_path / f"in-{name}"
        spark.read.parquet(str(versions_parquet)).repartition(partitions).write.parquet(str(source))
        out = tmp_path / f"out-{name}"
        job = DedupJob(keep="all", max_local_edges=limit, node_key_bits=bits)
        stats = run_dedup(spark, [str(source)], str(out), job)
        assert stats.docs_in == stats.docs_out == 572 and stats.balanced
        assert stats.counters.get("node_key_collisions", 0) == (1 if bits < 64 else 0)
        outputs.append(out)
    tables = [read_sorted(o) for o in outputs]
    for other in tables[1:]:
        assert other.select(RESULT).equals(tables[0].select(RESULT))
    # Byte-identical shards (same partitioning of the output whatever the input partitioning or path).
    files = [sorted(p.name for p in o.glob("part-*")) for o in outputs]
    assert all(names == files[0] for names in files)
    for name in files[0]:
        assert len({(output / name).read_bytes() for output in outputs}) == 1
    reference = dedup_table(version_documents(data_dir), DedupConfig(), "all")
    reference = reference.sort_by("id").select(RESULT)
    assert tables[0].select(RESULT).cast(reference.schema).equals(reference)
    assert json.loads((outputs[1] / "_dedup.json").read_text())["components"]["path"] == "spark"


def test_named_components_in_the_driver_and_in_spark_agree(spark) -> None:
    # node keys 1..4: two components {1, 2} and {3, 4}; "b" appears twice (one id in two input files)
    mapping = spark.createDataFrame([(1, 1), (2, 1), (3, 3), (4, 3)], "id long, cluster_id long")
    nodes = spark.createDataFrame(
        [(1, "d"), (2, "b"), (2, "b"), (3, "z"), (4, "a"), (9, "q")], "node long, id string"
    )
    expected = [("a", "a"), ("b", "b"), ("d", "b"), ("z", "a")]
    for local in (True, False):
        named = dspark.named_components(mapping, nodes, broadcast=True, local=local)
        assert sorted(named.collect()) == expected
    clashing = nodes.unionByName(spark.createDataFrame([(3, "y")], "node long, id string"))
    for local in (True, False):
        with pytest.raises(dspark.KeyCollision):
            dspark.named_components(mapping, clashing, broadcast=False, local=local)


@pytest.mark.parametrize("policy", ["newest", "oldest", "first-seen", "longest", "all"])
def test_window_ranking_equals_reference(spark, data_dir: Path, policy: str) -> None:
    reference = dedup_table(version_documents(data_dir, articles=25), DedupConfig(), policy)
    reference = reference.append_column("_from_index", pa.array([False] * reference.num_rows))
    narrow = reference.select(
        [
            "id",
            "cluster_id",
            "_text_hash",
            "_length",
            "_version_date",
            "_seen_date",
            "_dump_date",
            "_from_index",
        ]
    ).append_column("dump", pa.nulls(reference.num_rows, pa.string()))
    frame = dspark.narrow_frame(spark.createDataFrame(narrow.drop_columns(["cluster_id"])))
    frame = frame.join(spark.createDataFrame(narrow.select(["id", "cluster_id"])), "id")
    got = dspark.rank_versions(frame, policy).toArrow().sort_by("id")
    expected = reference.sort_by("id")
    for column in ["cluster_size", "version_rank", "is_exact_dup", "is_stale", "staleness_days", "_keep"]:
        assert got.column(column).to_pylist() == expected.column(column).to_pylist(), column


def test_rows_sharing_an_id(spark, versions_parquet: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run_dedup(spark, [str(versions_parquet)], str(clean), DedupJob(keep="newest"))
    documents = pq.read_table(versions_parquet)
    ids = documents.column("id").to_pylist()
    copy = documents.slice(ids.index(sorted(ids)[0]), 1)  # the same record read twice
    other = documents.slice(ids.index(sorted(ids)[1]), 1)
    impostor = other.set_column(  # a different page under an id the input already has
        other.schema.get_field_index("text"), "text", pa.array(["An unrelated page about tide tables."])
    )
    for name, extra, keep in (("copy", copy, "newest"), ("impostor", impostor, "all")):
        folder = tmp_path / f"in-{name}"
        folder.mkdir()
        pq.write_table(documents, folder / "a.parquet")
        pq.write_table(extra, folder / "b.parquet")
        out = tmp_path / f"out-{name}"
        stats = run_dedup(spark, [str(folder)], str(out), DedupJob(keep=keep))
        assert stats.docs_in == 573 and stats.dropped["duplicate_id"] == 1 and stats.balanced
        rejects = pq.read_table(out / "_rejects" / "rejects.parquet").to_pylist()
        assert [r["reject_reason"] for r in rejects] == ["duplicate_id"]
        assert rejects[0]["id"] == extra.column("id")[0].as_py()
        assert rejects[0]["reject_input"].endswith(".parquet")
        written = pq.read_table(out, columns=["id", "text"])
        assert len(set(written.column("id").to_pylist())) == written.num_rows
        if name == "copy":  # a record read twice changes nothing but the reject count
            for part in sorted(clean.glob("part-*")):
                assert (out / part.name).read_bytes() == part.read_bytes()
        else:  # every document but one stays; of the two texts under the shared id, exactly one is written
            assert stats.docs_out == 572
            row = written.filter(pc.equal(written.column("id"), rejects[0]["id"])).to_pylist()
            texts = {other.column("text")[0].as_py(), impostor.column("text")[0].as_py()}
            assert len(row) == 1 and {row[0]["text"], rejects[0]["text"]} == texts


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


def test_index_across_dumps(spark, data_dir: Path, tmp_path: Path) -> None:
    docs = version_documents(data_dir, articles=30).to_pylist()
    newest = {d["resource"]: d for d in docs}  # the last version of each article wins in the dict
    old = [dict(d, dump="CC-MAIN-2019-04") for d in docs if d is not newest[d["resource"]]]
    new = [dict(d, dump="CC-MAIN-2024-22") for d in newest.values()]
    # The new dump also has a re-crawl of the version kept from dump 1 (same text, dated by `created` to
    # when it was written): an exact copy of an indexed document, and stale.
    kept_old = [d for d in old if d["resource"] == old[0]["resource"]][-1]
    new.append(
        dict(
            kept_old,
            id="recrawl-of-old",
            dump="CC-MAIN-2024-22",
            crawl_date=datetime(2024, 5, 20, tzinfo=UTC),
            created=kept_old["crawl_date"],
        )
    )
    for name, rows in (("dump1", old), ("dump2", new)):
        (tmp_path / name).mkdir()
        table = pa.Table.from_pylist(rows)
        pq.write_table(
            pa.Table.from_batches([conform(b) for b in table.to_batches()]), tmp_path / name / "d.parquet"
        )
    index = str(tmp_path / "index")
    first = run_dedup(spark, [str(tmp_path / "dump1")], str(tmp_path / "out1"), DedupJob(index=index))
    assert first.docs_out == 30 and first.counters["index_documents"] == 30
    second = run_dedup(
        spark, [str(tmp_path / "dump2")], str(tmp_path / "out2"), DedupJob(index=index, keep="all")
    )
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out2").to_pylist()}
    copy = out["recrawl-of-old"]
    assert copy["is_exact_dup"] and copy["is_stale"] and copy["version_rank"] > 0
    latest = [out[d["id"]] for d in newest.values()]
    assert all(r["version_rank"] == 0 and not r["is_stale"] and r["cluster_size"] > 1 for r in latest)
    for r in latest:  # the cluster is named by the indexed (dump 1) version, the smallest id present
        title, k = r["id"].rsplit("/", 1)
        assert r["cluster_id"] == f"{title}/{int(k) - 1}"
    assert second.counters["index_documents"] == 30 + 31
    summary = pq.read_table(tmp_path / "out2" / "_clusters").to_pylist()
    assert {tuple(r["dumps"]) for r in summary} == {("CC-MAIN-2019-04", "CC-MAIN-2024-22")}
    with pytest.raises(ValueError, match="num_perm"):
        run_dedup(
            spark,
            [str(tmp_path / "dump2")],
            str(tmp_path / "out3"),
            DedupJob(
                index=index,
                config=DedupConfig(signature=SignatureConfig(num_perm=64)),
            ),
        )


def test_bad_documents_in_a_job(spark, tmp_path: Path) -> None:
    added = datetime(2026, 1, 1, tzinfo=UTC)
    boiler = "Accept cookies to continue. Privacy policy. Terms of use. Contact us."
    rows = [{"id": f"b{i:05d}", "text": boiler, "source": "t", "added": added} for i in range(3000)]
    rows += [
        {"id": "empty1", "text": "", "source": "t", "added": added},
        {"id": "empty2", "text": "   ", "source": "t", "added": added},
        {"id": "word", "text": "hello", "source": "t", "added": added},
        {"id": "huge", "text": "lorem ipsum " * 200_000, "source": "t", "added": added},
    ]
    table = pa.Table.from_pylist(rows)
    (tmp_path / "in").mkdir()
    pq.write_table(
        pa.Table.from_batches([conform(b) for b in table.to_batches()]), tmp_path / "in" / "d.parquet"
    )
    stats = run_dedup(spark, [str(tmp_path / "in")], str(tmp_path / "out"), DedupJob(keep="all"))
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert stats.docs_in == stats.docs_out == 3004
    assert out["b00042"]["cluster_id"] == "b00000" and out["b00042"]["cluster_size"] == 3000
    assert sum(r["is_exact_dup"] for r in out.values()) == 2999 + 1  # boilerplate copies + one empty text
    assert out["empty2"]["cluster_id"] == "empty1" and out["word"]["cluster_size"] == 1
    assert out["huge"]["cluster_size"] == 1 and stats.counters["documents_without_shingles"] == 2
