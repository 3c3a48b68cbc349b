"""The markup dates: htmldate's publication and update dates from the page's one parse (htmldate's first
stages on its date markup, the full search only where they find nothing), fast and never raising."""

from __future__ import annotations

import functools
import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pyarrow as pa
import pytest
from htmldate import find_date
from htmldate.extractors import extract_url_date
from htmldate.utils import load_html

from corpus.html_text import parse_html, select_all
from dating.html_meta import (
    BODY_SELECTORS,
    HTML_META_MODIFIED,
    HTMLDATE_MIN_DATE,
    MAX_BODY_ELEMENTS,
    MAX_HTML_CHARS,
    UNREAD_ERROR,
    UNREAD_TOO_DEEP,
    MarkupDater,
    _dates_or_why_not,
    _first_stages,
    _markup,
    _options,
    html_meta_date_batch,
    html_meta_dates,
    markup_dates_or_raise,
    whole_reading_custom_parse,
)
from tests.dating.helpers import by_url, day, gold_pages, nested_page, sample_pages, warc_batch
from tests.shared_data import ROOT


def test_whirlwind_capture_json_ld_dates(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "cc-whirlwind_whirlwind.warc.gz")
    row = batch.to_pylist()[0]
    assert row["html_meta_date"] == day("2008-07-04")  # JSON-LD datePublished
    assert row[HTML_META_MODIFIED] == day("2023-08-17")  # JSON-LD dateModified


def test_dolma_pages_agree_with_htmldate_on_the_markup(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz")
    rows = by_url(batch.to_pylist())
    for url in ("https://amyxzhang.wordpress.com/", "https://joe.cat/"):
        reference = find_date(rows[url]["html"], original_date=True, extensive_search=True, url="")
        assert reference is not None
        assert rows[url]["html_meta_date"] == day(reference)
    # the blog post pages: htmldate reads the date from the markup, without the URL
    assert rows["https://maria-antoniak.github.io/2020/03/25/pip.html"]["html_meta_date"] == day("2020-03-25")


def test_news_pages_match_htmldate_without_url(data_dir: Path) -> None:
    gold = json.loads((data_dir / "dating" / "eval_mediacloud_2020.json").read_text())
    agree = 0
    for entry in list(gold.values())[:10]:
        html = gzip.decompress((data_dir / "dating" / "pages" / f"{entry['file']}.gz").read_bytes()).decode(
            "utf-8", "replace"
        )
        published, _ = html_meta_dates(html)
        reference = find_date(html, original_date=True, extensive_search=True, url="")
        agree += (published.strftime("%Y-%m-%d") if published else None) == reference
    # the same library on the same tree; canonical-link URLs may add a date htmldate-without-URL misses
    assert agree >= 9


def test_bad_html_gives_nulls_never_an_exception() -> None:
    html = [
        "",
        "\x00\x01\x02 not html",
        "<html><head><meta name='date' content='2019-02-30'></head></html>",
        "<html" * 1000,
        None,
    ]
    batch = pa.RecordBatch.from_pydict(
        {"id": [str(i) for i in range(5)], "html": pa.array(html, pa.string())}
    )
    out = html_meta_date_batch(batch)
    assert out.num_rows == 5
    published = out.column("html_meta_date").to_pylist()
    assert published[:2] + published[3:] == [None] * 4
    # htmldate keeps the month of an impossible day (2019-02-30 -> 2019-02-01): a real date or nothing
    assert published[2] is None or (published[2].year, published[2].month) == (2019, 2)
    assert out.column(HTML_META_MODIFIED).to_pylist()[:2] == [None, None]


def test_dates_after_the_crawl_are_not_taken() -> None:
    meta = "<meta property='article:published_time' content='2030-05-01'>"
    html = f"<html><head>{meta}</head><body>x</body></html>"
    assert html_meta_dates(html, day("2024-01-01"))[0] is None
    assert html_meta_dates(html, day("2031-01-01"))[0] == day("2030-05-01")


def test_a_markup_date_after_the_crawl_is_refused_whole_not_read_as_its_month() -> None:
    """htmldate's reading of a date string, refusing 2021-03-25 on a page crawled 2021-03-10, went on to the
    same string's month and gave 2021-03-01, a day the page never names; that decided the page in the first
    stages, so a date elsewhere on it was never looked for."""
    latest = datetime(2021, 3, 11, 12)
    read = functools.partial(whole_reading_custom_parse, outputformat="%Y-%m-%d", min_date=HTMLDATE_MIN_DATE)
    assert (
        read("2021-03-25", max_date=latest) is None
        and read("2021-04-02T08:00:00+02:00", max_date=latest) is None
    )
    assert read("2021-03-11T10:00:00+09:00", max_date=latest) == "2021-03-11"  # the page's own wall clock
    assert (
        read("2021-02-15", max_date=latest) == "2021-02-15"
        and read("2021-03", max_date=latest) == "2021-03-01"
    )
    crawl = datetime(2021, 3, 10, 12, tzinfo=UTC)
    page = (
        "<html><head><meta property='article:published_time' content='2021-03-25'></head>"
        "<body><p class='date'>Posted 2021-02-20</p></body></html>"
    )
    assert html_meta_dates(page, crawl)[0] == day("2021-02-20")
    meta = "<meta property='article:published_time' content='2021-02-15'>"
    assert html_meta_dates(f"<html><head>{meta}</head><body>x</body></html>", crawl)[0] == day("2021-02-15")


def test_without_a_crawl_time_the_bound_is_added_and_never_the_clock_or_zone() -> None:
    """With no crawl time htmldate bounded dates by the end of today in the process's time zone: a page
    dated the day after today (UTC) was 2026-12-07 under TZ=Etc/GMT-14 and its month's first day under UTC.
    A time with an offset near the bound was compared as an instant with a bound read in the local zone."""
    meta = "<meta property='article:published_time' content='{}'>"
    page = "<html><head>" + meta + "</head><body>x</body></html>"
    script = (
        "from datetime import datetime, UTC\n"
        "from dating.html_meta import html_meta_dates\n"
        f"page = {page!r}\n"
        "crawl = datetime(2021, 3, 10, 12, tzinfo=UTC)\n"
        "print([html_meta_dates(page.format(c), w, a)[0] for c, w, a in ["
        "('2030-05-05', None, None), ('2030-05-05', None, datetime(2030, 6, 1, tzinfo=UTC)),"
        "('2030-05-05', None, datetime(2030, 1, 1, tzinfo=UTC)),"
        "('2021-03-12T02:00:00+08:00', crawl, None), ('2021-03-11T10:00:00+09:00', crawl, None)]])\n"
    )
    printed = set()
    for zone in ("UTC", "Etc/GMT-14", "Etc/GMT+12", "America/Los_Angeles"):
        env = {**os.environ, "TZ": zone}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr[-2000:]
        printed.add(done.stdout)
    assert len(printed) == 1, printed
    # refused whole, the dates' years and months are still read by htmldate's last scan of the page's text
    # (2030-01-01 stands for a year, which the combination reads as one; 2021-03-01 for the month)
    may_fifth, mar_eleventh = day("2030-05-05"), day("2021-03-11")
    expected = [may_fifth, may_fifth, day("2030-01-01"), day("2021-03-01"), mar_eleventh]
    assert printed.pop().strip() == repr(expected)


def test_an_impossible_crawl_time_bounds_nothing_and_fails_nothing() -> None:
    """A WARC-Date of 9999-12-31 or 0001-01-01 made the ingest's page hook fail (a day's slack past 9999
    overflows), counted only as page_hook_error; the date stage reads such times as absent, and so does this."""
    meta = "<meta property='article:published_time' content='2020-05-01'>"
    page = f"<html><head>{meta}</head><body>x</body></html>"
    for crawl in (datetime(9999, 12, 31, 23, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)):
        assert markup_dates_or_raise(None, page, crawl) == (day("2020-05-01"), day("2020-05-01"))
    # with an added time it is that which bounds the page
    # (refused, the date's year is still read from the page's text by htmldate's last stage: a year)
    assert markup_dates_or_raise(None, page, datetime(9999, 1, 1, tzinfo=UTC), day("2020-01-01")) == (
        day("2020-01-01"),
        None,
    )


def test_a_date_without_its_day_does_not_take_today_s() -> None:
    """htmldate gave "2023-01" today's day of the month (2023-01-04 on 4 December), and a time without a date
    today's date: the result depended on the day the job ran."""

    def dated(content: str) -> tuple[datetime | None, datetime | None]:
        meta = f"<meta property='article:published_time' content='{content}'>"
        return html_meta_dates(f"<html><head>{meta}</head><body>x</body></html>", day("2024-05-18"))

    assert dated("2023-01") == (day("2023-01-01"), day("2023-01-01"))
    assert dated("2023/07")[0] == day("2023-07-01")
    assert dated("12:30") == (None, None)
    assert dated("2023-01-15T10:00") == (day("2023-01-15"), day("2023-01-15"))


def test_batch_without_html_is_unchanged_and_existing_values_kept() -> None:
    batch = pa.RecordBatch.from_pydict({"id": ["a"], "text": ["t"]})
    assert html_meta_date_batch(batch) is batch
    kept = pa.RecordBatch.from_pydict(
        {
            "id": ["a"],
            "html": [
                "<html><head><meta property='article:published_time' content='2019-05-01'></head></html>"
            ],
            "html_meta_date": pa.array([day("2001-02-03")], pa.timestamp("us", tz="UTC")),
        }
    )
    assert html_meta_date_batch(kept).column("html_meta_date").to_pylist() == [day("2001-02-03")]


def test_first_stages_on_the_one_parse_equal_htmldate_fast_mode(data_dir: Path) -> None:
    # htmldate is the reference: where its first stages, read from the lexbor tree's date markup, give a
    # publication date, htmldate's fast mode on the whole page (its own lxml parse) gives the same.
    decided = agree = 0
    for html in gold_pages(data_dir, 80):
        markup, canonical = _markup(parse_html(html))
        options = _options(True, None)
        ours = extract_url_date(canonical, options) or _first_stages(markup, options)
        if ours is None:
            continue
        decided += 1
        whole = load_html(html[:MAX_HTML_CHARS])
        agree += ours == find_date(whole, extensive_search=False, url=canonical, min_date=HTMLDATE_MIN_DATE)
    assert decided >= 55 and agree >= decided - 1  # lxml drops a page's metas that lexbor keeps, at most


def test_date_markup_from_one_walk_of_the_body_equals_one_walk_per_selector(data_dir: Path) -> None:
    # the reference takes each body selector's elements in its own query, in BODY_SELECTORS' order
    pages = sample_pages(data_dir)
    with_body_markup = 0
    for html in pages:
        tree = parse_html(html)
        reference: list[str] = []
        for selector in BODY_SELECTORS:
            found = select_all(tree.body, selector) if tree.body is not None else []
            if len(found) <= MAX_BODY_ELEMENTS:
                reference.extend(node.html for node in found)
        body = _markup(tree)[0].find("body")
        ours = [lxml.html.tostring(e, encoding="unicode", with_tail=False) for e in body]
        theirs = (
            [
                lxml.html.tostring(e, encoding="unicode", with_tail=False)
                for e in lxml.html.fragments_fromstring("".join(reference))
            ]
            if reference
            else []
        )
        assert ours == theirs
        with_body_markup += bool(reference)
    assert with_body_markup > 50


def test_the_reader_hook_gives_the_batch_kernels_dates(data_dir: Path) -> None:
    one = warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz")
    two = warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz", one_parse=False)
    for column in ("html_meta_date", HTML_META_MODIFIED):
        assert one.column(column).to_pylist() == two.column(column).to_pylist()
    assert sum(v is not None for v in one.column("html_meta_date").to_pylist()) >= 15


def test_a_page_htmldate_must_search_whole() -> None:
    # No date in the markup's first stages: htmldate's extensive search finds the date in the page's text.
    html = "<html><head><title>t</title></head><body><div class='x'><p>Posted 2019-03-04 by me</p></div></body></html>"
    assert html_meta_dates(html)[0] == day("2019-03-04")


def test_a_body_that_is_a_url_is_never_downloaded(monkeypatch) -> None:
    # htmldate's load_html fetches a string that starts with "http" and holds no space; a crawled body like
    # that (a redirect stub) must be read as a page without dates, never fetched from an executor.
    import htmldate.utils

    fetched: list[str] = []
    monkeypatch.setattr(htmldate.utils, "fetch_url", lambda url, *a, **k: fetched.append(url))
    for body in ("http://127.0.0.1:9/elsewhere", "https://example.org/moved", b"http://example.org/x"):
        assert html_meta_dates(body) == (None, None)
    assert fetched == []


def test_the_full_search_rule_loses_nothing_on_the_real_pages(data_dir: Path) -> None:
    # Where the first stages find no publication date, only htmldate's extensive search runs (on the lexbor
    # tree: tests/dating/test_html_search.py). Checked here against htmldate itself on every real page that
    # reaches that step: fast mode first would give the same date, and fast mode's update date would be
    # none or the publication date again.
    crawl = datetime(2020, 12, 31, 23, 59, 59)
    bounds = {"min_date": HTMLDATE_MIN_DATE, "max_date": crawl}
    searched = 0
    for html in sample_pages(data_dir):
        markup, canonical = _markup(parse_html(html))
        options = _options(True, crawl)
        if extract_url_date(canonical, options) or _first_stages(markup, options):
            continue
        searched += 1
        whole = load_html(html[:MAX_HTML_CHARS])
        fast = find_date(whole, extensive_search=False, original_date=True, url=canonical, **bounds)
        extensive = find_date(whole, extensive_search=True, original_date=True, url=canonical, **bounds)
        assert (fast or extensive) == extensive
        if _first_stages(markup, _options(False, crawl)) is None:
            updated = find_date(whole, extensive_search=False, original_date=False, url="", **bounds)
            assert updated in (None, extensive)
    assert searched >= 80


def test_a_failure_of_htmldate_is_the_reader_s_to_count_not_a_page_without_dates(monkeypatch) -> None:
    # The hook swallowed every failure, so the reader's `page_hook_error` could never count one: a bug in
    # the date search passed for pages without dates.
    import dating.html_meta

    def broken_search(*args: object) -> None:
        raise RuntimeError("a date search that fails")

    monkeypatch.setattr(dating.html_meta, "extensive_search_date", broken_search)
    html = "<html><head><title>t</title></head><body><p>Posted 2019-03-04 by me</p></body></html>"
    assert html_meta_dates(html) == (None, None)  # the batch kernel's form still never raises
    row: dict = {}
    with pytest.raises(RuntimeError, match="a date search that fails"):
        MarkupDater()(parse_html(html), html, row)
    # a page whose first stages find its date never reaches the search
    dated = "<html><head><meta name='date' content='2019-03-04'></head><body><p>x</p></body></html>"
    MarkupDater()(parse_html(dated), dated, row)
    assert row["html_meta_date"] == day("2019-03-04")


def test_a_page_not_read_for_dates_says_why() -> None:
    """The date job's kernel gave a page nested past TOO_DEEP null dates without a word (the ingest reader
    counts such a page as page_nested_too_deep; a dataset with its own `html` went uncounted). It now says
    why per page, and says nothing for a page it read, whatever it found there."""
    from corpus.html_text import TOO_DEEP

    pages = [nested_page(20), nested_page(TOO_DEEP + 10), "<html><body>no date</body></html>", None]
    batch = html_meta_date_batch(pa.RecordBatch.from_pydict({"html": pages}))
    assert batch.column("html_meta_unread").to_pylist() == [None, UNREAD_TOO_DEEP, None, None]
    assert batch.column("html_meta_date").to_pylist() == [day("2020-05-17"), None, None, None]
    # a Python string Arrow could not hold (a lone surrogate): lxml's encoding of it raises
    assert _dates_or_why_not("\ud800<html></html>", None, None) == (None, None, UNREAD_ERROR)
