"""Each date signal on its own: crawl window, Last-Modified, URL dates, and the batch form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from dating.signals import (
    Evidence,
    crawl_signal,
    dump_window_end,
    dump_window_start,
    host_last_modified_pages,
    last_modified_signal,
    signal_batch,
    url_signal,
)
from tests.dating.helpers import day, warc_batch

CRAWL = datetime(2024, 4, 25, 16, 24, 45, tzinfo=UTC)


def _url(url: str, crawl: datetime | None = CRAWL) -> Evidence:
    evidence = Evidence.empty()
    url_signal(url, crawl, evidence)
    return evidence


def test_dump_window_end() -> None:
    # CC-MAIN-2024-22: ISO week 22 of 2024 ends Sunday 2 June; a week's margin after it.
    assert dump_window_end("CC-MAIN-2024-22") == datetime(2024, 6, 10, tzinfo=UTC)
    assert dump_window_end("CC-MAIN-2012") == datetime(2013, 1, 8, tzinfo=UTC)
    assert dump_window_end("CC-MAIN-2009-2010") == datetime(2011, 1, 8, tzinfo=UTC)
    assert dump_window_end("CC-MAIN-2024-99") is None
    assert dump_window_end(None) is None


def test_crawl_signal_bounds_and_rejections() -> None:
    evidence = Evidence.empty()
    fetched = datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)
    assert crawl_signal(fetched, "CC-MAIN-2024-22", evidence) == fetched
    assert {(c.signal, c.kind) for c in evidence.candidates} == {("crawl", "upper"), ("dump", "upper")}
    evidence = Evidence.empty()
    # a fetch after its dump's window is impossible: the window end is the bound
    assert crawl_signal(datetime(2025, 1, 1, tzinfo=UTC), "CC-MAIN-2024-22", evidence) == datetime(
        2024, 6, 10, tzinfo=UTC
    )
    assert [str(n) for n in evidence.notes] == ["rejected:crawl:after_dump_window"]
    evidence = Evidence.empty()
    assert crawl_signal(datetime(1970, 1, 1, tzinfo=UTC), "CC-MAIN-2024-99", evidence) is None
    assert sorted(str(n) for n in evidence.notes) == ["rejected:crawl:before_1991", "rejected:dump:malformed"]


def test_dump_window_start() -> None:
    # six weeks before the Monday (27 May) of ISO week 22 of 2024; a yearly crawl's first year likewise
    assert dump_window_start("CC-MAIN-2024-22") == datetime(2024, 4, 15, tzinfo=UTC)
    assert dump_window_start("CC-MAIN-2008-2009") == datetime(2007, 11, 20, tzinfo=UTC)
    assert dump_window_start("CC-MAIN-2012") == datetime(2011, 11, 20, tzinfo=UTC)
    assert dump_window_start("CC-MAIN-2024-99") is None and dump_window_start(None) is None


def test_a_fetch_before_its_dump_window_is_rejected() -> None:
    evidence = Evidence.empty()
    # a fetch years before its dump is a wrong date: the window end bounds instead
    assert crawl_signal(datetime(2015, 1, 1, tzinfo=UTC), "CC-MAIN-2024-22", evidence) == datetime(
        2024, 6, 10, tzinfo=UTC
    )
    assert [str(n) for n in evidence.notes] == ["rejected:crawl:before_dump_window"]
    # a real crawl starts before its named week: CC-MAIN-2021-21 was fetched from 5 May, 19 days before
    evidence = Evidence.empty()
    fetched = datetime(2021, 5, 5, 3, tzinfo=UTC)
    assert crawl_signal(fetched, "CC-MAIN-2021-21", evidence) == fetched and evidence.notes == []


def test_url_dates_of_the_dolma_blog_posts(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz", with_html_dates=False)
    dated = {
        url: [c for c in _url(url).candidates]
        for url in batch.column("url").to_pylist()
        if "maria-antoniak.github.io/20" in url
    }
    assert len(dated) == 5
    for url, candidates in dated.items():
        y, m, d = url.split("github.io/")[1].split("/")[:3]
        assert [(c.kind, c.date, c.precision) for c in candidates] == [
            ("published", day(f"{y}-{m}-{d}"), "day")
        ]


@pytest.mark.parametrize(
    ("url", "expected", "precision"),
    [
        ("https://example.com/news/20190512/story.html", "2019-05-12", "day"),
        ("https://example.com/story?id=7&date=2019-05-12", "2019-05-12", "day"),
        ("https://example.com/2019/05/some-story/", "2019-05-01", "month"),
        ("https://example.com/a/2019_05_12_title", "2019-05-12", "day"),
        ("<https://example.com/2019/05/12/x.html>", "2019-05-12", "day"),
        ("https://example.com/news/31-05-2019/x", "2019-05-31", "day"),
    ],
)
def test_url_date_shapes(url: str, expected: str, precision: str) -> None:
    candidates = _url(url).candidates
    assert [(c.date, c.precision) for c in candidates] == [(day(expected), precision)]


@pytest.mark.parametrize(
    ("url", "note"),
    [
        ("https://example.com/2019/13/45/story.html", "rejected:url:malformed"),
        ("https://example.com/1985/05/12/story.html", "rejected:url:before_1991"),
        ("https://example.com/2031/05/12/story.html", "rejected:url:after_crawl"),
    ],
)
def test_bad_url_dates_are_rejected_with_a_reason(url: str, note: str) -> None:
    evidence = _url(url)
    assert evidence.candidates == []
    assert [str(n) for n in evidence.notes] == [note]


def test_url_ids_are_not_dates() -> None:
    assert _url("http://www.aryanews.com/News/120200622120908039/x").candidates == []
    assert _url("https://example.com/item/201905123/").candidates == []
    assert _url(None).candidates == []


def test_last_modified_rules() -> None:
    def run(value: datetime, pages: int | None = None) -> Evidence:
        evidence = Evidence.empty()
        last_modified_signal(value, CRAWL, pages, evidence)
        return evidence

    trusted = run(CRAWL - timedelta(days=30))
    assert {c.kind for c in trusted.candidates} == {"updated", "upper"}
    assert [str(n) for n in run(CRAWL - timedelta(minutes=5)).notes] == [
        "distrusted:last_modified:at_fetch_time"
    ]
    assert run(CRAWL - timedelta(minutes=5)).candidates == []
    rebuild = run(CRAWL - timedelta(days=30), pages=6)
    assert [c.kind for c in rebuild.candidates] == ["upper"]  # still an upper bound, never an estimate
    assert [str(n) for n in rebuild.notes] == ["distrusted:last_modified:host_rebuild"]
    assert [str(n) for n in run(CRAWL + timedelta(days=3)).notes] == ["rejected:last_modified:after_crawl"]
    assert [str(n) for n in run(datetime(1980, 1, 1, tzinfo=UTC)).notes] == [
        "rejected:last_modified:before_1991"
    ]


def test_host_last_modified_pages_on_the_dolma_sample(data_dir: Path) -> None:
    batch = warc_batch(data_dir / "warc" / "dolma_sample-0000.warc.gz", with_html_dates=False)
    urls, lms = batch.column("url").to_pylist(), batch.column("last_modified").to_pylist()
    counts = dict(zip(urls, host_last_modified_pages(urls, lms), strict=True))
    # maria-antoniak.github.io: 6 pages rewritten within one second (GitHub Pages rebuild)
    assert {u: n for u, n in counts.items() if "maria-antoniak" in u} == {
        u: 6 for u in urls if "maria-antoniak" in u
    }
    assert counts["https://soldaini.net/facts/"] == 3
    assert counts["https://kyleclo.com/"] == 2
    assert counts["https://www.semanticscholar.org/research/research-team"] is None  # no Last-Modified


def test_host_last_modified_pages_counts_a_url_once() -> None:
    """One URL fetched twice, 10 s apart, and one other page: two pages, as the job's shuffle counts them (the
    in-process count gave three, its oracle disagreeing with production)."""
    t = datetime(2024, 1, 1, tzinfo=UTC)
    urls = ["https://h.org/a", "https://h.org/a", "https://h.org/b"]
    assert host_last_modified_pages(urls, [t, t + timedelta(seconds=10), t]) == [2, 2, 2]


def test_a_dotted_release_number_in_a_url_is_no_date() -> None:
    """`/pycharm/download/other/2020.3.1/` was read as 1 March 2020 and outranked the page's own date."""
    assert not _url("https://www.jetbrains.com/pycharm/download/other/2020.3.1/").candidates
    assert [c.date for c in _url("https://example.org/news/2020.03.01/story").candidates] == [
        day("2020-03-01")
    ]
    # single digits stay dates with the other separators, as news URLs write them
    assert [c.date for c in _url("https://example.org/2020/3/1/story").candidates] == [day("2020-03-01")]


def test_signal_batch_adds_candidates_and_notes() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "url": ["https://example.com/2019/05/12/a", "https://example.com/1985/01/02/b", None],
            "crawl_date": pa.array([CRAWL] * 3, pa.timestamp("us", tz="UTC")),
        }
    )
    out = signal_batch(batch, "url")
    assert out.num_rows == 3
    assert [len(c) for c in out.column("cand_url").to_pylist()] == [1, 0, 0]
    assert out.column("cand_url").to_pylist()[0][0]["date"] == day("2019-05-12")
    assert out.column("notes_url").to_pylist() == [[], ["rejected:url:before_1991"], []]
    with pytest.raises(ValueError, match="signal 'nope'"):
        signal_batch(batch, "nope")
