"""The dating kernels read their time columns in any type a caller's data has them (dates, ISO strings,
other units and zones) as the timestamps they stand for; another type is refused by name, never read as
"no date"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from corpus.schema import TIMESTAMP
from dating.combine import date_batch
from dating.html_meta import html_meta_date_batch

PAGE = (
    "<html><head><meta property='article:published_time' content='2021-04-05T10:00:00Z'></head>"
    "<body><p>x</p></body></html>"
)
CRAWL = datetime(2024, 5, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "crawl",
    [
        pa.array([date(2024, 5, 20)], pa.date32()),
        pa.array(["2024-05-20T00:00:00Z"]),
        pa.array(["2024-05-20"]),
        pa.array([CRAWL.replace(tzinfo=None)], pa.timestamp("ms")),
    ],
    ids=["date32", "iso-zoned", "iso-day", "naive-ms"],
)
def test_a_crawl_date_of_another_type_dates_as_the_timestamp_does(crawl: pa.Array) -> None:
    expected_meta = html_meta_date_batch(
        pa.RecordBatch.from_pydict({"html": [PAGE], "crawl_date": pa.array([CRAWL], TIMESTAMP)})
    )
    got_meta = html_meta_date_batch(pa.RecordBatch.from_pydict({"html": [PAGE], "crawl_date": crawl}))
    assert got_meta.column("html_meta_date").to_pylist() == [datetime(2021, 4, 5, tzinfo=UTC)]
    assert got_meta.column("html_meta_date") == expected_meta.column("html_meta_date")

    text = ["Published on 12 March 2021 by the editors of the paper."]
    expected = date_batch(
        pa.RecordBatch.from_pydict({"text": text, "crawl_date": pa.array([CRAWL], TIMESTAMP)})
    )
    got = date_batch(pa.RecordBatch.from_pydict({"text": text, "crawl_date": crawl}))
    for name in ("created", "date_lower", "date_upper", "date_source"):
        assert got.column(name) == expected.column(name), name
    assert got.column("created").to_pylist() == [datetime(2021, 3, 12, tzinfo=UTC)]


def test_a_given_created_of_another_type_is_kept_as_that_moment() -> None:
    batch = pa.RecordBatch.from_pydict(
        {"text": ["no dates here at all"], "created": pa.array(["2019-07-01"])}
    )
    assert date_batch(batch).column("created").to_pylist() == [datetime(2019, 7, 1, tzinfo=UTC)]


def test_a_time_column_of_numbers_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="column 'crawl_date' is int64"):
        date_batch(pa.RecordBatch.from_pydict({"text": ["x"], "crawl_date": [1]}))
    with pytest.raises(TypeError, match="column 'crawl_date' is int64"):
        html_meta_date_batch(pa.RecordBatch.from_pydict({"html": [PAGE], "crawl_date": [1]}))


def test_every_dating_kernel_reads_a_time_column_of_another_type() -> None:
    from dating.reference import ReferenceIndex
    from dating.signals import signal_batch

    strings = pa.array(["2020-01-01T00:00:00Z"])
    crawl = signal_batch(
        pa.RecordBatch.from_pydict({"crawl_date": pa.array([date(2020, 1, 1)], pa.date32())}), "crawl"
    )
    assert crawl.column("cand_crawl").to_pylist()[0][0]["date"] == datetime(2020, 1, 1, tzinfo=UTC)
    kept = html_meta_date_batch(pa.RecordBatch.from_pydict({"html": [PAGE], "html_meta_date": strings}))
    assert kept.column("html_meta_date").to_pylist() == [datetime(2020, 1, 1, tzinfo=UTC)]
    text = "a text long enough to have some shingles in it"
    index = ReferenceIndex.from_table(pa.table({"text": [text], "created": ["2020-01-01"], "url": ["u"]}))
    found = index.match(text)
    assert found is not None and found.version.first == datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(TypeError, match="column 'text' is int64"):
        date_batch(pa.RecordBatch.from_pydict({"text": [1]}))
