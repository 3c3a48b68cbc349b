"""WARC and WET reading on the real samples, and bad input on a crafted WARC with the good records around it."""

from __future__ import annotations

import gzip
import os
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from corpus.html_text import dechunk
from corpus.readers import ReadOptions, read_documents, read_schema
from corpus.schema import validate
from corpus.stats import REJECT_SAMPLE_BYTES, RejectLog
from corpus.warc_fields import parse_http_date, unwrap_uri, warcinfo_dump
from tests import crafted
from tests.shared_data import SHARED_DATA, needs_shared_data

WARC = SHARED_DATA / "warc"
WHIRLWIND = WARC / "cc-whirlwind_whirlwind.warc.gz"
WHIRLWIND_WET = WARC / "cc-whirlwind_whirlwind.warc.wet.gz"
DOLMA = WARC / "dolma_sample-0000.warc.gz"
CLUEWEB = WARC / "resiliparse_clueweb09-ja-quirk.warc.gz"
OPTIONS = ReadOptions(added=datetime(2025, 1, 1, tzinfo=UTC))


def read(path: Path | str, options: ReadOptions = OPTIONS) -> tuple[pa.Table, RejectLog, Counter[str]]:
    rejects: RejectLog = RejectLog()
    counters: Counter[str] = Counter()
    batches = list(read_documents(str(path), options, rejects, counters))
    for batch in batches:
        validate(batch)
        assert batch.schema.equals(read_schema(options))
    table = pa.Table.from_batches(batches, schema=read_schema(options))
    return table, rejects, counters


def warc_record(warc_type: str, uri: str, block: bytes, extra: str = "") -> bytes:
    """One uncompressed WARC/1.0 record around `block` (Content-Length computed)."""
    header = (
        f"WARC/1.0\r\nWARC-Type: {warc_type}\r\nWARC-Date: 2024-04-25T16:24:44Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{abs(hash((warc_type, uri, block))):032x}>\r\n"
        f"WARC-Target-URI: {uri}\r\n{extra}Content-Type: application/http;msgtype=response\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    )
    return header.encode() + block + b"\r\n\r\n"


def http_response(
    body: bytes, content_type: str = "text/html; charset=utf-8", status: str = "200 OK"
) -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n\r\n".encode() + body


@pytest.fixture(scope="module")
def dolma_full() -> pa.Table:
    return read(DOLMA)[0]


def response_offsets(raw: bytes) -> list[int]:
    """Start offsets of the response records of an uncompressed WARC."""
    offsets, pos = [], 0
    while (pos := raw.find(b"WARC/1.0\r\nWARC-Type: response", pos)) >= 0:
        offsets.append(pos)
        pos += 1
    return offsets


def with_inserted(raw: bytes, records: bytes, before_response: int) -> bytes:
    at = response_offsets(raw)[before_response]
    return raw[:at] + records + raw[at:]


# --- the real samples -------------------------------------------------------------------------------------


@needs_shared_data
def test_whirlwind_capture_values() -> None:
    table, rejects, counters = read(WHIRLWIND)
    assert len(rejects) == 0 and table.num_rows == 1
    doc = table.to_pylist()[0]
    assert doc["id"] == "urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6"
    assert doc["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert doc["crawl_date"] == datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)
    assert doc["last_modified"] == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    assert doc["dump"] == "CC-MAIN-2024-22"
    assert doc["source"] == "cc/CC-MAIN-2024-22"
    assert doc["added"] == datetime(2025, 1, 1, tzinfo=UTC)
    assert "Escopete" in doc["text"] and "<div" not in doc["text"]
    assert doc["created"] is None and doc["cc_lang"] is None
    # request, metadata and warcinfo records are not documents and not rejects
    assert counters["skipped_request"] == 1 and counters["skipped_metadata"] == 1
    assert counters["skipped_warcinfo"] == 1 and counters["charset_from_http"] == 1


@needs_shared_data
def test_keep_html_keeps_the_decoded_page() -> None:
    table, _, _ = read(WHIRLWIND, ReadOptions(keep_html=True))
    html = table.column("html")[0].as_py()
    assert html.lstrip().lower().startswith("<!doctype html") and "Escopete" in html
    assert "html" not in read(WHIRLWIND)[0].column_names


@needs_shared_data
def test_wet_conversion_record_keeps_cc_language() -> None:
    table, rejects, _ = read(WHIRLWIND_WET)
    assert len(rejects) == 0 and table.num_rows == 1
    doc = table.to_pylist()[0]
    assert doc["cc_lang"] == "spa"
    assert doc["id"] == "urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d"
    assert doc["url"] == "https://an.wikipedia.org/wiki/Escopete"
    assert doc["text"].startswith("Escopete - Biquipedia, a enciclopedia libre")
    assert doc["dump"] == "CC-MAIN-2024-22" and doc["crawl_date"] == datetime(
        2024, 5, 18, 1, 58, 10, tzinfo=UTC
    )


@needs_shared_data
def test_dolma_sample_has_22_documents_with_unwrapped_urls(dolma_full: pa.Table) -> None:
    _, rejects, counters = read(DOLMA)
    assert dolma_full.num_rows == 22 and len(rejects) == 0
    urls = dolma_full.column("url").to_pylist()
    assert all(u.startswith("https://") and not u.endswith(">") for u in urls)
    assert "https://maria-antoniak.github.io/2020/03/25/pip.html" in urls
    assert len(set(dolma_full.column("id").to_pylist())) == 22
    assert set(dolma_full.column("source").to_pylist()) == {"dolma_sample-0000"}
    assert dolma_full.column("dump").null_count == 22
    # wget's log and argument records are WARC "resource" records: not documents
    assert counters["skipped_resource"] == 2 and counters["skipped_request"] == 22


@needs_shared_data
def test_clueweb_euc_jp_gzip_quirk_and_malformed_date() -> None:
    table, rejects, counters = read(CLUEWEB)
    assert len(rejects) == 0 and table.num_rows == 29
    first = table.to_pylist()[0]
    assert "ヘッドポーター" in first["text"] and "吉田カバン" in first["text"]
    assert "\ufffd" not in first["text"]
    # `2008-10-294T05:21:46-0700` does not parse: kept, dated by the HTTP Date header, counted
    assert counters["bad_warc_date"] == 29 and counters["crawl_date_from_http_date"] == 29
    assert first["crawl_date"] == datetime(2009, 1, 28, 17, 5, 56, tzinfo=UTC)
    # Content-Encoding: gzip on payloads stored decoded
    assert counters["content_encoding_mismatch"] == 29
    assert counters["charset_from_http"] == 29
    assert first["dump"] == "clueweb09-ja" and first["source"] == "resiliparse_clueweb09-ja-quirk"


@needs_shared_data
def test_batches_are_bounded_by_batch_size() -> None:
    rejects = RejectLog()
    sizes = [b.num_rows for b in read_documents(str(DOLMA), ReadOptions(batch_size=5), rejects)]
    assert sizes == [5, 5, 5, 5, 2]


# --- bad input, on a crafted WARC (the project's own fixture: it runs on every machine) --------------------


@pytest.fixture(scope="module")
def crafted_raw() -> bytes:
    """22 response records, each after a request record, as one uncompressed WARC."""
    parts = [crafted.warcinfo()]
    for i in range(1, 23):
        parts.append(crafted.warc_record("request", 1000 + i, b"GET / HTTP/1.1\r\n\r\n"))
        parts.append(crafted.response(i))
    return b"".join(parts)


@pytest.fixture(scope="module")
def crafted_full(crafted_raw: bytes, tmp_path_factory: pytest.TempPathFactory) -> pa.Table:
    path = tmp_path_factory.mktemp("crafted") / "whole.warc"
    path.write_bytes(crafted_raw)
    table, rejects, _ = read(path)
    assert table.num_rows == 22 and len(rejects) == 0
    return table


def test_truncated_gzip_keeps_records_before_the_cut(
    tmp_path: Path, crafted_raw: bytes, crafted_full: pa.Table
) -> None:
    data = gzip.compress(crafted_raw, mtime=0)  # one member for the whole file: the cut ends it
    cut = tmp_path / "cut.warc.gz"
    cut.write_bytes(data[: len(data) // 2])
    table, rejects, _ = read(cut)
    assert rejects.counts == Counter({"truncated_gzip": 1})  # the record the cut runs through
    assert rejects.skipped_counts == Counter({"truncated_gzip": 1})  # and the unfinished member
    assert 0 < table.num_rows < 22
    assert table.column("id").to_pylist() == crafted_full.column("id").to_pylist()[: table.num_rows]
    assert rejects.items[0].input.startswith(f"{cut}:offset ")
    assert 0 < len(rejects.items[0].sample) <= REJECT_SAMPLE_BYTES


def test_corrupt_record_in_the_middle_is_one_reject(
    tmp_path: Path, crafted_raw: bytes, crafted_full: pa.Table
) -> None:
    at = response_offsets(crafted_raw)[5]
    bad = bytearray(crafted_raw)
    bad[at : at + 40] = b"\x00\xff" * 20  # garble the record's version line and type
    path = tmp_path / "corrupt.warc"
    path.write_bytes(bytes(bad))
    table, rejects, _ = read(path)
    assert rejects.counts == Counter({"corrupt_record": 1}) and not rejects.skipped
    assert rejects.items[0].input == f"{path}:offset {at}"
    assert rejects.items[0].sample.startswith(b"\x00\xff")
    urls = crafted_full.column("url").to_pylist()
    assert table.num_rows == 21
    assert table.column("url").to_pylist() == urls[:5] + urls[6:]


def test_stray_bytes_between_records_are_a_skipped_span(tmp_path: Path, crafted_raw: bytes) -> None:
    at = response_offsets(crafted_raw)[5]
    junk = b"<html><body>this is no WARC record at all</body></html>\r\n" * 4
    path = tmp_path / "stray.warc"
    path.write_bytes(crafted_raw[:at] + junk + crafted_raw[at:])
    table, rejects, _ = read(path)
    assert table.num_rows == 22 and len(rejects) == 0
    assert [(s.reason, s.offset, s.length, s.space) for s in rejects.skipped] == [
        ("unparsed_bytes", at, len(junk), "stream")
    ]


def test_http_status_revisit_binary_and_empty_are_rejects(tmp_path: Path, crafted_raw: bytes) -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    inserted = (
        warc_record(
            "response", "https://example.org/missing", http_response(b"<p>gone</p>", status="404 Not Found")
        )
        + warc_record("revisit", "https://example.org/again", b"HTTP/1.1 200 OK\r\n\r\n")
        + warc_record("response", "https://example.org/logo.png", http_response(png, "image/png"))
        + warc_record("response", "https://example.org/unlabelled", http_response(png, ""))
        + warc_record("response", "https://example.org/empty", http_response(b"<html><body> </body></html>"))
    )
    path = tmp_path / "mixed.warc"
    path.write_bytes(with_inserted(crafted_raw, inserted, 3))
    table, rejects, _ = read(path)
    assert rejects.counts == Counter({"http_status": 1, "revisit": 1, "binary_payload": 2, "empty_text": 1})
    assert table.num_rows == 22
    details = {r.reason: r.detail for r in rejects.items}
    assert "404" in details["http_status"]
    assert all(r.input.startswith(f"{path}:offset ") and r.sample for r in rejects.items)


def test_malformed_last_modified_is_null_and_counted(tmp_path: Path) -> None:
    def page(last_modified: str) -> bytes:
        block = crafted.http_response(crafted.page_html(1), extra=f"Last-Modified: {last_modified}\r\n")
        return crafted.warc_record("response", 1, block)

    path = tmp_path / "lm.warc"
    path.write_bytes(page("Sat, 04 May 2024 01:58:10 GMT"))
    assert read(path)[0].column("last_modified")[0].as_py() == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    path.write_bytes(page("Sat, 34 Foo 2024 01:58:10 GMT"))
    table, rejects, counters = read(path)
    assert len(rejects) == 0 and table.num_rows == 1
    assert table.column("last_modified")[0].as_py() is None
    assert counters["bad_last_modified"] == 1


def test_malformed_http_header_is_rejected(tmp_path: Path, crafted_raw: bytes) -> None:
    block = b"garbage without a status line\r\n\r\n<html><body><p>text</p></body></html>"
    path = tmp_path / "badhttp.warc"
    path.write_bytes(with_inserted(crafted_raw, warc_record("response", "https://example.org/x", block), 10))
    table, rejects, _ = read(path)
    assert rejects.counts == Counter({"bad_http_header": 1})
    assert table.num_rows == 22


def test_undecodable_and_mislabelled_bytes(tmp_path: Path, crafted_raw: bytes) -> None:
    junk = (
        b"<html><body><p>" + bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D, 0xFF, 0xC0]) * 300 + b"</p></body></html>"
    )
    mislabelled = "<html><body><p>Un café crème à Paris, s'il vous plaît, et très vite.</p></body></html>"
    inserted = warc_record("response", "https://example.org/junk", http_response(junk)) + warc_record(
        "response", "https://example.org/cafe", http_response(mislabelled.encode("cp1252"))
    )
    path = tmp_path / "charset.warc"
    path.write_bytes(with_inserted(crafted_raw, inserted, 0))
    table, rejects, _ = read(path)
    assert rejects.counts == Counter({"undecodable_text": 1})
    assert table.num_rows == 23
    cafe = next(d for d in table.to_pylist() if d["url"] == "https://example.org/cafe")
    assert "café crème" in cafe["text"]


def test_size_cap_rejects_large_payloads_only(tmp_path: Path) -> None:
    records = [
        crafted.warc_record("response", i, crafted.http_response(crafted.page_html(i, words=50 * i)))
        for i in range(1, 11)
    ]
    path = tmp_path / "sizes.warc"
    path.write_bytes(b"".join(records))
    cap = 1200
    table, rejects, _ = read(path, ReadOptions(max_doc_bytes=cap))
    small = [i for i in range(1, 11) if len(crafted.http_response(crafted.page_html(i, words=50 * i))) <= cap]
    assert 0 < len(small) < 10
    assert rejects.counts == Counter({"too_large": 10 - len(small)})
    assert table.column("id").to_pylist() == [crafted.record_id(i) for i in small]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("random.warc", random.Random(1).randbytes(5000), "unparsed_bytes"),
        ("random.warc.gz", b"\x1f\x8b\x08\x00" + random.Random(2).randbytes(5000), "corrupt_gzip"),
    ],
)
def test_random_bytes_are_one_skipped_span_and_no_record(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    table, rejects, _ = read(path)
    assert table.num_rows == 0 and len(rejects) == 0
    assert rejects.skipped_counts == Counter({reason: 1})
    span = rejects.skipped[0]  # from the first byte that does not decode to the end
    assert span.offset < 100 and span.offset + span.length == len(data)


def test_truncated_uncompressed_record(tmp_path: Path, crafted_raw: bytes, crafted_full: pa.Table) -> None:
    at = response_offsets(crafted_raw)[7]
    path = tmp_path / "short.warc"
    path.write_bytes(crafted_raw[: at + 300])
    table, rejects, _ = read(path)
    assert rejects.counts == Counter({"truncated_record": 1})
    assert table.column("id").to_pylist() == crafted_full.column("id").to_pylist()[:7]


def test_header_helpers() -> None:
    assert unwrap_uri("<https://a.example/x>") == "https://a.example/x"
    assert unwrap_uri("https://a.example/x") == "https://a.example/x"
    assert parse_http_date("Sat, 04 May 2024 01:58:10 GMT") == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    assert parse_http_date("Saturday, 04-May-24 01:58:10 GMT") == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    assert parse_http_date("Sat May  4 01:58:10 2024") == datetime(2024, 5, 4, 1, 58, 10, tzinfo=UTC)
    assert parse_http_date("yesterday") is None
    # a zone the parser does not know was read as UTC: BRT (UTC-3) put the upper bound 3 hours early
    assert parse_http_date("Thu, 20 Apr 2023 10:00:00 BRT") is None
    assert parse_http_date("Thu, 20 Apr 2023 10:00:00 CEST") is None
    assert parse_http_date("Thu, 20 Apr 2023 10:00:00 EST") == datetime(2023, 4, 20, 15, tzinfo=UTC)
    assert parse_http_date("Thu, 20 Apr 2023 10:00:00 -0000") == datetime(2023, 4, 20, 10, tzinfo=UTC)
    assert parse_http_date("Thu, 20 Apr 2023 10:00:00 +0900") == datetime(2023, 4, 20, 1, tzinfo=UTC)
    assert warcinfo_dump(b"software: x\r\nisPartOf: CC-MAIN-2024-22\r\n") == "CC-MAIN-2024-22"
    assert dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n") == b"Wikipedia"
    assert dechunk(b"<html>not chunked") is None


def test_utf16_page_with_bom_is_text_not_binary(tmp_path: Path, crafted_raw: bytes) -> None:
    page = "<html><body><p>Texte encodé en UTF-16 avec marque d'ordre.</p></body></html>"
    body = page.encode("utf-16")  # starts with a byte-order mark, full of NUL bytes
    record = warc_record("response", "https://example.org/utf16", http_response(body, "text/html"))
    path = tmp_path / "utf16.warc"
    path.write_bytes(with_inserted(crafted_raw, record, 2))
    table, rejects, counters = read(path)
    assert len(rejects) == 0 and table.num_rows == 23
    doc = next(d for d in table.to_pylist() if d["url"] == "https://example.org/utf16")
    assert "Texte encodé en UTF-16" in doc["text"] and counters["charset_from_bom"] == 1


class _TitleHook:
    """A page hook that reads the page's title from the reader's parsed tree (and fails on one page)."""

    columns = ("html_meta_modified",)

    def __init__(self) -> None:
        self.trees: list[str] = []

    def __call__(self, tree, html: str, row: dict) -> None:
        if "boom" in html:
            raise RuntimeError("a hook that fails")
        self.trees.append(tree.title)
        row["html_meta_modified"] = datetime(2020, 1, 2, tzinfo=UTC)


def test_page_hook_reads_the_one_parse_and_its_failures_lose_nothing(tmp_path: Path) -> None:
    pages = [b"<html><head><title>first</title></head><body><p>one page</p></body></html>",
             b"<html><head><title>boom</title></head><body><p>another page</p></body></html>"]  # fmt: skip
    path = tmp_path / "hook.warc"
    path.write_bytes(
        b"".join(warc_record("response", f"https://e.org/{i}", http_response(p)) for i, p in enumerate(pages))
    )
    hook = _TitleHook()
    options = ReadOptions(added=datetime(2025, 1, 1, tzinfo=UTC), page_hook=hook)
    table, rejects, counters = read(path, options)
    # every reader has the column (a Dolma file written after dating reads it back), null without the hook
    assert read_schema(options) == read_schema(OPTIONS)
    assert table.column("text").to_pylist() == ["one page", "another page"] and len(rejects) == 0
    assert hook.trees == ["first"] and counters["page_hook_error"] == 1
    assert table.column("html_meta_modified").to_pylist() == [datetime(2020, 1, 2, tzinfo=UTC), None]


def test_a_page_nested_too_deep_keeps_its_whole_text_and_its_neighbours(tmp_path: Path) -> None:
    """A 1.1 MB page of 100,000 nested <div>s between two good pages held its ingest task (and the job)
    for many minutes in main-content extraction and dating. It keeps its whole visible text, undated,
    counted once; its neighbours are read as ever, dates included."""
    from dating.html_meta import MarkupDater

    deep = (
        "<html><head><meta property='article:published_time' content='2020-05-01'></head><body>"
        + "<div>" * 100_000
        + "Deeply nested words of a page."
        + "</div>" * 100_000
        + "</body></html>"
    ).encode()
    good = (
        b"<html><head><meta property='article:published_time' content='2020-05-01'></head><body><article>"
        b"<p>A good page with a paragraph of words about the day's news, written plainly.</p></article></body></html>"
    )
    records = [
        crafted.warc_record("response", i, crafted.http_response(page))
        for i, page in enumerate((good, deep, good))
    ]
    path = tmp_path / "deep.warc.gz"
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    counters: Counter[str] = Counter()
    options = ReadOptions(added=datetime(2025, 1, 1, tzinfo=UTC), page_hook=MarkupDater())
    rows = [r for b in read_documents(str(path), options, RejectLog(), counters) for r in b.to_pylist()]
    assert [r["text"].strip() for r in rows][1] == "Deeply nested words of a page."
    assert counters["page_nested_too_deep"] == 1 and counters["page_hook_error"] == 0
    assert [r["html_meta_date"] for r in rows] == [
        datetime(2020, 5, 1, tzinfo=UTC),
        None,
        datetime(2020, 5, 1, tzinfo=UTC),
    ]


def test_a_status_line_cut_by_a_short_content_length_is_a_bad_header_not_a_status(tmp_path: Path) -> None:
    """A Content-Length of 10 cut a record's block at "HTTP/1.1 2", rejected as `http_status` "HTTP status 2"
    (a status no server sends). It is a bad HTTP header; the records around it are kept."""
    block = crafted.http_response(crafted.page_html(1))
    records = [
        crafted.response(0),
        crafted.warc_record("response", 1, block, extra={"Content-Length": "10"}),
        crafted.response(2),
    ]
    path = tmp_path / "short.warc"
    path.write_bytes(b"".join(records))
    rejects = RejectLog()
    rows = [r for b in read_documents(str(path), OPTIONS, rejects) for r in b.to_pylist()]
    assert [r["id"] for r in rows] == [crafted.record_id(i) for i in (0, 2)]
    assert rejects.counts == Counter({"bad_http_header": 1})
    assert rejects.items[0].detail == "no whole HTTP status line (2)"
