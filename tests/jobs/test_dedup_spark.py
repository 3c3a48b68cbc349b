"""The Spark half of dedup: star edges, both component paths, determinism across partitionings and reruns,
the cross-dump index, and a 100k-document boilerplate bucket (Window ranking: test_dedup_spark_versions)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml
from pyspark.sql import functions as F

from corpus.schema import conform
from dedup.kernel import BAND_KEYS, HOST_KEY, URL_KEY, DedupConfig
from dedup.local import dedup_table
from dedup.lsh import candidate_pairs, url_star_rows
from dedup.lsh import star_edges as lsh_star_edges
from dedup.minhash import SignatureConfig
from dedup.versions import TEXT_HASH
from jobs import dedup_spark as dspark
from jobs.dedup import DedupJob, run_dedup
from tests.dedup.helpers import template_pages, version_documents, wrapped_copies
from tests.shared_data import SHARED_DATA

RESULT = ["id", "cluster_id", "cluster_size", "version_rank", "is_exact_dup", "is_stale", "staleness_days"]


def read_sorted(folder: Path) -> pa.Table:
    table = pq.read_table(folder)
    return table.sort_by("id")


def test_candidate_pairs_and_url_stars_equal_the_reference(spark) -> None:
    rng = np.random.default_rng(3)
    keys, nodes = rng.integers(0, 40, 2000), rng.integers(0, 300, 2000) * 7919 - 10**6
    rows = spark.createDataFrame(pa.table({"key": pa.array(keys), "id": pa.array(nodes)}))
    # The same rows as texts with band key lists: one list per row, and several rows per text.
    texts = rows.select(F.array("key").alias(BAND_KEYS), F.col("id").alias(TEXT_HASH))
    as_set = lambda df: {(r["src"], r["dst"]) for r in df.collect()}  # noqa: E731
    for anchors in (1, 4):
        expected = set(zip(*(a.tolist() for a in candidate_pairs(keys, nodes, anchors)), strict=True))
        for partitions in (1, 3):
            assert as_set(dspark.candidate_pairs(texts, anchors, partitions)) == expected
    stars = set(zip(*(a.tolist() for a in lsh_star_edges(keys, nodes)), strict=True))
    assert (
        as_set(dspark.star_edges(rows)) == as_set(dspark.star_edges(rows, broadcast_max_buckets=-1)) == stars
    )


def test_url_star_rows_equal_the_reference(spark) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    keys, nodes = rng.integers(0, 40, n), rng.integers(0, 500, n)
    hosts = keys // 8  # a host holds 8 keys
    table = pa.table({URL_KEY: pa.array(keys), HOST_KEY: pa.array(hosts), TEXT_HASH: pa.array(nodes)})
    rows = spark.createDataFrame(table)
    expected = set(zip(*(a.tolist() for a in url_star_rows(keys, hosts, nodes)), strict=True))
    got = [(r["key"], r["id"]) for r in dspark.url_rows(rows).collect()]
    assert len(got) == len(expected) and set(got) == expected


def test_a_bucket_of_100k_texts_gives_linear_pairs(spark) -> None:
    n = 100_000  # distinct texts sharing one band (a site-wide template): k x anchors pairs, not k^2 / 2
    texts = spark.range(n).select(
        F.array(F.lit(42).cast("long")).alias(BAND_KEYS), F.col("id").alias(TEXT_HASH)
    )
    pairs = dspark.candidate_pairs(texts, anchors=8, partitions=2)
    assert pairs.count() == 8 * n - 36
    assert pairs.selectExpr("min(dst)", "max(dst)").first() == (0, 7)


def _determinism_inputs(spark, folder: Path) -> Path:
    """Template pages (made here: a light template, and a site made mostly of its template, whose pages only
    the same-host threshold keeps apart) plus the real Wikipedia versions where the shared samples exist."""
    tables = [template_pages(), template_pages(template_words=400, site="heavy")]
    if SHARED_DATA.is_dir():
        tables.append(version_documents(SHARED_DATA).select(tables[0].column_names))
    folder.mkdir()
    pq.write_table(pa.concat_tables(tables), folder / "docs.parquet")
    return folder


def test_job_matches_local_reference_and_is_deterministic(spark, tmp_path: Path) -> None:
    documents = _determinism_inputs(spark, tmp_path / "docs")
    n = pq.read_metadata(documents / "docs.parquet").num_rows
    outputs = []
    # 2 and 7 input partitions; the driver path, the Spark path with components found in the driver and
    # in Spark; and a rerun.
    for name, partitions, documents_limit, edges_limit in (
        ("a", 2, 10**9, 10**9),
        ("b", 7, 0, 0),
        ("c", 2, 0, 10**9),
        ("d", 7, 10**9, 10**9),
    ):
        source = tmp_path / f"in-{name}"
        spark.read.parquet(str(documents)).repartition(partitions).write.parquet(str(source))
        out = tmp_path / f"out-{name}"
        job = DedupJob(
            keep="all",
            max_local_edges=edges_limit,
            max_local_documents=documents_limit,
            rows_per_shard=max(1, n // 4),  # several shards, so that the partitioning shows
        )
        stats = run_dedup(spark, [str(source)], str(out), job)
        assert stats.docs_in == stats.docs_out == n and stats.balanced
        outputs.append(out)
    tables = [read_sorted(o) for o in outputs]
    for other in tables[1:]:
        assert other.select(RESULT).equals(tables[0].select(RESULT))
    heavy = tables[0].filter(pc.starts_with(tables[0].column("id"), "heavy/"))
    assert pc.count_distinct(heavy.column("cluster_id")).as_py() == 60  # page 0's 4 documents, 59 alone
    # The same shards whatever the input partitioning or the path: the same rows in the same order, and the
    # same schema with Spark's metadata. The bytes are equal within a path; across paths they are not, as
    # the Spark path's files are parquet-mr's and the driver path's pyarrow's (jobs.stage_arrow).
    files = [sorted(p.name for p in o.glob("part-*")) for o in outputs]
    assert all(names == files[0] for names in files) and len(files[0]) > 1
    for name in files[0]:
        shards = [pq.read_table(output / name) for output in outputs]
        assert all(shard.equals(shards[0], check_metadata=True) for shard in shards[1:])
        assert (outputs[0] / name).read_bytes() == (outputs[3] / name).read_bytes()  # driver path, twice
        assert (outputs[1] / name).read_bytes() == (outputs[2] / name).read_bytes()  # Spark path, twice
    spark_schemas = {spark.read.parquet(str(output)).schema.json() for output in outputs}
    assert len(spark_schemas) == 1
    reference = dedup_table(pq.read_table(documents), DedupConfig(), "all").sort_by("id").select(RESULT)
    assert tables[0].select(RESULT).cast(reference.schema).equals(reference)
    reports = [json.loads((o / "_dedup.json").read_text())["components"] for o in outputs]
    assert [r["path"] for r in reports] == ["driver", "spark", "local", "driver"]
    assert reports[1]["candidates"] > reports[1]["verified"] > 0
    assert reports[0]["template_hosts"] == 1  # the heavy site's
    for report in reports[1:]:
        counts = ("candidates", "verified", "url_edges", "edges", "template_hosts")
        assert {k: report[k] for k in counts} == {k: reports[0][k] for k in counts}
    summaries = [pq.read_table(o / "_clusters") for o in outputs]
    # Equal with their metadata too: both paths' files carry Spark's schema and row metadata.
    assert all(summary.equals(summaries[0], check_metadata=True) for summary in summaries[1:])
    # each site's page 0 is one cluster of 4 documents; each Wikipedia article one of its versions
    assert len(set(tables[0].column("cluster_id").to_pylist())) == n - 2 * 3 - (
        472 if SHARED_DATA.is_dir() else 0
    )


def _write_docs(folder: Path, rows: list[dict]) -> str:
    folder.mkdir()
    table = pa.Table.from_pylist(rows)
    pq.write_table(pa.Table.from_batches([conform(b) for b in table.to_batches()]), folder / "d.parquet")
    return str(folder)


BOTH_PATHS = pytest.mark.parametrize("max_local_documents", [10**9, 0], ids=["driver", "spark"])


@BOTH_PATHS
def test_exact_copies_without_edges_form_one_cluster_named_by_the_smallest_id(
    spark, tmp_path: Path, max_local_documents: int
) -> None:
    added = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": "z",
            "text": "one two three four five six",
            "source": "t",
            "added": added,
            "url": "https://a.org/1",
        },
        {
            "id": "m",
            "text": "One two, three four five six!",
            "source": "t",
            "added": added,
            "url": "https://b.org/2",
        },
        {
            "id": "q",
            "text": "seven eight nine ten eleven",
            "source": "t",
            "added": added,
            "url": "https://a.org/1",
        },
        {"id": "k", "text": "something else entirely here", "source": "t", "added": added, "url": None},
    ]
    (tmp_path / "in").mkdir()
    table = pa.Table.from_pylist(rows)
    pq.write_table(
        pa.Table.from_batches([conform(b) for b in table.to_batches()]), tmp_path / "in" / "d.parquet"
    )
    job = DedupJob(keep="all", max_local_documents=max_local_documents)
    run_dedup(spark, [str(tmp_path / "in")], str(tmp_path / "out"), job)
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out").to_pylist()}
    # z and m: the same normalised text; q: the same URL as z. One cluster, named "m"; k alone.
    assert {i: out[i]["cluster_id"] for i in "zmqk"} == {"z": "m", "m": "m", "q": "m", "k": "k"}
    assert out["z"]["is_exact_dup"] != out["m"]["is_exact_dup"] and out["z"]["cluster_size"] == 3


@BOTH_PATHS
def test_a_soft_404_joins_no_resources_in_one_run_or_across_an_index(
    spark, tmp_path: Path, max_local_documents: int
) -> None:
    # One "not found" text at three URLs of a site: each URL's own page stays its own cluster.
    missing = "Sorry, the page you are looking for could not be found on this site."
    pages = {
        "x": "a guide to tide tables and harbour times for small boats",
        "y": "the history of the lighthouse keepers on the northern islands",
        "z": "recipes for bread baked in a wood fired oven with rye flour",
        "w": "a walk along the cliffs from the harbour to the old lighthouse",
    }

    def doc(path: str, n: int, body: str, day: int) -> dict:
        crawled = datetime(2024, 1, day, tzinfo=UTC)
        url = f"https://site.org/{path}"
        return {
            "id": f"{path}{n}",
            "text": body,
            "source": "t",
            "added": crawled,
            "url": url,
            "crawl_date": crawled,
        }

    first = [doc(p, 1, pages[p], 1 + i) for i, p in enumerate("xyz")]
    first += [doc(p, 2, missing, 10 + i) for i, p in enumerate("xyz")]
    index = str(tmp_path / "index")
    job = DedupJob(keep="newest", index=index, max_local_documents=max_local_documents)
    run_dedup(spark, [_write_docs(tmp_path / "in1", first)], str(tmp_path / "out1"), job)
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out1").to_pylist()}
    assert {i: r["cluster_id"] for i, r in out.items()} == {"x1": "x1", "y1": "y1", "z1": "z1", "z2": "x2"}
    # A later dump sees the text at one more URL of the site only: the index remembers it is the site's
    # boilerplate, so it joins w's page to none of the indexed pages (before: two URL keys, a bridge).
    second = [doc("w", 1, pages["w"], 20), doc("w", 2, missing, 21)]
    run_dedup(
        spark, [_write_docs(tmp_path / "in2", second)], str(tmp_path / "out2"), replace(job, keep="all")
    )
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out2").to_pylist()}
    assert out["w1"]["cluster_id"] == "w1" and out["w1"]["cluster_size"] == 1 and not out["w1"]["is_stale"]
    # w2 is a copy of the indexed "not found" text: it joins that cluster under the id dump 1 gave it
    assert out["w2"]["cluster_id"] == "x2" and out["w2"]["cluster_size"] == 2 and out["w2"]["is_exact_dup"]


@BOTH_PATHS
def test_a_parked_page_on_many_hosts_joins_none_of_their_homepages(
    spark, tmp_path: Path, max_local_documents: int
) -> None:
    """60 domains, each captured once parked and once with its own homepage: the parked text joined every
    homepage into one cluster of 120, and keep-newest dropped the homepages crawled before their parking."""
    from dedup.lsh import URL_HUB_HOSTS

    parked = "This domain may be for sale. Buy this domain today from the registrar of your choice."
    words = ["harbour", "bakery", "lighthouse", "ferry", "orchard", "museum", "garden", "library", "market"]
    docs = []
    for n in range(URL_HUB_HOSTS + 10):
        home = " ".join(f"{words[(n + k) % len(words)]}{n}x{k}" for k in range(30))
        crawled = [datetime(2019, 1, 1 + n % 28, tzinfo=UTC), datetime(2023, 1, 1 + n % 28, tzinfo=UTC)]
        texts = [parked, home] if n % 2 else [home, parked]  # half parked first, half after
        for k in range(2):
            docs.append(
                {
                    "id": f"h{n}-{k}",
                    "text": texts[k],
                    "source": "t",
                    "added": crawled[k],
                    "url": f"https://domain{n}.example/",
                    "crawl_date": crawled[k],
                }
            )
    job = DedupJob(keep="newest", max_local_documents=max_local_documents)
    run_dedup(spark, [_write_docs(tmp_path / "in", docs)], str(tmp_path / "out"), job)
    out = pq.read_table(tmp_path / "out").to_pylist()
    homes = {d["id"] for d in docs if d["text"] != parked}
    assert homes <= {r["id"] for r in out}  # every homepage kept, whenever it was crawled
    assert max(r["cluster_size"] for r in out) == URL_HUB_HOSTS + 10  # the parked copies, one cluster
    assert len(out) == len(homes) + 1


@BOTH_PATHS
def test_index_across_dumps(spark, data_dir: Path, tmp_path: Path, max_local_documents: int) -> None:
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
    job = DedupJob(index=index, max_local_documents=max_local_documents)
    first = run_dedup(spark, [str(tmp_path / "dump1")], str(tmp_path / "out1"), job)
    assert first.docs_out == 30 and first.counters["index_documents"] == 30
    second = run_dedup(spark, [str(tmp_path / "dump2")], str(tmp_path / "out2"), replace(job, keep="all"))
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out2").to_pylist()}
    copy = out["recrawl-of-old"]
    assert copy["is_exact_dup"] and copy["is_stale"] and copy["version_rank"] > 0
    latest = [out[d["id"]] for d in newest.values()]
    assert all(r["version_rank"] == 0 and not r["is_stale"] and r["cluster_size"] > 1 for r in latest)
    # A resource keeps the cluster id dump 1 gave it (its smallest id then), not the smallest id present
    # now: that changed whenever a new document's id was smaller, and the dumps' clusters could not be joined.
    named = {r["id"].rsplit("/", 1)[0]: r["cluster_id"] for r in pq.read_table(tmp_path / "out1").to_pylist()}
    assert all(cluster == f"{title}/0" for title, cluster in named.items())
    for r in latest:
        assert r["cluster_id"] == named[r["id"].rsplit("/", 1)[0]]
    assert second.counters["index_documents"] == 30 + 31
    stored = pq.read_table(index).to_pylist()
    assert all(row["cluster_id"] == named[row["id"].rsplit("/", 1)[0]] for row in stored if "/" in row["id"])
    third = [dict(d, id=f"0-copy-{i}", dump="CC-MAIN-2025-05") for i, d in enumerate(newest.values())]
    (tmp_path / "dump3").mkdir()  # copies under ids smaller than any before
    table = pa.Table.from_pylist(third)
    pq.write_table(
        pa.Table.from_batches([conform(b) for b in table.to_batches()]), tmp_path / "dump3" / "d.parquet"
    )
    run_dedup(spark, [str(tmp_path / "dump3")], str(tmp_path / "out3"), replace(job, keep="all"))
    copies = pq.read_table(tmp_path / "out3").to_pylist()
    resource_of = {f"0-copy-{i}": d["id"].rsplit("/", 1)[0] for i, d in enumerate(newest.values())}
    assert len(copies) == 30 and all(r["cluster_id"] == named[resource_of[r["id"]]] for r in copies)
    summary = pq.read_table(tmp_path / "out2" / "_clusters").to_pylist()
    assert {tuple(r["dumps"]) for r in summary} == {("CC-MAIN-2019-04", "CC-MAIN-2024-22")}
    with pytest.raises(ValueError, match="num_perm"):
        run_dedup(
            spark,
            [str(tmp_path / "dump2")],
            str(tmp_path / "out5"),
            replace(job, config=DedupConfig(signature=SignatureConfig(num_perm=64))),
        )
    with pytest.raises(ValueError, match="scheme"):
        run_dedup(
            spark,
            [str(tmp_path / "dump2")],
            str(tmp_path / "out4"),
            replace(job, config=DedupConfig(signature=SignatureConfig(scheme="datasketch"))),
        )


@BOTH_PATHS
def test_a_document_joining_two_indexed_clusters_and_an_index_of_before_cluster_ids(
    spark, tmp_path: Path, max_local_documents: int
) -> None:
    """A later document that joins two indexed clusters names the whole by the smaller of their ids; an
    index written before rows kept their cluster id reads each row as its own id (what its run named it)."""
    texts = {
        "k": "the harbour master keeps the tide tables for small boats in the old customs house",
        "m": "the lighthouse keepers kept a log of every ship that passed the northern islands",
    }

    def doc(doc_id: str, url: str, text: str, day: int) -> dict:
        crawled = datetime(2024, 1, day, tzinfo=UTC)
        return {
            "id": doc_id,
            "text": text,
            "source": "t",
            "added": crawled,
            "url": url,
            "crawl_date": crawled,
        }

    first = [doc("k1", "https://a.org/k", texts["k"], 1), doc("m1", "https://b.org/m", texts["m"], 2)]
    job = DedupJob(keep="all", index=str(tmp_path / "index"), max_local_documents=max_local_documents)
    run_dedup(spark, [_write_docs(tmp_path / "in1", first)], str(tmp_path / "out1"), job)
    assert pq.read_table(tmp_path / "index", columns=["id", "cluster_id"]).sort_by("id").to_pylist() == [
        {"id": "k1", "cluster_id": "k1"},
        {"id": "m1", "cluster_id": "m1"},
    ]
    # m's text at k's URL: one URL key with k1, the same text as m1
    bridge = [doc("0-bridge", "https://a.org/k", texts["m"], 20)]
    run_dedup(spark, [_write_docs(tmp_path / "in2", bridge)], str(tmp_path / "out2"), job)
    (row,) = pq.read_table(tmp_path / "out2").to_pylist()
    assert row["cluster_id"] == "k1" and row["cluster_size"] == 3
    stored = pq.read_table(tmp_path / "index", columns=["id", "cluster_id"]).sort_by("id").to_pylist()
    # rows keep the id the run that added them gave (a rerun of dump 2 finds dump 1's rows as it left them)
    assert [(r["id"], r["cluster_id"]) for r in stored] == [("0-bridge", "k1"), ("k1", "k1"), ("m1", "m1")]
    for part in (tmp_path / "index").glob("*.parquet"):  # as an index written before cluster ids
        pq.write_table(pq.read_table(part).drop_columns(["cluster_id"]), part)
    later = [doc("0-copy", "https://c.org/copy", texts["m"], 25)]
    run_dedup(spark, [_write_docs(tmp_path / "in3", later)], str(tmp_path / "out3"), job)
    (row,) = pq.read_table(tmp_path / "out3").to_pylist()
    assert row["cluster_id"] == "0-bridge"  # the smallest own id among the before-index rows it joins


@BOTH_PATHS
def test_bad_documents_in_a_job(spark, tmp_path: Path, max_local_documents: int) -> None:
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
    job = DedupJob(keep="all", max_local_documents=max_local_documents)
    stats = run_dedup(spark, [str(tmp_path / "in")], str(tmp_path / "out"), job)
    out = {r["id"]: r for r in pq.read_table(tmp_path / "out").to_pylist()}
    assert stats.docs_in == stats.docs_out == 3004
    assert out["b00042"]["cluster_id"] == "b00000" and out["b00042"]["cluster_size"] == 3000
    assert sum(r["is_exact_dup"] for r in out.values()) == 2999 + 1  # boilerplate copies + one empty text
    assert out["empty2"]["cluster_id"] == "empty1" and out["word"]["cluster_size"] == 1
    assert out["huge"]["cluster_size"] == 1 and stats.counters["documents_without_shingles"] == 2


def test_both_paths_write_the_same_rows_from_awkward_inputs(spark, tmp_path: Path) -> None:
    """The driver path's Arrow output pass against the Spark path's join and write, on inputs it must read as
    Spark does: files of different schemas (the first without `created` and `url`), a file of several row
    groups, dedup columns left from an earlier run (to be replaced), an all-null `dump`, exact copies under
    other ids, and keep=newest (the rows not kept are filtered out)."""
    pages = template_pages()
    copies = pages.slice(30, 6)
    copies = copies.set_column(0, "id", pa.array([f"copy/{i}" for i in range(copies.num_rows)]))
    pages = pa.concat_tables([pages, copies])
    n = pages.num_rows
    earlier = {
        "cluster_id": pa.array(["stale"] * n),
        "cluster_size": pa.array([99] * n, pa.int64()),
        "staleness_days": pa.array([-1] * n, pa.int32()),
        "dump": pa.nulls(n, pa.string()),
    }
    for name, values in earlier.items():
        pages = pages.set_column(pages.schema.get_field_index(name), name, values)
    folder = tmp_path / "docs"
    folder.mkdir()
    pq.write_table(pages.slice(0, 20).drop_columns(["created", "url"]), folder / "a.parquet")
    pq.write_table(pages.slice(20), folder / "b.parquet", row_group_size=9)
    outputs = []
    for name, limit in (("driver", 10**9), ("spark", 0)):
        out = tmp_path / name
        job = DedupJob(keep="newest", max_local_documents=limit, rows_per_shard=15)
        stats = run_dedup(spark, [str(folder)], str(out), job)
        path = json.loads((out / "_dedup.json").read_text())["components"]["path"]
        assert (path == "driver") == (name == "driver")
        assert stats.balanced and stats.dropped.get("dedup_not_kept", 0) > 0
        outputs.append(out)
    names = sorted(p.name for p in outputs[0].glob("part-*"))
    assert len(names) > 1 and names == sorted(p.name for p in outputs[1].glob("part-*"))
    for part in names:
        driver, spark_side = (pq.read_table(o / part) for o in outputs)
        assert driver.equals(spark_side, check_metadata=True), part
    written = read_sorted(outputs[0])
    assert "stale" not in written.column("cluster_id").to_pylist()
    assert max(written.column("cluster_size").to_pylist()) < 99
    stats = [json.loads((o / "_stats.json").read_text()) for o in outputs]
    for key in ("docs_in", "docs_out", "dropped", "counters"):
        assert stats[0][key] == stats[1][key], key


def _site_cases() -> pa.Table:
    """A site made mostly of its template; a site of distinct pages whose one page is also crawled under four
    more paths with a line changed (near-copies, the site's only near-duplicates); a page of a third
    template-heavy site copied by 16 other hosts (its text has more hosts than a text's set keeps); and three
    pages of the first site copied by a cache that wraps them in its own banner (texts carrying its template)."""
    heavy, news = template_pages(template_words=400, site="heavy"), template_pages(pages=30, site="news")
    wide = template_pages(pages=6, template_words=400, site="wide")
    extra = []
    for k, (base, source) in enumerate([("news/page003/0", news)] * 4 + [("wide/page001/0", wide)] * 16):
        row = source.filter(pc.equal(source.column("id"), base)).to_pylist()[0]
        words = row["text"].split(" ")
        if base.startswith("news"):
            words[40 + 3 * k] = f"ticker{k}"
            row["url"] = f"https://news.example/home/{k}"
        else:
            row["url"] = f"https://copy{k:02d}.example/wide/1"
        extra.append({**row, "id": f"{base}/copy{k}", "text": " ".join(words)})
    copies = pa.Table.from_pylist(extra, schema=heavy.schema)
    wrapped = wrapped_copies(heavy, [f"heavy/page{p:03d}/0" for p in (1, 2, 3)], "cache.example")
    return pa.concat_tables([heavy, news, wide, copies, wrapped])


def test_template_heavy_hosts_are_decided_alike_on_both_paths(spark, tmp_path: Path) -> None:
    documents = tmp_path / "docs"
    documents.mkdir()
    pq.write_table(_site_cases(), documents / "docs.parquet")
    tables, reports = [], []
    for name, limit in (("driver", 10**9), ("spark", 0)):
        out = tmp_path / name
        job = DedupJob(keep="all", max_local_documents=limit, max_local_edges=limit)
        run_dedup(spark, [str(documents)], str(out), job)
        tables.append(read_sorted(out).select(RESULT))
        reports.append(json.loads((out / "_dedup.json").read_text())["components"])
    assert tables[1].equals(tables[0])
    assert reports[0]["template_hosts"] == reports[1]["template_hosts"] == 2  # heavy and wide, not news
    # the cache's 3 copies carry heavy's template, and heavy's other pages wide's: the two made-up sites
    # share one template and their first six pages' texts, so both serve those texts
    assert reports[0]["template_carriers"] == reports[1]["template_carriers"] == 57
    cluster = dict(zip(*(tables[0].column(c).to_pylist() for c in ("id", "cluster_id")), strict=True))
    assert len({cluster[f"news/page003/0/copy{k}"] for k in range(4)} | {cluster["news/page003/0"]}) == 1
    heavy = [c for i, c in cluster.items() if i.startswith("heavy/")]
    assert len(set(heavy)) == 60  # page 0's 4 documents, 59 pages alone
    assert all(
        cluster[f"cache.example/heavy/page{p:03d}/0"] == cluster[f"heavy/page{p:03d}/0"] for p in (1, 2, 3)
    )


@BOTH_PATHS
def test_a_dump_deduplicated_again_sees_the_index_as_it_was_before_it(
    spark, data_dir: Path, tmp_path: Path, max_local_documents: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three dumps deduplicated in turn by a pipeline through one index; dump 2's input then loses 8
    documents. Its rerun read an index that still held them, and dump 3's rows: it kept fewer documents than
    a run from scratch, and texts were in no output. Now each rerun leaves out what it and the later runs
    added, and the pipeline ends as a run from scratch on the same inputs does. The run from scratch takes the
    driver path (both paths write the same rows: test_job_matches_local_reference_and_is_deterministic), and
    the index journal's own steps after it (--from, --until) run on the driver path only: they are the same
    driver code whichever path found the clusters, and each Spark-path run costs about 10 s on 2 cores."""
    from jobs.pipeline import load_pipeline, run_pipeline

    docs = version_documents(data_dir, articles=20).drop_columns(["resource"])
    version = np.array([int(i.rsplit("/", 1)[1]) for i in docs.column("id").to_pylist()])
    inputs = []
    for dump in range(3):  # dump d holds versions d, d+3, ... of every article
        folder = tmp_path / f"dump{dump}"
        folder.mkdir()
        pq.write_table(docs.filter(pa.array(version % 3 == dump)), folder / "d.parquet")
        inputs.append(folder)

    def pipeline(out: Path, local: int = max_local_documents) -> list[str]:
        index = str(out / "index")
        stages = [
            {
                "name": f"d{i}",
                "kind": "dedup",
                "input": str(f),
                "keep": "all",
                "index": index,
                "max_local_documents": local,
            }
            for i, f in enumerate(inputs)
        ]
        path = out.with_suffix(".yaml")
        path.write_text(yaml.safe_dump({"output": str(out), "stages": stages}))
        return [o.status for o in run_pipeline(load_pipeline(path))]

    def result(out: Path) -> list[tuple]:
        rows = pa.concat_tables([pq.read_table(out / f"d{i}") for i in range(3)]).to_pylist()
        return sorted((r["id"], r["cluster_id"], r["is_stale"], r["is_exact_dup"]) for r in rows)

    assert pipeline(tmp_path / "run") == ["ran", "ran", "ran"]
    second = pq.read_table(inputs[1] / "d.parquet")
    pq.write_table(second.slice(0, second.num_rows - 8), inputs[1] / "d.parquet")
    assert pipeline(tmp_path / "run") == ["skipped", "ran", "ran"]
    assert pipeline(tmp_path / "scratch", local=10**9) == ["ran", "ran", "ran"]
    assert result(tmp_path / "run") == result(tmp_path / "scratch")
    index = {n: pq.read_table(tmp_path / n / "index").sort_by("id") for n in ("run", "scratch")}
    assert index["run"].column("id").equals(index["scratch"].column("id"))
    runs = json.loads((tmp_path / "run" / "index" / "_index.json").read_text())["runs"]
    assert runs == ["../d0", "../d1", "../d2"]  # from the index folder: the pair may move together
    if max_local_documents == 0:
        return
    # dump 1 alone again (--from d1 --until d1): dump 2's rows leave the index, the user is told to redo
    # it, and the next plain run does, as the index no longer lists it (it was skipped as finished)
    capsys.readouterr()
    path = (tmp_path / "run").with_suffix(".yaml")
    assert [o.status for o in run_pipeline(load_pipeline(path), start="d1", until="d1")] == ["ran"]
    said = " ".join(capsys.readouterr().err.split())
    assert (
        "the documents this output's earlier run and the 1 run(s) after it added are left out of it" in said
    )
    assert f"deduplicate those again after this one ({(tmp_path / 'run' / 'd2').resolve()})" in said
    assert json.loads((tmp_path / "run" / "index" / "_index.json").read_text())["runs"] == runs[:2]
    assert pipeline(tmp_path / "run") == ["skipped", "skipped", "ran"]
    assert result(tmp_path / "run") == result(tmp_path / "scratch")
    assert (
        pq.read_table(tmp_path / "run" / "index")
        .sort_by("id")
        .column("id")
        .equals(index["scratch"].column("id"))
    )
