"""Wikimedia's content history as JSON lines: the same documents as the XML export of the same history, URLs
from wiki ids, and each bad row rejected once under its reason."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from corpus.mediawiki_history import site_base
from corpus.readers import ReadOptions, read_documents
from corpus.schema import validate
from corpus.stats import RejectLog
from tests.shared_data import SHARED_DATA, needs_shared_data

VERSIONS = SHARED_DATA / "versions"
XML = VERSIONS / "wmf_commonswiki_File13327093_revisions.xml"
JSON = VERSIONS / "wmf_content_mediawiki_content_history_v1.json.gz"
SAME = ("id", "text", "url", "created", "resource", "revision_id", "revision_ts", "source")


def read(path: Path, monthly: bool = False) -> tuple[dict[str, dict], RejectLog, Counter[str]]:
    rejects, counters = RejectLog(), Counter()
    rows = {}
    for batch in read_documents(str(path), ReadOptions(mediawiki_monthly=monthly), rejects, counters):
        validate(batch)
        rows.update((row["id"], row) for row in batch.to_pylist())
    return rows, rejects, counters


@needs_shared_data
@pytest.mark.parametrize("monthly", [False, True])
def test_content_history_gives_the_xml_exports_documents(monthly: bool) -> None:
    xml, xml_rejects, _ = read(XML, monthly)
    json_docs, rejects, counters = read(JSON, monthly)
    assert not xml_rejects.items and len(xml) == (175 if monthly else 59)
    # the Commons page both files hold: every document the same, field by field
    page = {i: row for i, row in json_docs.items() if i.startswith("mediawiki:13327093:")}
    assert {i: [row[k] for k in SAME] for i, row in page.items()} == {
        i: [row[k] for k in SAME] for i, row in xml.items()
    }
    # The rows give this page's title with spaces in 32 revisions and underscores in 27: one resource
    assert {row["resource"] for row in page.values()} == {next(iter(xml.values()))["resource"]}
    # the other two pages are on Simple English Wikipedia
    others = {row["url"] for i, row in json_docs.items() if i not in page}
    assert others == {
        "https://simple.wikipedia.org/wiki/User:Ryulong",
        "https://simple.wikipedia.org/wiki/Talk:Cristiano_Ronaldo",
    }
    # every line is a document (per revision) or one reject: suppressed content, one revision without a body
    with gzip.open(JSON, "rt") as lines:
        n_lines = sum(1 for line in lines if line.strip())
    assert Counter(r.reason for r in rejects.items) == Counter({"deleted_text": 4, "empty_text": 1})
    if not monthly:
        assert len(json_docs) + len(rejects.items) == n_lines == 98
    assert counters["mediawiki_unknown_wiki"] == 0 and counters["revision_out_of_order"] == 0


def _row(
    page_id: object, revision_id: object, when: str, text: str | None = "Text.", **extra: object
) -> dict:
    row = {
        "wiki_id": "enwiki",
        "page_id": page_id,
        "page_title": "Main_Street (Springfield)",
        "revision_id": revision_id,
        "revision_dt": when,
        "revision_content_is_visible": True,
        "revision_content_slots": {"main": {"content_body": text}} if text is not None else {},
    }
    return {**row, **extra}


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((json.dumps(r) if not isinstance(r, str) else r) + "\n" for r in rows))
    return path


def test_bad_rows_are_rejected_once_each_and_the_rest_kept(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "history.jsonl",
        [
            _row(1, 10, "2020-01-05T00:00:00Z"),
            _row(1, "x", "2020-02-05T00:00:00Z"),  # bad_revision: no numeric id
            _row(1, 11, "yesterday"),  # bad_revision: no time
            _row(1, 12, "2020-03-05T00:00:00Z", revision_content_is_visible=False),  # deleted_text
            _row(1, 13, "2020-04-05T00:00:00Z", text=None),  # deleted_text: no body
            _row(1, 14, "2020-05-05T00:00:00Z", text="   "),  # empty_text
            "{not json",  # bad_json
            _row(2, 20, "2020-06-05T00:00:00Z", wiki_id="somewhere"),  # kept, without a URL
            {"text": "a plain line beside them", "id": "plain"},  # a Dolma-style line still reads as one
        ],
    )
    docs, rejects, counters = read(path)
    assert Counter(r.reason for r in rejects.items) == Counter(
        {"bad_revision": 2, "deleted_text": 2, "empty_text": 1, "bad_json": 1}
    )
    first = docs["mediawiki:1:10"]
    assert first["url"] == "https://en.wikipedia.org/wiki/Main_Street_(Springfield)"
    assert first["resource"] == "Main Street (Springfield)" and first["source"] == "mediawiki"
    assert first["created"] == first["revision_ts"] == datetime(2020, 1, 5, tzinfo=UTC)
    assert docs["mediawiki:2:20"]["url"] is None and counters["mediawiki_unknown_wiki"] == 1
    assert set(docs) == {"mediawiki:1:10", "mediawiki:2:20", "plain"}


def test_monthly_snapshots_need_a_pages_rows_together_and_in_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "history.jsonl",
        [
            _row(1, 10, "2020-01-05T00:00:00Z", text="first"),
            _row(1, 11, "2020-03-20T00:00:00Z", text="second"),
            _row(1, 9, "2020-02-01T00:00:00Z", text="older"),  # out of order: counted, not used
            _row(2, 20, "2020-01-01T00:00:00Z"),
            _row(1, 12, "2020-05-02T00:00:00Z", text="third"),  # page 1 again, after page 2: rejected
        ],
    )
    docs, rejects, counters = read(path, monthly=True)
    # page 1: February and March show the first revision (the month starts before the second)
    assert {i: d["text"] for i, d in docs.items()} == {
        "mediawiki:1:2020-02": "first",
        "mediawiki:1:2020-03": "first",
    }
    assert counters["revision_out_of_order"] == 1
    assert [r.reason for r in rejects.items] == ["page_not_contiguous"]


@pytest.mark.parametrize(
    ("wiki_id", "base"),
    [
        ("enwiki", "https://en.wikipedia.org/wiki/Main_Page"),
        ("simplewiki", "https://simple.wikipedia.org/wiki/Main_Page"),
        ("zh_min_nanwiki", "https://zh-min-nan.wikipedia.org/wiki/Main_Page"),
        ("dewiktionary", "https://de.wiktionary.org/wiki/Main_Page"),
        ("frwikisource", "https://fr.wikisource.org/wiki/Main_Page"),
        ("commonswiki", "https://commons.wikimedia.org/wiki/Main_Page"),
        ("wikidatawiki", "https://www.wikidata.org/wiki/Main_Page"),
        ("wiki", None),
        ("Enwiki", None),
        ("", None),
        (None, None),
    ],
)
def test_site_base_from_wiki_id(wiki_id: object, base: str | None) -> None:
    assert site_base(wiki_id) == base


def test_monthly_pages_are_per_wiki_and_snapshots_keep_their_own_title(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "history.jsonl",
        [
            _row(1, 10, "2020-01-05T00:00:00Z", text="en first"),
            _row(1, 11, "2020-03-05T00:00:00Z", text="en second", page_title="New_Name"),  # renamed
            _row(1, 20, "2020-01-07T00:00:00Z", text="de first", wiki_id="dewiki"),  # another wiki's page 1
            _row(1, 21, "2020-02-09T00:00:00Z", text="de second", wiki_id="dewiki"),
        ],
    )
    docs, rejects, counters = read(path, monthly=True)
    # The English page's February and March show its first revision, under that revision's own title.
    # The German page 1 is read as a page of its own, never as the English one's next revision. Its
    # February has the English February's id (ids are unique within one wiki, as the XML reader's are): it
    # is kept under a new id, counted, not merged and not lost.
    english = "https://en.wikipedia.org/wiki/Main_Street_(Springfield)"
    assert {i: (d["text"], d["url"]) for i, d in docs.items()} == {
        "mediawiki:1:2020-02": ("en first", english),
        "mediawiki:1:2020-03": ("en first", english),
        "mediawiki:1:2020-02~2": ("de first", "https://de.wikipedia.org/wiki/Main_Street_(Springfield)"),
    }
    assert not rejects.items and counters["duplicate_id_renamed"] == 1


def test_damage_ends_the_page_being_read(tmp_path: Path) -> None:
    lines = [
        _row(1, 10, "2020-01-05T00:00:00Z", text="first"),
        _row(1, 11, "2020-02-05T00:00:00Z", text="second"),  # in the damaged member: lost
        _row(1, 12, "2020-07-05T00:00:00Z", text="third"),
    ]
    members = [gzip.compress((json.dumps(line) + "\n").encode()) for line in lines]
    damaged = bytearray(members[1])
    damaged[len(damaged) // 2] ^= 0xFF
    path = tmp_path / "history.jsonl.gz"
    path.write_bytes(members[0] + bytes(damaged) + members[2])
    docs, rejects, _ = read(path, monthly=True)
    # no month from February on is filled with the first revision: the page ended at the damage
    assert docs == {}
    reasons = Counter(r.reason for r in rejects.items)
    assert reasons["page_not_contiguous"] == 1 and sum(reasons.values()) >= 2
