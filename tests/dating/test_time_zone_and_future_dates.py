"""Dates at the edges of the crawl's day and beyond the ingest: a page east of UTC a day ahead of the crawl's
UTC day, a document without a crawl date whose signals name a future year (a Buddhist-era 2566 read as
Gregorian), a page of impossible dates, and a dataset's own HTML (not a WARC's), each against the date it
was written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from corpus.readers import ReadOptions, read_documents
from corpus.stats import RejectLog
from dating.combine import DATE_NOTES, date_batch
from dating.html_meta import MarkupDater, html_meta_dates
from tests.dating.test_combine import _batch

ADDED = datetime(2026, 12, 1, tzinfo=UTC)
JST_PAGE = (
    '<html><head><meta property="article:published_time" content="2023-06-15">'
    "<title>Tokyo</title></head><body><p>Related story, 2023-06-01.</p>"
    "<p>A report published in Tokyo on the morning of the fifteenth.</p></body></html>"
)
CRAWLED = datetime(2023, 6, 14, 20, tzinfo=UTC)  # 05:00 on the 15th in Tokyo


def test_a_page_dated_a_day_ahead_of_the_crawl_s_utc_day_keeps_its_date() -> None:
    """htmldate was given the crawl instant as its latest date: it refused 2023-06-15 and fell back to an
    older date on the page (2023-06-01)."""
    published, _ = html_meta_dates(JST_PAGE, CRAWLED)
    assert published == datetime(2023, 6, 15, tzinfo=UTC)
    out = date_batch(_batch(html_meta_date=[published], crawl_date=[CRAWLED], text=["a page"]))
    row = out.to_pylist()[0]
    assert row["date_published"] == datetime(2023, 6, 15, tzinfo=UTC)
    assert row["created"] == CRAWLED  # the content is no newer than its fetch
    assert not any("after_crawl" in note for note in row[DATE_NOTES])


def test_the_markup_date_does_not_depend_on_the_machine_s_time_zone() -> None:
    """The same page and crawl gave 2023-06-15 under TZ=UTC and 2023-06-01 under TZ=Asia/Tokyo."""
    code = (
        "from datetime import datetime, UTC; from dating.html_meta import html_meta_dates; "
        f"print(html_meta_dates({JST_PAGE!r}, datetime(2023, 6, 14, 20, tzinfo=UTC))[0].date())"
    )
    root = Path(__file__).parents[2]
    answers = set()
    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati"):
        env = {**os.environ, "TZ": zone, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        answers.add(done.stdout.strip())
    assert answers == {"2023-06-15"}


def test_a_dateline_in_the_new_year_east_of_utc_is_not_a_future_date() -> None:
    """ "Auckland, 1 January 2024", fetched 2023-12-31T20:00Z (09:00 on New Year's Day there), was rejected
    as after the crawl and an older date in the text took its place."""
    crawl = datetime(2023, 12, 31, 20, tzinfo=UTC)
    text = "AUCKLAND, 1 January 2024 - Fireworks lit the harbour. A review of 20 December 2023 is below."
    row = date_batch(_batch(text=[text], crawl_date=[crawl])).to_pylist()[0]
    assert row["date_published"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert row["created"] == crawl and row["date_source"] == "crawl"
    assert "rejected:text_date:after_crawl" not in row[DATE_NOTES]
    # a bare mention of the new year is still a future one: no lower bound in 2024
    crawl = datetime(2023, 12, 31, 12, tzinfo=UTC)
    text = "Copyright 2019-2024 The Harbour Trust. Our history since 2019."
    row = date_batch(_batch(text=[text], crawl_date=[crawl])).to_pylist()[0]
    assert row["date_lower"] == datetime(2018, 12, 31, tzinfo=UTC), row  # 2019, less a day for time zones
    assert row["created"] == datetime(2019, 7, 2, tzinfo=UTC)


def test_without_a_crawl_date_no_signal_may_date_a_document_after_its_ingest() -> None:
    """A Buddhist-era year read as Gregorian (2566 = 2023), a URL's /2099/ and a text's 1 May 2099 were each
    taken as the date of a document without a crawl date, with 2566 as its upper bound."""
    future = datetime(2566, 5, 1, tzinfo=UTC)
    rows = date_batch(
        _batch(
            text=["a page", "a page", "Launch set for 1 May 2099, say the planners.", "a page"],
            last_modified=[future, None, None, None],
            html_meta_date=[None, future, None, None],
            url=[None, None, None, "https://example.org/2099/05/01/launch"],
            added=[ADDED] * 4,
        )
    ).to_pylist()
    for row, signal in zip(rows, ("last_modified", "html_meta", "text_date", "url"), strict=True):
        assert row["created"] is None and row["date_upper"] is None, (signal, row)
        assert row[DATE_NOTES].count(f"rejected:{signal}:after_added") == 1, (signal, row[DATE_NOTES])
    kept = date_batch(
        _batch(text=["a page"], html_meta_date=[datetime(2023, 5, 1, tzinfo=UTC)], added=[ADDED])
    ).to_pylist()[0]
    assert kept["created"] == datetime(2023, 5, 1, tzinfo=UTC)  # a date before the ingest stands


def test_a_page_of_impossible_dates_notes_each_reason_once() -> None:
    """18,181 notes (509 KB) in one row for a text repeating 31.02.2023."""
    text = "Termin: 31.02.2023. " * 5_000 + "Stand: 03.05.2023."
    row = date_batch(_batch(text=[text], crawl_date=[datetime(2023, 6, 1, tzinfo=UTC)])).to_pylist()[0]
    notes = Counter(row[DATE_NOTES])
    assert notes["rejected:text_date:malformed"] == 1 and max(notes.values()) == 1, notes


def test_a_dataset_s_own_html_is_dated_as_a_warc_page_is(tmp_path: Path) -> None:
    """A JSONL document carrying its page's HTML was never dated from its markup: the date stage runs its
    kernel only where the reader left no markup columns, and every reader writes them."""
    page = JST_PAGE.replace("2023-06-15", "2023-05-01")
    line = {
        "id": "a",
        "text": "A report published in Tokyo.",
        "html": page,
        "crawl_date": "2023-06-01T00:00:00Z",
    }
    path = tmp_path / "d.jsonl"
    own = {**line, "id": "c", "html_meta_date": "2020-03-04T00:00:00Z"}  # a dataset's own date stands
    path.write_text(
        "".join(json.dumps(x) + "\n" for x in (line, {**line, "id": "b", "html": "<p>no dates"}, own))
    )
    counters: Counter[str] = Counter()
    options = ReadOptions(added=ADDED, page_hook=MarkupDater())
    rows = [r for b in read_documents(str(path), options, RejectLog(), counters) for r in b.to_pylist()]
    assert [r["html_meta_date"] for r in rows] == [
        datetime(2023, 5, 1, tzinfo=UTC),
        None,
        datetime(2020, 3, 4, tzinfo=UTC),
    ]
    assert "html" not in rows[0] and counters["html_dropped"] == 3  # read, then not kept (no --keep-html)
    kept = [
        r for b in read_documents(str(path), ReadOptions(added=ADDED), RejectLog()) for r in b.to_pylist()
    ]
    assert [r["html_meta_date"] for r in kept] == [None, None, datetime(2020, 3, 4, tzinfo=UTC)]  # no hook


def test_a_dataset_s_own_date_before_the_web_stands_where_markup_s_does_not() -> None:
    """A given `created` of 1965 (a newspaper archive) was rejected as before 1991 and lost by `date`."""
    old = datetime(1965, 7, 1, tzinfo=UTC)
    rows = date_batch(
        _batch(
            text=["an archive page", "a page"],
            created=[old, None],
            html_meta_date=[None, old],
            added=[ADDED] * 2,
        )
    ).to_pylist()
    assert rows[0]["created"] == old and rows[0]["date_source"] == "given"
    assert rows[1]["created"] is None and "rejected:html_meta:before_1991" in rows[1][DATE_NOTES]
    epoch = date_batch(_batch(text=["a page"], created=[datetime(1970, 1, 1, tzinfo=UTC)], added=[ADDED]))
    row = epoch.to_pylist()[0]  # the epoch stands for "unknown", not for 1970
    assert row["created"] is None and "rejected:given:placeholder" in row[DATE_NOTES]
