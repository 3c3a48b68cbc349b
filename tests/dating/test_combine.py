"""The dating kernel on real WARC captures and on bad input: dates, bounds, deciding signal, counted notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from corpus.schema import TIMESTAMP, validate
from dating.combine import DATE_NOTES, LM_HOST_PAGES, date_batch, middle_of_year
from dating.signals import host_last_modified_pages
from tests.dating.helpers import by_url, day, warc_batch

FETCHED = datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)


def _with_host_counts(batch: pa.RecordBatch) -> pa.RecordBatch:
    urls, lms = batch.column("url").to_pylist(), batch.column("last_modified").to_pylist()
    return batch.append_column(LM_HOST_PAGES, pa.array(host_last_modified_pages(urls, lms), pa.int64()))


def test_whirlwind_capture(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.gz")
    out = date_batch(_with_host_counts(batch))
    validate(out)
    row = out.to_pylist()[0]
    assert row["date_published"] == day("2008-07-04")  # JSON-LD datePublished
    # The page states its last edit (JSON-LD dateModified 2023-08-17, the footer's "Zaguera edición ... 17 ago
    # 2023"); Last-Modified 2024-05-04 is MediaWiki re-rendering it, so it bounds from above only.
    assert row["created"] == day("2023-08-17")
    assert row["date_source"] == "html_meta_modified"
    assert "distrusted:last_modified:after_page_edit" in row[DATE_NOTES]
    assert row["date_lower"] == day("2008-07-03")  # the publication date, less a day for time zones
    assert row["date_upper"] == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)  # the file existed then
    assert row["date_lower"] <= row["created"] <= row["date_upper"] <= FETCHED


def test_dolma_sample_rebuilt_site_and_blog_urls(data_dir: Path) -> None:
    batch = _with_host_counts(warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz"))
    out = date_batch(batch)
    assert out.num_rows == batch.num_rows == 22
    rows = by_url(out.to_pylist())
    rebuild = datetime(2024, 4, 24, 17, 36, 21, tzinfo=UTC)
    posts = {u: r for u, r in rows.items() if "maria-antoniak.github.io/20" in u}
    assert len(posts) == 5
    for url, row in posts.items():
        y, m, d = url.split("github.io/")[1].split("/")[:3]
        # the site's shared Last-Modified (a GitHub Pages rebuild) is never the publication date
        assert row["date_published"] == row["created"] == day(f"{y}-{m}-{d}")
        assert row["date_source"] == "url"
        assert "distrusted:last_modified:host_rebuild" in row[DATE_NOTES]
        assert row["date_upper"] <= rebuild + timedelta(seconds=1)  # but the content existed at the rebuild
    # soldaini.net: 3 pages share one Last-Modified -> rebuild; kyleclo.com: 2 pages -> trusted as the update
    facts = rows["https://soldaini.net/facts/"]
    assert "distrusted:last_modified:host_rebuild" in facts[DATE_NOTES]
    # nothing else dates the page: created falls back to the tightest upper bound, with the weakest confidence
    assert facts["date_published"] is None and facts["date_confidence"] == 0.1
    assert facts["created"] == facts["date_upper"] == datetime(2024, 3, 26, 3, 27, 10, tzinfo=UTC)
    assert rows["https://kyleclo.com/"]["date_source"] == "last_modified"
    assert rows["https://kyleclo.com/"]["created"] == datetime(2024, 3, 18, 18, 38, 33, tzinfo=UTC)
    for row in rows.values():
        assert row["created"] is not None and row["date_source"] is not None
        assert row["created"] <= row["crawl_date"]
        if row["date_lower"] is not None:
            assert row["date_lower"] <= row["created"] <= row["date_upper"]


def test_clueweb_quirk_with_malformed_warc_date(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "resiliparse_clueweb09-ja-quirk.warc.gz")
    out = date_batch(batch)
    assert out.num_rows == batch.num_rows
    for row in out.to_pylist():
        if row["crawl_date"] is not None and row["created"] is not None:
            assert row["created"] <= row["crawl_date"]


def _batch(**columns: list) -> pa.RecordBatch:
    n = len(next(iter(columns.values())))
    types = {
        "crawl_date": TIMESTAMP,
        "last_modified": TIMESTAMP,
        "html_meta_date": TIMESTAMP,
        "html_meta_modified": TIMESTAMP,
        "created": TIMESTAMP,
        "added": TIMESTAMP,
    }
    arrays = {"id": pa.array([str(i) for i in range(n)])}
    arrays.update({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})
    return pa.RecordBatch.from_pydict(arrays)


def test_bad_input_is_rejected_counted_and_kept() -> None:
    crawl = datetime(2020, 6, 1, tzinfo=UTC)
    batch = _batch(
        crawl_date=[crawl, crawl, crawl, datetime(1980, 1, 1, tzinfo=UTC), None, crawl],
        url=[
            "https://x.org/1985/01/02/a",
            "https://x.org/2025/01/02/b",
            "https://x.org/2019/02/30/c",
            None,
            None,
            "https://x.org/2020/06/02/d",
        ],
        last_modified=[None, datetime(2030, 1, 1, tzinfo=UTC), None, None, None, None],
        html_meta_date=[None, None, datetime(2031, 1, 1, tzinfo=UTC), None, None, None],
        text=["", "founded 1970", None, "Copyright 2015", None, "12. März 2019"],
        dump=[None, None, None, None, None, None],
    )
    out = date_batch(batch)
    rows = out.to_pylist()
    assert len(rows) == 6  # documents are never dropped
    notes = [set(r[DATE_NOTES]) for r in rows]
    assert "rejected:url:before_1991" in notes[0]
    assert {"rejected:url:after_crawl", "rejected:last_modified:after_crawl"} <= notes[1]
    assert {"rejected:url:malformed", "rejected:html_meta:after_crawl"} <= notes[2]
    assert "rejected:crawl:before_1991" in notes[3]
    # only the crawl is known: created is the fetch time, weakly
    assert rows[0]["created"] == crawl and rows[0]["date_source"] == "crawl" and rows[0]["date_lower"] is None
    # a crawl before the web is no bound; the text year is then unusable (no crawl), nothing dates it
    assert rows[3]["created"] is None and rows[3]["date_source"] is None
    assert rows[4]["created"] is None and rows[4]["date_upper"] is None
    # a URL date one day after the fetch (a local date east of UTC) is kept and created clamped to the crawl
    assert rows[5]["date_published"] == day("2020-06-02")
    assert rows[5]["created"] == crawl and "clamped:created:to_crawl" in notes[5]


def test_timestamps_outside_any_web_date_are_absent_and_noted_not_a_failed_batch() -> None:
    """A WARC-Date of 9999-12-31 overflowed the crawl's slack and failed the whole batch (its good rows too);
    such values are read as absent now, with a note, and every row is dated from what else it has."""
    end = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    batch = _batch(
        crawl_date=[end, end, None, datetime(2020, 1, 1, tzinfo=UTC)],
        url=[
            "https://x.org/2019/05/12/a",
            "https://x.org/b",
            "https://x.org/c",
            "https://x.org/2019/05/12/d",
        ],
        last_modified=[None, datetime(2020, 1, 1, tzinfo=UTC), None, datetime(1, 1, 1, tzinfo=UTC)],
        html_meta_date=[None, None, datetime(9999, 1, 1, tzinfo=UTC), None],
        text=["a", "b", "c", "d"],
        dump=[None] * 4,
    )
    rows = date_batch(batch).to_pylist()
    assert [(r["created"], r["date_source"]) for r in rows] == [
        (day("2019-05-12"), "url"),
        (day("2020-01-01"), "last_modified"),
        (None, None),
        (day("2019-05-12"), "url"),
    ]
    assert [r[DATE_NOTES] for r in rows] == [
        ["rejected:crawl_date:out_of_range"],
        ["rejected:crawl_date:out_of_range"],
        ["rejected:html_meta_date:out_of_range"],
        ["rejected:last_modified:out_of_range"],
    ]


def test_a_background_date_in_the_text_does_not_let_a_weaker_bound_rule_out_the_url_date() -> None:
    """URL 2020-05-12, Last-Modified 2020-01-01: the URL (stronger) dates the page, the conflict noted. With
    "on 1 January 2019 the council voted" in the text, the earliest claim lowered the lower bound, the
    Last-Modified stopped conflicting, and it ruled the URL date out without a note."""
    crawl, lm = datetime(2024, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, tzinfo=UTC)
    batch = _batch(
        crawl_date=[crawl, crawl],
        url=["https://x.org/2020/05/12/story"] * 2,
        last_modified=[lm, lm],
        html_meta_date=[None, None],
        text=["Nothing dated here.", "Background: on 1 January 2019 the council voted on it."],
        dump=[None, None],
    )
    rows = date_batch(batch).to_pylist()
    for row in rows:
        assert (row["created"], row["date_source"], row["date_published"]) == (
            day("2020-05-12"),
            "url",
            day("2020-05-12"),
        )
        assert row["date_upper"] == crawl
    assert "conflict:last_modified:before_stronger_published" in rows[1][DATE_NOTES]


def test_text_only_documents_multilingual() -> None:
    crawl = datetime(2024, 5, 1, tzinfo=UTC)
    texts = [
        "Berlin, 12. März 2019. Der Bundestag hat heute beschlossen.",
        "Paris, le 12 mars 2019. Le gouvernement a annoncé.",
        "Madrid, 12 de marzo de 2019. El Gobierno aprobó.",
        "東京、2019年3月12日、政府は発表した。",
        "Impressum. © 2015-2019 Beispiel GmbH",
    ]
    out = date_batch(_batch(crawl_date=[crawl] * 5, text=texts))
    rows = out.to_pylist()
    for row in rows[:4]:
        assert row["date_published"] == row["created"] == day("2019-03-12")
        assert row["date_source"] == "text_date"
        assert row["date_lower"] <= day("2019-03-12") and row["date_upper"] == crawl
    # a copyright line: the text cannot be older than its latest year; known only to the year, it stands for
    # the year's middle
    assert rows[4]["date_published"] is None
    assert rows[4]["created"] == day("2019-07-02") and rows[4]["date_source"] == "text_years"
    assert rows[4]["date_lower"] == day("2019-01-01") - timedelta(days=1)


def test_a_date_known_only_to_its_year_stands_for_the_middle_of_what_the_bounds_leave() -> None:
    texts = ["Copyright 2019 Example Ltd.", "Copyright 2024 Example Ltd.", "Season 2020, results below."]
    crawls = [
        datetime(2024, 5, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
        datetime(2024, 5, 1, tzinfo=UTC),
    ]
    last_modified = [None, None, datetime(2020, 3, 1, tzinfo=UTC)]
    rows = date_batch(_batch(crawl_date=crawls, text=texts, last_modified=last_modified)).to_pylist()
    # the whole year: its middle day
    assert rows[0]["created"] == day("2019-07-02") and rows[0]["date_source"] == "text_years"
    # the crawl's own year: the middle of the part before the crawl
    assert rows[1]["created"] == day("2024-01-31") and rows[1]["date_source"] == "text_years"
    # a Last-Modified early in the year decides (an update date outranks a year): the year only bounds it
    assert rows[2]["created"] == day("2020-03-01") and rows[2]["date_source"] == "last_modified"
    # A bare year in the markup (htmldate's 2021-01-01) later than the text's latest year: the later year holds
    # both (a faculty page of the sample WARCs, dated to the last day of 2020 before).
    row = date_batch(
        _batch(crawl_date=crawls[:1], text=["Publications 2018-2020"], html_meta_date=[day("2021-01-01")])
    ).to_pylist()[0]
    assert row["created"] == day("2021-07-02") and row["date_source"] == "html_meta"
    assert row["date_published"] is None


def test_middle_of_year_keeps_to_the_bounds() -> None:
    start = day("2019-01-01")
    assert middle_of_year(start, None, None) == day("2019-07-02")
    assert middle_of_year(start, day("2019-05-01"), day("2019-05-11")) == day("2019-05-06")
    # bounds that leave none of the year: its first day, for rule 5 to clamp
    assert middle_of_year(start, day("2020-02-01"), None) == start


def test_future_year_in_text_does_not_override_a_url_date() -> None:
    crawl = datetime(2021, 3, 1, tzinfo=UTC)
    batch = _batch(
        crawl_date=[crawl],
        url=["https://news.example/2019/12/20/plan"],
        text=["The new line will open in 2021, the council said."],
    )
    row = date_batch(batch).to_pylist()[0]
    assert row["date_published"] == row["created"] == day("2019-12-20")
    assert row["date_lower"] == day("2019-12-19")
    assert "conflict:text_years:after_published" in row[DATE_NOTES]


def test_rerun_on_dated_output_is_stable(data_dir: Path) -> None:
    batch = _with_host_counts(warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz"))
    once = date_batch(batch)
    twice = date_batch(once)
    for column in ("created", "date_published", "date_lower", "date_upper", "date_source"):
        assert once.column(column).to_pylist() == twice.column(column).to_pylist()


def test_a_crawl_date_before_its_dump_window_is_no_bound() -> None:
    batch = _batch(
        crawl_date=[datetime(2015, 1, 1, tzinfo=UTC)],
        dump=["CC-MAIN-2024-22"],
        url=["http://x.com/2020/05/12/a"],
    )
    row = date_batch(batch).to_pylist()[0]
    assert row["created"] == row["date_published"] == day("2020-05-12") and row["date_source"] == "url"
    assert row["date_upper"] == datetime(2024, 6, 10, tzinfo=UTC)  # the dump's window end
    assert row[DATE_NOTES] == ["rejected:crawl:before_dump_window"]


def test_running_twice_gives_the_same_table() -> None:
    crawl = datetime(2024, 3, 1, 5, tzinfo=UTC)
    batch = _batch(
        crawl_date=[crawl, crawl, None, crawl],
        dump=["CC-MAIN-2024-10", None, "CC-MAIN-2024-10", None],
        url=["http://x.com/2019/05/", "http://x.com/a", None, "http://x.com/20190512/"],
        text=["Posted 12 May 2019. (c) 2021", None, "   ", "2019年5月12日"],
    ).append_column("created", pa.array([None, day("2020-01-01"), None, None], TIMESTAMP))
    once = date_batch(batch)
    twice = date_batch(once)
    # the input's own created decides in the first run and, kept as "given", in the second too
    assert once.column("created")[1].as_py() == day("2020-01-01")
    assert once.column("date_source").to_pylist() == ["url", "given", "dump", "url"]
    assert twice.equals(once)


def _page(
    last_modified: datetime | None,
    published: datetime | None,
    modified: datetime | None,
    url: str = "https://example.org/wiki/Page",
) -> dict:
    crawl = datetime(2024, 5, 18, tzinfo=UTC)
    return {
        "crawl_date": crawl,
        "dump": "CC-MAIN-2024-22",
        "url": url,
        "last_modified": last_modified,
        "html_meta_date": published,
        "html_meta_modified": modified,
    }


def test_a_stated_page_edit_dates_the_content_and_last_modified_bounds_it() -> None:
    lm = datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    cases = [
        # stated edit months before Last-Modified: the edit dates the content
        (_page(lm, day("2008-07-04"), day("2023-08-17")), day("2023-08-17"), "html_meta_modified"),
        # Last-Modified on the edit's own day: the more precise time stands
        (_page(lm, day("2008-07-04"), day("2024-05-04")), lm, "last_modified"),
        # the "update" is the publication date again: no edit is stated, Last-Modified decides as before
        (_page(lm, day("2023-08-17"), day("2023-08-17")), lm, "last_modified"),
        # no update date at all: Last-Modified decides
        (_page(lm, day("2023-08-17"), None), lm, "last_modified"),
        # a stated edit after Last-Modified conflicts with it (the file held no later edit): it decides
        (_page(lm, day("2008-07-04"), day("2024-05-10")), lm, "last_modified"),
        # htmldate's update date is the markup's publication again, though the URL's date is chosen
        (
            _page(lm, day("2023-08-17"), day("2023-08-17"), "https://example.org/2023/08/15/story"),
            lm,
            "last_modified",
        ),
        # ... or a bare year (htmldate's 2023-01-01), which is never a publication date
        (_page(lm, day("2023-01-01"), day("2023-01-01")), lm, "last_modified"),
        # an "edit" the next day may be the publication day in another time zone: not an edit
        (_page(lm, day("2023-08-17"), day("2023-08-18")), lm, "last_modified"),
    ]
    columns = list(cases[0][0])
    batch = pa.RecordBatch.from_pydict(
        {c: [case[0][c] for case in cases] for c in columns},
        schema=pa.schema(
            [
                (
                    c,
                    TIMESTAMP
                    if c in ("crawl_date", "last_modified", "html_meta_date", "html_meta_modified")
                    else pa.string(),
                )
                for c in columns
            ]
        ),
    )
    rows = date_batch(batch).to_pylist()
    assert [(r["created"], r["date_source"]) for r in rows] == [(c[1], c[2]) for c in cases]
    assert ["distrusted:last_modified:after_page_edit" in r[DATE_NOTES] for r in rows] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert all(r["date_upper"] == lm for r in rows)  # Last-Modified bounds every one of them


def test_a_given_date_after_the_document_was_ingested_is_rejected_where_no_crawl_bounds_it() -> None:
    """A dataset's own `created` of 2035 (no crawl date) was kept: `date_upper` 2035, and a 2035 cell in the
    mixture. Without a crawl, the ingest time (`added`) is the latest a date can be."""
    added = datetime(2026, 12, 5, tzinfo=UTC)
    created = [
        datetime(2035, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 5, 20, tzinfo=UTC),
        datetime(2019, 6, 1, tzinfo=UTC),
    ]
    out = date_batch(_batch(text=["a page"] * 3, created=created, added=[added] * 3)).to_pylist()
    assert out[0]["created"] is None and "rejected:given:after_added" in out[0][DATE_NOTES]
    assert out[1]["created"] == created[1]  # the same day, a time zone away: kept
    assert out[2]["created"] == created[2] and out[2]["date_source"] == "given"
    # with a crawl date, the crawl bounds it as before
    crawled = date_batch(_batch(text=["a page"], created=[created[0]], added=[added], crawl_date=[added]))
    assert "rejected:given:after_crawl" in crawled.to_pylist()[0][DATE_NOTES]
