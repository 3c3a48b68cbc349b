"""The driver path's own parts, without Spark: threaded signing of Parquet row groups equals the kernel run
on the whole table, whatever the files' columns; row counts and id checks from the files; the index rows it
writes. (The whole path against the Spark path: tests/jobs/test_dedup_spark.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dedup.index import INDEX_COLUMNS
from dedup.kernel import DedupConfig, dedup_kernel
from dedup.versions import ANCHOR, FROM_INDEX, rank_versions
from jobs import dedup_driver as ddriver
from jobs.stage import expand_inputs
from tests.dedup.helpers import template_pages


def _files(tmp_path: Path) -> tuple[pa.Table, list]:
    pages = template_pages()
    folder = tmp_path / "docs"
    folder.mkdir()
    # Two files, one without `created` and `url`, one of several row groups.
    pq.write_table(pages.slice(0, 20).drop_columns(["created", "url"]), folder / "a.parquet")
    pq.write_table(pages.slice(20), folder / "b.parquet", row_group_size=7)
    return pages, expand_inputs([str(folder)])


def test_threaded_signing_equals_the_kernel(tmp_path: Path) -> None:
    pages, files = _files(tmp_path)
    config = DedupConfig()
    assert ddriver.count_rows(files) == pages.num_rows and ddriver.ids_are_unique(files)
    signed = ddriver.sign_files(files, config, threads=3)
    kernel = dedup_kernel(config)
    expected = pa.concat_tables(
        [
            pa.Table.from_batches(
                [kernel(b) for b in pages.slice(0, 20).drop_columns(["created", "url"]).to_batches()]
            ),
            pa.Table.from_batches([kernel(b) for b in pages.slice(20).to_batches()]),
        ],
        promote_options="default",
    )
    assert signed.column("id").to_pylist() == expected.column("id").to_pylist()
    for name in ("_band_keys", "_sketch", "_text_hash", "_url_key", "_version_date", "_n_shingles"):
        assert signed.column(name).to_pylist() == expected.column(name).to_pylist(), name
    assert not any(signed.column(FROM_INDEX).to_pylist())
    assert signed.schema.field("_sketch").metadata[b"minhash_scheme"] == b"oph/1"


def test_repeated_ids_are_seen(tmp_path: Path) -> None:
    pages, _ = _files(tmp_path)
    pq.write_table(pages.slice(0, 3), tmp_path / "docs" / "c.parquet")
    assert not ddriver.ids_are_unique(expand_inputs([str(tmp_path / "docs")]))


def test_index_rows_keep_the_kept_the_singletons_and_the_old(tmp_path: Path) -> None:
    _, files = _files(tmp_path)
    config = DedupConfig()
    signed = ddriver.sign_files(files, config)
    old = signed.slice(0, 5).select(list(INDEX_COLUMNS)).append_column(FROM_INDEX, pa.array([True] * 5))
    old = old.set_column(0, "id", pa.array([f"old/{i}" for i in range(5)]))
    old = old.append_column(ANCHOR, pa.array([f"old/{i}" for i in range(5)]))  # as read_index gives them
    old = old.append_column("added_by", pa.array(["/earlier/run"] * 5))
    universe = ddriver.universe_of(signed, old, config)
    ranked, report = ddriver.rank_in_driver(universe, config, "newest")
    rows = ddriver.index_rows(signed, ranked, old, universe)
    ours = ranked.filter(pc.invert(ranked.column(FROM_INDEX)))
    not_kept = set(ours.filter(pc.invert(ours.column("_keep"))).column("id").to_pylist())
    assert set(rows.column("id").to_pylist()) == (set(signed.column("id").to_pylist()) - not_kept) | {
        f"old/{i}" for i in range(5)
    }
    assert report.path == "driver" and report.verified <= report.candidates
    # The same ranking as the reference function on the same members.
    again = rank_versions(
        ranked.drop_columns([c for c in ranked.column_names if c in ("cluster_size", "_keep")])
    )
    assert again.column("version_rank").equals(ranked.column("version_rank"))


def test_an_index_names_its_runs_without_credentials_and_by_the_path_from_it(tmp_path: Path) -> None:
    """A remote output's key kept its user and password (written to _index.json and printed), and named
    with and without them it was two outputs; a local one is named from the index folder, links resolved,
    so a moved pipeline folder keeps track of its runs."""
    import json

    from dedup.index import IndexMeta, IndexMismatch
    from jobs.dedup_common import IndexRuns, listed_runs, run_key, still_indexed

    assert run_key("s3a://AK:SECRET@bucket/idx", "s3a://AK:SECRET@bucket/out/d1/") == "s3://bucket/out/d1"
    assert run_key("s3://bucket/idx", "s3://bucket/out/d1") == "s3://bucket/out/d1"
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert run_key(str(tmp_path / "real" / "index"), str(tmp_path / "link" / "d1")) == "../d1"
    assert run_key("index", str(tmp_path / "x")) == run_key(str(Path("index").resolve()), str(tmp_path / "x"))
    index = tmp_path / "real" / "index"
    index.mkdir()
    assert listed_runs(str(index)) is None and still_indexed(str(index), "anything")  # nothing known
    meta = IndexMeta("oph/1", 128, 5, 0, 14, 9, True)
    (index / "_index.json").write_text(meta.to_json(documents=0, runs=["../d0", "../d1"]))
    assert still_indexed(str(index), str(tmp_path / "real" / "d1"))
    assert not still_indexed(str(index), str(tmp_path / "real" / "d2"))
    runs = IndexRuns.of(str(index), str(tmp_path / "link" / "d0"))
    assert (runs.before, runs.left_out, runs.after) == ([], ["../d0", "../d1"], ["../d0"])
    for damaged in ("{not json", "[1, 2]"):  # index_parts names these; here they know of no runs
        (index / "_index.json").write_text(damaged)
        assert listed_runs(str(index)) is None
    newer = json.loads(meta.to_json()) | {"tombstones": True}
    with pytest.raises(
        IndexMismatch, match=re.escape("written by a newer chronomix (it records tombstones)")
    ):
        IndexMeta.from_json(json.dumps(newer))
