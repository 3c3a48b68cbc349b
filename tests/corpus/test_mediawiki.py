"""MediaWiki history on the real Commons export: revisions, monthly snapshots, suppressed text, bad XML."""

from __future__ import annotations

import bz2
import gzip
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from corpus.mediawiki_pages import next_month, page_url
from corpus.readers import ReadOptions, read_documents, read_schema
from corpus.schema import validate
from corpus.stats import RejectLog
from tests.shared_data import SHARED_DATA, needs_shared_data

HISTORY = SHARED_DATA / "versions" / "wmf_commonswiki_File13327093_revisions.xml"
TITLE = "File:Goddess Bhadrakali Worshipped by the Gods- from a tantric Devi series - Google Art Project.jpg"
URL = (
    "https://commons.wikimedia.org/wiki/"
    "File:Goddess_Bhadrakali_Worshipped_by_the_Gods-_from_a_tantric_Devi_series_-_Google_Art_Project.jpg"
)


def read(
    path: Path, monthly: bool = False, batch_size: int = 1000, added: datetime | None = None
) -> tuple[list[dict], RejectLog, Counter[str]]:
    options = ReadOptions(mediawiki_monthly=monthly, batch_size=batch_size, added=added)
    rejects = RejectLog()
    counters: Counter[str] = Counter()
    batches = list(read_documents(str(path), options, rejects, counters))
    for batch in batches:
        validate(batch)
    return pa.Table.from_batches(batches, schema=read_schema(options)).to_pylist(), rejects, counters


@pytest.fixture(scope="module")
def revisions() -> list[tuple[int, datetime]]:
    """(revision id, timestamp) of every revision, straight from the XML text."""
    xml = HISTORY.read_text(encoding="utf-8")
    found = re.findall(r"<revision>\s*<id>(\d+)</id>.*?<timestamp>([^<]+)</timestamp>", xml, re.DOTALL)
    return [(int(i), datetime.fromisoformat(ts)) for i, ts in found]


@needs_shared_data
def test_one_document_per_revision(revisions: list[tuple[int, datetime]]) -> None:
    docs, rejects, _ = read(HISTORY)
    assert len(revisions) == 59 and len(docs) == 59 and len(rejects) == 0
    assert [d["revision_id"] for d in docs] == [i for i, _ in revisions]
    assert [d["created"] for d in docs] == [ts for _, ts in revisions]
    first = docs[0]
    assert first["id"] == "mediawiki:13327093:49883803"
    assert first["created"] == datetime(2011, 2, 16, 20, 59, 44, tzinfo=UTC)
    assert first["url"] == URL and first["resource"] == TITLE and first["source"] == "mediawiki"
    assert first["text"].startswith("{{Artwork\n |artist         = artist unknown")
    assert first["text"].endswith("[[Category:Google Art Project]]")
    assert docs[-1]["created"] == datetime(2025, 9, 3, 16, 6, 2, tzinfo=UTC)


@needs_shared_data
def test_monthly_snapshots_show_the_page_at_the_start_of_each_month(
    revisions: list[tuple[int, datetime]],
) -> None:
    docs, rejects, _ = read(HISTORY, monthly=True)
    assert len(rejects) == 0
    # 2011-03 .. 2025-09: the month after the first revision's through the last revision's month
    assert len(docs) == (2025 - 2011) * 12 + (9 - 3) + 1 == 175
    by_month = {d["id"].rsplit(":", 1)[1]: d for d in docs}
    assert len(by_month) == 175 and min(by_month) == "2011-03" and max(by_month) == "2025-09"
    expected = {
        "2011-03": 49883803,  # only the first revision (2011-02-16) precedes March
        "2011-04": 51701700,  # 2011-03-08
        "2012-01": 52961341,  # 2011-04-09: nothing changed until 2012-01-26
        "2012-02": 66054013,  # 2012-01-26
        "2012-03": 67048631,  # the last of seven February 2012 edits (2012-02-15)
        "2012-05": 69782116,  # 2012-04-13
        "2025-09": 1038490200,  # 2025-05-31; the 2025-09-03 edit shows from October on
    }
    for month, revision_id in expected.items():
        assert by_month[month]["revision_id"] == revision_id, month
        assert by_month[month]["created"] == datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
    # the rule itself, for every month: newest revision strictly before the first of the month
    for month, doc in by_month.items():
        start = datetime.fromisoformat(f"{month}-01T00:00:00+00:00")
        assert doc["revision_id"] == max((ts, i) for i, ts in revisions if ts < start)[1]
        assert doc["revision_ts"] < start and doc["resource"] == TITLE


@needs_shared_data
def test_suppressed_text_is_rejected_and_never_a_snapshot(tmp_path: Path) -> None:
    xml = HISTORY.read_text(encoding="utf-8")
    # suppress the text of revision 66054013 (2012-01-26), the February 2012 snapshot
    start = xml.index("<id>66054013</id>")
    text_open = xml.index("<text ", start)
    text_close = xml.index("</text>", text_open) + len("</text>")
    path = tmp_path / "suppressed.xml"
    path.write_text(xml[:text_open] + '<text bytes="1063" deleted="deleted" />' + xml[text_close:])
    docs, rejects, _ = read(path)
    assert len(docs) == 58 and rejects.counts == Counter({"deleted_text": 1})
    assert "66054013" in rejects.items[0].input
    assert 66054013 not in [d["revision_id"] for d in docs]
    monthly, rejects, _ = read(path, monthly=True)
    by_month = {d["id"].rsplit(":", 1)[1]: d["revision_id"] for d in monthly}
    assert rejects.counts == Counter({"deleted_text": 1}) and len(monthly) == 175
    assert by_month["2012-02"] == 52961341  # the visible revision before it stays in force


@needs_shared_data
def test_compressed_exports_read_the_same(tmp_path: Path) -> None:
    data = HISTORY.read_bytes()
    (tmp_path / "h.xml.gz").write_bytes(gzip.compress(data))
    (tmp_path / "h.xml.bz2").write_bytes(bz2.compress(data))
    plain, _, _ = read(HISTORY)
    for name in ("h.xml.gz", "h.xml.bz2"):
        docs, rejects, _ = read(tmp_path / name, batch_size=7)
        assert len(rejects) == 0
        assert [(d["id"], d["text"]) for d in docs] == [(d["id"], d["text"]) for d in plain]


@needs_shared_data
def test_cut_xml_keeps_the_revisions_before_the_cut(tmp_path: Path) -> None:
    data = HISTORY.read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) // 2])
    docs, rejects, _ = read(path)
    assert rejects.counts == Counter({"bad_xml": 1})
    assert 0 < len(docs) < 59
    plain, _, _ = read(HISTORY)
    assert [d["id"] for d in docs] == [d["id"] for d in plain[: len(docs)]]
    gz = tmp_path / "cut.xml.gz"
    compressed = gzip.compress(data)
    gz.write_bytes(compressed[: len(compressed) // 2])
    docs, rejects, _ = read(gz)
    assert rejects.counts == Counter({"truncated_gzip": 1}) and len(docs) > 0


def test_not_a_mediawiki_document_is_one_skipped_span(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<rss><channel><title>x</title></channel></rss>")
    docs, rejects, _ = read(path)
    assert docs == [] and len(rejects) == 0  # no page, so no record
    assert rejects.skipped_counts == Counter({"bad_xml": 1})
    assert (rejects.skipped[0].offset, rejects.skipped[0].length) == (0, path.stat().st_size)


def test_helpers() -> None:
    assert next_month(datetime(2024, 12, 31, 23, tzinfo=UTC)) == datetime(2025, 1, 1, tzinfo=UTC)
    assert next_month(datetime(2024, 1, 1, tzinfo=UTC)) == datetime(2024, 2, 1, tzinfo=UTC)
    assert page_url("https://en.wikipedia.org/wiki/Main_Page", "Café au lait") == (
        "https://en.wikipedia.org/wiki/Caf%C3%A9_au_lait"
    )
    assert page_url(None, "X") is None


def test_page_url_replaces_the_main_page_title_in_any_base() -> None:
    title = "Ender's Game: A&B?c#d/(x),~$!*@;é"
    encoded = "Ender%27s_Game:_A%26B%3Fc%23d/(x),~$!*@;%C3%A9"
    assert page_url("https://en.wikipedia.org/wiki/Main_Page", "Title With Spaces") == (
        "https://en.wikipedia.org/wiki/Title_With_Spaces"
    )
    assert (
        page_url("https://en.wikipedia.org/wiki/Main_Page", title)
        == f"https://en.wikipedia.org/wiki/{encoded}"
    )
    assert page_url("http://wiki.example.org/index.php?title=Main_Page", title) == (
        f"http://wiki.example.org/index.php?title={encoded}"
    )
    assert page_url("http://wiki.example.org/w/index.php?action=view&title=Main_Page", "T") == (
        "http://wiki.example.org/w/index.php?action=view&title=T"
    )
    assert (
        page_url("http://wiki.example.org/index.php/Main_Page", "T") == "http://wiki.example.org/index.php/T"
    )
    assert page_url("http://wiki.example.org", "T") is None


def test_page_urls_of_an_export_with_an_index_php_base(tmp_path: Path) -> None:
    path = tmp_path / "export.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">\n'
        "<siteinfo><base>http://wiki.example.org/index.php?title=Main_Page</base></siteinfo>\n"
        "<page><title>Ender's Game</title><ns>0</ns><id>1</id><revision><id>10</id>"
        "<timestamp>2020-01-05T00:00:00Z</timestamp><text>Bean.</text></revision></page>\n</mediawiki>\n"
    )
    docs, rejects, _ = read(path)
    assert len(rejects) == 0
    assert [d["url"] for d in docs] == ["http://wiki.example.org/index.php?title=Ender%27s_Game"]


@needs_shared_data
def test_a_revision_year_typo_is_one_reject_not_centuries_of_snapshots(tmp_path: Path) -> None:
    """A revision dated 1011 (for 2011) made 12,000 monthly snapshot documents and no counter; a time before
    2001 (no wiki ran MediaWiki) is a `bad_revision`, one after the read's `added` time a
    `revision_after_added`, and the page's history is kept."""
    xml = HISTORY.read_text(encoding="utf-8")
    first = re.search(r"<timestamp>(\d{4})", xml)
    assert first is not None and first.group(1) == "2011"
    typo = xml[: first.start(1)] + "1011" + xml[first.end(1) :]
    later = typo.index("<timestamp>2025")
    future = typo[: later + len("<timestamp>")] + "2125" + typo[later + len("<timestamp>2025") :]
    path = tmp_path / "typo.xml"
    path.write_text(future)
    added = datetime(2026, 1, 1, tzinfo=UTC)  # after the history's last revision (2025-09)
    docs, rejects, _ = read(path, added=added)
    assert len(docs) == 57 and rejects.counts == Counter({"bad_revision": 1, "revision_after_added": 1})
    assert {r.detail.split(" is ")[1] for r in rejects.items} == {
        "before 2001 (no wiki ran MediaWiki then)",
        "after the documents' added time 2026-01-01",
    }
    monthly, rejects, _ = read(path, monthly=True, added=added)
    months = sorted(d["id"].rsplit(":", 1)[1] for d in monthly)
    # 175 snapshots whole; the first revision's month (2011-03) goes, the series still ends at 2025-09
    assert rejects.counts == Counter({"bad_revision": 1, "revision_after_added": 1}) and len(monthly) == 174
    assert months[0] == "2011-04" and months[-1] == "2025-09"


def test_a_revision_is_judged_against_the_pinned_added_time_not_the_clock(tmp_path: Path) -> None:
    """A revision dated ten days ahead of the clock was refused as 'in the future' even with `added` pinned
    to 2030 (and would have been kept by the same read ten days later): the bound is `added`."""
    ahead = datetime.now(UTC) + timedelta(days=10)
    path = tmp_path / "export.xml"
    revisions = "".join(
        f"<revision><id>{i}</id><timestamp>{when}</timestamp><text>Version {i}.</text></revision>"
        for i, when in ((10, "2020-01-05T00:00:00Z"), (11, f"{ahead:%Y-%m-%dT%H:%M:%SZ}"))
    )
    path.write_text(
        '<?xml version="1.0"?>\n<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/">\n'
        "<siteinfo><base>http://wiki.example.org/wiki/Main_Page</base></siteinfo>\n"
        f"<page><title>Bean</title><ns>0</ns><id>1</id>{revisions}</page>\n</mediawiki>\n"
    )
    docs, rejects, _ = read(path, added=datetime(2030, 1, 1, tzinfo=UTC))
    assert len(rejects) == 0 and [d["text"] for d in docs] == ["Version 10.", "Version 11."]
    docs, rejects, _ = read(path, added=datetime(2021, 1, 1, tzinfo=UTC))
    assert [d["text"] for d in docs] == ["Version 10."] and rejects.counts == Counter(
        {"revision_after_added": 1}
    )
    assert rejects.items[0].detail.endswith("is after the documents' added time 2021-01-01")
