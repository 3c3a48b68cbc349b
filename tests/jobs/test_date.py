"""`chronomix date` as a Spark job on real captures: dates, the host Last-Modified shuffle, reference
matching, counters in _stats.json, and bad arguments through the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from corpus.readers import ReadOptions, read_documents
from corpus.stats import REJECT_FIELDS, RejectLog
from dating.html_meta import html_meta_date_batch
from dating.reference import shingles
from dating.signals import host_last_modified_pages
from jobs.cli import main
from jobs.date import DateConfig, has_dated_text, reference_files, run_date
from jobs.ingest import read_file_batches
from tests.jobs.cli_helpers import _refused

ADDED = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ingested(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two WARC samples as `chronomix ingest` writes them: its per-file task (jobs.ingest.read_file_batches,
    which runs dating's HTML kernel while the HTML is at hand), run in-process to spare a Spark job."""
    out = tmp_path_factory.mktemp("date") / "ingested"
    out.mkdir()
    # keep_html: read_documents yields `html` only then, and the kernel needs it (see the report to the lead)
    options = ReadOptions(keep_html=True, added=ADDED)
    for i, name in enumerate(("cc-whirlwind_whirlwind.warc.gz", "dolma_sample-0000.warc.gz")):
        batches = list(read_file_batches(str(data_dir / "warc" / name), options, html_meta_date_batch))
        table = pa.Table.from_batches(batches)
        table = table.filter(pc.is_null(table.column("reject_reason"))).drop_columns(
            [f.name for f in REJECT_FIELDS] + ["html"]
        )
        pq.write_table(table, out / f"part-{i:05d}.parquet")
    return out


def _rows(folder: Path) -> list[dict]:
    return pq.read_table(folder).to_pylist()


def test_date_job_on_warc_samples(spark, ingested: Path, tmp_path: Path) -> None:
    out = tmp_path / "dated"
    stats = run_date(spark, [str(ingested)], str(out), DateConfig())
    rows = {r["url"]: r for r in _rows(out)}
    inputs = _rows(ingested)
    assert stats.docs_in == stats.docs_out == len(inputs) == len(rows)  # dating never drops a document
    assert not stats.dropped
    whirlwind = rows["https://an.wikipedia.org/wiki/Escopete"]
    assert whirlwind["date_published"] == datetime(2008, 7, 4, tzinfo=UTC)
    # the page's own last edit, not the later Last-Modified of MediaWiki's re-render (an upper bound)
    assert whirlwind["created"] == datetime(2023, 8, 17, tzinfo=UTC)
    assert whirlwind["date_source"] == "html_meta_modified"
    assert whirlwind["date_upper"] == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    post = rows["https://maria-antoniak.github.io/2022/07/27/topic-modeling-for-the-people.html"]
    assert post["created"] == datetime(2022, 7, 27, tzinfo=UTC) and post["date_source"] == "url"
    # the shuffle finds the same rebuilds as the in-process count
    urls = [r["url"] for r in inputs]
    expected = host_last_modified_pages(urls, [r["last_modified"] for r in inputs])
    rebuilt = sum(1 for n in expected if n is not None and n >= 3)
    assert rebuilt == 9  # maria-antoniak.github.io (6) and soldaini.net (3)
    assert stats.counters["distrusted:last_modified:host_rebuild"] == rebuilt
    assert stats.counters["distrusted:last_modified:after_page_edit"] == 1  # the Wikipedia page
    assert sum(v for k, v in stats.counters.items() if k.startswith("source:")) == len(rows)
    written = json.loads((out / "_stats.json").read_text())
    assert written["counters"]["distrusted:last_modified:host_rebuild"] == rebuilt
    assert "lm_host_pages" not in pq.read_schema(next(out.glob("*.parquet"))).names


def test_date_job_with_reference_versions(spark, data_dir: Path, tmp_path: Path) -> None:
    # monthly snapshots as `chronomix ingest --mediawiki-monthly` reads them (in-process: the same reader)
    reference = tmp_path / "commons_monthly"
    reference.mkdir()
    options = ReadOptions(mediawiki_monthly=True, added=ADDED)
    xml = data_dir / "versions" / "wmf_commonswiki_File13327093_revisions.xml"
    snapshots = pa.Table.from_batches(list(read_documents(str(xml), options, RejectLog()))).sort_by("created")
    pq.write_table(snapshots, reference / "part-00000.parquet")
    picks = [snapshots.slice(i, 1).to_pylist()[0] for i in (5, 60, 150)]
    docs = tmp_path / "docs"
    docs.mkdir()
    pq.write_table(
        pa.table(
            {
                "id": [f"copy{i}" for i in range(len(picks))],
                "text": ["Mirror of Wikimedia Commons\n" + p["text"] for p in picks],
                "source": ["mirror"] * len(picks),
                "added": pa.array([ADDED] * len(picks), pa.timestamp("us", tz="UTC")),
                "crawl_date": pa.array(
                    [datetime(2025, 12, 1, tzinfo=UTC)] * len(picks), pa.timestamp("us", tz="UTC")
                ),
            }
        ),
        docs / "part-00000.parquet",
    )
    out = tmp_path / "dated"
    stats = run_date(spark, [str(docs)], str(out), DateConfig(reference=str(reference)))
    assert stats.docs_out == 3
    rows = sorted(_rows(out), key=lambda r: r["id"])
    texts = snapshots.column("text").to_pylist()
    months = snapshots.column("created").to_pylist()
    for pick, row in zip(picks, rows, strict=True):
        key = shingles(pick["text"]).tobytes()  # same text = same shingle set (dating.reference)
        same = [m for t, m in zip(texts, months, strict=True) if shingles(t).tobytes() == key]
        assert row["date_source"] == "reference"
        assert row["created"] == min(same)  # the earliest month of that text
        assert row["date_upper"] <= max(same)
    assert stats.counters["source:reference"] == 3


def test_cli_bad_arguments_exit_2_before_spark(
    ingested: Path, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["date", str(data_dir / "warc" / "dolma_sample-0000.warc.gz"), "-o", str(tmp_path / "x")])
    assert done.value.code == 2
    assert "expected document Parquet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["date", str(ingested), "-o", str(tmp_path / "x"), "--reference", str(data_dir / "warc")])
    assert done.value.code == 2
    assert "--reference" in capsys.readouterr().err
    bad_reference = tmp_path / "ref"
    bad_reference.mkdir()
    pq.write_table(pa.table({"text": ["a"], "resource": ["r"]}), bad_reference / "part-0.parquet")
    with pytest.raises(SystemExit) as done:
        main(["date", str(ingested), "-o", str(tmp_path / "x"), "--reference", str(bad_reference)])
    assert done.value.code == 2
    assert "'created'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["date", str(ingested), "-o", str(ingested)])
    assert done.value.code == 2
    assert "holds the input" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["date", str(ingested), "-o", str(bad_reference)])
    assert done.value.code == 2
    assert "--overwrite" in capsys.readouterr().err


def test_a_corrupt_reference_file_is_a_usage_error_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """A truncated or corrupt Parquet file as --reference failed with exit 1 and pyarrow's ArrowInvalid; it
    is a one-line usage error naming --reference (exit 2), before Spark starts and before any output."""
    documents = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents)
    reference = tmp_path / "reference"
    reference.mkdir()
    pq.write_table(
        pa.table({"text": ["a"], "created": [ADDED], "resource": ["r"]}), reference / "part-0.parquet"
    )
    (reference / "part-1.parquet").write_bytes(b"PAR1 truncated footer PAR1")
    out = tmp_path / "out"
    for given in (reference, reference / "part-1.parquet", tmp_path / "nowhere"):
        with pytest.raises(SystemExit) as done:
            main(["date", str(documents), "-o", str(out), "--reference", str(given)])
        err = capsys.readouterr().err.strip()
        assert done.value.code == 2, err
        assert err.startswith("chronomix: error: --reference") and "\n" not in err, err
    assert not out.exists()


def test_a_reference_without_dated_texts_is_refused_before_spark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_spark: None
) -> None:
    """An ingest output as --reference (its `created` all null) ran Spark for 25 s, then every task failed
    building the index: exit 1, a Java trace and `ReferenceError: reference set has no rows with both 'text'
    and 'created'`. The same rule is checked up front: the footer's null counts, else those two columns."""
    documents = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"id": ["d0"], "text": ["a page"]}), documents)
    undated = pa.table(
        {
            "text": ["one page", None, "...", "a dated page"],
            "created": [None, ADDED, ADDED, None],
            "url": ["u"] * 4,
        }
    )
    for name, table, statistics in (
        ("no-dates", undated.slice(0, 1), True),  # all null in the footer: no row is read
        ("no-stats", undated.slice(0, 1), False),
        ("no-words", undated, True),  # dated rows have no text, or no word in it
    ):
        folder = tmp_path / name
        folder.mkdir()
        pq.write_table(table, folder / "part-0.parquet", write_statistics=statistics, row_group_size=2)
        err = _refused(
            ["date", str(documents), "-o", str(tmp_path / "out"), "--reference", str(folder)], capsys
        )
        assert err == (
            f"chronomix: error: --reference {str(folder)!r}: reference set has no rows with both 'text' and "
            "'created'"
        )
    assert not (tmp_path / "out").exists()
    # one usable row in any file of the set is enough (the index is built from them all)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    pq.write_table(undated, mixed / "part-0.parquet", row_group_size=1)
    dated = undated.set_column(
        1, "created", pa.array([None, None, None, ADDED], undated.schema.field("created").type)
    )
    pq.write_table(dated, mixed / "part-1.parquet", row_group_size=1)
    assert reference_files(str(mixed)) == [str(mixed / "part-0.parquet"), str(mixed / "part-1.parquet")]
    assert has_dated_text(str(mixed / "part-1.parquet")) and not has_dated_text(str(mixed / "part-0.parquet"))


def test_pages_whose_markup_was_not_read_are_counted_and_noted(spark, tmp_path: Path) -> None:
    """A dataset with its own `html` column: the date job reads each page's markup, and gave a page nested
    too deep to search no markup dates without a word. It counts it now, under a reason, and notes it on the
    document's row; the kernel's work column is not written."""
    from corpus.html_text import TOO_DEEP
    from tests.dating.helpers import nested_page

    folder = tmp_path / "documents"
    folder.mkdir()
    crawled = datetime(2024, 1, 1, tzinfo=UTC)
    documents = {
        "id": ["read", "too-deep"],
        "text": ["a page", "another page"],
        "url": ["https://a.example/", "https://b.example/"],
        "crawl_date": [crawled, crawled],
        "html": [nested_page(20), nested_page(TOO_DEEP + 10)],
    }
    pq.write_table(pa.table(documents), folder / "d.parquet")
    stats = run_date(spark, [str(folder)], str(tmp_path / "dated"), DateConfig())
    assert stats.counters["unread:html_meta:nested_too_deep"] == 1
    rows = {r["id"]: r for r in _rows(tmp_path / "dated")}
    assert "unread:html_meta:nested_too_deep" in rows["too-deep"]["date_notes"]
    assert rows["too-deep"]["date_source"] == "crawl"
    assert rows["read"]["date_published"] == datetime(2020, 5, 17, tzinfo=UTC), rows["read"]
    assert not any(n.startswith("unread:") for n in rows["read"]["date_notes"])
    assert "html_meta_unread" not in pq.read_schema(next((tmp_path / "dated").glob("*.parquet"))).names
