"""The audit on small hostile datasets made here: nothing left to audit, placeholder and far-off dates, a
machine not set to UTC, a Parquet file of the record's names and other types, ids seen twice. Each once
crashed the audit, reported months the data does not hold, or dropped documents without saying so."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis import audit_plots
from analysis.audit_plots import plot_by_month
from jobs.audit import AuditConfig, run_audit
from world.entities import invented_words

WORDS = "the council met again to discuss the budget for the coming year and the new library " * 3


def _jsonl(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def _audit(spark, folder: Path, out: Path) -> dict:
    return run_audit(spark, [str(folder)], str(out), AuditConfig(bootstrap=0), print_table=False)


@pytest.fixture()
def pacific_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The driver's process in a zone eight hours behind UTC (Spark's session stays in UTC)."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_an_audit_of_no_documents_reports_the_rejects(spark, tmp_path: Path) -> None:
    """GROUPING SETS over no rows gives no overall row: the audit failed with a bare StopIteration."""
    folder = _jsonl(tmp_path / "empty", [{"id": "a", "text": ""}, {"id": "b", "text": " "}])
    summary = _audit(spark, folder, tmp_path / "report")
    assert summary["headline"]["documents"] == 0 and summary["input_rejects"] == {"empty_text": 2}
    assert summary["by_dump"] == [] and summary["headline"]["oldest_month"] is None
    assert (tmp_path / "report" / "report.html").exists()


def test_months_are_the_datas_whatever_the_zone_and_year(spark, tmp_path: Path, pacific_time: None) -> None:
    """Collected timestamps were turned into months in the driver's local zone (2024-03-01T00:00Z read as
    2024-02), and year 1, a common placeholder, failed to convert."""
    rows = [
        {"id": "a", "text": WORDS, "created": "2024-03-01T00:00:00Z", "crawl_date": "2024-04-01T00:00:00Z"},
        {
            "id": "b",
            "text": WORDS + "b",
            "created": "2024-05-01T03:00:00Z",
            "crawl_date": "2024-06-01T00:00:00Z",
        },
        {
            "id": "c",
            "text": WORDS + "c",
            "created": "0001-01-01T00:00:00Z",
            "crawl_date": "2024-06-01T00:00:00Z",
        },
        # dated after its crawl: no lag, an error the coverage counts
        {
            "id": "d",
            "text": WORDS + "d",
            "created": "2999-12-31T00:00:00Z",
            "crawl_date": "2024-06-01T00:00:00Z",
        },
    ]
    summary = _audit(spark, _jsonl(tmp_path / "dates", rows), tmp_path / "report")
    assert [r["month"] for r in summary["by_month"]] == ["0001-01", "2024-03", "2024-05", "2999-12"]
    head = summary["headline"]
    assert (head["oldest_month"], head["newest_month"]) == ("0001-01", "2999-12")
    lag = summary["lag"]
    # the histogram, its document count and its percentiles all leave the negative lag out
    assert lag["documents"] == sum(b["documents"] for b in lag["bins"]) == 3 and lag["negative"] == 1
    assert lag["percentiles"]["p50"] == 31.0  # of 31, 31 and 739,086 days
    assert summary["coverage"]["negative_lag"] == 1
    # dates the input brought are the input's, not "none"; no dump field names no dump
    assert {r["date_source"] for r in summary["by_date_source"]} == {"input"}
    assert summary["headline"]["dumps"] == 0


def test_record_names_of_other_types_go_through_the_reader(spark, tmp_path: Path) -> None:
    """A `created` of integers under the record's column names failed late, in Spark, with a type error. The
    reader takes it: a time that does not read is no time, and its document stays (counted)."""
    folder = tmp_path / "typed"
    folder.mkdir()
    table = pa.table(
        {
            "id": ["a", "b"],
            "text": [WORDS, WORDS + "b"],
            "source": ["s", "s"],
            "added": pa.array([1_700_000_000_000_000] * 2, pa.timestamp("us", tz="UTC")),
            "created": pa.array([1_700_000_000, None], pa.int64()),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    summary = _audit(spark, folder, tmp_path / "report")
    assert summary["headline"]["documents"] == 2 and summary["input_rejects"] == {}
    assert summary["stage_stats"]["ingest"]["counters"]["time_not_read:created"] == 1


def test_rows_sharing_an_id_are_all_audited(spark, tmp_path: Path) -> None:
    """Dedup dropped all but one row of an id seen twice (`dedup:duplicate_id 3`, 2 documents audited of 5
    distinct ones); it renames them now, and every document is audited."""
    folder = tmp_path / "ids"
    folder.mkdir()
    table = pa.table(
        {
            "id": ["same"] * 4 + ["other"],
            "text": [f"{WORDS} {i}" for i in range(5)],
            "source": ["s"] * 5,
            "added": pa.array([1_700_000_000_000_000] * 5, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    summary = _audit(spark, folder, tmp_path / "report")
    assert summary["headline"]["documents"] == 5 and summary["stage_rejects"] == {}
    assert summary["stage_stats"]["dedup"]["counters"]["duplicate_id_renamed"] == 3


def test_exact_copies_without_ids_are_counted_as_exact_duplicates(spark, tmp_path: Path) -> None:
    """100 rows without ids, 80 distinct texts and 20 copies of 10 of them: the copies' hash ids equal the
    originals', and the reader rejected them as duplicate_id, so the audit said 80 documents and a 0% exact
    duplicate rate. They are renamed now and reach dedup: 100 documents, 20% exact duplicates."""
    rng = np.random.default_rng(7)
    words = invented_words(rng, 3000)
    texts = [" ".join(rng.choice(words, 60)) for _ in range(80)]
    rows = texts + [texts[i % 10] for i in range(20)]
    folder = tmp_path / "noid"
    folder.mkdir()
    pq.write_table(pa.table({"text": rows}), folder / "train.parquet")
    summary = _audit(spark, folder, tmp_path / "report")
    assert summary["input_rejects"] == {} and summary["stage_rejects"] == {}
    assert summary["headline"]["documents"] == 100
    assert summary["headline"]["exact_dup_rate"] == pytest.approx(0.2)


def _drawn_by_month(drawn: list, rows: list[dict]) -> tuple[list, list, list, str]:
    """plot_by_month's bars as drawn: documents (top), tokens (bottom), the month labels, the title."""
    png = plot_by_month({"by_month": rows})
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    figure = drawn.pop()
    top, bottom = figure.axes
    labels = [label.get_text() for label in bottom.get_xticklabels()]
    heights = [[bar.get_height() for bar in axes.patches] for axes in (top, bottom)]
    return heights[0], heights[1], labels, top.get_title()


def test_a_placeholder_year_plots_the_months_with_documents_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """1970-01 to 9999-12 drew a bar for each of 96,000 months (minutes for one plot)."""
    drawn: list = []
    render = audit_plots._png
    monkeypatch.setattr(audit_plots, "_png", lambda figure: drawn.append(figure) or render(figure))
    months = ("1970-01", "2024-01", "9999-12")
    rows = [{"month": m, "documents": i, "tokens": 10 * i} for i, m in enumerate(months, start=1)]
    rows.append({"month": "unknown", "documents": 4, "tokens": 40})
    documents, tokens, labels, title = _drawn_by_month(drawn, rows)
    assert (documents, tokens, labels) == ([1, 2, 3], [10, 20, 30], list(months))
    assert title == (
        "Content month (created); 4 undated documents not shown; 1970-01 to 9999-12: only months with "
        "documents shown"
    )
    # a span of a few months keeps a bar, empty or not, for every month in it
    rows = [
        {"month": "2023-11", "documents": 5, "tokens": 50},
        {"month": "2024-02", "documents": 2, "tokens": 9},
    ]
    documents, tokens, labels, title = _drawn_by_month(drawn, rows)
    assert (documents, tokens) == ([5, 0, 0, 2], [50, 0, 0, 9])
    assert labels == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert title == "Content month (created); 0 undated documents not shown"
    assert drawn == []


def test_a_column_on_a_few_documents_is_filled_or_said_so(spark, tmp_path: Path) -> None:
    """One `lang` among six skipped language id for all (five 'unknown'), and one `created` kept the dating
    stage from running without a word: the report read 17% dated as if it were the data's."""
    folder = tmp_path / "partial"
    folder.mkdir()
    texts = [f"{WORDS} {i}" for i in range(6)]
    table = pa.table(
        {
            "id": [f"d{i}" for i in range(6)],
            "text": texts,
            "source": ["s"] * 6,
            "added": pa.array([1_700_000_000_000_000] * 6, pa.timestamp("us", tz="UTC")),
            "url": [f"https://news.example.com/2021/0{i + 1}/1{i}/story.html" for i in range(6)],
            "lang": ["en", *[None] * 5],
            "created": pa.array([1_600_000_000_000_000, *[None] * 5], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    summary = _audit(spark, folder, tmp_path / "report")
    assert summary["stages"]["langid"] == "ran"
    assert {r["lang"] for r in summary["by_language"]} == {"en"}
    assert summary["stages"]["date"] == (
        "kept the input's columns (on 1 of 6 documents; --recompute runs it on all)"
    )
    assert "on 1 of 6 documents" in (tmp_path / "report" / "report.html").read_text()


def test_recompute_counts_every_documents_tokens_one_way(spark, tmp_path: Path) -> None:
    """--tokenizer or --recompute counted only the documents without n_tokens: a total of two methods."""
    folder = tmp_path / "tokens"
    folder.mkdir()
    table = pa.table(
        {
            "id": ["a", "b"],
            "text": ["hello world", "foo bar baz"],
            "source": ["s", "s"],
            "added": pa.array([1_700_000_000_000_000] * 2, pa.timestamp("us", tz="UTC")),
            "n_tokens": pa.array([100, None], pa.int64()),
        }
    )
    pq.write_table(table, folder / "part-0.parquet")
    kept = _audit(spark, folder, tmp_path / "kept")
    assert kept["headline"]["tokens"] == 100 + 3  # the input's count where it has one
    config = AuditConfig(bootstrap=0, recompute=True)
    again = run_audit(spark, [str(folder)], str(tmp_path / "again"), config, print_table=False)
    assert again["headline"]["tokens"] == 2 + 3  # whitespace words, for both


def test_near_duplicates_are_those_the_audited_data_holds(spark, tmp_path: Path) -> None:
    """A keep-newest mixture was reported 19% near-duplicate (67% in one dump), and a keep-newest dedup
    output 100%: dedup's cluster sizes are the source corpus's, before a mixture or a keep policy kept one
    version of each cluster."""

    def write(folder: Path, mixture: bool) -> Path:
        folder.mkdir()
        columns = {
            "id": ["a", "b", "c"],
            "text": [f"{WORDS} {i}" for i in range(3)],
            "source": ["s"] * 3,
            "added": pa.array([1_700_000_000_000_000] * 3, pa.timestamp("us", tz="UTC")),
            "lang": ["en"] * 3,
            "created": pa.array([1_600_000_000_000_000] * 3, pa.timestamp("us", tz="UTC")),
            "cluster_id": ["c1", "c2", "c2"],
            "cluster_size": pa.array([3, 2, 2], pa.int32()),
            "is_exact_dup": [False] * 3,
            "is_stale": [False] * 3,
        }
        if mixture:
            columns["mix_order"] = pa.array([0, 1, 2], pa.int64())
        pq.write_table(pa.table(columns), folder / "part-0.parquet")
        return folder

    source = _audit(spark, write(tmp_path / "source", mixture=False), tmp_path / "r0")
    # dedup's sizes stand where nothing says versions were dropped: a sample, an index of earlier dumps
    assert source["duplicates"]["near_dup_rate"] == 1.0
    kept_folder = write(tmp_path / "kept", mixture=False)
    (kept_folder / "_dedup.json").write_text(json.dumps({"keep": "newest"}))
    kept = _audit(spark, kept_folder, tmp_path / "r1")
    mixed = _audit(spark, write(tmp_path / "mixture", mixture=True), tmp_path / "r2")
    for summary in (kept, mixed):  # a is its cluster's only one here
        assert summary["duplicates"]["near_dup_rate"] == round(2 / 3, 4)
        sizes = {c["label"]: (c["clusters"], c["documents"]) for c in summary["duplicates"]["cluster_sizes"]}
        assert sizes["1"] == (1, 1) and sizes["2"] == (1, 2)


def test_dump_names_from_the_data_reach_the_terminal_inert_and_plot_as_plain_text(
    spark, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset's `dump` (a WARC's isPartOf) printed raw: ESC sequences set the terminal's title and cleared
    it, `[link=...]` hid a link, `[/]` failed the audit after its report was written, and `$x^{$` failed it
    in matplotlib's formula parser. In the plots the control characters were glyphs the font lacks (empty
    boxes, and a warning each); they read as escapes, as in the terminal."""
    drawn: list = []
    render = audit_plots._png
    monkeypatch.setattr(audit_plots, "_png", lambda figure: drawn.append(figure) or render(figure))
    dumps = [
        "CC\x1b]0;PWNED\x07\x1b[2J\x1b[31m",
        "[link=http://attacker.example/]CC-2024[/link]",
        "CC[/]",
        "$x^{$",
    ]
    rows = [{"id": f"d{i}", "text": f"{WORDS} {i}", "dump": dumps[i % 4]} for i in range(8)]
    folder = _jsonl(tmp_path / "hostile", rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run_audit(spark, [str(folder)], str(tmp_path / "report"), AuditConfig(bootstrap=0))
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert sorted(row["dump"] for row in summary["by_dump"]) == sorted(dumps)  # the data as it is
    by_dump = next(f for f in drawn if f.axes and f.axes[0].get_title() == "Documents per dump")
    plotted = sorted(label.get_text() for label in by_dump.axes[0].get_yticklabels())
    assert plotted == sorted(["CC\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31m", *dumps[1:]])
    printed = capsys.readouterr().out
    assert "\x1b]0;PWNED" not in printed and "\x1b[2J" not in printed and "\x1b]8;" not in printed
    flat = "".join(printed.split())  # a cell may wrap
    assert "CC\\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31m" in flat and "CC[/]" in flat
    assert "[link=http://attacker.example/]CC-2024[/link]" in flat and "$x^{$" in flat
    assert (tmp_path / "report" / "by_dump.png").stat().st_size > 0


def test_a_url_s_credentials_stay_out_of_the_summary_and_the_report(spark, tmp_path: Path) -> None:
    """`chronomix audit 'http://alice:PASSWORD@host/data.jsonl?X-Amz-Signature=...'` wrote the URL whole into
    summary.json (inputs, title) and report.html (its title and heading)."""
    from tests.remote_servers import range_server

    _jsonl(tmp_path / "served", [{"id": f"d{i}", "text": f"{WORDS} {i}"} for i in range(3)])
    with range_server(tmp_path / "served") as server:
        plain = f"{server.url}part.jsonl"
        url = (
            plain.replace("http://", "http://alice:PASSWORD123@")
            + "?X-Amz-Signature=SIGSECRET&token=TOKSECRET"
        )
        summary = run_audit(
            spark, [url], str(tmp_path / "report"), AuditConfig(bootstrap=0), print_table=False
        )
    assert summary["headline"]["documents"] == 3
    assert summary["inputs"] == [plain] and summary["title"] == plain
    for name in ("summary.json", "report.html"):
        text = (tmp_path / "report" / name).read_text()
        assert not any(s in text for s in ("PASSWORD123", "SIGSECRET", "TOKSECRET", "alice")), name
